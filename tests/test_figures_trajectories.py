"""The descent-trajectory builders: figures hold run_surface's numbers, frames are bounded,
tables and the CSV say what the paths did."""

import base64
import io
import json
import math
import struct
import zlib

import numpy as np
import pandas as pd
import pytest

from dashboard.figures import run_colors
from dashboard.figures import trajectories as tr
from dashboard.sidebar import parse_options
from nn_core.optimizers import RULES
from nn_core.surfaces import SURFACES, run_surface


def walker(calls=None):
    def walk(surface, rule, hyper_json, start, steps, kappa):
        if calls is not None:
            calls.append((surface, rule, hyper_json, start, steps, kappa))
        hyper = json.loads(hyper_json)
        return run_surface(surface, rule, hyper, start, steps, kappa, RULES[rule].label)

    return walk


def paths_for(surface="rosenbrock", rules=tr.DEFAULT_RULES, steps=200, start=None, kappa=None):
    hyper = {r: {"lr": tr.default_lr(surface, r)} for r in rules}
    start = SURFACES[surface].start if start is None else start
    paths, errors = tr.walk_all(walker(), surface, hyper, start, steps, kappa)
    assert errors == []
    return paths, run_colors(paths)


def traces(fig, meta):
    return [t for t in fig.data if t.meta == meta]


def test_default_learning_rates_follow_the_surface_and_the_rule_family():
    assert tr.default_lr("beale", "sgd") == SURFACES["beale"].default_lr
    assert tr.default_lr("beale", "nesterov") == SURFACES["beale"].default_lr
    assert tr.default_lr("beale", "adadelta") == 1.0
    assert tr.default_lr("rosenbrock", "adam") > SURFACES["rosenbrock"].default_lr
    frame = tr.hyper_frame("himmelblau", ["sgd", "adam"], {"adam": {"lr": 0.5}})
    assert frame["rule"].tolist() == ["SGD", "Adam"]
    assert frame["lr"].tolist() == [SURFACES["himmelblau"].default_lr, 0.5]


def test_hyper_table_reads_lr_and_options_and_names_the_bad_rows():
    frame = pd.DataFrame(
        {
            "rule": ["SGD", "Momentum", "Adam", "RMSprop"],
            "lr": [0.1, np.nan, 0.01, 0.02],
            "options": ["", "", "betas=0.8/0.9", "alpha"],
        }
    )
    hyper, cells, errors = tr.read_hyper_frame(
        frame, ["sgd", "momentum", "adam", "rmsprop"], parse_options
    )
    assert hyper == {"sgd": {"lr": 0.1}, "adam": {"betas": [0.8, 0.9], "lr": 0.01}}
    assert len(errors) == 2
    assert errors[0].startswith("Momentum:") and "learning rate" in errors[0]
    assert errors[1].startswith("RMSprop:")
    assert cells["adam"] == {"options": "betas=0.8/0.9", "lr": 0.01}


def test_invalid_settings_become_messages_and_the_other_rules_still_run():
    hyper = {"sgd": {"lr": -1.0}, "adam": {"lr": 0.1}, "momentum": {"lr": 0.01, "mu": 0.5}}
    paths, errors = tr.walk_all(walker(), "rosenbrock", hyper, (-1.5, 2.0), 20)
    assert list(paths) == ["Adam"]
    assert any(e.startswith("SGD:") and "lr must be" in e for e in errors)
    assert any(e.startswith("Momentum:") and "'mu'" in e for e in errors)


def test_walk_is_called_with_plain_hashable_arguments():
    calls = []
    tr.walk_all(walker(calls), "bowl", {"adam": {"lr": 0.1}}, (np.float64(1), 2), 30, 5.0)
    (call,) = calls
    hash(call)  # what st.cache_data keys on: no arrays, no dicts
    assert call == ("bowl", "adam", '{"lr": 0.1}', (1.0, 2.0), 30, 5.0)
    assert type(call[3][0]) is float


