"""Data: the dataset each run was trained on, as the network saw it."""

import streamlit as st

from dashboard import data_source, export, network_view
from dashboard.figures import data as figs
from dashboard.page import download, setup
from dashboard.text import md
from nn_core import data as datasets  # synthetic or bundled

config, results, colors, big = setup("Data")

# Before any run, show the configured synthetic data so users see what they will train on.
data = results.data if results is not None else None
report = getattr(results, "data_report", None) if results is not None else None
if data is None:
    upload = st.session_state.get(data_source.UPLOAD_KEY)
    try:
        if data_source.source_of(config) == "upload" and upload is not None:
            data, read = data_source.load(upload, config)  # the uploaded file, not the preset's
            report = {**read.to_dict(), "file": upload.name}
        else:
            data = datasets.make(config.dataset)
    except Exception as exc:  # a dataset that cannot be built is explained, not raised
        st.error(f"This dataset cannot be shown: {exc}")
        st.stop()
    st.caption("Preview of the configured dataset; no comparison has been run yet.")

if report:
    name = report.get("file") or report["source"]
    st.subheader(f"Uploaded file: {md(name)}")  # file and column names: as text
    st.markdown("\n".join(f"- {md(line)}" for line in report["notes"]))

c1, c2, c3, c4 = st.columns(4)
c1.metric("Task", data.task)
c2.metric("Features", data.n_features)
c3.metric("Train rows", len(data.X_train))
c4.metric("Validation rows", len(data.X_val))

if data.n_features <= 2:
    st.plotly_chart(figs.scatter(data, big), key="chart_data")
# PCA of more than two features, digits as images, the regression fit (first run, lowest seed)
network_view.pictures_section(data, results, *network_view.first_run(results), big, "data")
if data.task != "regression":
    st.subheader("Class balance")
    st.dataframe(figs.class_balance(data), hide_index=True)
st.subheader("Rows (standardised with the training mean and standard deviation)")
table = figs.frame(data)
st.dataframe(table, hide_index=True, height=320)
with st.expander("Standardisation statistics"):
    st.dataframe(figs.summary_stats(data), hide_index=True)
download(st, "Data CSV", lambda: export.csv_bytes(table), f"{data.name}.csv", "dl_data")
