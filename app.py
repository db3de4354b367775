"""Entry point of the optimizer lab dashboard (placeholder until the dashboard lands)."""

import streamlit as st

st.set_page_config(page_title="Optimizer lab", layout="wide")
st.title("Optimizer lab")
st.write(
    "The NumPy engine (`nn_core`) is available from Python and the command line: "
    "`python -m nn_core presets` lists the ready comparisons, "
    "`python -m nn_core compare --preset default --out results/` runs one."
)
