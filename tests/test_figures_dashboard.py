"""The dashboard's charts keep their promises: one colour per rule, one per class, flat lines
drawn flat, shared scales, words instead of codes, and honest landscape captions."""

import math

import numpy as np
import pandas as pd
import pytest

from dashboard.figures import curves, gradients, style
from dashboard.figures import data as data_figs
from dashboard.figures import landscape as land_figs
from nn_core import PRESETS, ExperimentConfig, run_comparison
from nn_core import landscape as nn_landscape
from nn_core.optimizers import RULES
from nn_core.recording import HIST_LOW, HIST_WIDTH
from tests.conftest import small_config


@pytest.fixture(scope="module")
def results():
    return run_comparison(small_config(training={"epochs": 4, "seeds": 2}))


# --- colours ---------------------------------------------------------------------------------


def test_every_registered_rule_and_the_new_ones_have_their_own_colour():
    names = [*RULES, "adamax", "lion"]
    assert set(names) <= set(style.RULE_COLORS)
    colours = [style.rule_color(n) for n in dict.fromkeys(names)]
    assert len(set(colours)) == len(colours)


def test_an_unknown_rule_gets_the_same_fallback_colour_every_time():
    a, b = style.rule_color("future-rule"), style.rule_color("future-rule")
    assert a == b and a in style.FALLBACK_COLORS


@pytest.mark.parametrize("preset", list(PRESETS))
def test_a_rule_has_one_colour_in_every_preset(preset):
    runs = ExperimentConfig.preset(preset).runs
    colours = style.run_colors(runs)
    first = {}
    for r in runs:
        first.setdefault(r.optimizer, r.label)
        if first[r.optimizer] == r.label:
            assert colours[r.label] == style.rule_color(r.optimizer)
    assert len(set(colours.values())) == len(runs)  # repeated rules differ by shade


def test_trajectories_and_loss_curves_agree_on_a_rules_colour():
    by_label = style.run_colors([RULES["adam"].label, RULES["sgd"].label])
    assert (
        by_label["Adam"] == style.rule_color("adam") and by_label["SGD"] == style.RULE_COLORS["sgd"]
    )


def test_classes_have_the_same_colour_on_the_data_page_and_the_boundaries(results):
    scatter = data_figs.scatter(results.data)
    data_colours = {t.legendgroup: t.marker.color for t in scatter.data}
    bounds = curves.decision_boundaries(results, style.run_colors(results.config.runs))
    boundary_colours = {t.legendgroup: t.marker.color for t in bounds.data if t.type == "scatter"}
    assert data_colours == boundary_colours == {"class0": style.CLASS_COLORS[0],
                                                 "class1": style.CLASS_COLORS[1]}  # fmt: skip
    named = [t.name for t in bounds.data if t.type == "scatter" and t.showlegend]
    assert named == ["class 0", "class 1"]  # one legend, not one per panel
    assert bounds.layout.xaxis.title.text and bounds.layout.yaxis.title.text


# --- flat lines, empty charts, tidy axes ----------------------------------------------------


def flat_curves(level=0.69315, wobble=2e-5, epochs=30):
    rows = []
    for run in ("Zero A", "Zero B"):
        for e in range(epochs + 1):
            for split in ("train", "val"):
                rows.append({"run": run, "seed": 0, "epoch": e, "step": e, "samples": e,
                             "seconds": 0.01 * (e + 1), "split": split,
                             "loss": level + wobble * math.sin(e), "accuracy": 0.55})  # fmt: skip
    return pd.DataFrame(rows)


def test_a_flat_loss_is_drawn_flat_with_a_minimum_span():
    fig = curves.loss_curves(flat_curves(), {"Zero A": "#000000", "Zero B": "#111111"})
    lo, hi = fig.layout.yaxis.range
    assert hi - lo >= 0.05 and lo <= 0.69315 <= hi
    acc = curves.loss_curves(flat_curves(), {"Zero A": "#000"}, "accuracy")
    lo, hi = acc.layout.yaxis.range
    assert hi - lo >= 0.1