def test_contour_has_one_path_per_rule_equal_to_run_surface():
    paths, colors = paths_for()
    fig = tr.contour_figure("rosenbrock", paths, colors)
    lines = traces(fig, "path")
    assert [t.legendgroup for t in lines] == [RULES[r].label for r in tr.DEFAULT_RULES]
    for t, rule in zip(lines, tr.DEFAULT_RULES, strict=True):
        expected = run_surface("rosenbrock", rule, {"lr": tr.default_lr("rosenbrock", rule)})
        np.testing.assert_array_equal(t.x, expected["x"])
        np.testing.assert_array_equal(t.y, expected["y"])
        assert t.line.color == colors[RULES[rule].label]
    assert len(traces(fig, "minimum")[0].x) == 1 and len(traces(fig, "start")) == 1


def decode_png(uri: str) -> np.ndarray:
    """The greys of an 8-bit greyscale PNG data URI, first row on top (filter 0 rows only)."""
    data = base64.b64decode(uri.split(",", 1)[1])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    idat, pos = b"", 8
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        if data[pos + 4 : pos + 8] == b"IDAT":
            idat += data[pos + 8 : pos + 8 + n]
        pos += 12 + n
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, width + 1)
    assert (raw[:, 0] == 0).all()
    return raw[:, 1:]


@pytest.mark.parametrize(("name", "log"), [("rosenbrock", True), ("saddle", False)])
def test_background_is_the_function_in_bands_log_scaled_only_where_asked(name, log):
    _, _, Z = SURFACES[name].grid(tr.SHADE_PIXELS)
    V = tr.shade_values(name)[2]
    np.testing.assert_allclose(V, np.log1p(Z) if log else Z)
    paths, colors = paths_for(name, ["sgd"])
    fig = tr.contour_figure(name, paths, colors)
    (image,) = fig.layout.images
    (x0, x1), (y0, y1) = SURFACES[name].domain
    assert (image.x, image.y, image.sizex, image.sizey) == (x0, y1, x1 - x0, y1 - y0)
    grey = decode_png(image.source)[::-1]  # back to rows of increasing y
    assert grey.shape == Z.shape
    band = tr.shade_bands(V, V.min(), V.max())
    inside = grey != tr.EDGE  # band edges are drawn as contour lines
    assert inside.mean() > 0.5
    expected = (tr.LIGHTEST - band / (tr.SHADE_BANDS - 1) * (tr.LIGHTEST - tr.DARKEST)).astype(int)
    np.testing.assert_array_equal(grey[inside], expected[inside])
    # the lowest value is lightest: the minimum of f sits in white
    i, j = np.unravel_index(np.argmin(V), V.shape)
    assert band[i, j] == 0
    bar = traces(fig, "colorbar")[0]
    assert bar.marker.colorbar.title.text == ("log(1 + f)" if log else "f(x, y)")
    assert (bar.marker.cmin, bar.marker.cmax) == (V.min(), V.max())
    # only scatter traces: Plotly's redraw-free animation erases contour and heatmap traces
    assert {t.type for t in fig.data} == {"scatter"}


@pytest.mark.parametrize("steps", [10, 200, 2000])
def test_frames_are_bounded_and_the_last_shows_the_final_point(steps):
    paths, colors = paths_for(steps=steps)
    fig = tr.contour_figure("rosenbrock", paths, colors)
    assert 2 <= len(fig.frames) <= tr.MAX_FRAMES
    assert fig.frames[0].name == "0" and fig.frames[-1].name == str(steps)
    heads = [i for i, t in enumerate(fig.data) if t.meta == "head"]
    assert set(heads) <= set(fig.frames[-1].traces)
    last = fig.frames[-1]
    for label, path in paths.items():
        i = last.traces.index(heads[list(paths).index(label)])
        head = last.data[i]
        assert (head.x[0], head.y[0]) == (path["x"].iloc[-1], path["y"].iloc[-1])
    first = fig.frames[0]
    start = SURFACES["rosenbrock"].start
    for i in heads:
        head = first.data[first.traces.index(i)]
        assert (head.x[0], head.y[0]) == start
    # the still figure is the last frame, and the slider says so
    assert fig.layout.sliders[0].active == len(fig.frames) - 1
    assert [s.label for s in fig.layout.sliders[0].steps] == [f.name for f in fig.frames]


