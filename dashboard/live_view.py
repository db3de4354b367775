"""Live training on the pages: start a session's :class:`~dashboard.live_job.LiveJob`, draw what
it has trained so far in a fragment that polls it, and keep its results when it ends.

Only the fragment reruns while the job trains (several times a second), so the rest of the page
and the sidebar stay as they are and answer clicks; its Play/Pause, Step and Cancel buttons
rerun only the fragment too. When the job pauses or ends, the whole page reruns once: a paused
job is not polled, and a finished one becomes the session's results like any comparison.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import streamlit as st

from nn_core import ExperimentConfig, Results
from nn_core.datasets import Dataset

from . import runner, state
from .live_job import JOB_KEY, PUBLISH_SECONDS, LiveJob
from .text import md

FIGURES_KEY = "lab_live_figures"
DRAWN_KEY = "lab_live_drawn"  # when the charts were last built, what it took, from what
LIVE_PAGES = ("Loss curves", "Gradient health")  # the pages that draw a live comparison


def current() -> LiveJob | None:
    return st.session_state.get(JOB_KEY)


def active() -> LiveJob | None:
    """The session's live job while it trains or its results are not yet kept."""
    job = current()
    return job if job is not None and not job.kept else None


def start(
    config: ExperimentConfig,
    data: Dataset | None,
    fingerprint: str,
    report: dict | None,
    name: str | None,
    pace: float,
) -> LiveJob | None:
    """Start training ``config`` live (a job already running in this session is cancelled);
    None, after saying why, when its process cannot be started."""
    old = current()
    if old is not None:
        old.cancel()
    try:
        job = LiveJob(config, data, name, fingerprint, report, pace).start()
    except Exception as exc:  # e.g. no more processes: said, and the session goes on
        st.error(f"Live training could not start: {md(f'{type(exc).__name__}: {exc}')}")
        return None
    st.session_state[JOB_KEY] = job
    return job


def discard() -> None:
    """Cancel the session's live job without keeping it (a comparison run without live
    updates replaces it)."""
    job = active()
    if job is not None:
        job.cancel()
        job.kept = True
        job.release()


def keep_finished() -> None:
    """Once the job has ended: its results become the session's (and, when it ran to the end,
    go into the shared cache like any comparison's); a cancelled one says what it kept."""
    job = active()
    if job is None or job.running:
        return
    job.kept = True
    st.session_state.pop(FIGURES_KEY, None)
    st.session_state.pop(DRAWN_KEY, None)
    if job.error:
        st.session_state[state.NOTICE_KEY] = f"Live training failed: {md(job.error)}"
        job.release()
        return
    results = job.results
    if results is None:
        job.release()
        return
    if job.report is not None:
        results.data_report = dict(job.report)
    if results.cancelled:
        st.session_state[state.NOTICE_KEY] = (
            f"Live training cancelled after {job.epoch} of {job.epochs} epochs: kept what "
            "was trained."
        )
    else:
        runner.CACHE.put(runner.cache_key(job.config, job.fingerprint), results)
    state.remember(st.session_state, results, job.name)
    job.release()


# A chart that draws nothing, 10 px tall (Plotly's least height).
BLANK = {
    "data": [{"type": "scatter", "x": [], "y": [], "showlegend": False, "hoverinfo": "skip"}],
    "layout": {
        "height": 10, "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
        "xaxis": {"visible": False}, "yaxis": {"visible": False},
        "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
    },
}  # fmt: skip


def blank_chart(key: str) -> None:
    """An empty chart, drawn while training so that the browser loads its charting library
    then, not after: the first page shows no chart, so a first run's charts waited for it
    (0.3–1.3 s after the results had arrived)."""
    st.plotly_chart(BLANK, key=key, config={"staticPlot": True})


def panel(draw: Callable[[Results], None]) -> bool:
    """If this session trains live: its controls, its progress and ``draw(results so far)``,
    redrawn as it trains; True then (the page draws nothing else of the comparison).

    The fragment polls every :data:`PUBLISH_SECONDS` while the job trains or has just paused
    (so Play answers at once); after a long pause it stops polling until Play or Step."""
    job = active()
    if job is None:
        return False
    polling = job.running and not job.idle
    every = PUBLISH_SECONDS if polling else None

    @st.fragment(run_every=every)
    def live() -> None:
        j = active()
        if j is not job or not j.running or (polling and j.idle) or (not polling and not j.paused):
            st.rerun()  # ended, or polling should start or stop: the whole page once
        controls(j)
        view = _drawn_view(j)
        if view is not None:
            draw(view)
            _drawn(view)
        else:  # nothing trained yet
            blank_chart("live_warm_charts")

    live()
    return True


def _drawn_view(job: LiveJob) -> Results | None:
    """The results to draw now: the latest, unless the charts were redrawn so recently that
    doing it again would take more than a third of the time (then the last drawn one, whose
    figures are cached): on a busy server the charts update less often, never the training."""
    last = st.session_state.get(DRAWN_KEY)
    now = time.perf_counter()
    if last is not None and last["job"] is job and last["view"] is not None and job.running:
        if now - last["at"] < max(PUBLISH_SECONDS, 2 * last["cost"]):
            return last["view"]
    st.session_state[DRAWN_KEY] = {"job": job, "at": now, "cost": 0.0, "view": None}
    view = job.view
    st.session_state[DRAWN_KEY]["view"] = view
    return view


def _drawn(view: Results) -> None:
    last = st.session_state.get(DRAWN_KEY)
    if last is not None and last["view"] is view and not last["cost"]:
        last["cost"] = time.perf_counter() - last["at"]


def figure(name: str, results: Results, build: Callable, *params):
    """``build()`` for the live comparison ``results``, built once per publication and
    options (a paused comparison is redrawn from these); only the latest is kept."""
    store = st.session_state.setdefault(FIGURES_KEY, {})
    key = (name, repr(params))
    hit = store.get(key)
    if hit is not None and hit[0] is results:
        return hit[1]
    fig = build()
    store[key] = (results, fig)
    return fig


def controls(job: LiveJob) -> None:
    c1, c2, c3, c4 = st.columns([1, 1, 1, 5], vertical_alignment="center")
    if job.paused:
        c1.button("Play", key="live_play", on_click=job.play, width="stretch")
    else:
        c1.button("Pause", key="live_pause", on_click=job.pause, width="stretch")
    c2.button(
        "Step", key="live_step", on_click=job.step, width="stretch", help="Train one epoch, pause"
    )
    c3.button(
        "Cancel", key="live_cancel", on_click=job.cancel, width="stretch",
        help="Stop and keep what was trained",
    )  # fmt: skip
    where = f"epoch {job.epoch}/{job.epochs}"
    if job.cancelled:
        text = f"Cancelling… ({where})"
    elif job.paused:
        text = f"Paused at {where}"
    else:
        eta = f" · about {job.eta:.0f} s left" if job.eta is not None and job.eta >= 1 else ""
        text = f"Training live: {where} · {job.seconds:.1f} s of training{eta}"
    c4.progress(min(job.fraction, 1.0), text=text)


def note(title: str) -> None:
    """On pages that do not draw live training: say that it is going on, and where to see it."""
    job = active()
    if job is None or title in LIVE_PAGES:
        return
    st.info(
        f"Training live (epoch {job.epoch}/{job.epochs} when this page was drawn): the "
        "Loss curves and Gradient health pages draw it as it trains. This page shows the "
        "previous results until it ends."
    )
