"""Loss and accuracy curves, per-step curves, the summary table and decision boundaries."""

from __future__ import annotations

import functools
import json
import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from nn_core.losses import predict_proba
from nn_core.network import Network

from .style import apply_style, band, class_color, min_span, rgba, shade, tidy_log_axis

# What the loss curves can be drawn against. "step" counts optimizer updates, so GD (one update
# an epoch) and batch-1 SGD (one per sample) separate; samples seen would draw them alike.
X_AXES = {"epoch": "Epochs", "step": "Updates", "seconds": "Wall time"}  # the choices
X_TITLES = {"epoch": "Epoch", "step": "Updates (optimizer steps)", "seconds": "Wall time (s)",
            "samples": "Samples seen"}  # fmt: skip
SPLIT_DASH = {"train": "solid", "val": "dash"}
SPLIT_NAME = {"train": "train", "val": "validation"}
STYLE_GREY = "#555555"
# Minimum visible span of a linear y axis: a loss flat at 0.69315 ± 2e-5 is drawn flat.
MIN_LOSS_SPAN_REL = 0.1  # of the curve's level
MIN_LOSS_SPAN_ABS = 0.01
MIN_SCORE_SPAN = 0.1  # accuracy or R²
MIN_LOG_DECADES = 0.2


def _rgba(hex_colour: str, alpha: float) -> str:
    return rgba(hex_colour, alpha)


def seed_bands(curves: pd.DataFrame, value: str, x: str) -> pd.DataFrame:
    """Mean, min and max of ``value`` over seeds for each run, split and epoch.

    The x position is the mean over seeds of ``x`` (epoch, step, samples or seconds)."""
    grouped = curves.groupby(["run", "split", "epoch"], sort=False)
    out = grouped.agg(
        x=(x, "mean"),
        mean=(value, "mean"),
        low=(value, "min"),
        high=(value, "max"),
        seeds=(value, "size"),
    )
    return out.reset_index()


def _style_legend(fig: go.Figure, splits: tuple[str, ...]) -> None:
    """Two grey legend entries saying what solid and dashed mean, instead of a "(val)" copy of
    every run: the legend has one entry per run plus these."""
    if len(splits) < 2:
        return
    for split in splits:
        fig.add_trace(
            go.Scatter(
                x=[None], y=[None], mode="lines", name=SPLIT_NAME[split], meta="style",
                line={"color": STYLE_GREY, "dash": SPLIT_DASH[split]}, legendrank=2000,
                hoverinfo="skip",
            )
        )  # fmt: skip


