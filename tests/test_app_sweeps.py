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


# --- the sweep's settings in the URL ----------------------------------------------------------


def sweeps_page(**query) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def param(at, key):
    value = at.query_params.get(key)
    return value[0] if isinstance(value, list) else value


def form_values(at) -> dict:
    return {
        "rules": list(at.multiselect[0].value),
        "span": tuple(at.select_slider[0].value),
        "points": at.number_input[0].value,
        "seeds": at.number_input[1].value,
        "confirm": at.number_input[2].value,
        "epochs": at.number_input[3].value,
    }


def test_sweep_settings_go_into_the_url_and_a_new_session_restores_them():
    from dashboard import sweep_job as links

    at = sweeps_page()
    assert param(at, "sweep") is None  # nothing chosen yet: the defaults need no link
    defaults = form_values(at)
    wanted = {"rules": ["adagrad", "sgd"], "span": (-3, 0), "points": 2, "seeds": 1,
              "confirm": 0, "epochs": 1}  # fmt: skip
    assert all(wanted[k] != defaults[k] for k in wanted)  # every field really changes
    at.multiselect[0].set_value(wanted["rules"])
    at.select_slider[0].set_value(wanted["span"])
    for i, key in enumerate(("points", "seeds", "confirm", "epochs")):
        at.number_input[i].set_value(wanted[key])
    next(b for b in at.button if b.label == "Run sweep").click().run()
    assert not at.exception
    at.session_state[JOB_KEY].wait(120)
    link = param(at, "sweep")
    assert links.decode_settings(link) == wanted
    preset = param(at, "preset")  # the comparison's settings travel alongside
    assert preset == state.DEFAULT_PRESET or param(at, "config")

    fresh = sweeps_page(sweep=link, preset=preset)
    assert not fresh.exception and not fresh.warning
    assert form_values(fresh) == wanted
    assert param(fresh, "sweep") == link


def test_a_configuration_change_keeps_the_sweep_link_and_the_preset_comes_along():
    from dashboard import sweep_job as links

    settings = {"rules": ["adam"], "span": (-4, -1), "points": 4, "seeds": 2, "confirm": 3,
                "epochs": 12}  # fmt: skip
    link = links.encode_settings(settings)
    at = sweeps_page(sweep=link, preset="relu-he-fix")
    assert not at.exception
    assert at.session_state[state.PRESET_KEY] == "relu-he-fix"
    assert form_values(at) == settings
    at.sidebar.number_input(key="w_tr_epochs").set_value(7).run()  # rewrites ?config=
    assert not at.exception
    assert param(at, "config") and param(at, "preset") is None
    assert links.decode_settings(param(at, "sweep")) == settings


def test_a_damaged_sweep_link_warns_and_keeps_the_defaults():
    at = sweeps_page()
    defaults = form_values(at)
    bad = sweeps_page(sweep="eJzLSM3JyVcozy_KSQEAGgQEXQ")  # a valid zlib text, not a sweep
    assert not bad.exception
    [warning] = [w.value for w in bad.warning]
    assert "Ignored the sweep settings in the link" in warning
    assert form_values(bad) == defaults
    assert param(bad, "sweep") is None  # the bad link is not passed on
    cut = sweeps_page(sweep="eJyrVkrKLM5Q")  # cut short
    assert not cut.exception and "damaged" in cut.warning[0].value
    assert form_values(cut) == defaults
    out_of_range = sweeps_page(sweep=state.encode_doc({"rules": ["adam"], "lr_points": 500}))
    assert not out_of_range.exception and "lr\\_points" in out_of_range.warning[0].value


def test_an_oversized_sweep_link_is_refused_before_decoding():
    from dashboard import sweep_job as links

    at = sweeps_page(sweep="A" * (links.MAX_SWEEP_LINK_CHARS + 1))
    assert not at.exception
    assert "the limit is" in at.warning[0].value
    assert form_values(at)["rules"] == list(links.DEFAULTS["rules"])
