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
- the animation is a race: frame k draws each path only up to step k, with its head (and the
  direction arrows) at step k. Only the *frames* are subsampled (at most ``MAX_FRAMES``); a
  path's newest stretch in a frame has every step, so no zigzag is skipped as it is drawn, and
  the finished picture (the last frame) has every step of every path;
- frames travel light: plain dicts with float32 typed arrays, listing only the traces that move
  (:class:`FramedFigure`, :func:`packed`), so a change of a setting answers quickly.
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

from ..text import safe_figure
from .style import FramedFigure, apply_style, tidy_log_axis

DEFAULT_RULES = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
MAX_FRAMES = 60  # animation frames of the contour race (evenly spaced steps, both ends kept)
FRAME_POINTS = 300  # a playing path of more steps is thinned behind its newest stretch
SURFACE_FRAMES = 40  # the 3-D race: Plotly redraws a whole 3-D scene for every frame
SURFACE_POINTS = 150
LIFT = 0.03  # 3-D paths float this fraction of the surface's height above it
CLICK_SPACINGS = (0.05, 0.1, 0.2, 0.25, 0.5, 1.0)
CLICK_INTERVALS = 24  # at most this many grid intervals a side of the contour
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
    """The rows of a path whose point and loss are finite (a diverged path's last row is not);
    the path itself when all are."""
    ok = np.ones(len(path), dtype=bool)
    for column in ("x", "y", "loss"):  # one at a time: a multi-column pick costs ~1 ms
        ok &= np.isfinite(path[column].to_numpy(dtype=np.float64))
    return path if ok.all() else path[ok]


def diverged_at(path: pd.DataFrame) -> int | None:
    # Columns, not path.iloc[-1]: a row of mixed types costs a conversion of every column.
    if not bool(path["diverged"].to_numpy()[-1]):
        return None
    return int(path["step"].to_numpy()[-1])


def path_name(label: str, path: pd.DataFrame) -> str:
    step = diverged_at(path)
    return label if step is None else f"{label} (diverged at step {step})"


def frame_steps(last_step: int, max_frames: int = MAX_FRAMES) -> np.ndarray:
    """At most ``max_frames`` evenly spaced steps from 0 to ``last_step``, both included."""
    n = max(2, min(max_frames, last_step + 1))
    return np.unique(np.round(np.linspace(0, last_step, n)).astype(int))


def thinning(last_step: int, points: int = FRAME_POINTS) -> int:
    """Every how many steps a playing path is drawn behind its newest stretch: 1 (every step)
    for paths of up to ``points`` steps, so frame k then holds exactly steps 0 … k."""
    return max(1, math.ceil(last_step / points))


def revealed(n: int, k: int, every: int = 1, since: int | None = None) -> np.ndarray:
    """Row indices of a path of ``n`` rows (step i in row i) drawn up to step ``k``: every
    ``every``-th step before step ``since``, then every step from ``since`` to ``k`` (the stretch
    the marker just ran, so no zigzag is skipped as it is drawn). The path ends at step k, or at
    its last row if it stopped earlier. With ``every == 1`` that is rows 0 … k: k + 1 points."""
    end = min(int(k), n - 1)
    since = end if since is None else max(0, min(int(since), end))
    return np.concatenate([np.arange(0, since, every), np.arange(since, end + 1)])


def packed(values) -> dict[str, str]:
    """A float array as Plotly's typed-array spec: little-endian float32, base64.

    About 5.3 bytes a number instead of ~18 as JSON text, and float32's seven digits are far
    finer than a pixel. NaN stays NaN, which Plotly draws as a gap; a diverging path's values
    beyond float32's range are clipped to ±1e30, still far off the chart in their direction."""
    a = np.clip(np.asarray(values, dtype=np.float64), -1e30, 1e30).astype("<f4")
    return {"dtype": "f4", "bdata": base64.b64encode(a.tobytes()).decode("ascii")}