def test_a_curve_that_moves_keeps_plotlys_own_range(results):
    fig = curves.loss_curves(results.curves, style.run_colors(results.config.runs))
    assert fig.layout.yaxis.range is None


def test_the_legend_names_each_run_once_plus_the_line_styles(results):
    colors = style.run_colors(results.config.runs)
    fig = curves.loss_curves(results.curves, colors)
    legend = [t.name for t in fig.data if t.showlegend is not False and t.fill != "toself"]
    assert legend == [*colors, "train", "validation"]


def test_the_updates_axis_separates_gd_from_sgd(results):
    fig = curves.loss_curves(results.curves, style.run_colors(results.config.runs), x="step")
    last_x = {t.name: max(t.x) for t in fig.data if t.showlegend and t.meta != "style"}
    assert last_x["SGD"] > 10 * last_x["GD"]  # batch-1 SGD takes one step per sample
    assert fig.layout.xaxis.title.text.startswith("Updates")


def test_wall_time_is_a_log_axis(results):
    fig = curves.loss_curves(results.curves, style.run_colors(results.config.runs), x="seconds")
    assert fig.layout.xaxis.type == "log"


def test_log_axes_label_only_powers_of_ten_across_decades():
    import plotly.graph_objects as go

    fig = go.Figure()
    style.tidy_log_axis(fig, "y", [1e-4, 0.5])
    assert fig.layout.yaxis.dtick == 1 and fig.layout.yaxis.type == "log"


def test_many_per_step_losses_are_smoothed_and_the_raw_line_faint():
    steps = pd.DataFrame({"run": "SGD", "seed": 0, "step": np.arange(1, 641), "epoch": 1,
                          "loss": 0.5 + 0.3 * np.random.default_rng(0).random(640)})  # fmt: skip
    fig = curves.step_curves(steps, {"SGD": "#0072B2"})
    raw, mean = fig.data
    assert raw.opacity < 0.5 and not raw.showlegend
    assert np.std(mean.y[100:]) < 0.5 * np.std(raw.y[100:])
    assert curves.smooth(np.array([1.0, 3.0, 5.0]), 2).tolist() == [1.0, 2.0, 4.0]


def test_two_and_640_steps_share_the_epoch_axis():
    gd = pd.DataFrame({"step": [1, 2], "epoch": [1, 2]})
    sgd = pd.DataFrame({"step": np.arange(1, 641), "epoch": np.repeat([1, 2], 320)})
    assert curves.epoch_position(gd).tolist() == [1.0, 2.0]
    x = curves.epoch_position(sgd)
    assert x[0] == pytest.approx(1 / 320) and x[319] == 1.0 and x[-1] == 2.0


def test_the_summary_speaks_in_words(results):
    table = curves.summary_table(results.summary, results.curves, 1e-9)
    assert set(table["diverged"]) == {"no"}
    assert set(table["epochs to train loss ≤ 1e-09"]) == {"not reached"}
    regression = curves.summary_table(results.summary, results.curves, 1.0, metric="r2")
    assert "final val R²" in regression.columns and "final val acc" not in regression.columns


def test_the_default_target_lies_between_the_start_and_the_best_loss(results):
    target = curves.default_target(results.curves)
    train = results.curves[results.curves["split"] == "train"]
    start = train[train["epoch"] == 0]["loss"].mean()
    assert train["loss"].min() < target < start


# --- gradient health ---------------------------------------------------------------------------


def zero_histogram(layers=2, epochs=3):
    return pd.DataFrame([
        {"run": "Z", "seed": 0, "epoch": e, "layer": layer, "bin_left": HIST_LOW,
         "bin_right": HIST_LOW + HIST_WIDTH, "count": 50}
        for e in range(epochs) for layer in range(1, layers + 1)
    ])  # fmt: skip


