"""Network: the network itself, every layer and unit, edges drawn by weight and units coloured by
the gradient reaching them, over the epochs; what each unit computes on 2-D data; and pictures
of data with more than two features."""

import streamlit as st

from dashboard import network_view as nv
from dashboard.figures import network as net_figs
from dashboard.page import figure, need_results, setup

config, results, colors, big = setup("Network")

if need_results(results):
    data = results.data
    run, seed = nv.pick_run(results, "nw")
    view = nv.view(results, run, seed, net_figs.MAX_UNITS)
    st.plotly_chart(
        figure("network", results, lambda: net_figs.network_figure(view, big), run, seed, big),
        key="chart_network",
    )
    lo, hi = view.log_range
    st.caption(
        f"Edges: blue positive, orange negative weights, thicker and darker for larger |w| "
        f"(scale {view.w_scale:.2g}, the same in every frame); dotted grey is exactly zero. "
        f"Units: the RMS over {view.rows} training rows of each sample's ∂loss/∂z at that unit, "
        f"recomputed from the weights kept at each epoch, on a fixed log scale 1e{lo:.0f}…"
        f"1e{hi:.0f}: pale is a vanishing gradient, dark red a large one. "
        + (
            "Wide layers show their first units and a square for the rest. "
            if any(lv.more for lv in view.layers)
            else ""
        )
    )
    sentence = nv.depth_sentence(view)
    if sentence:
        st.markdown(sentence)

    if data.n_features == 2:
        st.subheader("What each unit computes")
        epochs = results.snapshots[(run, seed)][0]
        choices = [int(e) for e in epochs]
        epoch = (
            st.select_slider("Epoch", choices, value=choices[-1], key="nw_epoch")
            if len(choices) > 1
            else choices[0]
        )
        frame = choices.index(epoch)
        maps = figure(
            "unit_maps",
            results,
            lambda: net_figs.unit_maps_figure(net_figs.unit_maps(results, run, seed, frame), big),
            run,
            seed,
            frame,
            big,
        )
        st.plotly_chart(maps, key="chart_unit_maps")
        st.caption(
            "Each hidden unit's output over the input plane (standardised features), scaled "
            "by the layer's largest |output| so the units of a layer compare; the output row "
            "is 2p − 1 for the predicted class probability p (white: the decision boundary)."
        )
    else:
        st.subheader("The data and the fit")
        nv.pictures_section(data, results, run, seed, big, "nw")
