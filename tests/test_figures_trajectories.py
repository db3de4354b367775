"""The descent-trajectory builders: figures hold run_surface's numbers, frames are bounded,
tables and the CSV say what the paths did."""

import base64
import io
import itertools
import json
import math
import struct
import zlib

import numpy as np
import pandas as pd
import plotly.graph_objects as go
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


def unpack(values) -> np.ndarray:
    """A Plotly typed-array spec ({"dtype", "bdata"}) or a plain list, as a float array."""
    if isinstance(values, dict):
        dtype = np.dtype(values["dtype"]).newbyteorder("<")
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=dtype).astype(float)
    return np.asarray(values, dtype=float)


def frame_trace(frame: dict, index: int) -> dict:
    return frame["data"][frame["traces"].index(index)]


def indices(fig, meta) -> list[int]:
    return [i for i, t in enumerate(fig.data) if t.meta == meta]


@pytest.mark.parametrize("steps", [10, 200, 2000])
def test_frames_are_bounded_and_the_last_shows_the_final_point(steps):
    paths, colors = paths_for(steps=steps)
    fig = tr.contour_figure("rosenbrock", paths, colors)
    frames = fig.to_dict()["frames"]
    assert frames == fig.plain_frames
    assert 2 <= len(frames) <= tr.MAX_FRAMES
    assert frames[0]["name"] == "0" and frames[-1]["name"] == str(steps)
    heads = indices(fig, "head")
    for label, i in zip(paths, heads, strict=True):
        path = paths[label]
        head = frame_trace(frames[-1], i)
        assert (head["x"][0], head["y"][0]) == (path["x"].iloc[-1], path["y"].iloc[-1])
        head = frame_trace(frames[0], i)
        assert (head["x"][0], head["y"][0]) == SURFACES["rosenbrock"].start
    # the still figure is the last frame, and the slider says so
    (slider,) = fig.to_dict()["layout"]["sliders"]
    assert slider["active"] == len(frames) - 1
    assert [s["label"] for s in slider["steps"]] == [f["name"] for f in frames]
    # a frame carries only the traces that move: paths and heads, never the background
    assert set(frames[0]["traces"]) == set(heads) | set(indices(fig, "path"))


def test_frames_are_valid_plotly_frames():
    """The frames skip Plotly's validation on the page (FramedFigure); here they get it."""
    paths, colors = paths_for("bowl", ["sgd", "momentum", "adam"], steps=50, kappa=10.0)
    for fig in (
        tr.contour_figure("bowl", paths, colors, kappa=10.0, arrows=True),
        tr.surface_figure("bowl", paths, colors, kappa=10.0),
    ):
        spec = fig.to_dict()
        checked = go.Figure(spec)  # raises on any invalid property
        assert len(checked.frames) == len(spec["frames"]) > 2
        assert checked.layout.sliders[0].steps[-1].label == spec["frames"][-1]["name"]
        assert checked.layout.template.layout.plot_bgcolor == "white"  # the shared look
        json.loads(fig.to_json())  # and it serialises


@pytest.mark.parametrize("rules", [["sgd", "momentum", "adam"], ["rmsprop"]])
def test_frame_k_reveals_each_path_up_to_step_k(rules):
    paths, colors = paths_for("beale", rules, steps=200)
    fig = tr.contour_figure("beale", paths, colors)
    frames = fig.plain_frames
    for label, i in zip(paths, indices(fig, "path"), strict=True):
        p = paths[label]
        for frame in frames:
            k = int(frame["name"])
            line = frame_trace(frame, i)
            x, y = unpack(line["x"]), unpack(line["y"])
            assert len(x) == len(y) == k + 1  # steps 0 … k, no more
            np.testing.assert_allclose(x, p["x"].iloc[: k + 1], rtol=1e-6, atol=1e-6)
            np.testing.assert_allclose(y, p["y"].iloc[: k + 1], rtol=1e-6, atol=1e-6)
    # the lengths grow frame by frame: a race, not the full path under a moving marker
    lengths = [len(unpack(frame_trace(f, indices(fig, "path")[0])["x"])) for f in frames]
    assert lengths == sorted(lengths) and lengths[0] == 1 and lengths[-1] == 201


