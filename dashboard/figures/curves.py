"""Loss and accuracy curves, per-step curves, and decision boundaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from nn_core.losses import predict_proba
from nn_core.network import Network

from .style import apply_style

X_AXES = {"epoch": "Epoch", "samples": "Samples seen", "seconds": "Wall time (s)"}


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def seed_bands(curves: pd.DataFrame, value: str, x: str) -> pd.DataFrame:
    """Mean, min and max of ``value`` over seeds for each run, split and epoch.

    The x position is the mean over seeds of ``x`` (epoch, samples or seconds)."""
    grouped = curves.groupby(["run", "split", "epoch"], sort=False)
    out = grouped.agg(
        x=(x, "mean"),
        mean=(value, "mean"),
        low=(value, "min"),
        high=(value, "max"),
        seeds=(value, "size"),
    )
    return out.reset_index()


def loss_curves(
    curves: pd.DataFrame,
    colors: dict[str, str],
    value: str = "loss",
    x: str = "epoch",
    splits: tuple[str, ...] = ("train", "val"),
    log_y: bool = False,
    big: bool = False,
) -> go.Figure:
    """One line per run and split (validation dashed): the mean over seeds with a min–max band."""
    fig = go.Figure()
    bands = seed_bands(curves[curves["split"].isin(splits)], value, x)
    for run in colors:
        for split in splits:
            d = bands[(bands["run"] == run) & (bands["split"] == split)]
            if d.empty or d["mean"].isna().all():
                continue
            colour = colors[run]
            name = run if split == "train" else f"{run} (val)"
            if d["seeds"].max() > 1:
                fig.add_trace(
                    go.Scatter(
                        x=np.concatenate([d["x"], d["x"][::-1]]),
                        y=np.concatenate([d["high"], d["low"][::-1]]),
                        fill="toself",
                        fillcolor=_rgba(colour, 0.15),
                        line={"width": 0},
                        hoverinfo="skip",
                        showlegend=False,
                        legendgroup=name,
                    )
                )
            fig.add_trace(
                go.Scatter(
                    x=d["x"],
                    y=d["mean"],
                    name=name,
                    legendgroup=name,
                    mode="lines",
                    line={"color": colour, "dash": "solid" if split == "train" else "dash"},
                    hovertemplate="%{y:.4g}",
                )
            )
    label = {"loss": "Loss", "accuracy": "Accuracy"}.get(value, value)
    fig.update_layout(hovermode="x unified", xaxis_title=X_AXES.get(x, x), yaxis_title=label)
    if log_y:
        fig.update_yaxes(type="log")
    return apply_style(fig, big)


def step_curves(
    steps: pd.DataFrame, colors: dict[str, str], log_y: bool = False, big: bool = False
) -> go.Figure:
    """Mini-batch loss at every step of the first epochs, first seed: SGD's noise made visible."""
    fig = go.Figure()
    if not steps.empty:
        first = steps[steps["seed"] == steps["seed"].min()]
        for run in colors:
            d = first[first["run"] == run]
            if d.empty:
                continue
            fig.add_trace(
                go.Scatter(
                    x=d["step"],
                    y=d["loss"],
                    name=run,
                    mode="lines",
                    line={"color": colors[run], "width": 1.5},
                )
            )
    fig.update_layout(hovermode="x unified", xaxis_title="Step", yaxis_title="Mini-batch loss")
    if log_y:
        fig.update_yaxes(type="log")
    return apply_style(fig, big)


def summary_table(summary: pd.DataFrame, curves: pd.DataFrame, target: float | None):
    """Per run: mean over seeds of final/best metrics, epochs to reach ``target`` train loss,
    seconds, and how many seeds diverged (with the earliest step)."""
    train = curves[curves["split"] == "train"]
    rows = []
    for run, s in summary.groupby("run", sort=False):
        reached = []
        for seed in s["seed"]:
            c = train[(train["run"] == run) & (train["seed"] == seed)]
            hit = c[c["loss"] <= target]["epoch"] if target is not None else pd.Series([], float)
            reached.append(float(hit.iloc[0]) if len(hit) else np.nan)
        div = s[s["diverged"]]
        rows.append(
            {
                "run": run,
                "optimizer": s["optimizer"].iloc[0],
                "batch": s["batch_size"].iloc[0],
                "final train loss": s["final_train_loss"].mean(),
                "final val loss": s["final_val_loss"].mean(),
                "best val loss": s["best_val_loss"].mean(),
                "final val acc": s["final_val_accuracy"].mean(),
                "best val acc": s["best_val_accuracy"].mean(),
                "epochs to target": np.nanmean(reached) if np.isfinite(reached).any() else None,
                "seconds": s["seconds"].mean(),
                "diverged": f"{len(div)}/{len(s)}"
                + (f" (step {int(div['diverged_step'].min())})" if len(div) else ""),
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


def decision_boundaries(results, colors: dict[str, str], big: bool = False) -> go.Figure:
    """Small multiples: each run's decision regions (first seed, final weights) with the data."""
    runs = list(colors)
    cols = min(4, len(runs))
    rows = -(-len(runs) // cols)
    fig = make_subplots(
        rows=rows, cols=cols, subplot_titles=runs, horizontal_spacing=0.03, vertical_spacing=0.08
    )
    data = results.data
    seed = int(results.summary["seed"].min())
    labels = data.y_train.ravel().astype(int)
    multiclass = data.task == "multiclass"
    for i, run in enumerate(runs):
        if (run, seed) not in results.snapshots:
            continue
        r, c = i // cols + 1, i % cols + 1
        xs, ys, p = boundary_grid(results, run, seed)
        fig.add_trace(
            go.Heatmap(
                x=xs,
                y=ys,
                z=p,
                colorscale="RdBu" if not multiclass else "Viridis",
                zmin=0,
                zmax=1 if not multiclass else data.n_classes - 1,
                showscale=False,
                opacity=0.55,
                hoverinfo="skip",
            ),
            row=r,
            col=c,
        )
        fig.add_trace(
            go.Scatter(
                x=data.X_train[:, 0],
                y=data.X_train[:, 1],
                mode="markers",
                marker={
                    "color": labels,
                    "colorscale": "RdBu" if not multiclass else "Viridis",
                    "size": 4,
                    "line": {"width": 0.3, "color": "white"},
                },
                showlegend=False,
                hoverinfo="skip",
            ),
            row=r,
            col=c,
        )
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    return apply_style(fig, big, height=260 * rows)
