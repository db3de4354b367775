"""Pure parts of the dashboard: state encoding, cache, sidebar parsing, exports, figures,
and the gradient diagnosis — tested without a running app."""

import io
import zipfile

import numpy as np
import pandas as pd
import pytest

from dashboard import diagnosis, export, runner, sidebar, state
from dashboard.figures import curves, gradients, run_colors
from dashboard.figures import data as data_figs
from dashboard.figures import landscape as land_figs
from nn_core import ConfigError, ExperimentConfig, run_comparison
from nn_core import landscape as nn_landscape
from tests.conftest import small_config


@pytest.fixture(scope="module")
def results():
    return run_comparison(small_config(training={"epochs": 5, "seeds": 2}))


# --- state and cache ----------------------------------------------------------------------------


def test_config_survives_the_url_round_trip():
    config = ExperimentConfig.preset("adagrad-stall")
    text = state.encode_config(config)
    assert text.isascii() and "=" not in text and len(text) < 2000
    assert state.decode_config(text) == config


@pytest.mark.parametrize("bad", ["", "abc", "!!!!", state.encode_config(small_config())[:-5]])
def test_damaged_links_are_refused_with_a_config_error(bad):
    with pytest.raises(ConfigError):
        state.decode_config(bad)


def test_query_parameters_choose_the_starting_config():
    session = {}
    config = state.ensure_config(session, {"preset": "relu-he-fix"})
    assert config == ExperimentConfig.preset("relu-he-fix")
    assert session[state.PRESET_KEY] == "relu-he-fix"
    session = {}
    state.ensure_config(session, {"preset": "nope"})
    assert session[state.PRESET_KEY] == state.DEFAULT_PRESET
    assert "unknown preset" in session[state.NOTICE_KEY]
    custom = small_config()
    session = {}
    assert state.ensure_config(session, {"config": state.encode_config(custom)}) == custom


def test_set_config_mirrors_presets_by_name_and_others_in_full():
    params, session = {}, {}
    state.set_config(session, params, ExperimentConfig.preset("default"), "default")
    assert params == {"preset": "default"}
    state.set_config(session, params, small_config(), None)
    assert set(params) == {"config"} and state.decode_config(params["config"]) == small_config()


def test_history_keeps_the_last_comparisons(results):
    session = {}
    for i in range(6):
        state.remember(session, results if i == 5 else object.__new__(type(results)), f"p{i}")
    names = [n for n, _ in state.history(session)]
    assert names == ["p2", "p3", "p4", "p5"]
    assert session[state.RESULTS_KEY] is results


def test_result_cache_is_bounded_and_lru(results):
    cache = runner.ResultCache(max_entries=2)
    cache.put("a", results)
    cache.put("b", results)
    assert cache.get("a") is results  # a is now most recent
    cache.put("c", results)
    assert cache.get("b") is None and cache.get("a") is results and len(cache) == 2


def test_runner_serves_the_same_config_from_the_cache():
    cache = runner.ResultCache()
    config = small_config(training={"epochs": 1, "seeds": 1})
    key1, first, hit1 = runner.run(config, cache=cache)
    key2, second, hit2 = runner.run(ExperimentConfig.from_json(config.to_json()), cache=cache)
    assert (hit1, hit2) == (False, True) and key1 == key2 and second is first
    assert runner.cache_key(config, "data-a") != runner.cache_key(config, "data-b")


def test_cancelled_comparisons_are_not_cached():
    cache = runner.ResultCache()
    _, res, _ = runner.run(small_config(), cancel=lambda: True, cache=cache)
    assert res.cancelled and len(cache) == 0


# --- sidebar parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("16, 16", [16, 16]), (" 8 ;4", [8, 4]), ("", str), ("8, x", str), ("3.5", str)],
)
def test_parse_widths(text, expected):
    out = sidebar.parse_widths(text)
    assert isinstance(out, str) if expected is str else out == expected


def test_parse_options():
    assert sidebar.parse_options("momentum=0.9, betas=0.8/0.99, centered=true, eps=1e-6") == {
        "momentum": 0.9,
        "betas": [0.8, 0.99],
        "centered": True,
        "eps": 1e-6,
    }
    assert sidebar.parse_options("") == {}
    assert "name=value" in sidebar.parse_options("momentum")


