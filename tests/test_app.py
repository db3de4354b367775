"""The app through Streamlit's AppTest: every page, fresh and after every preset, as a user
meets it (small epochs keep it quick)."""

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import sidebar, state
from nn_core import PRESETS, ExperimentConfig
from nn_core.datasets import make
from nn_core.train import build_architecture, initial_params, train_members

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


def test_before_a_run_the_first_page_previews_the_chosen_data_without_a_chart():
    at = app()
    assert not at.get("plotly_chart")  # no charting library before the first run
    assert len(at.get("image")) == 1  # the SVG preview
    caption = next(c.value for c in at.caption if c.value.startswith("The data:"))
    assert "Two moons" in caption and "first two standardised features" in caption
    at.sidebar.selectbox(key="w_ds_name").set_value("sine").run()
    caption = next(c.value for c in at.caption if c.value.startswith("The data:"))
    assert "feature against the target" in caption
    assert len(at.get("image")) == 1
    run_button(at).click().run()
    assert not at.get("image") and at.get("plotly_chart")


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


# --- promises kept across pages (issue: presentation mode, page settings, sections) -----------


def test_presentation_mode_stays_on_across_every_page_change():
    at = app()
    at.sidebar.toggle(key=state.PRESENTATION_KEY).set_value(True).run()
    for page in [*PAGES, PAGES[0]]:
        at.switch_page(page).run()
        no_exception(at, page)
        assert at.sidebar.toggle(key=state.PRESENTATION_KEY).value is True, page
        assert at.button_group(key="lab_demo"), f"{page}: the demo buttons are gone"
    at.sidebar.toggle(key=state.PRESENTATION_KEY).set_value(False).run()
    at.switch_page("pages/5_data.py").run()
    assert at.sidebar.toggle(key=state.PRESENTATION_KEY).value is False


def trained(preset: str = "default", epochs: int = 2) -> AppTest:
    at = app(preset=preset)
    at.sidebar.number_input(key="w_tr_epochs").set_value(epochs).run()
    run_button(at).click().run()
    no_exception(at, "run")
    return at


def test_loss_curves_settings_survive_leaving_the_page():
    at = trained()
    target_key = f"lc_target_{state.results_key(at.session_state[state.RESULTS_KEY])}"
    at.button_group(key="lc_x").set_value("step").run()
    at.toggle(key="lc_log").set_value(True).run()
    at.number_input(key=target_key).set_value(0.42).run()
    at.switch_page("pages/5_data.py").run()
    at.switch_page("pages/1_loss_curves.py").run()
    no_exception(at, "back on loss curves")
    assert at.button_group(key="lc_x").value == "step"
    assert at.toggle(key="lc_log").value is True
    assert at.number_input(key=target_key).value == pytest.approx(0.42)
    assert any("≤ 0.42" in c for c in at.dataframe[0].value.columns)


def test_trajectories_settings_survive_leaving_the_page():
    at = app()
    at.switch_page("pages/2_trajectories.py").run()
    at.selectbox(key="tr_surface").set_value("beale").run()
    at.toggle(key="tr_arrows").set_value(True).run()
    at.switch_page("pages/3_gradient_health.py").run()
    at.switch_page("pages/2_trajectories.py").run()
    no_exception(at, "back on trajectories")
    assert at.selectbox(key="tr_surface").value == "beale"
    assert at.toggle(key="tr_arrows").value is True


def expanded(at, label: str) -> bool:
    return next(e.proto.expanded for e in at.sidebar.expander if e.proto.label == label)


def test_sidebar_sections_keep_their_open_state_across_pages():
    at = app()
    assert not expanded(at, "Network")
    at.session_state["lab_open_network"] = True  # what a click on the section header sets
    at.run()
    for page in PAGES:
        at.switch_page(page).run()
        assert expanded(at, "Network"), page
        assert not expanded(at, "Training"), page


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [("w_net_per_layer", "relu, bogus", "bogus"), ("w_net_widths", "8, x", "whole numbers")],
)
def test_an_invalid_network_setting_keeps_its_section_open_with_the_error(key, value, words):
    at = app()
    at.sidebar.text_input(key=key).set_value(value).run()
    at.run()  # the next rerun (any click) must not fold the error away
    assert expanded(at, "Network")
    assert any(words in e.value for e in at.sidebar.error), [e.value for e in at.sidebar.error]
    assert run_button(at).disabled


# --- the runs table ---------------------------------------------------------------------------


def with_runs_table(at, frame):
    """What the Setup page's editor hands over after an edit (its plain session-state copy)."""
    at.session_state[sidebar.RUNS_TABLE_KEY] = frame
    return at.run()


def test_a_run_added_with_blank_optional_cells_trains_with_the_defaults():
    import numpy as np

    at = app()
    frame = sidebar.runs_frame(at.session_state[state.CONFIG_KEY])
    added = {c: np.nan for c in frame.columns} | {"label": "Extra", "optimizer": "adam"}
    frame = pd.concat([frame, pd.DataFrame([added])], ignore_index=True)
    at = with_runs_table(at, frame)
    no_exception(at, "blank cells")
    assert not at.sidebar.error, [e.value for e in at.sidebar.error]
    extra = at.session_state[state.CONFIG_KEY].runs[-1]
    assert (extra.label, extra.optimizer, extra.hyper) == ("Extra", "adam", {})
    assert extra.hyperparameters() == sidebar.RULES["adam"].defaults
    assert not run_button(at).disabled