def y_range(values, value: str, log_y: bool) -> list[float] | None:
    """The y range that keeps a flat curve flat (None: let Plotly choose)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if not v.size:
        return None
    if log_y:
        v = v[v > 0]
        if not v.size:
            return None
        return min_span(np.log10(v), MIN_LOG_DECADES)
    if value in ("accuracy", "r2"):
        return min_span(v, MIN_SCORE_SPAN)
    level = float(np.abs(v).mean())
    return min_span(v, max(MIN_LOSS_SPAN_ABS, MIN_LOSS_SPAN_REL * level), low=0.0)


def loss_curves(
    curves: pd.DataFrame,
    colors: dict[str, str],
    value: str = "loss",
    x: str = "epoch",
    splits: tuple[str, ...] = ("train", "val"),
    log_y: bool = False,
    big: bool = False,
) -> go.Figure:
    """One line per run and split (validation dashed): the mean over seeds with a min–max band.

    The legend names each run once (its train and validation lines toggle together) plus what
    solid and dashed mean. A wall-time x axis is logarithmic, so a run ten times faster than
    the slowest is not squeezed against the y axis. A nearly flat curve keeps a minimum y span
    (:func:`y_range`)."""
    bands = seed_bands(curves[curves["split"].isin(splits)], value, x)
    if x == "seconds":
        bands = bands[bands["x"] > 0]
    # one pass over the table (not a filter per run and split), and the traces added at once:
    # this chart is redrawn several times a second while a comparison trains live
    parts = dict(iter(bands.groupby(["run", "split"], sort=False)))
    traces, shown = [], []
    for run in colors:
        first = True
        for split in splits:
            d = parts.get((run, split))
            if d is None or d["mean"].isna().all():
                continue
            colour = colors[run]
            shown += [d["low"].to_numpy(), d["high"].to_numpy()]
            if d["seeds"].max() > 1:
                traces.append(band(d["x"], d["low"], d["high"], colour, run))
            traces.append(
                go.Scatter(
                    x=d["x"].to_numpy(),
                    y=d["mean"].to_numpy(),
                    name=run,
                    legendgroup=run,
                    showlegend=first,
                    mode="lines",
                    line={"color": colour, "dash": SPLIT_DASH.get(split, "solid")},
                    hovertemplate=f"{SPLIT_NAME.get(split, split)}: %{{y:.4g}}",
                )
            )
            first = False
    fig = go.Figure(data=traces)
    shown = np.concatenate(shown) if shown else np.array([])
    _style_legend(fig, splits)
    label = {"loss": "Loss", "accuracy": "Accuracy", "r2": "R²"}.get(value, value)
    fig.update_layout(
        hovermode="x unified",
        xaxis_title=X_TITLES.get(x, x) + (" (log scale)" if x == "seconds" else ""),
        yaxis_title=label,
    )
    if x == "seconds":
        tidy_log_axis(fig, "x", bands["x"])
    if log_y:
        tidy_log_axis(fig, "y", shown)
    rng = y_range(shown, value, log_y)
    if rng is not None:
        fig.update_yaxes(range=rng)
    apply_style(fig, big)
    fig.update_layout(legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"})
    return fig


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average over ``window`` steps (shorter at the start)."""
    v = np.asarray(values, dtype=np.float64)
    if window <= 1 or v.size == 0:
        return v
    c = np.cumsum(np.insert(np.nan_to_num(v), 0, 0.0))
    idx = np.arange(1, v.size + 1)
    lo = np.maximum(0, idx - window)
    return (c[idx] - c[lo]) / (idx - lo)


def epoch_position(d: pd.DataFrame) -> np.ndarray:
    """Each step's place in training in epochs: step k of an epoch with n steps sits at
    (epoch − 1) + k/n, so GD's 2 steps and batch-1 SGD's 640 span the same x range."""
    rank = d.groupby("epoch").cumcount().to_numpy() + 1
    n = d.groupby("epoch")["step"].transform("size").to_numpy()
    return d["epoch"].to_numpy() - 1 + rank / n


