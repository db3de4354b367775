"""Entry point of the optimizer lab: page configuration and navigation, nothing else."""

import streamlit as st

st.set_page_config(page_title="Optimizer lab", layout="wide")

PAGES = [
    st.Page("pages/1_loss_curves.py", title="Loss curves", icon="📉", default=True),
    st.Page("pages/2_trajectories.py", title="Descent trajectories", icon="🧭"),
    st.Page("pages/3_gradient_health.py", title="Gradient health", icon="🩺"),
    st.Page("pages/4_loss_landscape.py", title="Loss landscape", icon="🏔️"),
    st.Page("pages/5_data.py", title="Data", icon="🗂️"),
    st.Page("pages/6_learn.py", title="Learn", icon="📚"),
]

st.navigation(PAGES).run()
