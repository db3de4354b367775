"""Gradient health: are gradients vanishing, exploding, or healthy, layer by layer?"""

from functools import partial
from itertools import groupby

import streamlit as st

from dashboard import diagnosis, export, live_view, state
from dashboard.figures import gradients
from dashboard.page import download, figure, keep, need_results, setup, sticky
from nn_core import Results

config, results, colors, big = setup("Gradient health")

LEVEL = {"ok": st.success, "warning": st.warning, "problem": st.error}


def layer_order(activations) -> str:
    """Activations in layer order, repeats folded: "sigmoid ×10", "relu ×2 → tanh"."""
    parts = []
    for name, group in groupby(activations):
        n = len(list(group))
        parts.append(name if n == 1 else f"{name} ×{n}")
    return " → ".join(parts)


def pick(column, name: str, key: str) -> dict:
    """The comparison, run and seed one column shows, chosen in that column."""
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
    return {"key": key, "res": res, "run": run, "seed": int(seed), "g": g, "h": h}


def rows(panels: list[dict]):
    """One row of columns per kind of content, so the two panels line up chart by chart."""
    return st.columns(len(panels)) if len(panels) > 1 else [st.container()]


def draw(panels: list[dict]) -> None:
    """Every panel's diagnosis and charts, row by row, on shared scales: one colour range for
    the heat maps and one pair of histogram axes, so a sick and a healthy network are read on
    the same ruler."""
    x_range, y_max = gradients.histogram_ranges(*(p["h"] for p in panels))
    z_range = gradients.norm_range(*(p["g"] for p in panels))
    shared = (tuple(x_range), y_max, z_range)
    for col, p in zip(rows(panels), panels, strict=True):
        net = p["res"].config.network
        col.caption(
            f"{len(net.hidden_layers)} hidden layers · {layer_order(net.activations)}"
            f" · {net.initializer} init"
        )
    for col, p in zip(rows(panels), panels, strict=True):
        with col:
            for f in diagnosis.diagnose(
                p["g"], diagnosis.outcome(p["res"].summary, p["run"], p["seed"])
            ):
                LEVEL[f.level](f"**{f.title}.** {f.detail}")
    if all(p["g"].empty for p in panels):
        return
    title = "{}: gradient sizes per layer"
    state_names = ["" if p["g"].empty else p["g"]["unit_state"].iloc[0] for p in panels]
    charts = [
        ("hist", lambda p: partial(gradients.histogram_animation, p["h"],
                                   p["res"].arch.n_layers, big, list(x_range), y_max,
                                   title.format(p["run"]))),
        ("heat", lambda p: partial(gradients.norm_heatmap, p["g"], big, z_range)),
        ("dead", lambda p: partial(gradients.layer_lines, p["g"], "dead_fraction",
                                   f"{p['g']['unit_state'].iloc[0]} fraction", False, big)),
        ("ratio", lambda p: partial(gradients.layer_lines, p["g"], "update_ratio",
                                    "‖ΔW‖ / ‖W‖ per step", True, big)),
    ]  # fmt: skip
    for kind, build in charts:
        if kind == "dead" and not any(state_names):
            continue
        for col, p, unit_state in zip(rows(panels), panels, state_names, strict=True):
            if p["g"].empty or (kind == "dead" and not unit_state):
                continue
            fig = figure(kind, p["res"], build(p), p["run"], p["seed"], big, shared)
            col.plotly_chart(fig, key=f"{p['key']}_{kind}")


def live_health(res: Results) -> None:
    """A comparison training live: one run's gradient heat map, its update ratios and the
    diagnosis so far, redrawn as epochs finish."""
    labels = [r.label for r in res.config.runs]
    run = st.columns([1, 2])[0].selectbox("Run", labels, key="gh_live_run")
    seed = res.config.seeds[0]
    g = res.gradients[(res.gradients["run"] == run) & (res.gradients["seed"] == seed)]
    if g.empty:
        st.caption("No gradient statistics recorded yet.")
        return
    for f in diagnosis.diagnose(g, diagnosis.outcome(res.summary, run, seed)):
        LEVEL[f.level](f"**{f.title}.** {f.detail}")
    epochs = res.config.training.epochs

    def heatmap():  # the whole training's width: the map fills in from the left
        fig = gradients.norm_heatmap(g, big, gradients.norm_range(g))
        return fig.update_xaxes(range=[-0.5, epochs + 0.5]).update_layout(uirevision="live")

    heat = live_view.figure("heat", res, heatmap, run, big)
    st.plotly_chart(heat, key="gh_live_heat")
    st.caption("Colour scale: the range recorded so far (it widens as training goes on).")
    ratio = live_view.figure(
        "ratio",
        res,
        partial(gradients.layer_lines, g, "update_ratio", "‖ΔW‖ / ‖W‖ per step", True, big),
        run,
        big,
    )
    st.plotly_chart(ratio, key="gh_live_ratio")


if not live_view.panel(live_health) and need_results(results):
    history = state.history(st.session_state)
    side_by_side = keep(
        "gh_two",
        st.toggle(
            "Two runs side by side",
            key=sticky("gh_two", not big),
            help="Compare e.g. the vanishing-sigmoid and relu-he-fix presets: "
            "run both, then pick one comparison per column. Both columns share their scales.",
        ),
    )
    labels = [r.label for r in results.config.runs]
    if side_by_side:
        left, right = st.columns(2)
        panels = [
            pick(left, labels[0], "gh_left"),
            pick(right, labels[1] if len(labels) > 1 else labels[0], "gh_right"),
        ]
    else:
        panels = [pick(st.container(), labels[0], "gh_one")]
    draw(panels)
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