def step_curves(
    steps: pd.DataFrame, colors: dict[str, str], log_y: bool = False, big: bool = False
) -> go.Figure:
    """Mini-batch loss at every step of the first epochs, first seed: SGD's noise made visible.

    x is the position in epochs (:func:`epoch_position`), so runs with 2 and 640 steps share
    the axis. Each run's raw per-step losses are a thin, faint line and their moving average
    (over about a fiftieth of its steps) a solid one; the y axis stops above the bulk of the
    raw spikes (98th percentile) so the averages stay legible."""
    fig = go.Figure()
    shown: list[float] = []
    raw_all: list[float] = []
    if not steps.empty:
        first = steps[steps["seed"] == steps["seed"].min()]
        for run in colors:
            d = first[first["run"] == run].sort_values("step")
            if d.empty:
                continue
            x = epoch_position(d)
            window = max(1, len(d) // 50)
            mean = smooth(d["loss"].to_numpy(), window)
            shown += list(mean)
            raw_all += list(d["loss"])
            if window > 1:
                fig.add_trace(
                    go.Scatter(
                        x=x, y=d["loss"], name=f"{run} (every step)", mode="lines",
                        legendgroup=run, showlegend=False, opacity=0.3,
                        line={"color": colors[run], "width": 1}, hoverinfo="skip",
                    )
                )  # fmt: skip
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=mean,
                    name=run if window == 1 else f"{run} (mean of {window} steps)",
                    legendgroup=run,
                    mode="lines+markers" if len(d) <= 20 else "lines",
                    line={"color": colors[run], "width": 2.5},
                    customdata=d["step"],
                    hovertemplate="step %{customdata}: %{y:.4g}",
                )
            )
    fig.update_layout(hovermode="closest", xaxis_title="Epoch (each step in its place)",
                      yaxis_title="Mini-batch loss")  # fmt: skip
    if log_y:
        tidy_log_axis(fig, "y", shown)
    elif raw_all:
        raw = np.asarray(raw_all, dtype=np.float64)
        raw = raw[np.isfinite(raw)]
        if raw.size:
            top = max(float(np.quantile(raw, 0.98)), float(np.nanmax(shown)))
            fig.update_yaxes(range=[0, top * 1.05])
    rng = y_range(shown, "loss", log_y)
    if rng is not None:
        fig.update_yaxes(range=rng)
    apply_style(fig, big)
    fig.update_layout(legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"})
    return fig


def default_target(curves: pd.DataFrame) -> float:
    """A train-loss target that separates the runs: halfway (geometrically) between where
    every run started and the best final loss, to two significant figures; 90 % of the
    start when nothing improved."""
    train = curves[curves["split"] == "train"]
    start = float(train[train["epoch"] == 0]["loss"].mean())
    last = train[train["epoch"] == train.groupby(["run", "seed"])["epoch"].transform("max")]
    best = float(last["loss"].min())
    if not (math.isfinite(start) and start > 0):
        return 0.1
    if not (math.isfinite(best) and 0 < best < start):
        target = 0.9 * start
    else:
        target = math.sqrt(start * best)
    return float(f"{target:.2g}")


def summary_table(
    summary: pd.DataFrame, curves: pd.DataFrame, target: float | None, metric: str = "accuracy"
) -> pd.DataFrame:
    """Per run: mean over seeds of final/best metrics (accuracy, or R² for regression), epochs
    to reach ``target`` train loss ("not reached" otherwise), seconds, and divergence in words
    ("no", or "yes: 2/3 seeds, first at step 41")."""
    score = "R²" if metric == "r2" else "acc"
    train = curves[curves["split"] == "train"]
    reach_col = "epochs to target" if target is None else f"epochs to train loss ≤ {target:g}"
    rows = []
    for run, s in summary.groupby("run", sort=False):
        reached = []
        for seed in s["seed"]:
            c = train[(train["run"] == run) & (train["seed"] == seed)]
            hit = c[c["loss"] <= target]["epoch"] if target is not None else pd.Series([], float)
            reached.append(float(hit.iloc[0]) if len(hit) else np.nan)
        got = [r for r in reached if np.isfinite(r)]
        if not got:
            reach = "not reached"
        else:
            reach = f"{np.mean(got):.3g}"
            if len(got) < len(reached):
                reach += f" ({len(got)}/{len(reached)} seeds)"
        div = s[s["diverged"]]
        diverged = (
            "no"
            if div.empty
            else f"yes: {len(div)}/{len(s)} seeds, first at step {int(div['diverged_step'].min())}"
        )
        rows.append(
            {
                "run": run,
                "rule": s["optimizer"].iloc[0],
                "batch": str(s["batch_size"].iloc[0]),
                "final train loss": s["final_train_loss"].mean(),
                "final val loss": s["final_val_loss"].mean(),
                "best val loss": s["best_val_loss"].mean(),
                f"final val {score}": s["final_val_accuracy"].mean(),
                f"best val {score}": s["best_val_accuracy"].mean(),
                reach_col: reach,
                "seconds": s["seconds"].mean(),
                "diverged": diverged,
            }
        )
    return pd.DataFrame(rows)


def boundary_grid(results, run: str, seed: int, n: int = 60):
    """(xs, ys, P) with P the predicted probability of class 1 (binary) or the predicted class
    (multiclass) over the standardised 2-D input plane, from the run's final weights."""
    data = results.data
    X = np.concatenate([data.X_train, data.X_val])
    lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    xs, ys = np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
    gx, gy = np.meshgrid(xs, ys)
    theta = results.snapshots[(run, seed)][1][-1:].copy()  # one row: (1, P)
    with np.errstate(all="ignore"):
        z = Network(results.arch, theta).logits(np.column_stack([gx.ravel(), gy.ravel()]))[0]
    p = predict_proba(results.data.task, z)
    p = p if p.ndim == 1 else np.argmax(p, axis=1)
    return xs, ys, p.reshape(n, n).astype(np.float32)  # float32 halves what the browser loads


def region_colorscale(n_classes: int) -> list[list]:
    """Region tints in the classes' own colours (lightened, so points stand out on them):
    binary, class 0 → white → class 1 by probability; multiclass, one band per class."""
    tints = [shade(class_color(k), 0.3) for k in range(max(n_classes, 2))]
    if n_classes <= 2:
        return [[0.0, tints[0]], [0.5, "#ffffff"], [1.0, tints[1]]]
    scale = []
    for k, tint in enumerate(tints):
        scale += [[k / n_classes, tint], [(k + 1) / n_classes, tint]]
    return scale


def class_names(data) -> list[str]:
    names = data.class_names or tuple(str(i) for i in range(data.n_classes))
    return [str(n) for n in names]


@functools.lru_cache(maxsize=32)
def _subplot_layout(rows: int, cols: int, titles: tuple[str, ...]) -> str:
    """The layout of a grid of subplots as JSON (axes' domains, titles), made once per shape:
    ``make_subplots`` validates its whole layout, about 50 ms each time."""
    grid = make_subplots(
        rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.05, vertical_spacing=0.12
    )
    return json.dumps(grid.to_dict()["layout"])


def decision_boundaries(results, colors: dict[str, str], big: bool = False) -> go.Figure:
    """Small multiples: each run's decision regions (first seed, final weights) with the
    training points, both in the classes' colours (as on the Data page); points have a dark
    outline so they stay distinguishable from their region. One legend for the classes.

    Its traces are plain dicts in one fixed shape, handed to Plotly without validation (a unit
    test passes the figure through ``go.Figure`` to prove it valid): validating 21 traces cost
    a tenth of a second on every first showing."""
    runs = list(colors)
    cols = min(4, len(runs))
    rows = -(-len(runs) // cols)
    data = results.data
    seed = int(results.summary["seed"].min())
    labels = data.y_train.ravel().astype(int)
    multiclass = data.task == "multiclass"
    k = data.n_classes if multiclass else 2
    names = class_names(data)
    fx, fy = [*data.feature_names, "x₁", "x₂"][:2]
    points = [(data.X_train[labels == c, 0], data.X_train[labels == c, 1]) for c in range(k)]
    traces = []
    for i, run in enumerate(runs):
        if (run, seed) not in results.snapshots:
            continue
        axes = {"xaxis": f"x{i + 1 if i else ''}", "yaxis": f"y{i + 1 if i else ''}"}
        xs, ys, p = boundary_grid(results, run, seed)
        traces.append({
            "type": "heatmap", "x": xs, "y": ys, "z": p, "colorscale": region_colorscale(k),
            "zmin": 0, "zmax": 1 if not multiclass else k, "showscale": False,
            "hoverinfo": "skip", "zsmooth": "fast" if not multiclass else False, **axes,
        })  # fmt: skip
        for cls, (px, py) in enumerate(points):
            traces.append({
                "type": "scatter", "x": px, "y": py, "mode": "markers",
                "name": f"class {names[cls] if cls < len(names) else cls}",
                "legendgroup": f"class{cls}", "showlegend": i == 0, "hoverinfo": "skip",
                "marker": {"color": class_color(cls), "size": 6 if big else 5,
                           "line": {"width": 0.8, "color": "#222222"}},
                **axes,
            })  # fmt: skip
    layout = json.loads(_subplot_layout(rows, cols, tuple(runs)))
    for name, axis in layout.items():
        if name.startswith(("xaxis", "yaxis")):
            title = fx if name[0] == "x" else fy
            axis.update(title={"text": f"{title} (std.)", "standoff": 2}, showgrid=False)
    fig = go.Figure({"data": traces, "layout": layout}, _validate=False)
    apply_style(fig, big, height=300 * rows + 40)
    fig.update_layout(legend={"orientation": "h", "x": 0, "y": 1.06, "yanchor": "bottom"},
                      margin={"l": 10, "r": 10, "t": 80, "b": 10})  # fmt: skip
    return fig