@pytest.mark.parametrize("preset", ["default", "adagrad-stall", "adadelta-lr"])
def test_runs_table_round_trips_the_configuration(preset):
    config = ExperimentConfig.preset(preset)
    runs, errors = sidebar.runs_from_frame(sidebar.runs_frame(config))
    assert not errors
    doc = config.to_dict()
    doc["runs"] = runs
    rebuilt = ExperimentConfig.from_dict(doc)
    assert [r.hyperparameters() for r in rebuilt.runs] == [r.hyperparameters() for r in config.runs]
    assert [r.batch_size for r in rebuilt.runs] == [r.batch_size for r in config.runs]


def test_runs_table_reports_bad_options_and_skips_empty_rows():
    frame = pd.DataFrame(
        [
            {"label": "a", "optimizer": "adam", "batch_size": "8", "lr": 0.1, "options": "x"},
            {"label": None, "optimizer": None, "batch_size": None, "lr": None, "options": None},
        ]
    )
    runs, errors = sidebar.runs_from_frame(frame)
    assert len(runs) == 1 and errors and "run 1" in errors[0]


# --- exports --------------------------------------------------------------------------------------


def test_csv_exports_equal_the_command_line_files(results, tmp_path):
    results.to_csv(tmp_path)
    for name in export.TABLES:
        assert export.table_csv(results, name) == (tmp_path / f"{name}.csv").read_bytes()
    with pytest.raises(KeyError):
        export.table_csv(results, "nope")


def test_zip_holds_config_and_every_table(results):
    extra = {"landscape": pd.DataFrame({"a": [0.0], "b": [0.0], "loss": [1.0]})}
    with zipfile.ZipFile(io.BytesIO(export.zip_bytes(results, extra))) as zf:
        names = set(zf.namelist())
        assert names == {"config.json", "landscape.csv"} | {f"{t}.csv" for t in export.TABLES}
        back = pd.read_csv(zf.open("curves.csv"))
    assert len(back) == len(results.curves)
    assert ExperimentConfig.from_json(results.config.to_json()) == results.config


# --- figures --------------------------------------------------------------------------------------


def test_colours_follow_the_rule_not_the_position():
    a = run_colors([("GD", "sgd"), ("SGD", "sgd"), ("Adam", "adam")])
    b = run_colors([("Adam", "adam"), ("Extra", "rmsprop"), ("GD", "sgd"), ("SGD", "sgd")])
    assert all(a[k] == b[k] for k in a) and len(set(a.values())) == 3


def test_seed_bands_are_mean_min_max(results):
    bands = curves.seed_bands(results.curves, "loss", "epoch")
    c = results.curves
    sel = c[(c["run"] == "Adam") & (c["split"] == "train") & (c["epoch"] == 3)]["loss"]
    row = bands[(bands["run"] == "Adam") & (bands["split"] == "train") & (bands["epoch"] == 3)]
    assert row["mean"].item() == pytest.approx(sel.mean())
    assert (row["low"].item(), row["high"].item()) == (sel.min(), sel.max())


def test_loss_curves_draw_one_line_and_band_per_run_and_split(results):
    colors = run_colors(results.config.runs)
    fig = curves.loss_curves(results.curves, colors, "loss", "epoch", ("train", "val"))
    lines = [t for t in fig.data if t.mode == "lines" and t.meta != "style"]
    bands = [t for t in fig.data if t.fill == "toself"]
    assert len(lines) == len(colors) * 2 and len(bands) == len(colors) * 2
    assert fig.layout.hovermode == "x unified"
    assert {t.line.color for t in lines} == set(colors.values())
    one_split = curves.loss_curves(results.curves, colors, "loss", "step", ("train",), True)
    assert one_split.layout.yaxis.type == "log"
    assert len([t for t in one_split.data if t.mode == "lines"]) == len(colors)


def test_summary_table_counts_epochs_to_target(results):
    table = curves.summary_table(results.summary, results.curves, target=10.0).set_index("run")
    assert (table["epochs to train loss ≤ 10"] == "0").all()  # every run starts below 10
    table = curves.summary_table(results.summary, results.curves, target=1e-9)
    assert (table["epochs to train loss ≤ 1e-09"] == "not reached").all()
    assert list(table["run"]) == [r.label for r in results.config.runs]