def test_exactly_zero_gradients_are_a_bar_at_zero_not_a_plateau():
    fig = gradients.histogram_animation(zero_histogram(), 2)
    for trace in fig.data:
        assert trace.y[1] == pytest.approx(1.0) and trace.y[0] == 0.0
        assert all(x is None or x < fig.layout.xaxis.range[0] + 1 for x in trace.x)
    assert "0" in fig.layout.xaxis.ticktext
    assert fig.layout.title.text


def test_side_by_side_panels_share_their_scales(results):
    g = results.gradients
    a = g[(g["run"] == "GD") & (g["seed"] == 0)]
    b = g[(g["run"] == "Adam") & (g["seed"] == 0)].assign(grad_norm=lambda d: d["grad_norm"] * 1e3)
    z = gradients.norm_range(a, b)
    left, right = gradients.norm_heatmap(a, z_range=z), gradients.norm_heatmap(b, z_range=z)
    assert (left.data[0].zmin, left.data[0].zmax) == (right.data[0].zmin, right.data[0].zmax) == z
    assert z[1] - z[0] >= 3  # the ×1000 panel stretches both
    h = results.histograms
    ha, hb = h[h["run"] == "GD"], h[h["run"] == "Adam"]
    x_range, y_max = gradients.histogram_ranges(ha, hb)
    one = gradients.histogram_animation(ha, results.arch.n_layers, False, x_range, y_max)
    two = gradients.histogram_animation(hb, results.arch.n_layers, False, x_range, y_max)
    assert list(one.layout.xaxis.range) == list(two.layout.xaxis.range) == x_range
    assert one.layout.yaxis.range == two.layout.yaxis.range


def test_an_all_zero_heat_map_says_why_it_is_empty():
    g = pd.DataFrame({"layer": [1, 1, 2, 2], "epoch": [0, 1, 0, 1], "grad_norm": 0.0})
    fig = gradients.norm_heatmap(g)
    assert "exactly 0" in fig.layout.annotations[0].text


def test_the_pause_button_uses_a_glyph_every_font_has():
    fig = gradients.histogram_animation(zero_histogram(), 2)
    assert fig.layout.updatemenus[0].buttons[1].label == "❚❚ Pause"


# --- loss landscape -----------------------------------------------------------------------------


def test_one_runs_captured_share_equals_the_planes():
    one = run_comparison(small_config(runs=[{"label": "Adam", "optimizer": "adam", "lr": 0.05}],
                                      training={"epochs": 4, "seeds": 1}))  # fmt: skip
    land = nn_landscape.compute(one, method="pca", resolution=5)
    assert land_figs.run_captured(land)["Adam"] == pytest.approx(land.plane.explained, abs=1e-9)


def test_paths_are_cased_and_the_legend_sits_above_the_colour_bar(results):
    land = nn_landscape.compute(results, method="pca", resolution=7)
    fig = land_figs.contour(land, style.run_colors(results.config.runs))
    assert fig.layout.legend.orientation == "h" and fig.layout.legend.y >= 1
    metas = [t.meta for t in fig.data]
    n = len(results.config.runs)
    assert metas.count("casing") == metas.count("path") == metas.count("end") == n


# --- the runs editor's columns -------------------------------------------------------------------


def test_the_runs_editor_shows_the_columns_of_the_rules_in_the_table():
    from dashboard import sidebar

    frame = sidebar.runs_frame(ExperimentConfig.preset("adagrad-stall"))
    rules = set(frame["optimizer"])
    shown = sidebar.shown_columns(frame)
    expected = {h.name for r in rules for h in RULES[r].hyper} - {"lr"}
    hyper_shown = {c.split(".")[0] for c in shown} & set(sidebar.HYPER_SPECS)
    assert hyper_shown == expected and shown[:4] == ["label", "optimizer", "batch_size", "lr"]
    frame.loc[1, "amsgrad"] = "true"  # a filled cell keeps its column, to show its error
    assert "amsgrad" in sidebar.shown_columns(frame)
    sgd_only = frame.iloc[:0]
    assert sidebar.shown_columns(sgd_only) == ["label", "optimizer", "batch_size", "lr", "other"]


# --- the data preview (a plain SVG picture on the first page) -------------------------------


