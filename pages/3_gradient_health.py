"""Gradient health: are gradients vanishing, exploding, or healthy, layer by layer?"""

from functools import partial

import streamlit as st

from dashboard import diagnosis, export, state
from dashboard.figures import gradients
from dashboard.page import download, figure, need_results, setup

config, results, colors, big = setup("Gradient health")

LEVEL = {"ok": st.success, "warning": st.warning, "problem": st.error}


def panel(column, name: str, key: str) -> None:
    """One comparison/run/seed with its figures and diagnosis, in ``column``."""
    with column:
        choices = [n for n, _ in history] or ["current"]
        pick = st.selectbox("Comparison", choices, index=len(choices) - 1, key=f"{key}_cmp")
        res = dict(history).get(pick, results)
        runs = [r.label for r in res.config.runs]
        run = st.selectbox(
            "Run", runs, index=runs.index(name) if name in runs else 0, key=f"{key}_run"
        )
        seeds = sorted(res.summary["seed"].unique())
        seed = st.selectbox("Seed", seeds, key=f"{key}_seed") if len(seeds) > 1 else seeds[0]
        g = res.gradients[(res.gradients["run"] == run) & (res.gradients["seed"] == seed)]
        h = res.histograms[(res.histograms["run"] == run) & (res.histograms["seed"] == seed)]
        net = res.config.network
        st.caption(
            f"{len(net.hidden_layers)} hidden layers · {', '.join(sorted(set(net.activations)))}"
            f" · {net.initializer} init"
        )
        findings = diagnosis.diagnose(g, diagnosis.outcome(res.summary, run, seed))
        for f in findings:
            LEVEL[f.level](f"**{f.title}.** {f.detail}")
        if g.empty:
            return
        opts = (run, int(seed), big)
        hist = figure(
            "hist", res, lambda: gradients.histogram_animation(h, res.arch.n_layers, big), *opts
        )
        st.plotly_chart(hist, key=f"{key}_hist")
        st.plotly_chart(
            figure("heat", res, lambda: gradients.norm_heatmap(g, big), *opts), key=f"{key}_heat"
        )
        state_name = g["unit_state"].iloc[0]
        if state_name:
            dead = figure(
                "dead",
                res,
                lambda: gradients.layer_lines(
                    g, "dead_fraction", f"{state_name} fraction", False, big
                ),
                *opts,
            )
            st.plotly_chart(dead, key=f"{key}_dead")
        ratio = figure(
            "ratio",
            res,
            lambda: gradients.layer_lines(g, "update_ratio", "‖ΔW‖ / ‖W‖ per step", True, big),
            *opts,
        )
        st.plotly_chart(ratio, key=f"{key}_ratio")


if need_results(results):
    history = state.history(st.session_state)
    side_by_side = st.toggle(
        "Two runs side by side",
        value=not big,
        key="gh_two",
        help="Compare e.g. the vanishing-sigmoid and relu-he-fix presets: "
        "run both, then pick one comparison per column.",
    )
    labels = [r.label for r in results.config.runs]
    if side_by_side:
        left, right = st.columns(2)
        panel(left, labels[0], "gh_left")
        panel(right, labels[1] if len(labels) > 1 else labels[0], "gh_right")
    else:
        panel(st.container(), labels[0], "gh_one")
    with st.expander("Thresholds used by the diagnosis"):
        st.markdown(
            f"- vanishing: first/last-hidden gradient-norm ratio < {diagnosis.VANISHING_RATIO:g}\n"
            f"- exploding: that ratio > {diagnosis.EXPLODING_RATIO:g}, or any gradient norm > "
            f"{diagnosis.EXPLODING_NORM:g}\n"
            f"- dying or saturated units: more than {diagnosis.DEAD_FRACTION:.0%} of a layer\n"
            f"- update ratio ‖ΔW‖/‖W‖ outside [{diagnosis.UPDATE_LOW:g}, {diagnosis.UPDATE_HIGH:g}]"
        )
    c1, c2 = st.columns(2)
    download(
        c1,
        "Gradients CSV",
        partial(export.table_csv, results, "gradients"),
        "gradients.csv",
        "dl_gradients",
    )
    download(
        c2,
        "Histograms CSV",
        partial(export.table_csv, results, "histograms"),
        "histograms.csv",
        "dl_histograms",
    )
