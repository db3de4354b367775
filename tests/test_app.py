"""The app through Streamlit's AppTest: every page, fresh and after every preset, as a user
meets it (small epochs keep it quick)."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import sidebar, state
from nn_core import PRESETS, ExperimentConfig
from nn_core.datasets import make
from nn_core.training import build_architecture, initial_params, train_members

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py"))
TIMEOUT = 120


def app(**query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def run_button(at):
    return next(b for b in at.sidebar.button if b.label == "Run comparison")


def no_exception(at, where: str):
    assert not at.exception, f"{where}: {[e.value for e in at.exception]}"


def test_every_page_renders_on_a_fresh_session():
    at = app()
    no_exception(at, "entry")
    assert at.sidebar.selectbox(key="w_preset").value == "default"
    for page in PAGES:
        at.switch_page(page).run()
        no_exception(at, page)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_its_own(page):
    at = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT).run()
    no_exception(at, page)


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_page_after_running_each_preset(preset):
    at = app(preset=preset)
    assert at.sidebar.selectbox(key="w_preset").value == preset
    at.sidebar.number_input(key="w_tr_epochs").set_value(2).run()
    run_button(at).click().run()
    no_exception(at, f"{preset}: run")
    results = at.session_state[state.RESULTS_KEY]
    assert results.config.training.epochs == 2
    assert [r.label for r in results.config.runs] == [
        r.label for r in ExperimentConfig.preset(preset).runs
    ]
    assert len(at.get("plotly_chart")) >= 2
    for page in PAGES:
        at.switch_page(page).run()
        no_exception(at, f"{preset}: {page}")
    assert at.session_state[state.RESULTS_KEY] is results  # switching pages never retrains


def test_invalid_settings_are_explained_and_block_the_run():
    at = app()
    at.sidebar.text_input(key="w_net_widths").set_value("8, 1000").run()
    assert any("between 1 and 512" in e.value for e in at.sidebar.error)
    assert run_button(at).disabled
    at.sidebar.text_input(key="w_net_widths").set_value("8, x").run()
    assert any("whole numbers" in e.value for e in at.sidebar.error)
    at.sidebar.text_input(key="w_net_widths").set_value("8, 8").run()
    assert not at.sidebar.error and not run_button(at).disabled
    assert at.session_state[state.CONFIG_KEY].network.hidden_layers == (8, 8)
    no_exception(at, "after fixing")


def test_settings_survive_page_switches_and_reach_the_url():
    at = app()
    at.sidebar.text_input(key="w_net_widths").set_value("12, 9").run()
    at.switch_page("pages/5_data.py").run()
    assert at.sidebar.text_input(key="w_net_widths").value == "12, 9"
    assert "config" in at.query_params
    encoded = at.query_params["config"]
    encoded = encoded[0] if isinstance(encoded, list) else encoded
    assert state.decode_config(encoded).network.hidden_layers == (12, 9)


def test_a_damaged_link_is_explained_and_the_default_loads():
    at = app(config="not-a-config")
    no_exception(at, "damaged link")
    assert any("Ignored the configuration in the link" in w.value for w in at.warning)
    assert at.sidebar.selectbox(key="w_preset").value == "default"


def test_choosing_a_preset_replaces_the_settings():
    at = app()
    at.sidebar.selectbox(key="w_preset").set_value("vanishing-sigmoid").run()
    assert at.sidebar.text_input(key="w_net_widths").value == ", ".join(["32"] * 10)
    assert at.session_state[state.CONFIG_KEY] == ExperimentConfig.preset("vanishing-sigmoid")


def test_a_cancelled_run_keeps_the_runs_that_finished():
    config = ExperimentConfig.preset("default").with_training(epochs=1)
    data = make(config.dataset)
    arch = build_architecture(config, data)
    theta0 = {0: initial_params(config, arch, 0)}
    finished = [train_members(config, [(run, 0)], data, arch, theta0)[0] for run in config.runs[:2]]
    at = app()
    at.session_state[sidebar.PARTIAL_KEY] = (config, finished, None)
    at.run()
    results = at.session_state[state.RESULTS_KEY]
    assert results.cancelled and list(results.summary["run"]) == ["GD", "SGD"]
    assert any("kept the 2 run(s)" in w.value for w in at.warning)
    no_exception(at, "recovered")


def test_presentation_mode_runs_a_demo_in_one_click():
    at = app()
    at.sidebar.toggle(key=state.PRESENTATION_KEY).set_value(True).run()
    at.pills(key="lab_demo").set_value("relu-he-fix").run()
    no_exception(at, "demo click")
    results = at.session_state[state.RESULTS_KEY]
    assert results.config == ExperimentConfig.preset("relu-he-fix")
    assert len(at.get("plotly_chart")) >= 2


DATA = ROOT / "tests" / "data"


def upload(at, filename: str):
    at.sidebar.radio(key="w_ds_source").set_value("upload").run()
    at.sidebar.file_uploader(key="w_upload").upload(filename, (DATA / filename).read_bytes())
    return at.run()


def test_a_valid_upload_trains_and_is_described_on_the_data_page():
    at = upload(app(), "bom_crlf_semicolon.csv")
    no_exception(at, "upload")
    assert not at.sidebar.error, [e.value for e in at.sidebar.error]
    at.sidebar.number_input(key="w_tr_epochs").set_value(2).run()
    run_button(at).click().run()
    no_exception(at, "upload run")
    results = at.session_state[state.RESULTS_KEY]
    assert results.data_report["source"] == "upload"
    assert results.data.n_features == len(results.data_report["feature_names"])
    at.switch_page("pages/5_data.py").run()
    no_exception(at, "data page")
    assert any("Uploaded file" in h.value for h in at.subheader)
    # the upload survives a page switch
    assert at.sidebar.radio(key="w_ds_source").value == "upload"


@pytest.mark.parametrize(
    ("filename", "words"),
    [
        ("binary.bin", "not"),
        ("empty.csv", "empty"),
        ("header_only.csv", "header"),
        ("workbook.xlsx", ""),
    ],
)
def test_a_broken_upload_shows_an_error_not_an_exception(filename, words):
    at = upload(app(), filename)
    no_exception(at, filename)
    errors = [e.value for e in at.sidebar.error]
    assert errors and words in errors[0].lower()
    assert run_button(at).disabled


def test_a_single_class_target_is_refused_next_to_the_target_picker():
    at = upload(app(), "single_class.csv")
    no_exception(at, "single class")
    assert any("class" in e.value.lower() for e in at.sidebar.error)
    assert run_button(at).disabled


def test_a_bundled_dataset_runs():
    at = app()
    at.sidebar.radio(key="w_ds_source").set_value("bundled").run()
    at.sidebar.selectbox(key="w_ds_bundled").set_value("iris").run()
    at.sidebar.number_input(key="w_tr_epochs").set_value(2).run()
    run_button(at).click().run()
    no_exception(at, "bundled")
    results = at.session_state[state.RESULTS_KEY]
    assert results.config.dataset.name == "iris" and results.data.n_classes == 3
