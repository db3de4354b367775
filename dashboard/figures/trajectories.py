"""Descent trajectories on 2-D test functions: settings, the walks, and their figures.

A *path* is the table :func:`nn_core.surfaces.run_surface` returns for one rule (one row per
step, step 0 the start); ``paths`` maps a rule's label to its path, in the order the colours were
assigned. Everything here is pure: tables in, ``go.Figure``/tables/bytes out, no Streamlit.

Plot conventions, chosen for honesty:

- x and y share one scale, so a gradient looks perpendicular to its contour and a narrow valley
  looks narrow;
- functions whose values span decades (``surface.log_contours``) are drawn as log(1 + f) in both
  the contour and the 3-D view, and the axis says so;
- the animation moves a marker with a short trail along each full-resolution path, so no step of
  a zigzag is hidden by subsampling; only the *frames* are subsampled (at most ``MAX_FRAMES``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from nn_core.optimizers import RULES
from nn_core.surfaces import SURFACES, Surface

from .style import apply_style

DEFAULT_RULES = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
SGD_LIKE = ("sgd", "momentum", "nesterov")
# Learning rate for the adaptive rules, per function: their first steps are about γ long
# whatever the gradient, so γ is a distance here; these make the paths visible in ~200 steps.
ADAPTIVE_LR = {"rosenbrock": 0.1, "beale": 0.1, "himmelblau": 0.03, "rastrigin": 0.1,
               "saddle": 0.01, "bowl": 0.03}  # fmt: skip
MAX_FRAMES = 150
CONTOUR_GRID = 121
SURFACE_GRID = 81
HYPER_COLUMNS = ["rule", "lr", "options"]
# Light greys, low values lightest: the coloured paths stay the most visible thing.
GREYS = [[0.0, "#ffffff"], [0.35, "#e3e3e3"], [1.0, "#8f8f8f"]]
PathWalker = Callable[[str, str, str, tuple[float, float], int, float | None], pd.DataFrame]


def surface_for(name: str) -> Surface:
    if name not in SURFACES:
        raise KeyError(f"unknown test function {name!r}; allowed: {', '.join(SURFACES)}")
    return SURFACES[name]


# --- settings ---------------------------------------------------------------------------------


def default_lr(surface: str, rule: str) -> float:
    """The learning rate a rule starts with on a test function.

    SGD-like rules use the function's own ``default_lr`` (their step is γ·g, so γ must suit the
    gradient's scale); Adadelta its paper's 1.0; the adaptive rules a per-function distance."""
    if rule in SGD_LIKE:
        return float(surface_for(surface).default_lr)
    if rule == "adadelta":
        return 1.0
    return float(ADAPTIVE_LR.get(surface, 0.01))


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

    Traces: the contour, then per path a full-resolution line (``meta="path"``), a trail and a
    head (``meta="trail"``/``"head"``, the ones the frames move), then the markers and, when
    ``arrows_at`` is a step, the direction arrows of :func:`direction_arrows`. The figure opens
    on its last frame, so the still picture is the finished race; Play replays it."""
    surface = surface_for(surface_name)
    xs, ys, Z = surface.grid(CONTOUR_GRID, kappa)
    fig = go.Figure(
        go.Contour(
            x=xs, y=ys, z=z_transform(surface, Z), colorscale=GREYS, ncontours=28,
            line={"width": 0.6, "color": "rgba(60,60,60,0.35)"}, hoverinfo="skip",
            colorbar={"title": {"text": z_title(surface), "side": "right"}, "thickness": 12,
                      "len": 0.75},
            name=z_title(surface), showlegend=False,
        )
    )  # fmt: skip
    width = 4 if big else 2.5
    finite = {label: finite_path(p) for label, p in paths.items()}
    for label, p in finite.items():
        fig.add_trace(
            go.Scatter(
                x=p["x"], y=p["y"], mode="lines", name=path_name(label, paths[label]),
                legendgroup=label, meta="path", opacity=0.5,
                line={"color": colors.get(label, "#333333"), "width": width},
                customdata=np.column_stack([p["step"], p["loss"]]),
                hovertemplate=f"<b>{label}</b><br>step %{{customdata[0]}}<br>"
                "x=%{x:.4g}, y=%{y:.4g}<br>f=%{customdata[1]:.4g}<extra></extra>",
            )
        )  # fmt: skip
    last = max((int(p["step"].max()) for p in paths.values()), default=0)
    steps = frame_steps(last, max_frames)
    stride = int(np.max(np.diff(steps))) if len(steps) > 1 else 1
    tail = max(10, 3 * stride)
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
    _add_markers(fig, surface, start, big)
    if arrows_at is not None:
        for trace in direction_arrows(surface, paths, colors, arrows_at, kappa, big):
            fig.add_trace(trace)
    frames = []
    for k in steps:
        data = []
        for p in finite.values():
            trail, head = _trail_and_head(p, int(k), tail)
            data += [go.Scatter(**trail), go.Scatter(**head)]
        frames.append(go.Frame(data=data, traces=moving, name=str(int(k))))
    fig.frames = frames
    (x0, x1), (y0, y1) = surface.domain
    fig.update_xaxes(range=[x0, x1], title="x", constrain="domain", showgrid=False)
    fig.update_yaxes(range=[y0, y1], title="y", scaleanchor="x", scaleratio=1,
                     constrain="domain", showgrid=False)  # fmt: skip
    _add_player(fig, steps, big)
    apply_style(fig, big, height=720 if big else 600)
    fig.update_layout(
        legend={"orientation": "h", "x": 0, "y": 1.01, "yanchor": "bottom"},
        margin={"l": 10, "r": 10, "t": 40, "b": 90},
    )
    return fig