@functools.lru_cache(maxsize=8)
def _style(big: bool, height: int) -> tuple[str, str]:
    """The shared look (:func:`apply_style`) as JSON: (the layout without its template, the
    template), built once per size instead of once per figure."""
    layout = apply_style(go.Figure(), big, height).to_dict()["layout"]
    template = layout.pop("template", {})
    return json.dumps(layout), json.dumps(template)


def styled(fig: FramedFigure, big: bool, height: int) -> FramedFigure:
    """:func:`apply_style`'s layout on ``fig`` (its template passed as built); the traces keep
    the line widths this module gives them. Returns ``fig``."""
    layout, template = _style(big, height)
    fig.update_layout(json.loads(layout))
    fig.raw_layout["template"] = json.loads(template)
    return safe_figure(fig)


def fixed_margins(big: bool, left: int, right: int, top: int, bottom: int) -> dict[str, Any]:
    """Margins that hold the legend, colour bar, axis labels and player, given up front.

    Plotly otherwise grows its margins to fit them (``autoexpand``), redrawing the whole chart
    once per growth: that was more than half of a chart's drawing time in the browser. Large
    type (presentation mode) gets half as much again."""
    scale = 1.5 if big else 1.0
    return {"l": round(left * scale), "r": round(right * scale), "t": round(top * scale),
            "b": round(bottom * scale), "autoexpand": False}  # fmt: skip


# --- the contour view with the animation -------------------------------------------------------


