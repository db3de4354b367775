"""Entry point of the optimizer lab: page configuration, navigation, and the second core's worker
process started early (it loads while the first page renders; nn_core.parallel)."""

import streamlit as st

from nn_core import parallel

st.set_page_config(page_title="Optimizer lab", layout="wide")
parallel.warm()

# No icons: Streamlit's ":material/…:" icons are a web font fetched from an outside host,
# which an offline classroom or conference network cannot reach (nothing is fetched from
# outside: the browser tests fail on any request that leaves the machine).
PAGES = [
    st.Page("pages/0_setup.py", title="Setup"),
    st.Page("pages/1_loss_curves.py", title="Loss curves", default=True),
    st.Page("pages/2_trajectories.py", title="Descent trajectories"),
    st.Page("pages/3_gradient_health.py", title="Gradient health"),
    st.Page("pages/4_loss_landscape.py", title="Loss landscape"),
    st.Page("pages/5_data.py", title="Data"),
    st.Page("pages/6_learn.py", title="Learn"),
]

st.navigation(PAGES).run()
