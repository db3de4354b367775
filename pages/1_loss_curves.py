"""Loss curves: train/validation loss and accuracy per run, mean ± spread across seeds."""

import streamlit as st

from dashboard import export
from dashboard.figures import curves
from dashboard.page import need_results, setup

config, results, colors, big = setup("Loss curves")

if need_results(results):
    metric_label = "R²" if results.metric == "r2" else "Accuracy"
    c1, c2, c3, c4 = st.columns(4)
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
    loss_fig = curves.loss_curves(results.curves, colors, "loss", x, splits, log_y, big)
    st.plotly_chart(loss_fig, key="chart_loss")
    acc_fig = curves.loss_curves(results.curves, colors, "accuracy", x, splits, False, big)
    acc_fig.update_layout(yaxis_title=metric_label)
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

    if not results.steps.empty:
        with st.expander("Per-step loss in the first epochs (SGD noise)", expanded=False):
            st.plotly_chart(
                curves.step_curves(results.steps, colors, log_y, big), key="chart_steps"
            )

    if results.data.n_features == 2 and results.data.task != "regression":
        st.subheader("Decision boundaries (first seed, final weights)")
        st.plotly_chart(curves.decision_boundaries(results, colors, big), key="chart_boundaries")

    d1, d2, d3 = st.columns(3)
    d1.download_button(
        "Curves CSV", export.table_csv(results, "curves"), "curves.csv", "text/csv", key="dl_curves"
    )
    d2.download_button(
        "Summary CSV",
        export.table_csv(results, "summary"),
        "summary.csv",
        "text/csv",
        key="dl_summary",
    )
    d3.download_button(
        "Everything (ZIP)",
        export.zip_bytes(results),
        "optimizer-lab.zip",
        "application/zip",
        key="dl_zip",
    )