def test_a_config_error_names_the_row_as_the_table_numbers_it():
    at = app()
    frame = sidebar.runs_frame(at.session_state[state.CONFIG_KEY])
    frame.loc[2, "lr"] = -1.0  # the table shows it as run 2; the engine calls it runs[1]
    at = with_runs_table(at, frame)
    reason = next(c.value for c in at.sidebar.caption if "Run is disabled" in c.value)
    assert "run 2" in reason and "runs[1]" not in reason


def test_the_setup_page_shows_every_hyperparameter_as_a_column():
    at = app()
    at.switch_page("pages/0_setup.py").run()
    no_exception(at, "setup")
    editor = at.main.dataframe[0]  # the runs editor, full width
    columns = set(editor.value.columns)
    assert {"label", "optimizer", "batch_size", "lr", "momentum", "betas.1", "eps"} <= columns
    assert "options" not in columns


# --- presets, uploads and what the sidebar says -----------------------------------------------


def test_the_run_button_comes_right_after_the_preset_and_says_what_it_will_do():
    at = app()
    labels = [getattr(e, "label", None) for e in at.sidebar]
    assert labels.index("Run comparison") < labels.index("Data")  # above every section
    plan = [c.value for c in at.sidebar.caption if c.value.startswith("Trains")]
    assert plan and "7 runs" in plan[0] and "Two moons" in plan[0]


def test_a_modified_preset_is_called_modified_not_by_its_title():
    at = app(preset="vanishing-sigmoid")
    assert not any("Modified" in c.value for c in at.sidebar.caption)
    at.sidebar.number_input(key="w_tr_epochs").set_value(2).run()
    assert any("Modified" in c.value for c in at.sidebar.caption)
    run_button(at).click().run()
    names = [n for n, _ in state.history(at.session_state)]
    assert names == ["vanishing-sigmoid (modified)"]
    at.switch_page("pages/3_gradient_health.py").run()
    no_exception(at, "gradient health")
    assert at.sidebar.selectbox(key="w_preset").value == "vanishing-sigmoid"
    assert at.selectbox(key="gh_left_cmp").value == "vanishing-sigmoid (modified)"


def test_an_upload_is_described_everywhere_by_its_file_name():
    at = upload(app(), "bom_crlf_semicolon.csv")
    text = " ".join(m.value for m in at.main.markdown) + " ".join(c.value for c in at.caption)
    assert "bom" in text and "Two moons" not in " ".join(c.value for c in at.main.caption)
    assert all("two moons" not in e.label for e in at.main.expander)
    assert any("link" in c.value and "file" in c.value for c in at.sidebar.caption)
    assert any("bom" in c.value for c in at.sidebar.caption if c.value.startswith("Trains"))
    at.sidebar.number_input(key="w_tr_epochs").set_value(2).run()
    run_button(at).click().run()
    at.switch_page("pages/5_data.py").run()
    assert any("bom" in h.value for h in at.subheader), [h.value for h in at.subheader]


def test_nothing_in_the_app_names_an_outside_address_or_icon_font():
    sources = [ROOT / "app.py", *ROOT.glob("pages/*.py"), *ROOT.glob("dashboard/**/*.py")]
    sources += list((ROOT / ".streamlit").glob("*"))
    for path in sources:
        # SVG's namespace name is an identifier a browser never fetches
        text = path.read_text().replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert ":material/" not in text.replace('":material/…:"', ""), path
        assert "http://" not in text and "https://" not in text, path


def test_the_per_step_chart_is_built_when_its_section_is_opened():
    at = app()
    at.sidebar.number_input(key="w_tr_epochs").set_value(2).run()
    run_button(at).click().run()
    no_exception(at, "run")
    keys = [c.key for c in at.get("plotly_chart")]
    assert "chart_steps" not in keys and "chart_loss" in keys
    assert any(e.label.startswith("Per-step loss") for e in at.main.expander)
    at.session_state["lc_steps"] = True
    at.run()
    no_exception(at, "steps open")
    chart = next(c for c in at.get("plotly_chart") if c.key == "chart_steps")
    import json

    traces = json.loads(chart.proto.spec)["data"]
    results = at.session_state[state.RESULTS_KEY]
    named = {t["name"].split(" (")[0] for t in traces}  # "SGD (mean of 12 steps)": SGD
    assert named == set(results.steps["run"].unique())


def test_a_chart_sends_the_same_figure_on_the_rerun_after_it_was_built():
    """The browser draws a chart again whenever its JSON changes: a cached figure must come
    out byte for byte the same as on the run that built it."""
    at = app()
    at.sidebar.number_input(key="w_tr_epochs").set_value(2).run()
    run_button(at).click().run()
    at.toggle(key="lc_db").set_value(True).run()  # builds the decision boundaries
    built = {c.key: c.proto.spec for c in at.get("plotly_chart")}
    at.run()
    again = {c.key: c.proto.spec for c in at.get("plotly_chart")}
    assert {"chart_loss", "chart_accuracy", "chart_boundaries"} <= set(built)
    assert again == built


def test_the_blank_chart_drawn_while_training_is_valid_and_gone_afterwards():
    import plotly.graph_objects as go

    from dashboard import live_view

    fig = go.Figure(live_view.BLANK)  # Plotly's own validation (height ≥ 10, a trace)
    assert fig.layout.height == 10 and not fig.layout.xaxis.visible
    at = app()
    at.sidebar.number_input(key="w_tr_epochs").set_value(2).run()
    run_button(at).click().run()
    no_exception(at, "run")
    keys = [c.key for c in at.get("plotly_chart")]
    assert "w_warm_charts" not in keys and "chart_loss" in keys  # cleared with the progress
