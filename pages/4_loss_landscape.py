"""Loss landscape: the network's loss surface on a plane shared by every run's path."""

import streamlit as st

from dashboard import export, state
from dashboard.figures import landscape as figs
from dashboard.page import download, keep, lazy_tabs, need_results, setup, sticky
from dashboard.text import md
from nn_core import landscape

config, results, colors, big = setup("Loss landscape")


@st.cache_data(max_entries=16, show_spinner=False)
def compute(_results, key: str, seed: int, method: str, resolution: int):
    """Cached on the results' identity key and the plane settings, never on arrays."""
    return landscape.compute(_results, seed=seed, method=method, resolution=resolution)


if need_results(results):
    st.caption(
        "Every run of a seed starts from the same weights θ₀, so one plane through θ₀ holds "
        "all paths: θ(a, b) = θ₀ + a·d₁ + b·d₂. PCA directions follow where the runs actually "
        "went; filter-normalised random directions (Li et al., 2018) show a neutral slice."
    )
    c1, c2, c3 = st.columns([2, 1, 1])  # the directions need room for both labels at 1280 px
    method = (
        keep(
            "ll_method",
            c1.segmented_control(
                "Directions",
                list(landscape.DIRECTIONS),
                key=sticky("ll_method", "pca"),
                format_func={"pca": "PCA of the paths", "random": "Random (filter-normalised)"}.get,
            ),
        )
        or "pca"
    )
    resolution = keep(
        "ll_res", c2.select_slider("Grid", [21, 41, 61, 81], key=sticky("ll_res", 41))
    )
    seeds = sorted(results.summary["seed"].unique())
    seed = c3.selectbox("Seed", seeds, key="ll_seed")
    key = state.results_key(results)
    try:
        with st.spinner("Evaluating the loss on the plane…"):
            land = compute(results, key, int(seed), method, resolution)
    except ValueError as exc:
        st.error(f"No landscape to show: {md(exc)}")
        st.stop()
    st.metric(
        "Share of the weights' movement the plane captures",
        f"{land.plane.explained:.0%}",
        help="Of Σ‖θₜ − θ₀‖² over every run's recorded weights, the part that lies in the "
        "plane; the warnings below use the same measure run by run.",
    )
    for warning in figs.fidelity_warnings(land):
        st.warning(md(warning))  # names runs: user text
    tab2d, tab3d = lazy_tabs(["Contours", "3-D surface"], "ll_view")  # only the open one drawn
    if tab2d.open is not False:
        tab2d.plotly_chart(figs.contour(land, colors, big), key="chart_land_contour")
    if tab3d.open is not False:
        tab3d.plotly_chart(figs.surface3d(land, colors, big), key="chart_land_3d")
    d1, d2 = st.columns(2)
    download(
        d1,
        "Landscape CSV",
        lambda: export.csv_bytes(land.grid_frame()),
        "landscape.csv",
        "dl_landscape",
    )
    download(d2, "Paths CSV", lambda: export.csv_bytes(land.paths), "path.csv", "dl_paths")
