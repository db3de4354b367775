"""Where the dashboard's comparisons train: this machine, or a Dask cluster named in the sidebar.

Shared by every browser session of the server (both owned by ``st.cache_resource``):

- the local process pool (:class:`nn_core.schedule.LocalPool`): its worker processes and the
  manager process that carries progress and stop flags. Sessions' tasks queue for the same
  workers; each comparison has its own progress queue and stop flag, and nothing of a
  comparison stays in the workers once its tasks return;
- one connection per Dask scheduler address a session entered (at most :data:`MAX_CLUSTERS`).

A session's scheduler address lives in its own session state; it never changes the results, so
it is not part of the configuration nor of the result cache's key.
"""

from __future__ import annotations

import os

import streamlit as st

from nn_core import schedule
from nn_core.schedule import Cluster, LocalPool, SchedulerError

SCHEDULER_KEY = "lab_scheduler"
FALLBACK_KEY = "lab_scheduler_fallback"
MAX_CLUSTERS = 4


@st.cache_resource(show_spinner=False, on_release=LocalPool.shutdown)
def local_pool() -> LocalPool:
    """The server's process pool (started by ``app.py`` while the first page renders)."""
    return LocalPool()


@st.cache_resource(max_entries=MAX_CLUSTERS, show_spinner=False, on_release=Cluster.close)
def cluster(address: str) -> Cluster:
    """A connection to the scheduler at ``address`` (closed when the cache lets it go); a failure
    is not cached, so the next run tries again."""
    return schedule.connect(address)


def settings() -> None:
    """The compute settings: a Dask scheduler address (empty: this machine), checked as typed,
    and whether to train here when it cannot be reached."""
    st.session_state.setdefault(SCHEDULER_KEY, os.environ.get(schedule.ENV_SCHEDULER, ""))
    text = st.text_input(
        "Dask scheduler",
        key=SCHEDULER_KEY,
        placeholder="empty: this machine",
        help="Train on a Dask cluster: tcp://HOST:8786 of a running `dask scheduler` "
        "(see the README). The results are the same wherever they train.",
    )
    if text.strip():
        try:
            schedule.scheduler_address(text)
        except SchedulerError as exc:
            st.error(str(exc), icon="⚠️")
        st.checkbox("Train here if it cannot be reached", key=FALLBACK_KEY)


def executor() -> LocalPool | Cluster | None:
    """What ``run_comparison`` should use; None (after showing why) when the scheduler named in
    the settings cannot be used and falling back was not asked for."""
    text = str(st.session_state.get(SCHEDULER_KEY, "")).strip()
    if not text:
        return local_pool()
    try:
        return cluster(schedule.scheduler_address(text))
    except SchedulerError as exc:
        if st.session_state.get(FALLBACK_KEY, False):
            st.warning(f"{exc}; training on this machine instead.", icon="⚠️")
            return local_pool()
        st.error(f"Not trained: {exc}", icon="⚠️")
        return None


def task_executor(where: LocalPool | Cluster):
    """The ``concurrent.futures`` executor behind :func:`executor`'s choice (what
    ``nn_core.run_sweep`` takes): the pool's worker processes or the cluster's."""
    return where.executor() if isinstance(where, LocalPool) else where.executor