def test_trails_are_full_resolution_pieces_of_the_path():
    paths, colors = paths_for("bowl", ["sgd"], steps=2000, kappa=10.0)
    fig = tr.contour_figure("bowl", paths, colors, kappa=10.0)
    trail_index = next(i for i, t in enumerate(fig.data) if t.meta == "trail")
    path = paths["SGD"]
    for frame in fig.frames[1:]:
        k = int(frame.name)
        trail = frame.data[frame.traces.index(trail_index)]
        # consecutive steps, ending at step k: no zigzag is skipped
        n = len(trail.x)
        np.testing.assert_array_equal(trail.x, path["x"].iloc[k - n + 1 : k + 1])


def test_diverged_paths_are_named_and_drawn_only_where_finite():
    hyper = {"sgd": {"lr": 0.5}, "adam": {"lr": 0.1}}
    paths, _ = tr.walk_all(walker(), "bowl", hyper, (-1.8, 1.0), 2000, 10.0)
    sgd = paths["SGD"]
    assert bool(sgd["diverged"].iloc[-1])
    colors = run_colors(paths)
    fig = tr.contour_figure("bowl", paths, colors, kappa=10.0)
    line = traces(fig, "path")[0]
    assert line.name == f"SGD (diverged at step {int(sgd['step'].iloc[-1])})"
    assert np.isfinite(line.x).all() and len(line.x) == len(sgd) - 1
    table = tr.final_table("bowl", paths, 10.0)
    row = table.set_index("rule").loc["SGD"]
    assert bool(row["diverged"]) and row["diverged at step"] == sgd["step"].iloc[-1]
    assert math.isnan(row["distance to it"])
    fig.to_json()  # no inf/NaN trouble on the way to the browser


def test_direction_arrows_point_along_the_step_the_buffer_and_minus_the_gradient():
    paths, colors = paths_for("bowl", ["sgd", "momentum", "adam"], kappa=10.0)
    surface = SURFACES["bowl"]
    arrows = tr.direction_arrows(surface, paths, colors, 5, kappa=10.0)
    by = {(t.legendgroup, t.meta): t for t in arrows}
    assert ("SGD", "arrow:buffer") not in by  # plain SGD keeps no buffer
    for label in ("SGD", "Momentum", "Adam"):
        p = paths[label]
        x, y = p.loc[5, "x"], p.loc[5, "y"]
        step = by[(label, "arrow:step")]
        assert (step.x[0], step.y[0]) == (x, y)
        d = np.array([step.x[1] - x, step.y[1] - y])
        want = np.array([p.loc[6, "dx"], p.loc[6, "dy"]])
        np.testing.assert_allclose(d / np.linalg.norm(d), want / np.linalg.norm(want))
        g = by[(label, "arrow:gradient")]
        d = np.array([g.x[1] - x, g.y[1] - y])
        want = -np.array(surface.gradient(x, y, 10.0))
        np.testing.assert_allclose(d / np.linalg.norm(d), want / np.linalg.norm(want))
    # momentum's step is −γb: its buffer arrow and its step arrow coincide
    np.testing.assert_allclose(
        by[("Momentum", "arrow:buffer")].x, by[("Momentum", "arrow:step")].x, atol=1e-12
    )
    m = paths["Adam"].loc[6, ["exp_avg_x", "exp_avg_y"]].to_numpy(dtype=float)
    b = by[("Adam", "arrow:buffer")]
    d = np.array([b.x[1] - b.x[0], b.y[1] - b.y[0]])
    np.testing.assert_allclose(d / np.linalg.norm(d), -m / np.linalg.norm(m))
    fig = tr.contour_figure("bowl", paths, colors, kappa=10.0, arrows_at=5)
    assert len([t for t in fig.data if str(t.meta).startswith("arrow:")]) == len(arrows) == 8


def test_surface_paths_sit_on_the_surface_slightly_lifted():
    paths, colors = paths_for("himmelblau", ["sgd", "adam"])
    fig = tr.surface_figure("himmelblau", paths, colors)
    surface = fig.data[0]
    z_grid = np.asarray(surface.z)
    lift = 0.01 * (z_grid.max() - z_grid.min())
    assert lift > 0
    for t, label in zip(traces(fig, "path"), ["SGD", "Adam"], strict=True):
        p = paths[label]
        np.testing.assert_allclose(t.z, np.log1p(p["loss"]) + lift)
        np.testing.assert_array_equal(t.x, p["x"])
    paths, colors = paths_for("rastrigin", ["sgd"])
    fig = tr.surface_figure("rastrigin", paths, colors)
    z_grid = np.asarray(fig.data[0].z)
    lift = 0.01 * (z_grid.max() - z_grid.min())
    np.testing.assert_allclose(traces(fig, "path")[0].z, paths["SGD"]["loss"] + lift)
    assert fig.layout.scene.zaxis.title.text == "f(x, y)"