def test_long_paths_are_thinned_only_behind_the_newest_stretch():
    paths, colors = paths_for("bowl", ["sgd"], steps=2000, kappa=10.0)
    fig = tr.contour_figure("bowl", paths, colors, kappa=10.0)
    (i,) = indices(fig, "path")
    x_all = paths["SGD"]["x"].to_numpy()
    every = tr.thinning(2000)
    assert every > 1
    frames = fig.plain_frames
    for before, frame in itertools.pairwise(frames):
        k, since = int(frame["name"]), int(before["name"])
        x = unpack(frame_trace(frame, i)["x"])
        if k == 2000:  # the finished race: every step
            np.testing.assert_allclose(x, x_all, rtol=1e-6, atol=1e-7)
            continue
        want = np.concatenate([x_all[0:since:every], x_all[since : k + 1]])
        np.testing.assert_allclose(x, want, rtol=1e-6, atol=1e-7)
        assert len(x) <= tr.FRAME_POINTS + (k - since) + 1


def test_revealed_rows():
    assert tr.revealed(10, 3).tolist() == [0, 1, 2, 3]
    assert tr.revealed(10, 30).tolist() == list(range(10))  # a path that stopped early
    assert tr.revealed(100, 50, every=10, since=45).tolist() == [0, 10, 20, 30, 40, *range(45, 51)]
    assert tr.thinning(tr.FRAME_POINTS) == 1 and tr.thinning(10 * tr.FRAME_POINTS) == 10
    assert tr.thinning(tr.FRAME_POINTS + 1) == 2


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


def unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


def test_arrows_in_frame_k_are_the_directions_of_step_k():
    kappa = 10.0
    paths, colors = paths_for("bowl", ["sgd", "momentum", "adam"], steps=100, kappa=kappa)
    fig = tr.contour_figure("bowl", paths, colors, kappa=kappa, arrows=True)
    arrows = {(t.legendgroup, t.meta): i for i, t in enumerate(fig.data)
              if str(t.meta).startswith("arrow:")}  # fmt: skip
    assert ("SGD", "arrow:buffer") not in arrows  # plain SGD keeps no buffer
    assert len(arrows) == 8
    frames = fig.plain_frames
    assert set(arrows.values()) <= set(frames[0]["traces"])
    length = 0.08 * 4.0  # the bowl's square is 4 wide
    for frame in frames[:-1]:
        k = int(frame["name"])
        for label in ("SGD", "Momentum", "Adam"):
            p = paths[label]
            x, y = p.loc[k, "x"], p.loc[k, "y"]
            step = frame_trace(frame, arrows[(label, "arrow:step")])
            assert step["customdata"][0][0] == k
            np.testing.assert_allclose([step["x"][0], step["y"][0]], [x, y], atol=1e-6)
            d = np.array([step["x"][1] - step["x"][0], step["y"][1] - step["y"][0]])
            assert np.linalg.norm(d) == pytest.approx(length, abs=1e-5)
            # θ_{k+1} − θ_k, from the path's own points
            want = [p.loc[k + 1, "x"] - x, p.loc[k + 1, "y"] - y]
            np.testing.assert_allclose(unit(d), unit(want), atol=1e-4)
            g = frame_trace(frame, arrows[(label, "arrow:gradient")])
            d = np.array([g["x"][1] - g["x"][0], g["y"][1] - g["y"][0]])
            np.testing.assert_allclose(unit(d), unit([-x, -kappa * y]), atol=1e-4)  # −∇f
        # momentum's step is −γb: its buffer arrow and its step arrow coincide
        mom = [frame_trace(frame, arrows[("Momentum", f"arrow:{kind}")])
               for kind in ("step", "buffer")]  # fmt: skip
        np.testing.assert_allclose(mom[0]["x"], mom[1]["x"], atol=1e-5)
        m = paths["Adam"].loc[k + 1, ["exp_avg_x", "exp_avg_y"]].to_numpy(dtype=float)
        b = frame_trace(frame, arrows[("Adam", "arrow:buffer")])
        d = np.array([b["x"][1] - b["x"][0], b["y"][1] - b["y"][0]])
        np.testing.assert_allclose(unit(d), -unit(m), atol=1e-4)
    # the last step has no next step: no step arrow there, the gradient arrow stays
    last = frames[-1]
    assert frame_trace(last, arrows[("SGD", "arrow:step")])["x"] == []
    assert len(frame_trace(last, arrows[("SGD", "arrow:gradient")])["x"]) == 2
    # the still figure shows the last frame's arrows
    assert (
        list(fig.data[arrows[("SGD", "arrow:gradient")]].x)
        == (frame_trace(last, arrows[("SGD", "arrow:gradient")])["x"])
    )
    assert not indices(tr.contour_figure("bowl", paths, colors, kappa=kappa), "arrow:step")


