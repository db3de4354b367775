"""Setup: the runs of the comparison in one full-width table, every column visible."""

import streamlit as st

from dashboard import sidebar
from dashboard.page import setup

config, results, colors, big = setup("Setup", runs_editor=True)

st.subheader("Defaults of each rule (PyTorch's)")
st.caption(
    "A blank cell in the table above takes the default in this table; a dash means the rule "
    "has no such hyperparameter, and a value there is refused with a message."
)
st.dataframe(sidebar.rule_defaults_frame(), hide_index=True, width="stretch")
st.caption(
    "The data, the network and the training length are in the sidebar; press **Run "
    "comparison** there, then look at the results on the other pages."
)