def _preview_circles(svg: str):
    import xml.etree.ElementTree as ET

    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    frame = root.find(f"{ns}rect").attrib
    dots = [c.attrib for c in root.iter(f"{ns}circle") if c.attrib["r"] != "4"]  # not legend
    return frame, dots


@pytest.mark.parametrize("name", ["moons", "spirals", "sine"])
def test_the_preview_draws_every_point_where_the_data_puts_it(name):
    from nn_core import datasets
    from nn_core.config import DatasetConfig

    data = datasets.make(DatasetConfig(name=name))
    svg = data_figs.preview_svg(data)
    frame, dots = _preview_circles(svg)
    n_train, n_val = len(data.X_train), len(data.X_val)
    assert len(dots) == n_train + n_val
    # training points filled, validation points hollow, in that order
    assert [d.get("fill") == "none" for d in dots] == [False] * n_train + [True] * n_val
    cx = np.array([float(d["cx"]) for d in dots])
    cy = np.array([float(d["cy"]) for d in dots])
    x = np.r_[data.X_train[:, 0], data.X_val[:, 0]]
    second = data.X_train[:, 1] if data.n_features >= 2 else data.y_train[:, 0]
    y = np.r_[second, data.X_val[:, 1] if data.n_features >= 2 else data.y_val[:, 0]]
    # an affine picture of the data: the same scale on both axes, y drawn upwards
    sx = np.polyfit(x, cx, 1)[0]
    sy = np.polyfit(y, cy, 1)[0]
    assert np.allclose(cx, np.polyval(np.polyfit(x, cx, 1), x), atol=0.06)
    assert np.allclose(cy, np.polyval(np.polyfit(y, cy, 1), y), atol=0.06)
    assert sx > 0 and sy < 0 and sx == pytest.approx(-sy, rel=1e-3)
    left, top = float(frame["x"]), float(frame["y"])
    right, bottom = left + float(frame["width"]), top + float(frame["height"])
    assert cx.min() >= left and cx.max() <= right and cy.min() >= top and cy.max() <= bottom
    colours = [d.get("fill") if d.get("fill") != "none" else d["stroke"] for d in dots]
    if data.task == "regression":
        assert set(colours) == {style.PALETTE[0]}
    else:
        labels = np.r_[data.y_train.ravel(), data.y_val.ravel()].astype(int)
        assert colours == [style.class_color(k) for k in labels]


def test_a_large_dataset_is_previewed_by_an_even_subsample_of_bounded_size():
    from nn_core import datasets
    from nn_core.config import DatasetConfig

    data = datasets.make(DatasetConfig(name="blobs", n_samples=5000))
    svg = data_figs.preview_svg(data)
    _, dots = _preview_circles(svg)
    assert len(dots) == data_figs.PREVIEW_POINTS
    assert len(svg) < 100_000
    pts = data_figs.preview_points(data)
    assert pts["split"].sum() == pytest.approx(data_figs.PREVIEW_POINTS * 0.2, rel=0.05)


def test_the_decision_boundaries_figure_passes_plotlys_validation(results):
    """It is built from plain dicts without validation; here Plotly validates all of it."""
    import plotly.graph_objects as go

    colors = style.run_colors(results.config.runs)
    fast = curves.decision_boundaries(results, colors)
    checked = go.Figure(fast.to_dict())  # raises on any invalid property
    assert len(checked.data) == len(colors) * 3  # a region and two classes' points per run
    panels = [t for t in checked.data if t.type == "heatmap"]
    assert [(t.xaxis, t.yaxis) for t in panels] == [
        ("x" if i == 0 else f"x{i + 1}", "y" if i == 0 else f"y{i + 1}") for i in range(len(colors))
    ]
    titles = [a.text for a in checked.layout.annotations]
    assert titles == list(colors)
    axes = [checked.layout[f"xaxis{i + 1 if i else ''}"] for i in range(len(colors))]
    assert {a.title.text for a in axes} == {"x1 (std.)"} and not any(a.showgrid for a in axes)