def test_step_arrows_are_empty_where_the_path_has_no_point():
    paths, _ = paths_for("bowl", ["sgd"], steps=5, kappa=10.0)
    out = tr.step_arrows(SURFACES["bowl"], paths["SGD"], [0, 4, 5, 9], 10.0, 1.0)
    ax, _, norm = out["step"]
    assert np.isfinite(ax[:2]).all() and np.isnan(ax[2:]).all()  # steps 5 and 9: no next step
    gx, _, gnorm = out["gradient"]
    assert np.isfinite(gx[:3]).all() and np.isnan(gx[3]).all()  # step 9 does not exist
    p = paths["SGD"]
    assert norm[0] == pytest.approx(math.hypot(p.loc[1, "dx"], p.loc[1, "dy"]))
    assert gnorm[0] == pytest.approx(math.hypot(p.loc[0, "x"], 10.0 * p.loc[0, "y"]))


def test_click_grid_and_clicked_start():
    for name, surface in SURFACES.items():
        gx, gy = tr.click_grid(surface)
        (x0, x1), (y0, y1) = surface.domain
        assert gx.min() == x0 and gx.max() == pytest.approx(x1)
        assert gy.min() == y0 and gy.max() == pytest.approx(y1)
        assert 16**2 <= len(gx) <= (tr.CLICK_INTERVALS + 1) ** 2, name
        spacing = np.diff(np.unique(gx))
        np.testing.assert_allclose(spacing, spacing[0])
        assert round(spacing[0], 9) in tr.CLICK_SPACINGS
    # a click as st.plotly_chart reports it: the grid sent as float32
    x32, y32 = float(np.float32(-1.8)), float(np.float32(0.6))
    assert x32 != -1.8
    event = {"selection": {"points": [{"x": 0.0, "y": 0.0}, {"x": x32, "y": y32}]}}
    assert tr.start_from_selection(event, "rosenbrock") == (-1.8, 0.6)  # the last click
    outside = {"selection": {"points": [{"x": 9.0, "y": -7.0}]}}
    assert tr.start_from_selection(outside, "rosenbrock") == (2.0, -1.0)  # clipped to the square
    for nothing in (None, {}, {"selection": {"points": []}},
                    {"selection": {"points": [{"x": None, "y": 1}]}}):  # fmt: skip
        assert tr.start_from_selection(nothing, "rosenbrock") is None
    # the contour's grid trace holds those points, invisible and clickable
    paths, colors = paths_for("rosenbrock", ["sgd"], steps=10)
    fig = tr.contour_figure("rosenbrock", paths, colors)
    (grid,) = traces(fig, "grid")
    # markers (Streamlit reports a click as the selection of one), invisible
    assert grid.mode == "markers" and grid.marker.opacity == 0 and "start at" in grid.hovertemplate
    np.testing.assert_allclose(grid.x, tr.click_grid(SURFACES["rosenbrock"])[0], atol=1e-6)
    assert not traces(tr.contour_figure("rosenbrock", paths, colors, clickable=False), "grid")


