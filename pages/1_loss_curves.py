"""Loss curves: train/validation loss and accuracy per run, mean ± spread across seeds."""

from functools import partial

import streamlit as st

from dashboard import data_source, export, live_view, state
from dashboard.figures import curves, run_colors
from dashboard.figures import data as data_figs
from dashboard.page import download, figure, keep, need_results, setup, sticky
from dashboard.sidebar import data_label
from nn_core import Results, datasets
from nn_core.results import DIVERGENCE_RULE

config, results, colors, big = setup("Loss curves")

if live_view.active() is None and not need_results(results):
    if data_source.source_of(config) == "upload":
        st.caption(f"The data: {data_label(config)} (see the Data page once it has trained).")
    elif config.dataset.name in datasets.DATASETS:
        # The data the comparison will train on, as a plain picture: a chart here made the
        # browser load Plotly before the first page could show, 0.7 s of the first load.
        preview = datasets.make(config.dataset)
        axes = (
            "its first two standardised features"
            if preview.n_features >= 2
            else "the standardised feature against the target"
        )
        st.caption(
            f"The data: {datasets.DATASETS[config.dataset.name].label}, as the runs will see it "
            f"({axes}; hollow points are the validation split)"
        )
        st.image(data_figs.preview_svg(preview, size=460 if big else 340))


def charts(results: Results, live: bool = False) -> None:
    """The comparison's charts; ``live``: a comparison still training (drawn again as it
    trains: no figure cache, no summary or downloads until it is done)."""
    build = live_view.figure if live else figure
    colors = run_colors(results.config.runs)
    regression = results.metric == "r2"
    c1, c2, c3, c4 = st.columns([5, 3, 3, 3], vertical_alignment="bottom")
    x = (
        keep(
            "lc_x",
            c1.segmented_control(
                "x axis",
                list(curves.X_AXES),
                format_func=curves.X_AXES.get,
                help="Updates counts optimizer steps: one per epoch for GD, one per sample for "
                "batch-1 SGD. Wall time is drawn on a log axis.",
                key=sticky("lc_x", "epoch"),
            ),
        )
        or "epoch"
    )
    log_y = keep("lc_log", c2.toggle("Log loss axis", key=sticky("lc_log", False)))
    show_val = keep("lc_val", c3.toggle("Validation", key=sticky("lc_val", True)))
    splits = ("train", "val") if show_val else ("train",)
    opts = (colors, x, splits, log_y, big)
    loss_fig = build(
        "loss",
        results,
        lambda: framed(
            curves.loss_curves(results.curves, colors, "loss", x, splits, log_y, big),
            x,
            live and results.config.training.epochs,
        ),
        *opts,
    )
    st.plotly_chart(loss_fig, key="chart_loss")
    acc_fig = build(
        "accuracy",
        results,
        lambda: framed(
            curves.loss_curves(
                results.curves, colors, "r2" if regression else "accuracy", x, splits, False, big
            ),
            x,
            live and results.config.training.epochs,
        ),
        *opts,
    )
    st.plotly_chart(acc_fig, key="chart_accuracy")
    if live:
        boundaries(results, build)
        return
    if x == "seconds":
        st.caption(
            "Wall time on a log axis, so a fast run is not squeezed against the left edge. "
            "Runs with the same batch size train together as one batched network, so they "
            "share one clock: their times are the group's, not each run's alone."
        )

    st.subheader("Summary")
    # The target depends on the task and the losses reached: one per comparison, remembered.
    target_key = f"lc_target_{state.results_key(results)}"
    target = keep(
        target_key,
        c4.number_input(
            "Target loss",
            0.0,
            100.0,
            step=0.01,
            format="%.3g",
            key=sticky(target_key, curves.default_target(results.curves)),
            help="Epochs each run needs to reach it (mean over the seeds that do). The "
            "default lies halfway, on a log scale, between the starting loss and the best "
            "final loss.",
        ),
    )
    table = curves.summary_table(results.summary, results.curves, target, results.metric)
    st.dataframe(table, hide_index=True, width="stretch")
    st.caption(
        f"Losses and {'R² (coefficient of determination)' if regression else 'accuracy'} are "
        "means over seeds. *seconds*: wall time of the run's group (runs with the same batch "
        "size train together in one batched network and share it)."
    )
    st.caption(f"Diverged: {DIVERGENCE_RULE}.")

    if not results.steps.empty:
        # Built only while open: a chart in a closed expander was still drawn on every change.
        steps = st.expander(
            "Per-step loss in the first epochs (SGD noise)", key="lc_steps", on_change="rerun"
        )
        if steps.open:
            steps_fig = build(
                "steps",
                results,
                lambda: curves.step_curves(results.steps, colors, log_y, big),
                colors,
                log_y,
                big,
            )
            steps.plotly_chart(steps_fig, key="chart_steps")

    boundaries(results, build)

    d1, d2, d3 = st.columns(3)
    download(
        d1, "Curves CSV", partial(export.table_csv, results, "curves"), "curves.csv", "dl_curves"
    )
    download(
        d2,
        "Summary CSV",
        partial(export.table_csv, results, "summary"),
        "summary.csv",
        "dl_summary",
    )
    download(
        d3, "Everything (ZIP)", partial(export.zip_bytes, results), "optimizer-lab.zip", "dl_zip"
    )


def framed(fig, x: str, live_epochs: int | bool):
    """A live chart (``live_epochs``: the comparison's epochs) keeps the reader's zoom and
    hidden runs between updates, and its epoch axis spans the whole training, so the curves
    grow into a fixed frame."""
    if live_epochs:
        fig.update_layout(uirevision="live")
        if x == "epoch":
            fig.update_xaxes(range=[0, live_epochs])
    return fig


def boundaries(results: Results, build) -> None:
    """Each run's decision boundary, on request (2-D classification only)."""
    colors = run_colors(results.config.runs)
    if results.data.n_features != 2 or results.data.task == "regression":
        return
    # Drawn on request: fourteen traces of small multiples are the slowest chart to render.
    show = st.toggle("Decision boundaries (first seed, final weights)", key=sticky("lc_db", big))
    if keep("lc_db", show):
        bounds = build(
            "boundaries",
            results,
            lambda: curves.decision_boundaries(results, colors, big),
            colors,
            big,
        )
        st.plotly_chart(bounds, key="chart_boundaries")


if not live_view.panel(partial(charts, live=True)) and results is not None:
    charts(results)
