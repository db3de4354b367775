"""The Network page (and the Data page's pictures) through Streamlit's AppTest: after the
default comparison, after presets with deep networks, and with bundled data of more than two
features; and the page's server time with cached results."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import state

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120
NETWORK = "pages/7_network.py"


def _app(**query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def _run(at, epochs: int | None = None):
    if epochs is not None:
        at.sidebar.number_input(key="w_tr_epochs").set_value(epochs).run()
    next(b for b in at.sidebar.button if b.label == "Run comparison").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _ok(at, where: str):
    assert not at.exception, f"{where}: {[e.value for e in at.exception]}"


def test_the_network_page_runs_with_the_default_preset_and_is_fast_when_cached():
    at = _run(_app())
    results = at.session_state[state.RESULTS_KEY]
    start = time.perf_counter()
    at.switch_page(NETWORK).run()
    first = time.perf_counter() - start
    _ok(at, "network")
    charts = at.get("plotly_chart")
    assert len(charts) == 2  # the diagram and the unit maps (2-D data)
    assert at.session_state[state.RESULTS_KEY] is results
    # another run from the select box, then back: drawn from the figure cache
    at.selectbox(key="nw_run").set_value("Adam").run()
    _ok(at, "network, Adam")
    at.selectbox(key="nw_run").set_value("GD").run()
    times = []
    for _ in range(3):
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
    _ok(at, "network rerun")
    cached = sorted(times)[1]
    print(f"network page server time: first {first:.2f} s, cached rerun {cached:.2f} s")
    at.select_slider(key="nw_epoch").set_value(0).run()
    _ok(at, "network, epoch 0")


@pytest.mark.parametrize("preset", ["vanishing-sigmoid", "exploding-init", "zero-init-symmetry"])
def test_the_network_page_after_deep_and_degenerate_presets(preset):
    at = _run(_app(preset=preset), epochs=2)
    at.switch_page(NETWORK).run()
    _ok(at, preset)
    text = " ".join(m.value for m in at.markdown)
    if preset == "vanishing-sigmoid":
        assert "fades" in text
    if preset == "exploding-init":
        assert "glares" in text


@pytest.mark.parametrize("bundled", ["digits", "diabetes", "wine"])
def test_pictures_for_data_with_more_than_two_features(bundled):
    at = _app()
    at.sidebar.radio(key="w_ds_source").set_value("bundled").run()
    at.sidebar.selectbox(key="w_ds_bundled").set_value(bundled).run()
    # before any run the Data page shows the PCA of the configured data
    at.switch_page("pages/5_data.py").run()
    _ok(at, f"{bundled}: data preview")
    assert len(at.get("plotly_chart")) >= 1
    _run(at, epochs=2)
    for page in (NETWORK, "pages/5_data.py"):
        at.switch_page(page).run()
        _ok(at, f"{bundled}: {page}")
        charts = len(at.get("plotly_chart"))
        # network diagram + PCA (+ digits images or the regression fit)
        expected = (1 if page == NETWORK else 0) + 1 + (bundled in ("digits", "diabetes"))
        assert charts == expected, (page, charts)