def _trail_and_head(p: pd.DataFrame, k: int, tail: int) -> tuple[dict, dict]:
    """The path's last ``tail`` steps up to step ``k`` and its point at step ``k`` (or its last
    finite point if it stopped earlier)."""
    step = p["step"].to_numpy()
    end = int(np.searchsorted(step, k, side="right"))
    begin = int(np.searchsorted(step, k - tail, side="left"))
    x, y = p["x"].to_numpy()[begin:end], p["y"].to_numpy()[begin:end]
    head = {"x": x[-1:].tolist(), "y": y[-1:].tolist()}
    return {"x": x.tolist(), "y": y.tolist()}, head


def _add_markers(fig: go.Figure, surface: Surface, start, big: bool) -> None:
    if surface.minima:
        mx, my = zip(*surface.minima, strict=True)
        fig.add_trace(
            go.Scatter(
                x=mx, y=my, mode="markers", name="minimum", meta="minimum",
                marker={"symbol": "star", "size": 20 if big else 16, "color": "#111111",
                        "line": {"color": "white", "width": 1.5}},
                hovertemplate="minimum (%{x:.4g}, %{y:.4g})<extra></extra>",
            )
        )  # fmt: skip
    sx, sy = surface.start if start is None else start
    fig.add_trace(
        go.Scatter(
            x=[sx], y=[sy], mode="markers", name="start", meta="start",
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
                "x": 0, "y": 0, "xanchor": "left", "yanchor": "top", "pad": {"t": 45, "r": 10},
                "buttons": [
                    {"label": "▶ Play", "method": "animate", "args": [None, play]},
                    {"label": "❚❚ Pause", "method": "animate", "args": [[None], still]},
                ],
            }
        ],
        sliders=[
            {
                "active": len(steps) - 1, "x": 0.2, "len": 0.8, "y": 0, "yanchor": "top",
                "pad": {"t": 30}, "currentvalue": {"prefix": "step ", "visible": True},
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
            "camera": {"eye": {"x": -1.4, "y": -1.5, "z": 1.1}},
        },
    )  # fmt: skip
    apply_style(fig, big, height=720 if big else 600)
    fig.update_layout(legend={"orientation": "h", "x": 0, "y": 1.01, "yanchor": "bottom"})
    return fig


# --- loss, table, export ----------------------------------------------------------------------


def loss_figure(
    paths: dict[str, pd.DataFrame], colors: dict[str, str], log_y: bool = True, big: bool = False
) -> go.Figure:
    """f at every step, one line per rule. A log axis needs f > 0: when some value is ≤ 0 (the
    saddle, or an exact 0 at a minimum) the axis stays linear and the title says why."""
    fig = go.Figure()
    values = [finite_path(p)["loss"].to_numpy() for p in paths.values()]
    positive = all((v > 0).all() for v in values)
    for label, p in paths.items():
        p = finite_path(p)
        fig.add_trace(
            go.Scatter(
                x=p["step"], y=p["loss"], mode="lines", name=path_name(label, paths[label]),
                line={"color": colors.get(label, "#333333"), "width": 2.5},
                hovertemplate="%{y:.4g}",
            )
        )  # fmt: skip
    title = None
    if log_y and positive:
        fig.update_yaxes(type="log")
    elif log_y:
        title = "Linear axis: some values of f are ≤ 0, which a log axis cannot show"
    fig.update_layout(hovermode="x unified", xaxis_title="Step", yaxis_title="f(x, y)",
                      title=title)  # fmt: skip
    return apply_style(fig, big, height=480 if big else 380)


def final_table(
    surface_name: str, paths: dict[str, pd.DataFrame], kappa: float | None = None
) -> pd.DataFrame:
    """Per rule: steps run, the final point and f, the nearest known minimum and the distance to
    it (empty when the function has none), and whether (and at which step) the path diverged."""
    surface = surface_for(surface_name)
    minima = np.array(surface.minima, dtype=np.float64).reshape(-1, 2)
    rows = []
    for label, p in paths.items():
        last = p.iloc[-1]
        x, y = float(last["x"]), float(last["y"])
        nearest, distance = None, math.nan
        if len(minima) and math.isfinite(x) and math.isfinite(y):
            d = np.hypot(minima[:, 0] - x, minima[:, 1] - y)
            i = int(np.argmin(d))
            nearest = f"({minima[i, 0]:.4g}, {minima[i, 1]:.4g})"
            distance = float(d[i])
        step = diverged_at(p)
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