def test_decision_boundaries_use_each_runs_final_weights(results):
    colors = run_colors(results.config.runs)
    fig = curves.decision_boundaries(results, colors)
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    assert len(heatmaps) == len(colors)
    *_, p = curves.boundary_grid(results, "Adam", 0, n=10)
    assert p.shape == (10, 10) and ((p >= 0) & (p <= 1)).all()
    assert not np.array_equal(p, curves.boundary_grid(results, "GD", 0, n=10)[2])


def test_histogram_animation_has_a_frame_per_epoch_and_shares_sum_to_one(results):
    h = results.histograms.query("run == 'SGD' and seed == 0")
    fig = gradients.histogram_animation(h, results.arch.n_layers)
    assert len(fig.frames) == h["epoch"].nunique()
    assert len(fig.data) == results.arch.n_layers
    for trace in fig.frames[-1].data:  # the zero stem (x, x, None) and then the bins
        assert sum(y for y in trace.y[1:] if y is not None) == pytest.approx(1.0)
    assert fig.layout.sliders[0].steps[-1].label == str(h["epoch"].max())


def test_norm_heatmap_is_log10_of_the_gradient_norms(results):
    g = results.gradients.query("run == 'Adam' and seed == 1")
    fig = gradients.norm_heatmap(g)
    z = np.array(fig.data[0].z, dtype=float)
    expected = np.log10(g.pivot(index="layer", columns="epoch", values="grad_norm").to_numpy())
    np.testing.assert_allclose(z, expected)


def _gradients_of(preset: str):
    config = ExperimentConfig.preset(preset).with_training(epochs=2)
    r = run_comparison(config)
    first = r.config.runs[0].label
    return r.gradients[(r.gradients["run"] == first) & (r.gradients["seed"] == 0)]


def test_diagnosis_names_vanishing_gradients():
    findings = diagnosis.diagnose(_gradients_of("vanishing-sigmoid"))
    assert findings[0].title == "Vanishing gradients" and diagnosis.verdict(findings) == "problem"


def test_diagnosis_calls_relu_he_healthy_across_depth():
    findings = diagnosis.diagnose(_gradients_of("relu-he-fix"))
    assert findings[0].level == "ok"


def test_diagnosis_of_exploding_init():
    assert diagnosis.diagnose(_gradients_of("exploding-init"))[0].title == "Exploding gradients"


def test_diagnosis_of_zero_init():
    assert diagnosis.diagnose(_gradients_of("zero-init-symmetry"))[0].title == "No gradient at all"


def test_landscape_fidelity_warnings(results):
    land = nn_landscape.compute(results, method="random", resolution=11)
    warnings = land_figs.fidelity_warnings(land)
    assert any("captures only" in w for w in warnings)  # a random plane explains little
    colors = run_colors(results.config.runs)
    fig = land_figs.contour(land, colors)
    assert len([t for t in fig.data if t.meta == "path"]) == len(colors)


def test_data_views_cover_both_splits(results):
    table = data_figs.frame(results.data)
    assert len(table) == len(results.data.X_train) + len(results.data.X_val)
    balance = data_figs.class_balance(results.data)
    assert balance["share"].sum() == pytest.approx(1.0)
    fig = data_figs.scatter(results.data)
    assert sum(len(t.x) for t in fig.data) == len(table)


def test_a_cached_figure_with_frames_comes_back_equal_and_its_own(results):
    from dashboard import page

    h = results.histograms.query("run == 'SGD' and seed == 0")

    def build():
        return gradients.histogram_animation(h, results.arch.n_layers)

    name = "test-cached-frames"
    built = page.figure(name, results, build, "opts")
    cached = page.figure(name, results, build, "opts")
    assert cached is not built and len(cached.to_dict()["frames"]) == h["epoch"].nunique()
    assert cached.to_dict() == built.to_dict()  # data, layout and every frame
    cached.update_layout(title="changed")
    cached.to_dict()["frames"][0]["data"][0]["y"] = None
    again = page.figure(name, results, build, "opts").to_dict()
    assert again == built.to_dict()