def contour_figure(
    surface_name: str,
    paths: dict[str, pd.DataFrame],
    colors: dict[str, str],
    kappa: float | None = None,
    start: tuple[float, float] | None = None,
    arrows: bool = False,
    max_frames: int = MAX_FRAMES,
    big: bool = False,
    clickable: bool = True,
) -> FramedFigure:
    """Contours of f (or log(1 + f)) with every path, the minima and the start: a race.

    The contours are a layout image (:func:`shade_png`). Traces: the colour bar, the click grid
    (``meta="grid"``, invisible points a click can pick as the start, when ``clickable``), the
    minima and start markers, then per path its line (``meta="path"``) and its head
    (``meta="head"``) and, with ``arrows``, the direction arrows of :func:`step_arrows`
    (``meta="arrow:step"``, ``"arrow:buffer"``, ``"arrow:gradient"``).

    Frame j (at most ``max_frames``, at step k_j of :func:`frame_steps`) draws each path only up
    to step k_j (:func:`revealed`; every step for paths of up to ``FRAME_POINTS`` steps), its
    head at step k_j and the arrows of step k_j. The still figure is the last frame: the
    finished race, every step drawn; Play replays it."""
    surface = surface_for(surface_name)
    image, lo, hi = shade_png(surface_name, kappa)
    (x0, x1), (y0, y1) = surface.domain
    fig = FramedFigure(
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
    styled(fig, big, height=720 if big else 600)
    if clickable:
        gx, gy = click_grid(surface)
        # Invisible markers: Streamlit reports a click on a chart as the selection of the
        # marker under it. Each is an SVG element, so the grid is coarse (about 21 a side).
        fig.add_trace(
            go.Scatter(
                x=gx.astype(np.float32), y=gy.astype(np.float32), mode="markers",
                showlegend=False, meta="grid", marker={"size": 12, "opacity": 0},
                selected={"marker": {"opacity": 0}}, unselected={"marker": {"opacity": 0}},
                hovertemplate="click: start at (%{x:.4g}, %{y:.4g})<extra></extra>",
            )
        )  # fmt: skip
    _add_markers(fig, surface, start, big)  # under the paths, so a head at a minimum shows
    width = 4 if big else 2.5
    finite = {label: finite_path(p) for label, p in paths.items()}
    last = max((len(p) - 1 for p in paths.values()), default=0)  # row i is step i
    steps = frame_steps(last, max_frames)
    every = thinning(last)
    length = 0.08 * (x1 - x0)
    moving: list[int] = []
    templates: list[tuple[str, str]] = []  # (every step drawn, thinned) hover texts per path
    for label, p in finite.items():
        colour = colors.get(label, "#333333")
        full = (f"<b>{label}</b><br>step %{{customdata[0]}}<br>x=%{{x:.4g}}, y=%{{y:.4g}}<br>"
                "f=%{customdata[1]:.4g}<extra></extra>")  # fmt: skip
        templates.append((full, f"<b>{label}</b><br>x=%{{x:.4g}}, y=%{{y:.4g}}<extra></extra>"))
        fig.add_trace(
            go.Scatter(
                x=p["x"].to_numpy(), y=p["y"].to_numpy(), mode="lines",
                name=path_name(label, paths[label]), legendgroup=label, meta="path",
                line={"color": colour, "width": width}, opacity=0.85,
                customdata=np.column_stack([p["step"].to_numpy(), p["loss"].to_numpy()]),
                hovertemplate=full,
            )
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=p["x"].to_numpy()[-1:], y=p["y"].to_numpy()[-1:], mode="markers",
                legendgroup=label, showlegend=False, meta="head",
                marker={"color": colour, "size": 16 if big else 12,
                        "line": {"color": "white", "width": 2}},
                unselected={"marker": {"opacity": 1}},
                hovertemplate=f"<b>{label}</b> x=%{{x:.4g}}, y=%{{y:.4g}}<extra></extra>",
            )
        )  # fmt: skip
        moving += [len(fig.data) - 2, len(fig.data) - 1]
    at_steps: dict[str, dict[str, tuple]] = {}
    if arrows:
        for label, p in paths.items():
            at_steps[label] = step_arrows(surface, p, steps, kappa, length)
            for kind, (ax, ay, norm) in at_steps[label].items():
                colour = "#555555" if kind == "gradient" else colors.get(label, "#333333")
                fig.add_trace(_arrow_trace(label, kind, colour, ax[-1], ay[-1],
                                           int(steps[-1]), norm[-1], big))  # fmt: skip
                moving.append(len(fig.data) - 1)
    xy = [(p["x"].to_numpy(), p["y"].to_numpy()) for p in finite.values()]
    frames = []
    for j, k in enumerate(steps):
        k = int(k)
        since = int(steps[j - 1]) if j else 0
        thin = every if k < last else 1  # the finished race: every step
        data: list[dict] = []
        for (px, py), (full, short) in zip(xy, templates, strict=True):
            idx = revealed(len(px), k, thin, since)
            x, y = px[idx], py[idx]
            data.append({"x": packed(x), "y": packed(y),
                         "hovertemplate": full if thin == 1 else short})  # fmt: skip
            data.append({"x": x[-1:].tolist(), "y": y[-1:].tolist()})
        for by_kind in at_steps.values():
            for ax, ay, norm in by_kind.values():
                data.append(_arrow_data(ax[j], ay[j], k, norm[j]))
        frames.append({"data": data, "traces": moving, "name": str(k)})
    fig.plain_frames[:] = frames
    fig.update_xaxes(range=[x0, x1], title="x", constrain="domain", showgrid=False,
                     zeroline=False)  # fmt: skip
    fig.update_yaxes(range=[y0, y1], title="y", scaleanchor="x", scaleratio=1,
                     constrain="domain", showgrid=False, zeroline=False)  # fmt: skip
    _add_player(fig, steps, big, redraw=False)
    fig.update_layout(
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        margin=fixed_margins(big, left=55, right=80, top=90, bottom=120),
        hovermode="closest",
        hoverdistance=40,  # a click anywhere finds a grid point, however large the chart
        # What Streamlit sets on a chart that reports clicks, given here so that it does not
        # set them after the first drawing (clickmode is a full redraw for Plotly).
        dragmode="pan" if clickable else "zoom",
        clickmode="event+select" if clickable else "event",
    )
    return fig


