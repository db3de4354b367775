"""Loss curves: train/validation loss and accuracy per run, mean ± spread across seeds."""

from functools import partial

import streamlit as st

from dashboard import export
from dashboard.figures import curves
from dashboard.figures import data as data_figs
from dashboard.page import download, figure, need_results, setup
from nn_core import datasets
from nn_core.results import DIVERGENCE_RULE

config, results, colors, big = setup("Loss curves")

if not need_results(results) and config.dataset.name in datasets.DATASETS:
    # The data the comparison will train on. Drawing a chart here also lets the browser load
    # its charting library before the click, so the results appear sooner after it.
    st.caption(f"The data: {datasets.DATASETS[config.dataset.name].label}, as the runs will see it")
    preview = datasets.make(config.dataset)
    st.plotly_chart(data_figs.scatter(preview, big).update_layout(height=380), key="chart_preview")

if results is not None:
    metric_label = "R²" if results.metric == "r2" else "Accuracy"
    c1, c2, c3, c4 = st.columns([2, 1, 1, 1])
    x = (
        c1.segmented_control(
            "x axis",
            list(curves.X_AXES),
            default="epoch",
            format_func=curves.X_AXES.get,
            key="lc_x",
        )
        or "epoch"
    )
    log_y = c2.toggle("Log loss axis", key="lc_log")
    show_val = c3.toggle("Show validation", value=True, key="lc_val")
    splits = ("train", "val") if show_val else ("train",)
    opts = (colors, x, splits, log_y, big)
    loss_fig = figure(
        "loss",
        results,
        lambda: curves.loss_curves(results.curves, colors, "loss", x, splits, log_y, big),
        *opts,
    )
    st.plotly_chart(loss_fig, key="chart_loss")
    acc_fig = figure(
        "accuracy",
        results,
        lambda: curves.loss_curves(
            results.curves, colors, "accuracy", x, splits, False, big
        ).update_layout(yaxis_title=metric_label),
        *opts,
    )
    st.plotly_chart(acc_fig, key="chart_accuracy")

    st.subheader("Summary")
    target = c4.number_input(
        "Target train loss",
        0.0,
        100.0,
        value=0.3,
        step=0.05,
        key="lc_target",
        help="Epochs to reach it, per run",
    )
    table = curves.summary_table(results.summary, results.curves, target)
    st.dataframe(table, hide_index=True, width="stretch")
    st.caption(f"Diverged: {DIVERGENCE_RULE}.")

    if not results.steps.empty:
        with st.expander("Per-step loss in the first epochs (SGD noise)", expanded=False):
            steps_fig = figure(
                "steps",
                results,
                lambda: curves.step_curves(results.steps, colors, log_y, big),
                colors,
                log_y,
                big,
            )
            st.plotly_chart(steps_fig, key="chart_steps")

    if results.data.n_features == 2 and results.data.task != "regression":
        # Drawn on request: fourteen traces of small multiples are the slowest chart to render.
        if st.toggle("Decision boundaries (first seed, final weights)", value=big, key="lc_db"):
            bounds = figure(
                "boundaries",
                results,
                lambda: curves.decision_boundaries(results, colors, big),
                colors,
                big,
            )
            st.plotly_chart(bounds, key="chart_boundaries")

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
