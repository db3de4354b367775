"""Entry point of the optimizer lab: page configuration, navigation, and the second core's worker
process started early (it loads while the first page renders; nn_core.parallel)."""

import streamlit as st

from nn_core import parallel

st.set_page_config(page_title="Optimizer lab", layout="wide")
parallel.warm()

PAGES = [
    st.Page(
        "pages/1_loss_curves.py", title="Loss curves", icon=":material/show_chart:", default=True
    ),
    st.Page("pages/2_trajectories.py", title="Descent trajectories", icon=":material/explore:"),
    st.Page("pages/3_gradient_health.py", title="Gradient health", icon=":material/monitor_heart:"),
    st.Page("pages/4_loss_landscape.py", title="Loss landscape", icon=":material/landscape:"),
    st.Page("pages/5_data.py", title="Data", icon=":material/table_chart:"),
    st.Page("pages/6_learn.py", title="Learn", icon=":material/school:"),
    st.Page("pages/7_network.py", title="Network"),
]

st.navigation(PAGES).run()
