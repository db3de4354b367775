"""The Sweeps page through AppTest: the talk demo trains in the background, its charts and
tables appear, and "Use these learning rates" puts the tuned rates into the comparison."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from dashboard import state
from dashboard.sweep_job import JOB_KEY
from nn_core.sweep import best_setting

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "pages" / "8_sweeps.py")


def test_talk_demo_runs_in_the_background_and_fills_the_page():
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception
    demo = next(b for b in at.button if b.label.startswith("Talk demo"))
    demo.click().run()
    assert not at.exception
    job = at.session_state[JOB_KEY]
    job.wait(120)
    assert not job.running and job.results is not None and not job.error
    at.run()
    assert not at.exception
    titles = [c.proto.spec for c in at.get("plotly_chart")]
    for title in ("Learning-rate sensitivity", "tuned learning rate", "Tuned against default",
                  "Median final loss: rule"):  # fmt: skip
        assert any(title in spec for spec in titles), title
    table = at.dataframe[0].value
    assert set(table.rule) == {"sgd", "adam"}
    use = next(b for b in at.button if b.label.startswith("Use these learning rates"))
    use.click().run()
    assert not at.exception
    config = at.session_state[state.CONFIG_KEY]
    for run in config.runs:
        if run.optimizer in ("sgd", "adam"):
            assert run.hyper["lr"] == best_setting(job.results.sensitivity, run.optimizer)[0]


def test_cancel_keeps_what_finished():
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.multiselect[0].set_value(["sgd", "momentum", "adam", "rmsprop"])
    at.number_input[0].set_value(40)  # points
    next(b for b in at.button if b.label == "Run sweep").click().run()
    job = at.session_state[JOB_KEY]
    job.cancel()
    job.wait(120)
    assert job.results is not None and job.results.cancelled
    assert len(job.results.runs) < job.sweep.n_runs()
    at.run()
    assert not at.exception
    assert any("Cancelled" in w.value for w in at.warning)


def test_a_sweep_trains_on_the_uploaded_file_not_the_configured_dataset():
    from test_app import app, upload

    from dashboard import data_source

    at = upload(app(), "bom_crlf_semicolon.csv")
    assert not at.exception and not at.sidebar.error
    at.sidebar.number_input(key="w_tr_epochs").set_value(2).run()
    at.switch_page("pages/8_sweeps.py").run()
    at.multiselect[0].set_value(["sgd"])
    at.number_input[0].set_value(3)  # points
    at.number_input[1].set_value(1)  # seeds
    at.number_input[2].set_value(1)  # fresh seeds
    next(b for b in at.button if b.label == "Run sweep").click().run()
    assert not at.exception
    job = at.session_state[JOB_KEY]
    job.wait(120)
    assert job.results is not None and not job.error
    uploaded, _ = data_source.load(at.session_state[data_source.UPLOAD_KEY], job.config)
    assert job.data is not None and len(job.data.X_train) == len(uploaded.X_train)
    assert job.data.n_features == uploaded.n_features
