"""Descent trajectories on 2-D test functions: settings, the walks, and their figures.

A *path* is the table :func:`nn_core.surfaces.run_surface` returns for one rule (one row per
step, step 0 the start); ``paths`` maps a rule's label to its path, in the order the colours were
assigned. Everything here is pure: tables in, ``go.Figure``/tables/bytes out, no Streamlit.

Plot conventions, chosen for honesty:

- x and y share one scale, so a gradient looks perpendicular to its contour and a narrow valley
  looks narrow;
- functions whose values span decades (``surface.log_contours``) are drawn as log(1 + f) in both
  the contour and the 3-D view, and the colour bar or axis says so;
- the 2-D background is a raster of f itself (equal-width bands with their edges as contour
  lines), not a Plotly contour trace, which Plotly's fast animation would erase;
- the animation moves a marker with a short trail along each full-resolution path, so no step of
  a zigzag is hidden by subsampling; only the *frames* are subsampled (at most ``MAX_FRAMES``).
"""

from __future__ import annotations

import base64
import functools
import json
import math
import struct
import zlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from nn_core import surfaces
from nn_core.optimizers import RULES
from nn_core.surfaces import SURFACES, Surface

from .style import apply_style, tidy_log_axis

DEFAULT_RULES = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
MAX_FRAMES = 150
SHADE_PIXELS = 480  # the background image is SHADE_PIXELS² evaluations of f
SHADE_BANDS = 24
SURFACE_GRID = 81
HYPER_COLUMNS = ["rule", "lr", "options"]
# Light greys, low values lightest: the coloured paths stay the most visible thing.
LIGHTEST, DARKEST, EDGE = 255, 190, 150
GREYS = [[0.0, "#ffffff"], [1.0, f"#{DARKEST:02x}{DARKEST:02x}{DARKEST:02x}"]]
PathWalker = Callable[[str, str, str, tuple[float, float], int, float | None], pd.DataFrame]


def surface_for(name: str) -> Surface:
    if name not in SURFACES:
        raise KeyError(f"unknown test function {name!r}; allowed: {', '.join(SURFACES)}")
    return SURFACES[name]


# --- settings ---------------------------------------------------------------------------------


def default_lr(surface: str, rule: str) -> float:
    """The learning rate a rule starts with on a test function: the registry's choice
    (:func:`nn_core.surfaces.default_lr`)."""
    return surfaces.default_lr(surface_for(surface), rule)


def editor_key(surface: str, rules: Sequence[str]) -> str:
    """Widget key of the learning-rate table: one table per function and set of rules."""
    return f"tr_hyper_{surface}_{'-'.join(rules)}"


def hyper_frame(surface: str, rules: Sequence[str], saved: dict[str, dict] | None = None):
    """The editable table: one row per rule (registry label), its lr and extra options text."""
    saved = saved or {}
    rows = []
    for rule in rules:
        keep = saved.get(rule, {})
        rows.append(
            {
                "rule": RULES[rule].label,
                "lr": float(keep.get("lr", default_lr(surface, rule))),
                "options": str(keep.get("options", "")),
            }
        )
    return pd.DataFrame(rows, columns=HYPER_COLUMNS)


def read_hyper_frame(
    frame: pd.DataFrame, rules: Sequence[str], parse_options: Callable[[str], dict | str]
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], list[str]]:
    """(hyper per rule, the raw cells to remember per rule, error messages).

    ``parse_options`` turns 'momentum=0.5, betas=0.9/0.99' into a dict or an error message (the
    sidebar's syntax). Range checks are left to the engine so its messages are the only ones."""
    hyper, cells, errors = {}, {}, []
    for rule, row in zip(rules, frame.to_dict("records"), strict=False):
        label = RULES[rule].label
        lr, options = row.get("lr"), str(row.get("options") or "")
        cells[rule] = {"options": options}
        if lr is None or pd.isna(lr):
            errors.append(f"{label}: give a learning rate (the lr cell is empty).")
            continue
        cells[rule]["lr"] = float(lr)
        parsed = parse_options(options)
        if isinstance(parsed, str):
            errors.append(f"{label}: {parsed}")
            continue
        hyper[rule] = {**parsed, "lr": float(lr)}
    return hyper, cells, errors