def test_loss_figure_is_log_unless_f_goes_non_positive():
    paths, colors = paths_for("rosenbrock", ["sgd", "adam"])
    fig = tr.loss_figure(paths, colors)
    assert fig.layout.yaxis.type == "log" and fig.layout.hovermode == "x unified"
    assert len(fig.data) == 2
    np.testing.assert_array_equal(fig.data[1].y, paths["Adam"]["loss"])
    assert fig.layout.title.text is None
    paths, colors = paths_for("saddle", ["sgd"])
    fig = tr.loss_figure(paths, colors)
    assert fig.layout.yaxis.type != "log" and "negative" in fig.layout.title.text
    # a path that lands exactly on a minimum: the log axis stays, and says what it cannot draw
    paths, colors = paths_for("bowl", ["sgd", "adam"], steps=5, start=(0.0, 0.0), kappa=10.0)
    assert (paths["SGD"]["loss"] == 0).all()
    fig = tr.loss_figure(paths, colors)
    assert fig.layout.yaxis.type == "log" and fig.layout.title.text.endswith("SGD, Adam")


def test_table_distance_is_zero_at_a_known_minimum_and_picks_the_nearest():
    hyper = {"sgd": {"lr": 0.01}}
    start = SURFACES["himmelblau"].minima[2]
    paths, _ = tr.walk_all(walker(), "himmelblau", hyper, start, 10)
    table = tr.final_table("himmelblau", paths)
    row = table.iloc[0]
    assert row["distance to it"] < 1e-5
    assert row["nearest minimum"] == "(-3.779, -3.283)"
    assert not row["diverged"] and row["steps"] == 10
    # from (2.9, 2.1) the nearest minimum is (3, 2) at distance √0.02
    paths, _ = tr.walk_all(walker(), "himmelblau", hyper, (2.9, 2.1), 1)
    p = paths["SGD"]
    row = tr.final_table("himmelblau", paths).iloc[0]
    assert row["nearest minimum"] == "(3, 2)"
    assert row["distance to it"] == pytest.approx(
        math.hypot(p["x"].iloc[-1] - 3, p["y"].iloc[-1] - 2)
    )
    paths, _ = tr.walk_all(walker(), "saddle", hyper, (-1, 1e-3), 5)
    row = tr.final_table("saddle", paths).iloc[0]
    assert row["nearest minimum"] is None and math.isnan(row["distance to it"])


def test_csv_has_exactly_run_surfaces_columns_for_every_rule():
    paths, _ = paths_for("beale", ["sgd", "momentum", "adam"], steps=30)
    df = pd.read_csv(io.BytesIO(tr.trajectories_csv(paths)))
    expected = set()
    for p in paths.values():
        expected |= set(p.columns)
    assert set(df.columns) == expected
    assert df.columns[:6].tolist() == ["optimizer", "label", "step", "x", "y", "loss"]
    assert df.columns[-1] == "diverged"
    assert len(df) == sum(len(p) for p in paths.values()) == 3 * 31
    mom = df[df["optimizer"] == "momentum"].reset_index(drop=True)
    np.testing.assert_allclose(mom["x"], paths["Momentum"]["x"])
    np.testing.assert_allclose(mom["momentum_buffer_x"], paths["Momentum"]["momentum_buffer_x"])
    assert df[df["optimizer"] == "sgd"]["momentum_buffer_x"].isna().all()


def test_outside_and_frame_steps():
    assert tr.outside("rosenbrock", (5, 0)) and not tr.outside("rosenbrock", (0, 0))
    steps = tr.frame_steps(2000)
    assert steps[0] == 0 and steps[-1] == 2000 and len(steps) == tr.MAX_FRAMES
    assert tr.frame_steps(10).tolist() == list(range(11))
