"""The sidebar's compute setting (dashboard.compute): a Dask scheduler address is checked as it
is typed, an unreachable one stops the run with one clear message unless falling back was asked
for, and a reachable one trains there with the same results."""

import socket
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import compute, state
from nn_core import run_comparison

ROOT = Path(__file__).resolve().parents[1]


def app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["preset"] = "default"
    at.run()
    at.sidebar.number_input(key="w_tr_epochs").set_value(2).run()
    return at


def run_button(at):
    return next(b for b in at.sidebar.button if b.label == "Run comparison")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def messages(elements) -> str:
    return " | ".join(e.value for e in elements)


def test_a_malformed_address_is_explained_and_nothing_trains():
    at = app()
    at.sidebar.text_input(key=compute.SCHEDULER_KEY).set_value("nowhere").run()
    assert "'nowhere' is not a Dask scheduler address" in messages(at.sidebar.error)
    run_button(at).click().run()
    assert not at.exception
    assert "Not trained: 'nowhere' is not a Dask scheduler address" in messages(at.error)
    assert state.RESULTS_KEY not in at.session_state


@pytest.mark.slow
def test_an_unreachable_scheduler_stops_the_run_unless_falling_back_was_asked():
    at = app()
    address = f"tcp://127.0.0.1:{closed_port()}"
    at.sidebar.text_input(key=compute.SCHEDULER_KEY).set_value(address).run()
    assert not at.sidebar.error  # well formed
    run_button(at).click().run()
    assert f"Not trained: cannot reach the Dask scheduler at {address}" in messages(at.error)
    assert state.RESULTS_KEY not in at.session_state
    at.sidebar.checkbox(key=compute.FALLBACK_KEY).check().run()
    run_button(at).click().run()
    assert not at.exception
    assert "training on this machine instead" in messages(at.warning)
    assert at.session_state[state.RESULTS_KEY].config.training.epochs == 2


@pytest.mark.slow
def test_a_cluster_named_in_the_settings_trains_the_same_results():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        at = app()
        at.sidebar.text_input(key=compute.SCHEDULER_KEY).set_value(cluster.scheduler_address)
        at.run()
        run_button(at).click().run()
        assert not at.exception and not at.error
        got = at.session_state[state.RESULTS_KEY]
        compute.cluster.clear()  # closes the cached client before its cluster goes
    want = run_comparison(got.config, executor="inline")
    for name in ("curves", "summary"):
        a, b = getattr(got, name), getattr(want, name)
        cols = [c for c in a.columns if c != "seconds"]
        assert a[cols].equals(b[cols]), name