def walk_all(
    walk: PathWalker,
    surface: str,
    hyper: dict[str, dict[str, Any]],
    start: tuple[float, float],
    steps: int,
    kappa: float | None = None,
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Run ``walk(surface, rule, hyper_json, start, steps, kappa)`` for every rule.

    ``walk`` is :func:`nn_core.surfaces.run_surface` behind a cache keyed on plain values (hence
    the JSON-dumped hyperparameters). Invalid settings become messages naming the rule; the
    other rules still run. Returns ({label: path}, messages)."""
    paths, errors = {}, []
    start = (float(start[0]), float(start[1]))
    for rule, hp in hyper.items():
        label = RULES[rule].label
        try:
            paths[label] = walk(surface, rule, json.dumps(hp, sort_keys=True), start, steps, kappa)
        except (KeyError, ValueError) as exc:
            message = exc.args[0] if exc.args else str(exc)
            errors.append(f"{label}: {message}")
    return paths, errors


# --- helpers ----------------------------------------------------------------------------------


def z_transform(surface: Surface, values):
    """What the contour and 3-D views plot: log(1 + f) for ``log_contours`` functions, else f."""
    values = np.asarray(values, dtype=np.float64)
    if not surface.log_contours:
        return values
    with np.errstate(all="ignore"):
        return np.log1p(values)


def z_title(surface: Surface) -> str:
    return "log(1 + f)" if surface.log_contours else "f(x, y)"


def shade_values(surface_name: str, kappa: float | None = None, n: int = SHADE_PIXELS):
    """(xs, ys, V): what the background shows, V = log(1 + f) or f on an n × n grid."""
    xs, ys, Z = surface_for(surface_name).grid(n, kappa)
    return xs, ys, z_transform(surface_for(surface_name), Z)


def shade_bands(V: np.ndarray, lo: float, hi: float, bands: int = SHADE_BANDS) -> np.ndarray:
    """Band index 0 … bands−1 of each value: equal-width bands of f (or log(1 + f))."""
    with np.errstate(invalid="ignore"):
        t = (V - lo) / (hi - lo) if hi > lo else np.zeros_like(V)
    return np.clip(np.nan_to_num(t * bands, nan=bands - 1), 0, bands - 1).astype(int)


@functools.lru_cache(maxsize=32)
def shade_png(surface_name: str, kappa: float | None = None) -> tuple[str, float, float]:
    """The background as a PNG data URI, with the range (lo, hi) its greys span: filled contours
    (equal-width bands, low values white) with the band edges drawn as darker contour lines.

    A raster, not a Plotly contour trace: Plotly's fast animation (``redraw: False``) erases
    contour and heatmap traces, while a layout image stays. Cached: a few kB per function."""
    _, _, V = shade_values(surface_name, kappa)
    lo, hi = float(np.nanmin(V)), float(np.nanmax(V))
    band = shade_bands(V, lo, hi)
    grey = (LIGHTEST - band / (SHADE_BANDS - 1) * (LIGHTEST - DARKEST)).astype(np.uint8)
    edge = np.zeros(band.shape, dtype=bool)
    edge[:-1, :] |= band[:-1, :] != band[1:, :]
    edge[:, :-1] |= band[:, :-1] != band[:, 1:]
    grey[edge] = EDGE
    uri = "data:image/png;base64," + base64.b64encode(png_grey(grey[::-1])).decode()
    return uri, lo, hi


def png_grey(rows: np.ndarray) -> bytes:
    """A minimal 8-bit greyscale PNG of a (height, width) uint8 array, first row on top."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    h, w = rows.shape
    raw = b"".join(b"\x00" + np.ascontiguousarray(r).tobytes() for r in rows)
    header = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def finite_path(path: pd.DataFrame) -> pd.DataFrame:
    """The rows of a path whose point and loss are finite (a diverged path's last row is not)."""
    ok = np.isfinite(path[["x", "y", "loss"]].to_numpy(dtype=np.float64)).all(axis=1)
    return path[ok]


def diverged_at(path: pd.DataFrame) -> int | None:
    last = path.iloc[-1]
    return int(last["step"]) if bool(last["diverged"]) else None


def path_name(label: str, path: pd.DataFrame) -> str:
    step = diverged_at(path)
    return label if step is None else f"{label} (diverged at step {step})"


def frame_steps(last_step: int, max_frames: int = MAX_FRAMES) -> np.ndarray:
    """At most ``max_frames`` evenly spaced steps from 0 to ``last_step``, both included."""
    n = max(2, min(max_frames, last_step + 1))
    return np.unique(np.round(np.linspace(0, last_step, n)).astype(int))


# --- the contour view with the animation -------------------------------------------------------


def contour_figure(
    surface_name: str,
    paths: dict[str, pd.DataFrame],
    colors: dict[str, str],
    kappa: float | None = None,
    start: tuple[float, float] | None = None,
    arrows_at: int | None = None,
    max_frames: int = MAX_FRAMES,
    big: bool = False,
) -> go.Figure:
    """Contours of f (or log(1 + f)) with every path, the minima and the start, animated.

    The contours are a layout image (:func:`shade_png`). Traces: the colour bar, the minima and
    start markers, then per path a full-resolution line (``meta="path"``), a trail and a head
    (``meta="trail"``/``"head"``, the ones the frames move) and, when ``arrows_at`` is a step,
    the direction arrows of :func:`direction_arrows`. The figure opens on its last frame, so the
    still picture is the finished race; Play replays it."""
    surface = surface_for(surface_name)
    image, lo, hi = shade_png(surface_name, kappa)
    (x0, x1), (y0, y1) = surface.domain
    fig = go.Figure(
        # The colour bar of the background image: a trace with no point, so nothing to hover.
        go.Scatter(
            x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
            meta="colorbar",
            marker={"color": [lo], "cmin": lo, "cmax": hi, "colorscale": GREYS,
                    "showscale": True,
                    "colorbar": {"title": {"text": z_title(surface), "side": "right"},
                                 "thickness": 12, "len": 0.75}},
        )
    )  # fmt: skip
    fig.add_layout_image(
        source=image, xref="x", yref="y", x=x0, y=y1,
        sizex=x1 - x0, sizey=y1 - y0, sizing="stretch", layer="below",
    )  # fmt: skip
    apply_style(fig, big, height=720 if big else 600)  # first: it would reset the line widths
    _add_markers(fig, surface, start, big)  # under the paths, so a head at a minimum shows
    width = 4 if big else 2.5
    finite = {label: finite_path(p) for label, p in paths.items()}
    for label, p in finite.items():
        fig.add_trace(
            go.Scatter(
                x=p["x"], y=p["y"], mode="lines", name=path_name(label, paths[label]),
                legendgroup=label, meta="path", opacity=0.7,
                line={"color": colors.get(label, "#333333"), "width": width},
                customdata=np.column_stack([p["step"], p["loss"]]),
                hovertemplate=f"<b>{label}</b><br>step %{{customdata[0]}}<br>"
                "x=%{x:.4g}, y=%{y:.4g}<br>f=%{customdata[1]:.4g}<extra></extra>",
            )
        )  # fmt: skip
    last = max((int(p["step"].max()) for p in paths.values()), default=0)
    steps = frame_steps(last, max_frames)
    stride = int(np.max(np.diff(steps))) if len(steps) > 1 else 1
    tail = max(10, 2 * stride)
    moving = []
    for label, p in finite.items():
        colour = colors.get(label, "#333333")
        trail, head = _trail_and_head(p, last, tail)
        fig.add_trace(go.Scatter(**trail, mode="lines", legendgroup=label, showlegend=False,
                                 meta="trail", hoverinfo="skip",
                                 line={"color": colour, "width": width * 1.8}))  # fmt: skip
        fig.add_trace(
            go.Scatter(
                **head, mode="markers", legendgroup=label, showlegend=False, meta="head",
                marker={"color": colour, "size": 16 if big else 12,
                        "line": {"color": "white", "width": 2}},
                hovertemplate=f"<b>{label}</b> x=%{{x:.4g}}, y=%{{y:.4g}}<extra></extra>",
            )
        )  # fmt: skip
        moving += [len(fig.data) - 2, len(fig.data) - 1]
    if arrows_at is not None:
        for trace in direction_arrows(surface, paths, colors, arrows_at, kappa, big):
            fig.add_trace(trace)
    frames = []
    for k in steps:
        data = []
        for p in finite.values():
            data += _trail_and_head(p, int(k), tail)
        frames.append({"data": data, "traces": moving, "name": str(int(k))})
    fig.frames = frames  # dicts, validated once here
    fig.update_xaxes(range=[x0, x1], title="x", constrain="domain", showgrid=False,
                     zeroline=False)  # fmt: skip
    fig.update_yaxes(range=[y0, y1], title="y", scaleanchor="x", scaleratio=1,
                     constrain="domain", showgrid=False, zeroline=False)  # fmt: skip
    _add_player(fig, steps, big)
    fig.update_layout(
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        margin={"l": 10, "r": 10, "t": 90, "b": 120},
    )
    return fig


def _trail_and_head(p: pd.DataFrame, k: int, tail: int) -> tuple[dict, dict]:
    """The path's last ``tail`` steps up to step ``k`` and its point at step ``k`` (or its last
    finite point if it stopped earlier)."""
    step = p["step"].to_numpy()
    end = int(np.searchsorted(step, k, side="right"))
    begin = int(np.searchsorted(step, k - tail, side="left"))
    x, y = p["x"].to_numpy()[begin:end], p["y"].to_numpy()[begin:end]
    # Plain lists: Plotly validates them several times faster than arrays, and a figure has
    # up to MAX_FRAMES × rules × 2 of these.
    return {"x": x.tolist(), "y": y.tolist()}, {"x": x[-1:].tolist(), "y": y[-1:].tolist()}


def _add_markers(fig: go.Figure, surface: Surface, start, big: bool) -> None:
    if surface.minima:
        mx, my = zip(*surface.minima, strict=True)
        fig.add_trace(
            go.Scatter(
                x=mx, y=my, mode="markers", name="minimum", meta="minimum", legendrank=2000,
                marker={"symbol": "star", "size": 20 if big else 16, "color": "#111111",
                        "line": {"color": "white", "width": 1.5}},
                hovertemplate="minimum (%{x:.4g}, %{y:.4g})<extra></extra>",
            )
        )  # fmt: skip
    sx, sy = surface.start if start is None else start
    fig.add_trace(
        go.Scatter(
            x=[sx], y=[sy], mode="markers", name="start", meta="start", legendrank=2000,
            marker={"symbol": "circle-open", "size": 18 if big else 14, "color": "#111111",
                    "line": {"width": 3}},
            hovertemplate="start (%{x:.4g}, %{y:.4g})<extra></extra>",
        )
    )  # fmt: skip


def _add_player(fig: go.Figure, steps: np.ndarray, big: bool) -> None:
    duration = int(max(20, 6000 / max(len(steps), 1)))  # about six seconds for the whole run
    still = {"mode": "immediate", "frame": {"duration": 0, "redraw": False},
             "transition": {"duration": 0}}  # fmt: skip
    play = {"frame": {"duration": duration, "redraw": False}, "transition": {"duration": 0},
            "fromcurrent": False, "mode": "immediate"}  # fmt: skip
    fig.update_layout(
        updatemenus=[
            {
                "type": "buttons", "direction": "left", "showactive": False,
                "x": 0, "y": 0, "xanchor": "left", "yanchor": "top", "pad": {"t": 48},
                "buttons": [
                    {"label": "▶ Play", "method": "animate", "args": [None, play]},
                    {"label": "❚❚ Pause", "method": "animate", "args": [[None], still]},
                ],
            }
        ],
        sliders=[
            {
                "active": len(steps) - 1, "x": 0.32, "len": 0.68, "y": 0, "yanchor": "top",
                "pad": {"t": 38}, "ticklen": 3, "font": {"size": 10},
                "currentvalue": {"prefix": "step ", "xanchor": "right",
                                 "font": {"size": 18 if big else 13}},
                "steps": [{"label": str(int(k)), "method": "animate",
                           "args": [[str(int(k))], still]} for k in steps],
            }
        ],
    )  # fmt: skip


def direction_arrows(
    surface: Surface,
    paths: dict[str, pd.DataFrame],
    colors: dict[str, str],
    step: int,
    kappa: float | None = None,
    big: bool = False,
) -> list[go.Scatter]:
    """Arrows from each path's point at ``step``, all of one length (directions only):

    - the step the rule takes next, Δθ = θ_{k+1} − θ_k (solid, ``meta="arrow:step"``);
    - the direction of its momentum buffer or first moment, −b or −m after that step, for rules
      that keep one (dashed, ``meta="arrow:buffer"``): momentum's step is exactly −γb;
    - the steepest-descent direction −g at θ_k (grey, dotted, ``meta="arrow:gradient"``).

    Comparing the solid arrow with the grey one shows what momentum or adaptive scaling does."""
    (x0, x1), _ = surface.domain
    length = 0.08 * (x1 - x0)
    traces = []
    for label, p in paths.items():
        rows = p.set_index("step")
        if step not in rows.index or step + 1 not in rows.index:
            continue
        here, nxt = rows.loc[step], rows.loc[step + 1]
        x, y = float(here["x"]), float(here["y"])
        if not (math.isfinite(x) and math.isfinite(y)):
            continue
        gx, gy = surface.gradient(x, y, kappa)
        vectors = [("step", (nxt["dx"], nxt["dy"]), "solid", colors.get(label, "#333333"))]
        for buffer in ("momentum_buffer", "exp_avg"):
            if f"{buffer}_x" in rows.columns and np.any(rows[f"{buffer}_x"] != 0):
                vectors.append(("buffer", (-nxt[f"{buffer}_x"], -nxt[f"{buffer}_y"]), "dash",
                                colors.get(label, "#333333")))  # fmt: skip
                break
        vectors.append(("gradient", (-gx, -gy), "dot", "#555555"))
        for kind, (vx, vy), dash, colour in vectors:
            norm = math.hypot(float(vx), float(vy))
            if not math.isfinite(norm) or norm == 0:
                continue
            ex, ey = x + length * float(vx) / norm, y + length * float(vy) / norm
            what = {"step": "next step Δθ", "buffer": "−momentum buffer / first moment",
                    "gradient": "−gradient"}[kind]  # fmt: skip
            traces.append(
                go.Scatter(
                    x=[x, ex], y=[y, ey], mode="lines+markers", showlegend=False,
                    legendgroup=label, meta=f"arrow:{kind}",
                    line={"color": colour, "width": 3 if big else 2, "dash": dash},
                    marker={"symbol": ["circle", "arrow"], "size": [0, 14 if big else 11],
                            "angleref": "previous", "color": colour},
                    hovertemplate=f"<b>{label}</b> at step {step}: {what}, "
                    f"length {norm:.3g}<extra></extra>",
                )
            )  # fmt: skip
    return traces


# --- the 3-D view -----------------------------------------------------------------------------


def surface_figure(
    surface_name: str,
    paths: dict[str, pd.DataFrame],
    colors: dict[str, str],
    kappa: float | None = None,
    big: bool = False,
) -> go.Figure:
    """The function as a 3-D surface with each path on it (z = the plotted f, lifted by 1 % of
    the surface's height so the line is not buried). Points outside the plotted square are left
    out (gaps), since the surface is not drawn there."""
    surface = surface_for(surface_name)
    xs, ys, Z = surface.grid(SURFACE_GRID, kappa)
    zt = z_transform(surface, Z)
    lo, hi = float(np.nanmin(zt)), float(np.nanmax(zt))
    lift = 0.01 * (hi - lo)
    fig = go.Figure(
        go.Surface(x=xs, y=ys, z=zt, colorscale=GREYS, showscale=False, opacity=0.92,
                   hoverinfo="skip", name=z_title(surface),
                   contours={"z": {"show": True, "color": "rgba(60,60,60,0.35)",
                                   "start": lo, "end": hi, "size": (hi - lo) / 20 or 1}})
    )  # fmt: skip
    (x0, x1), (y0, y1) = surface.domain
    for label, p in paths.items():
        p = finite_path(p)
        inside = p["x"].between(x0, x1) & p["y"].between(y0, y1)
        z = z_transform(surface, p["loss"]) + lift
        fig.add_trace(
            go.Scatter3d(
                x=p["x"].where(inside), y=p["y"].where(inside), z=np.where(inside, z, np.nan),
                mode="lines", name=path_name(label, paths[label]), meta="path",
                line={"color": colors.get(label, "#333333"), "width": 8 if big else 5},
                customdata=np.column_stack([p["step"], p["loss"]]),
                hovertemplate=f"<b>{label}</b><br>step %{{customdata[0]}}<br>"
                "f=%{customdata[1]:.4g}<extra></extra>",
            )
        )  # fmt: skip
    if surface.minima:
        mx, my = (np.array(v, dtype=np.float64) for v in zip(*surface.minima, strict=True))
        fig.add_trace(
            go.Scatter3d(
                x=mx, y=my, z=z_transform(surface, surface.value(mx, my, kappa)) + lift,
                mode="markers", name="minimum", meta="minimum",
                marker={"symbol": "diamond", "size": 6, "color": "#111111"},
            )
        )  # fmt: skip
    fig.update_layout(
        scene={
            "xaxis": {"title": "x", "range": [x0, x1]},
            "yaxis": {"title": "y", "range": [y0, y1]},
            "zaxis": {"title": z_title(surface), "range": [lo, hi + 2 * lift]},
            "aspectmode": "manual", "aspectratio": {"x": 1, "y": 1, "z": 0.6},
            "camera": {"eye": {"x": 1.3, "y": -1.6, "z": 1.5}},
        },
    )  # fmt: skip
    apply_style(fig, big, height=720 if big else 600)
    fig.update_layout(
        legend={"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"},
        margin={"l": 0, "r": 0, "t": 90, "b": 0},
    )
    return fig


# --- loss, table, export ----------------------------------------------------------------------


def loss_figure(
    paths: dict[str, pd.DataFrame], colors: dict[str, str], log_y: bool = True, big: bool = False
) -> go.Figure:
    """f at every step, one line per rule, with the reason in the title whenever the log axis
    cannot show everything: negative values (the saddle) keep the axis linear; exact zeros (a
    minimum hit to the last bit) leave the log axis on and are named as not drawn."""
    fig = go.Figure()
    for label, p in paths.items():
        p = finite_path(p)
        fig.add_trace(
            go.Scatter(
                x=p["step"], y=p["loss"], mode="lines", name=path_name(label, paths[label]),
                line={"color": colors.get(label, "#333333"), "width": 2.5},
                hovertemplate="%{y:.4g}",
            )
        )  # fmt: skip
    finite = {label: finite_path(p)["loss"].to_numpy() for label, p in paths.items()}
    negative = any((v < 0).any() for v in finite.values())
    zeros = [label for label, v in finite.items() if (v == 0).any()]
    title = None
    if log_y and negative:
        title = "Linear axis: f takes negative values, which a log axis cannot show"
    elif log_y:
        tidy_log_axis(fig, "y", np.concatenate([v for v in finite.values()] or [np.array([])]))
        if zeros:
            title = f"f = 0 exactly (not drawn on a log axis) for: {', '.join(zeros)}"
    fig.update_layout(hovermode="x unified", xaxis_title="Step", yaxis_title="f(x, y)",
                      title=title)  # fmt: skip
    return apply_style(fig, big, height=480 if big else 380)


def final_table(
    surface_name: str, paths: dict[str, pd.DataFrame], kappa: float | None = None
) -> pd.DataFrame:
    """Per rule: steps run, the final point and f, the nearest known minimum and the distance to
    it (empty when the function has none or the path diverged), and whether (and at which step)
    the path diverged."""
    surface = surface_for(surface_name)
    minima = np.array(surface.minima, dtype=np.float64).reshape(-1, 2)
    rows = []
    for label, p in paths.items():
        last = p.iloc[-1]
        x, y = float(last["x"]), float(last["y"])
        nearest, distance = None, math.nan
        step = diverged_at(p)
        if len(minima) and step is None:
            d = np.hypot(minima[:, 0] - x, minima[:, 1] - y)
            i = int(np.argmin(d))
            nearest = f"({minima[i, 0]:.4g}, {minima[i, 1]:.4g})"
            distance = float(d[i])
        rows.append(
            {
                "rule": label,
                "steps": int(last["step"]),
                "final x": x,
                "final y": y,
                "final f": float(last["loss"]),
                "nearest minimum": nearest,
                "distance to it": distance,
                "diverged": step is not None,
                "diverged at step": step,
            }
        )
    return pd.DataFrame(rows)


def trajectories_frame(paths: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """All paths in one tidy table: run_surface's columns, a rule's missing state buffers empty,
    ``diverged`` last."""
    if not paths:
        return pd.DataFrame()
    df = pd.concat(list(paths.values()), ignore_index=True, sort=False)
    columns = [c for c in df.columns if c != "diverged"] + ["diverged"]
    return df[columns]


def trajectories_csv(paths: dict[str, pd.DataFrame]) -> bytes:
    return trajectories_frame(paths).to_csv(index=False).encode("utf-8")


def outside(surface_name: str, point: Iterable[float]) -> bool:
    """Whether a point lies outside the plotted square of the function."""
    (x0, x1), (y0, y1) = surface_for(surface_name).domain
    x, y = point
    return not (x0 <= x <= x1 and y0 <= y <= y1)
