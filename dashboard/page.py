"""What every page does first: page config, the sidebar, notices and presentation styling."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from nn_core import PRESETS, ExperimentConfig, Results

from . import live_view, sidebar, state
from .figures import run_colors
from .figures.style import FramedFigure

# Presentation mode: large type in the main area only (the sidebar's navigation and controls
# keep their size so nothing is truncated at 1280×720), the settings sections hidden.
PRESENTATION_CSS = """
<style>
[data-testid="stMain"] [data-testid="stMarkdown"] p,
[data-testid="stMain"] [data-testid="stMarkdown"] li { font-size: 1.3rem; }
[data-testid="stMain"] h1 { font-size: 1.9rem !important; padding: 0 0 0.2rem 0; }
[data-testid="stMain"] .block-container { padding-top: 2.2rem; }
[data-testid="stSidebarUserContent"] [data-testid="stExpander"] { display: none; }
.st-key-lab_explain p { font-size: 1.35rem !important; line-height: 1.4; }
</style>
"""
# Pages that do not show the comparison, so the preset's explanation would only be in the way.
INDEPENDENT_PAGES = ("Descent trajectories", "Learn")
sticky = sidebar.sticky
keep = sidebar.keep


demo_label = sidebar.preset_label


def setup(
    title: str, runs_editor: bool = False
) -> tuple[ExperimentConfig, Results | None, dict[str, str], bool]:
    """Render the shared parts of a page; returns (config, results or None, colours, big).

    ``runs_editor``: the page (Setup) shows the full runs table in its main area."""
    st.set_page_config(page_title=f"{title} · Optimizer lab", layout="wide")
    big = bool(st.session_state.get(state.PRESENTATION_KEY, False))
    if big:
        st.markdown(PRESENTATION_CSS, unsafe_allow_html=True)
        st.pills(
            "Demos",
            list(PRESETS),
            key="lab_demo",
            label_visibility="collapsed",
            on_change=_on_demo,
            format_func=demo_label,
        )
    head = st.container()
    area = st.container() if runs_editor else None
    config, results = sidebar.render(title, area)
    big = bool(st.session_state.get(state.PRESENTATION_KEY, False))
    with head:
        st.title(title)
        notice = st.session_state.pop(state.NOTICE_KEY, None)
        if notice:
            st.warning(notice)
        if title not in INDEPENDENT_PAGES:
            _explain(config, big)
        live_view.note(title)
        if results is not None and results.config != config:
            st.info(
                "The settings changed since these results were computed: press "
                "**Run comparison** to update them."
            )
    runs = results.config.runs if results is not None else config.runs
    return config, results, run_colors(runs), big


def _explain(config: ExperimentConfig, big: bool) -> None:
    """The preset's explanation in the main area: large in presentation mode, folded away
    otherwise; an uploaded file or modified settings are said as such."""
    name = sidebar.origin()
    upload = sidebar.data_source.source_of(config) == "upload"
    if name is None and not upload:
        return
    text = PRESETS[name].explanation if name else ""
    heading = PRESETS[name].title if name else "Your data"
    if sidebar.modified():
        heading += " — modified"
        text = (
            "You changed the preset's settings, so what it says below may no longer hold "
            "for these runs.\n\n" + text
        )
    if upload:  # the preset's title names its own data: say what is trained on instead
        what = f"{sidebar.preset_label(name)} settings" if name else "Your settings"
        heading = f"{what} on {sidebar.data_label(config)}"
        text = (
            f"Training on **{sidebar.data_label(config)}**, not on the preset's data: the "
            "explanation below is about the preset's own data.\n\n" + text
        ).strip()
    if big:
        with st.container(border=True, key="lab_explain"):
            st.markdown(f"**{heading}**\n\n{text}")
    else:
        with st.expander(f"About this comparison: {heading}", expanded=False):
            st.markdown(text)


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


PLAIN = "plotly-figure-data"  # marks a cached figure kept as its plain data


def lazy_tabs(names: list[str], key: str) -> list:
    """``st.tabs`` of which only the open one is to be built (build a tab when its ``.open`` is
    not False): a change of tab reruns the page, and the open tab is kept for the session under
    ``key``. A closed tab's charts were otherwise drawn too, on every visit and change."""
    tabs = st.tabs(names, key=sticky(key, names[0]), on_change="rerun")
    keep(key, st.session_state.get(key))
    return tabs


@functools.lru_cache(maxsize=32)
def _static_plain(build: Callable[..., go.Figure], params: tuple) -> dict:
    return build(*params).to_dict()


def static_figure(build: Callable[..., go.Figure], *params: Any) -> go.Figure:
    """``build(*params)`` for a figure that depends on its arguments only (no results: the
    Learn page's), built once per server process and argument set (hashable arguments); every
    call returns a figure of its own."""
    return go.Figure(_static_plain(build, params), _validate=False)


def figure(name: str, results: Results, build: Callable, *params: Any):
    """``build()`` (a Plotly figure, or any picklable value) cached on the results' identity
    and ``params`` (the figure's options), so a rerun for an unrelated widget does not rebuild
    every chart; the cache is bounded by bytes (``state.FIGURE_BUDGET``), since one figure of a
    long comparison can be tens of MB. Every call returns a figure of its own to change."""
    key = (name, state.results_key(results), repr(params))
    made = []

    def build_plain():
        made.append(build())
        value = made[0]
        return (PLAIN, value.to_dict()) if isinstance(value, go.Figure) else value

    kept = state.FIGURES.get_or_build(key, build_plain)
    if made and not isinstance(made[0], go.Figure):
        return made[0]
    if isinstance(kept, tuple) and len(kept) == 2 and kept[0] == PLAIN:
        # A figure is kept as its plain data and rebuilt without Plotly's validation (it was
        # validated when built): unpickling a Figure validated every trace and frame again,
        # which made a revisit of the gradient page spend half a second on cached charts. Its
        # animation frames stay plain dicts (this call's own copies): making Frame objects of
        # them still cost 0.1 s per revisit. The first call returns the rebuilt figure too:
        # its JSON keys come out in another order than the original's, and a chart whose JSON
        # changes between two reruns is drawn again by the browser (0.6 s for the decision
        # boundaries, on the rerun after they first appeared).
        plain = kept[1]
        fig = FramedFigure({k: v for k, v in plain.items() if k != "frames"}, _validate=False)
        fig.plain_frames.extend(plain.get("frames", ()))
        return fig
    return kept
