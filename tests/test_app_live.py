"""Live training through the app (Streamlit's AppTest): the sidebar's "Watch it train" starts a
background job instead of blocking, the Loss curves and Gradient health pages draw it with its
controls while it trains, and once it ends its results are the session's, equal to a comparison
run without live updates; Cancel keeps what was trained."""

import time

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import runner, state
from dashboard.live_job import JOB_KEY
from nn_core import ExperimentConfig
from tests.test_app import ROOT, TIMEOUT, no_exception, run_button
from tests.test_executors import assert_same


def live_app(epochs: int, pace: int = 0) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["preset"] = "default"
    at.run()
    at.sidebar.number_input(key="w_tr_epochs").set_value(epochs).run()
    at.sidebar.toggle(key="lab_live").set_value(True).run()
    at.sidebar.select_slider(key="lab_live_pace").set_value(pace).run()
    return at


def wait_until(condition, timeout=60.0):
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def buttons(at) -> list[str]:
    return [b.label for b in at.main.button]


def test_a_live_run_draws_as_it_trains_and_ends_equal_to_a_plain_run():
    at = live_app(epochs=200, pace=30)  # about 7 s
    run_button(at).click().run()
    no_exception(at, "start")
    job = at.session_state[JOB_KEY]
    assert job.running  # the click returned while it trains
    assert state.RESULTS_KEY not in at.session_state or at.session_state[state.RESULTS_KEY] is None
    wait_until(lambda: job.epoch >= 3)
    at.run()
    no_exception(at, "while training")
    assert {"Pause", "Step", "Cancel"} <= set(buttons(at))
    progress = at.main.get("progress")
    assert progress and "Training live: epoch" in progress[0].proto.text
    assert len(at.main.get("plotly_chart")) >= 2  # loss and accuracy so far
    at.main.toggle(key="lc_db").set_value(True).run()  # the decision boundaries train along
    no_exception(at, "boundaries while training")
    assert len(at.main.get("plotly_chart")) >= 3
    at.switch_page("pages/3_gradient_health.py").run()
    no_exception(at, "gradient health while training")
    # the charts follow the training: a redraw picks up the epochs trained since
    end = time.monotonic() + 60
    while len(at.main.get("plotly_chart")) < 2 and time.monotonic() < end:
        time.sleep(0.3)
        at.run()
    assert len(at.main.get("plotly_chart")) >= 2  # the heat map and the update ratios
    at.switch_page("pages/5_data.py").run()
    assert any("Training live" in i.value for i in at.main.info)  # said where to watch it
    job.set_pace(0)  # the rest at full speed
    job.wait(120)
    at.switch_page("pages/1_loss_curves.py").run()
    no_exception(at, "after training")
    results = at.session_state[state.RESULTS_KEY]
    assert results is job.results and not results.cancelled
    assert "Pause" not in buttons(at)  # the page is back to the finished comparison
    _, plain, _ = runner.run(results.config, executor="inline", cache=runner.ResultCache())
    assert_same(results, plain)
    # kept in the shared cache like any comparison: pressing Run without live reuses it
    assert runner.CACHE.get(runner.cache_key(results.config)) is results


def test_pause_step_play_and_cancel_from_the_page():
    at = live_app(epochs=400, pace=10)
    run_button(at).click().run()
    job = at.session_state[JOB_KEY]
    wait_until(lambda: job.epoch >= 1)
    at.run()
    next(b for b in at.main.button if b.label == "Pause").click().run()
    wait_until(lambda: job.waiting)
    paused_at = job.epoch
    at.run()
    assert "Play" in buttons(at)
    next(b for b in at.main.button if b.label == "Step").click().run()
    wait_until(lambda: job.waiting and job.epoch >= paused_at + 1)
    time.sleep(0.3)
    assert job.epoch == paused_at + 1 and job.running  # one epoch, then paused again
    at.run()
    next(b for b in at.main.button if b.label == "Play").click().run()
    wait_until(lambda: job.epoch >= paused_at + 3)
    next(b for b in at.main.button if b.label == "Cancel").click().run()
    said = [w.value for w in at.main.warning]  # the job may have ended before this run
    job.wait(30)
    at.run()
    said += [w.value for w in at.main.warning]
    no_exception(at, "after cancel")
    results = at.session_state[state.RESULTS_KEY]
    assert results.cancelled
    kept = int(results.curves["epoch"].max())
    assert paused_at + 3 <= kept < 400
    assert any("Live training cancelled" in text for text in said)


@pytest.mark.parametrize("preset", ["vanishing-sigmoid", "exploding-init"])
def test_live_runs_of_the_gradient_presets_equal_plain_runs(preset):
    config = ExperimentConfig.preset(preset).with_training(epochs=6)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["preset"] = preset
    at.run()
    at.sidebar.number_input(key="w_tr_epochs").set_value(6).run()
    at.sidebar.toggle(key="lab_live").set_value(True).run()
    at.sidebar.select_slider(key="lab_live_pace").set_value(0).run()
    run_button(at).click().run()
    at.session_state[JOB_KEY].wait(60)
    at.run()
    no_exception(at, preset)
    results = at.session_state[state.RESULTS_KEY]
    assert results.config == config
    _, plain, _ = runner.run(config, executor="inline", cache=runner.ResultCache())
    assert_same(results, plain)


def test_a_plain_run_during_a_live_one_replaces_it():
    at = live_app(epochs=400, pace=10)
    run_button(at).click().run()
    job = at.session_state[JOB_KEY]
    wait_until(lambda: job.epoch >= 1)
    at.sidebar.toggle(key="lab_live").set_value(False).run()
    at.sidebar.number_input(key="w_tr_epochs").set_value(3).run()
    run_button(at).click().run()
    no_exception(at, "plain run")
    job.wait(30)
    assert not job.running and job.cancelled  # stopped, not left training
    at.run()
    results = at.session_state[state.RESULTS_KEY]
    assert results.config.training.epochs == 3 and not results.cancelled  # the plain run's
    assert "Pause" not in buttons(at)


def test_a_live_run_that_cannot_start_says_why_and_keeps_the_results(monkeypatch):
    at = live_app(epochs=5, pace=0)
    at.sidebar.toggle(key="lab_live").set_value(False).run()
    run_button(at).click().run()  # a plain run first: results to keep
    kept = at.session_state[state.RESULTS_KEY]
    at.sidebar.toggle(key="lab_live").set_value(True).run()

    def refuse(self, playing=True):
        raise OSError("Resource temporarily unavailable")

    monkeypatch.setattr("dashboard.live_job.LiveJob.start", refuse)
    run_button(at).click().run()
    no_exception(at, "refused start")
    assert any("Live training could not start" in e.value for e in at.error)
    assert at.session_state[state.RESULTS_KEY] is kept