def click_grid(surface: Surface) -> tuple[np.ndarray, np.ndarray]:
    """The points a click on the contour can pick as the start: a grid with a round spacing
    (``CLICK_SPACINGS``; at most ``CLICK_INTERVALS`` intervals a side) over the plotted square,
    flattened to (x, y) arrays of equal length."""
    (x0, x1), (y0, y1) = surface.domain
    span = max(x1 - x0, y1 - y0)
    h = next((s for s in CLICK_SPACINGS if span / s <= CLICK_INTERVALS), span / CLICK_INTERVALS)
    xs = np.round(x0 + h * np.arange(round((x1 - x0) / h) + 1), 10)
    ys = np.round(y0 + h * np.arange(round((y1 - y0) / h) + 1), 10)
    X, Y = np.meshgrid(xs, ys)
    return X.ravel(), Y.ravel()


def start_from_selection(selection: Any, surface_name: str) -> tuple[float, float] | None:
    """The start a click on the contour chose, from ``st.plotly_chart``'s selection state
    (``{"selection": {"points": [{"x": …, "y": …}, …]}}``): the last clicked point, rounded to
    4 decimals (the grid's own values, sent as float32) and clipped into the plotted square.
    None when no usable point was clicked."""

    def get(obj: Any, key: str) -> Any:
        if isinstance(obj, dict):
            return obj.get(key)
        return getattr(obj, key, None)

    points = get(get(selection, "selection"), "points") or []
    for point in reversed(list(points)):
        x, y = get(point, "x"), get(point, "y")
        try:
            x, y = float(x), float(y)
        except (TypeError, ValueError):
            continue
        if math.isfinite(x) and math.isfinite(y):
            (x0, x1), (y0, y1) = surface_for(surface_name).domain
            return (round(min(max(x, x0), x1), 4), round(min(max(y, y0), y1), 4))
    return None


def _add_markers(fig: go.Figure, surface: Surface, start, big: bool) -> None:
    if surface.minima:
        mx, my = zip(*surface.minima, strict=True)
        fig.add_trace(
            go.Scatter(
                x=mx, y=my, mode="markers", name="minimum", meta="minimum", legendrank=2000,
                marker={"symbol": "star", "size": 20 if big else 16, "color": "#111111",
                        "line": {"color": "white", "width": 1.5}},
                unselected={"marker": {"opacity": 1}},
                hovertemplate="minimum (%{x:.4g}, %{y:.4g})<extra></extra>",
            )
        )  # fmt: skip
    sx, sy = surface.start if start is None else start
    fig.add_trace(
        go.Scatter(
            x=[sx], y=[sy], mode="markers", name="start", meta="start", legendrank=2000,
            marker={"symbol": "circle-open", "size": 18 if big else 14, "color": "#111111",
                    "line": {"width": 3}},
            unselected={"marker": {"opacity": 1}},
            hovertemplate="start (%{x:.4g}, %{y:.4g})<extra></extra>",
        )
    )  # fmt: skip


def _add_player(fig: FramedFigure, steps: np.ndarray, big: bool, redraw: bool) -> None:
    """Play / Pause and a step slider; ``redraw`` is needed by 3-D scenes (Plotly redraws them
    whole), not by the 2-D scatter traces."""
    duration = int(max(40, 6000 / max(len(steps), 1)))  # about six seconds for the whole run
    still = {"mode": "immediate", "frame": {"duration": 0, "redraw": redraw},
             "transition": {"duration": 0}}  # fmt: skip
    play = {"frame": {"duration": duration, "redraw": redraw}, "transition": {"duration": 0},
            "fromcurrent": False, "mode": "immediate"}  # fmt: skip
    fig.raw_layout["updatemenus"] = [
        {
            "type": "buttons", "direction": "left", "showactive": False,
            "x": 0, "y": 0, "xanchor": "left", "yanchor": "top", "pad": {"t": 48},
            "buttons": [
                {"label": "▶ Play", "method": "animate", "args": [None, play]},
                {"label": "❚❚ Pause", "method": "animate", "args": [[None], still]},
            ],
        }
    ]  # fmt: skip
    fig.raw_layout["sliders"] = [
        {
            "active": len(steps) - 1, "x": 0.32, "len": 0.68, "y": 0, "yanchor": "top",
            "pad": {"t": 38}, "ticklen": 3, "font": {"size": 10},
            "currentvalue": {"prefix": "step ", "xanchor": "right",
                             "font": {"size": 18 if big else 13}},
            "steps": [{"label": str(int(k)), "method": "animate",
                       "args": [[str(int(k))], still]} for k in steps],
        }
    ]  # fmt: skip