def test_surface_paths_float_above_the_surface_and_race_too():
    paths, colors = paths_for("himmelblau", ["sgd", "adam"], steps=tr.SURFACE_POINTS)
    fig = tr.surface_figure("himmelblau", paths, colors)
    surface = fig.data[0]
    z_grid = np.asarray(surface.z, dtype=float)
    lift = tr.LIFT * (z_grid.max() - z_grid.min())
    assert lift > 0
    for t, label in zip(traces(fig, "path"), ["SGD", "Adam"], strict=True):
        p = paths[label]
        np.testing.assert_allclose(t.z, np.log1p(p["loss"]) + lift)
        np.testing.assert_array_equal(t.x, p["x"])
    frames = fig.plain_frames
    assert 2 <= len(frames) <= tr.SURFACE_FRAMES
    paths_i = indices(fig, "path")
    for frame in frames:
        k = int(frame["name"])
        for i, label in zip(paths_i, ["SGD", "Adam"], strict=True):
            line = frame_trace(frame, i)
            z = unpack(line["z"])
            assert len(z) == k + 1  # every step, up to step k
            np.testing.assert_allclose(z, np.log1p(paths[label]["loss"][: k + 1]) + lift, 1e-5)
            head = frame_trace(frame, i + 1)
            assert unpack(head["x"])[0] == pytest.approx(paths[label]["x"][k], rel=1e-6)
    # a longer path is thinned while it plays, and whole at the end
    paths, colors = paths_for("rastrigin", ["sgd"], steps=4 * tr.SURFACE_POINTS)
    fig = tr.surface_figure("rastrigin", paths, colors)
    frames = fig.plain_frames
    middle = frames[len(frames) // 2]
    k = int(middle["name"])
    z = unpack(frame_trace(middle, 1)["z"])
    assert len(z) == k // 4 + 1 + (k % 4 != 0) and len(z) <= tr.SURFACE_POINTS + 1
    assert len(unpack(frame_trace(frames[-1], 1)["z"])) == 4 * tr.SURFACE_POINTS + 1
    z_grid = np.asarray(fig.data[0].z, dtype=float)
    lift = tr.LIFT * (z_grid.max() - z_grid.min())
    np.testing.assert_allclose(traces(fig, "path")[0].z, paths["SGD"]["loss"] + lift, 1e-6)
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
    assert steps[0] == 0 and steps[-1] == 2000 and len(steps) == tr.MAX_FRAMES <= 60
    assert tr.frame_steps(10).tolist() == list(range(11))


@pytest.mark.parametrize("big", [False, True])
def test_charts_fix_their_margins_so_plotly_draws_them_once(big):
    """With ``autoexpand`` Plotly redraws a chart each time its legend, colour bar or slider
    pushes a margin out; the margins are given instead, large enough for what sits in them."""
    paths, colors = paths_for("himmelblau", ["sgd", "adam"], steps=20)
    figures = [
        tr.contour_figure("himmelblau", paths, colors, big=big),
        tr.surface_figure("himmelblau", paths, colors, big=big),
        tr.loss_figure(paths, colors, big=big),
    ]
    for fig in figures:
        margin = fig.to_dict()["layout"]["margin"]
        assert margin["autoexpand"] is False
        assert margin["t"] >= 50 and margin["b"] >= 100  # legend or title; player or legend
    contour = figures[0].to_dict()["layout"]["margin"]
    assert contour["r"] >= 80 and contour["l"] >= 55  # the colour bar; the y tick labels
    assert (contour["t"] > 90) is big  # large type, larger margins
