"""What every page does first: page config, the sidebar, notices and presentation styling."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from nn_core import PRESETS, ExperimentConfig, Results

from . import sidebar, state
from .figures import run_colors

PRESENTATION_CSS = """
<style>
html, body, [data-testid="stMarkdownContainer"] p { font-size: 1.35rem; }
h1 { font-size: 3rem !important; }
[data-testid="stSidebarUserContent"] [data-testid="stExpander"] { display: none; }
</style>
"""


def setup(title: str) -> tuple[ExperimentConfig, Results | None, dict[str, str], bool]:
    """Render the shared parts of a page; returns (config, results or None, colours, big)."""
    st.set_page_config(page_title=f"{title} · Optimizer lab", layout="wide")
    big = bool(st.session_state.get(state.PRESENTATION_KEY, False))
    if big:
        st.pills(
            "Demos",
            list(PRESETS),
            key="lab_demo",
            label_visibility="collapsed",
            on_change=_on_demo,
        )
    config, results = sidebar.render(title)
    if big:
        st.markdown(PRESENTATION_CSS, unsafe_allow_html=True)
    st.title(title)
    notice = st.session_state.pop(state.NOTICE_KEY, None)
    if notice:
        st.warning(notice)
    if results is not None:
        if results.config != config:
            st.info(
                "The settings changed since these results were computed: press "
                "**Run comparison** to update them."
            )
        colors = run_colors(r.label for r in results.config.runs)
    else:
        colors = run_colors(r.label for r in config.runs)
    return config, results, colors, big


def _on_demo() -> None:
    name = st.session_state.get("lab_demo")
    if name:
        sidebar.run_preset(name)


def need_results(results: Results | None) -> bool:
    """Show a hint and return False when nothing has been run yet in this session."""
    if results is None:
        st.info(
            "No results yet: choose a preset or settings in the sidebar and press "
            "**Run comparison**."
        )
        return False
    return True


def download(where: Any, label: str, build: Callable[[], bytes], filename: str, key: str) -> None:
    """A download button whose file is built only when it is clicked.

    ``on_click="ignore"``: a click must not also rerun the page. That rerun registers the
    button's file under a new id and could win the race against the click's own file request,
    so the download silently never started (seen in about 1 run in 6 in the browser test)."""
    mime = "application/zip" if filename.endswith(".zip") else "text/csv"
    where.download_button(label, build, filename, mime, key=key, on_click="ignore")


def figure(name: str, results: Results, build: Callable, *params: Any):
    """``build()`` cached on the results' identity and ``params`` (the figure's options), so a
    rerun for an unrelated widget does not rebuild every chart; the cache is bounded by bytes
    (``state.FIGURE_BUDGET``), since one figure of a long comparison can be tens of MB."""
    key = (name, state.results_key(results), repr(params))
    return state.FIGURES.get_or_build(key, build)