ARROW_TEXT = {
    "step": "next step Δθ",
    "buffer": "−momentum buffer / first moment",
    "gradient": "−gradient",
}


def step_arrows(
    surface: Surface,
    path: pd.DataFrame,
    steps: Sequence[int],
    kappa: float | None = None,
    length: float = 1.0,
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Arrows from the path's point θ_k at each step k of ``steps``, all ``length`` long
    (directions only), as {kind: (x, y, norm)} with x, y of shape (len(steps), 2) holding each
    arrow's tail and tip and ``norm`` the vector's own length (NaN where there is no arrow):

    - ``step``: the step the rule takes next, Δθ = θ_{k+1} − θ_k (none at the last step);
    - ``buffer``, for rules that keep one: minus the momentum buffer or first moment after that
      step, −b or −m (momentum's step is exactly −γb);
    - ``gradient``: the steepest-descent direction −∇f(θ_k).

    Comparing the step with −∇f shows what momentum or adaptive scaling does."""
    k = np.asarray(steps, dtype=int)
    n = len(path)
    x, y = path["x"].to_numpy(dtype=np.float64), path["y"].to_numpy(dtype=np.float64)
    here = k < n
    px = np.where(here, x[np.minimum(k, n - 1)], np.nan)
    py = np.where(here, y[np.minimum(k, n - 1)], np.nan)
    nxt = np.minimum(k + 1, n - 1)
    has_next = k + 1 < n

    def following(column: str) -> np.ndarray:
        return np.where(has_next, path[column].to_numpy(dtype=np.float64)[nxt], np.nan)

    vectors = {"step": (following("dx"), following("dy"))}
    for buffer in ("momentum_buffer", "exp_avg"):
        if f"{buffer}_x" in path.columns and np.any(path[f"{buffer}_x"].to_numpy() != 0):
            vectors["buffer"] = (-following(f"{buffer}_x"), -following(f"{buffer}_y"))
            break
    with np.errstate(all="ignore"):
        gx, gy = surface.gradient(px, py, kappa)
        vectors["gradient"] = (-np.asarray(gx, dtype=np.float64), -np.asarray(gy, np.float64))
        out = {}
        for kind, (vx, vy) in vectors.items():
            norm = np.hypot(vx, vy)
            ok = np.isfinite(norm) & (norm > 0) & np.isfinite(px) & np.isfinite(py)
            ex, ey = px + length * vx / norm, py + length * vy / norm
            ax = np.where(ok[:, None], np.column_stack([px, ex]), np.nan)
            ay = np.where(ok[:, None], np.column_stack([py, ey]), np.nan)
            out[kind] = (ax, ay, np.where(ok, norm, np.nan))
    return out


def _arrow_data(ax: np.ndarray, ay: np.ndarray, k: int, norm: float) -> dict:
    """One arrow (tail, tip) of a frame; no point where there is none."""
    if not np.isfinite(ax).all():
        return {"x": [], "y": [], "customdata": []}
    size = float(f"{norm:.4g}")
    return {"x": np.round(ax, 6).tolist(), "y": np.round(ay, 6).tolist(),
            "customdata": [[k, size], [k, size]]}  # fmt: skip


def _arrow_trace(label, kind, colour, ax, ay, k, norm, big) -> go.Scatter:
    dash = {"step": "solid", "buffer": "dash", "gradient": "dot"}[kind]
    return go.Scatter(
        **_arrow_data(ax, ay, k, norm), mode="lines+markers", showlegend=False,
        legendgroup=label, meta=f"arrow:{kind}",
        line={"color": colour, "width": 3 if big else 2, "dash": dash},
        marker={"symbol": ["circle", "arrow"], "size": [0, 14 if big else 11],
                "angleref": "previous", "color": colour},
        unselected={"marker": {"opacity": 1}},
        hovertemplate=f"<b>{label}</b> at step %{{customdata[0]}}: {ARROW_TEXT[kind]}, "
        "length %{customdata[1]:.3g}<extra></extra>",
    )  # fmt: skip


# --- the 3-D view -----------------------------------------------------------------------------


def surface_figure(
    surface_name: str,
    paths: dict[str, pd.DataFrame],
    colors: dict[str, str],
    kappa: float | None = None,
    big: bool = False,
    max_frames: int = SURFACE_FRAMES,
) -> FramedFigure:
    """The function as a 3-D surface with each path on it, animated like the contour, seen
    from high above (a low camera looks at the near wall of a valley, not at the paths in it).

    A path is drawn at z = the plotted f + 3 % of the surface's height (``lift``), so the line
    floats visibly above the mesh, which is flat between its grid points and would otherwise
    swallow a path lying on the true, curved function; each path's head is a marker. Points
    outside the plotted square are left out (gaps), since the surface is not drawn there. Frame
    j draws each path up to step k_j (at most ``SURFACE_POINTS`` of its points: every step for
    shorter paths) with its head at step k_j; the still figure is the finished race."""
    surface = surface_for(surface_name)
    xs, ys, Z = surface.grid(SURFACE_GRID, kappa)
    zt = z_transform(surface, Z)
    lo, hi = float(np.nanmin(zt)), float(np.nanmax(zt))
    lift = LIFT * (hi - lo)
    fig = FramedFigure(
        go.Surface(x=xs.astype(np.float32), y=ys.astype(np.float32), z=zt.astype(np.float32),
                   colorscale=GREYS, showscale=False, opacity=0.92, hoverinfo="skip",
                   name=z_title(surface),
                   contours={"z": {"show": True, "color": "rgba(60,60,60,0.35)",
                                   "start": lo, "end": hi, "size": (hi - lo) / 20 or 1}})
    )  # fmt: skip
    (x0, x1), (y0, y1) = surface.domain
    last = max((len(p) - 1 for p in paths.values()), default=0)  # row i is step i
    steps = frame_steps(last, max_frames)
    every = thinning(last, SURFACE_POINTS)
    lifted = {}
    for label, p in paths.items():
        p = finite_path(p)
        px, py, loss = (p[c].to_numpy(dtype=np.float64) for c in ("x", "y", "loss"))
        inside = (x0 <= px) & (px <= x1) & (y0 <= py) & (py <= y1)
        z = np.where(inside, z_transform(surface, loss) + lift, np.nan)
        x, y = np.where(inside, px, np.nan), np.where(inside, py, np.nan)
        lifted[label] = (x, y, z)
        colour = colors.get(label, "#333333")
        fig.add_trace(
            go.Scatter3d(
                x=x, y=y, z=z, mode="lines", name=path_name(label, paths[label]), meta="path",
                legendgroup=label, line={"color": colour, "width": 8 if big else 5},
                customdata=np.column_stack([p["step"].to_numpy(), loss]),
                hovertemplate=f"<b>{label}</b><br>step %{{customdata[0]}}<br>"
                "f=%{customdata[1]:.4g}<extra></extra>",
            )
        )  # fmt: skip
        fig.add_trace(
            go.Scatter3d(
                x=x[-1:], y=y[-1:], z=z[-1:], mode="markers", meta="head", showlegend=False,
                legendgroup=label, hoverinfo="skip",
                marker={"color": colour, "size": 7 if big else 5,
                        "line": {"color": "white", "width": 1}},
            )
        )  # fmt: skip
    moving = list(range(1, len(fig.data)))
    if surface.minima:
        mx, my = (np.array(v, dtype=np.float64) for v in zip(*surface.minima, strict=True))
        fig.add_trace(
            go.Scatter3d(
                x=mx, y=my, z=z_transform(surface, surface.value(mx, my, kappa)) + lift,
                mode="markers", name="minimum", meta="minimum",
                marker={"symbol": "diamond", "size": 7, "color": "#111111"},
            )
        )  # fmt: skip
    frames = []
    for k in steps:
        k = int(k)
        data = []
        for x, y, z in lifted.values():
            idx = revealed(len(x), k, every if k < last else 1)
            head = idx[-1:]
            data.append({"type": "scatter3d", "x": packed(x[idx]), "y": packed(y[idx]),
                         "z": packed(z[idx])})  # fmt: skip
            data.append({"type": "scatter3d", "x": packed(x[head]), "y": packed(y[head]),
                         "z": packed(z[head])})  # fmt: skip
        frames.append({"data": data, "traces": moving, "name": str(k)})
    fig.plain_frames[:] = frames
    fig.update_layout(
        scene={
            "xaxis": {"title": "x", "range": [x0, x1]},
            "yaxis": {"title": "y", "range": [y0, y1]},
            "zaxis": {"title": z_title(surface), "range": [lo, hi + 2 * lift], "nticks": 4},
            "aspectmode": "manual", "aspectratio": {"x": 1, "y": 1, "z": 0.5},
            "camera": {"eye": {"x": 0.55, "y": -1.05, "z": 2.05}},
        },
    )  # fmt: skip
    styled(fig, big, height=720 if big else 600)
    _add_player(fig, steps, big, redraw=True)
    fig.update_layout(
        legend={"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"},
        margin=fixed_margins(big, left=0, right=0, top=90, bottom=110),
    )
    return fig


# --- loss, table, export ----------------------------------------------------------------------


def loss_figure(
    paths: dict[str, pd.DataFrame], colors: dict[str, str], log_y: bool = True, big: bool = False
) -> go.Figure:
    """f at every step, one line per rule, with the reason in the title whenever the log axis
    cannot show everything: negative values (the saddle) keep the axis linear; exact zeros (a
    minimum hit to the last bit) leave the log axis on and are named as not drawn."""
    fig = styled(FramedFigure(), big, height=480 if big else 380)
    finite = {}
    for label, p in paths.items():
        p = finite_path(p)
        finite[label] = p["loss"].to_numpy(dtype=np.float64)
        fig.add_trace(
            go.Scatter(
                x=p["step"].to_numpy(), y=finite[label], mode="lines",
                name=path_name(label, paths[label]),
                line={"color": colors.get(label, "#333333"), "width": 4 if big else 2.5},
                hovertemplate="%{y:.4g}",
            )
        )  # fmt: skip
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
                      title=title,
                      legend={"orientation": "h", "x": 0, "y": -0.22, "yanchor": "top"},
                      margin=fixed_margins(big, left=70, right=20, top=50, bottom=130))  # fmt: skip
    return safe_figure(fig)


def final_table(
    surface_name: str,
    paths: dict[str, pd.DataFrame],
    kappa: float | None = None,
    lrs: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Per rule: the learning rate it ran with (when ``lrs``, by label, is given), steps run,
    the final point and f, the nearest known minimum and the distance to it (empty when the
    function has none or the path diverged), and whether (and at which step) the path
    diverged."""
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
                **({"learning rate γ": float(lrs[label])} if lrs and label in lrs else {}),
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
