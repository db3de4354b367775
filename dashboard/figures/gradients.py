"""Gradient-health figures: log10|g| histograms over epochs, norm heat map, unit health."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from nn_core.recording import HIST_LOW

from .style import apply_style, play_buttons, tidy_log_axis

MAX_FRAMES = 120
ZERO_BIN_LEFT = HIST_LOW  # the first recorded bin: exact zeros and anything below it
ZERO_GAP = 1.5  # room between the zero stems and the smallest non-zero bin


def layer_colors(n_layers: int) -> list[str]:
    """Input-side layers dark, output side light, so depth reads at a glance."""
    return sample_colorscale("Viridis", list(np.linspace(0.0, 0.9, max(n_layers, 1))))


def histogram_ranges(*hists: pd.DataFrame) -> tuple[list[float], float]:
    """(x range, y max) covering every given histogram table: side-by-side panels share them,
    so a sick and a healthy network are read on the same axes. The first recorded bin (exact
    zeros and everything below 10^HIST_LOW) is drawn apart, left of the x range's data."""
    lefts, rights, top = [], [], 0.0
    for hist in hists:
        if hist.empty:
            continue
        low = float(hist["bin_left"].min())
        shares = hist["count"] / hist.groupby(["epoch", "layer"])["count"].transform("sum")
        top = max(top, float(shares.max()))
        rest = hist[(hist["bin_left"] > ZERO_BIN_LEFT) & (hist["count"] > 0)]
        if len(rest):
            lefts.append(float(rest["bin_left"].min()))
            rights.append(float(rest["bin_right"].max()))
        elif low <= ZERO_BIN_LEFT:
            lefts.append(ZERO_BIN_LEFT + 4)
            rights.append(ZERO_BIN_LEFT + 8)
    if not lefts:
        return [-8.0, 2.0], max(top, 0.05)
    return [min(lefts) - ZERO_GAP - 1.0, max(rights) + 0.5], max(top, 0.05)


def zero_position(x_range: list[float]) -> float:
    """Where the "exactly zero" stems stand: just inside the left end of the x range."""
    return x_range[0] + 0.5


def histogram_animation(
    hist: pd.DataFrame,
    n_layers: int,
    big: bool = False,
    x_range: list[float] | None = None,
    y_max: float | None = None,
    title: str | None = None,
) -> go.Figure:
    """Per-layer histograms of log10|g| (share of the layer's weights per bin), one frame per
    recorded epoch with play/pause and an epoch slider. ``hist`` holds one run and seed.

    Gradients of exactly zero (and below 10^-24, the first recorded bin) are drawn as a stem per
    layer at the left, on a tick labelled "0", not as a plateau running from 10^-24: a dead ReLU
    layer or a zero-initialised network shows as a tall bar at 0. ``x_range``/``y_max`` let two
    panels share axes (:func:`histogram_ranges`)."""
    epochs = sorted(hist["epoch"].unique())
    if len(epochs) > MAX_FRAMES:
        idx = np.unique(np.linspace(0, len(epochs) - 1, MAX_FRAMES).round().astype(int))
        epochs = [epochs[i] for i in idx]
    if x_range is None or y_max is None:
        auto_x, auto_y = histogram_ranges(hist)
        x_range, y_max = x_range or auto_x, y_max or auto_y
    zero_x = zero_position(x_range)
    totals = hist.groupby(["epoch", "layer"])["count"].transform("sum")
    h = hist.assign(share=hist["count"] / totals, centre=(hist["bin_left"] + hist["bin_right"]) / 2)
    colors = layer_colors(n_layers)
    # Each (epoch, layer)'s zero bar and bins, split once with NumPy (a filter per epoch and
    # layer made this figure take a quarter of a second).
    is_zero = (h["bin_left"] <= ZERO_BIN_LEFT).to_numpy()
    epoch_col, layer_col = h["epoch"].to_numpy(), h["layer"].to_numpy()
    share, centre = h["share"].to_numpy(), h["centre"].to_numpy()
    zeros: dict[tuple[int, int], float] = {}
    for e, layer, v in zip(epoch_col[is_zero], layer_col[is_zero], share[is_zero], strict=True):
        zeros[(int(e), int(layer))] = zeros.get((int(e), int(layer)), 0.0) + float(v)
    rest = ~is_zero
    order = np.lexsort((centre[rest], layer_col[rest], epoch_col[rest]))
    re, rl = epoch_col[rest][order], layer_col[rest][order]
    rc, rs = centre[rest][order], share[rest][order]
    cuts = np.flatnonzero((np.diff(re) != 0) | (np.diff(rl) != 0)) + 1
    bins = {
        (int(re[lo]), int(rl[lo])): (rc[lo:hi].tolist(), rs[lo:hi].tolist())
        for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(re)], strict=True)
        if hi > lo
    }
    offset = 0.6 / max(n_layers, 1)

    def traces(epoch):
        # Plain dicts: 60+ frames of validated trace objects cost ~0.3 s per figure.
        out = []
        for layer in range(1, n_layers + 1):
            zero = zeros.get((int(epoch), layer), 0.0)
            xs, ys = bins.get((int(epoch), layer), ([], []))
            zx = zero_x + (layer - (n_layers + 1) / 2) * offset
            x = [zx, zx, None, *xs]
            y = [0.0, zero, None, *ys]
            out.append(
                {
                    "type": "scatter",
                    "x": x,
                    "y": y,
                    "mode": "lines+markers",
                    "name": f"layer {layer}",
                    "line": {"color": colors[layer - 1], "shape": "hvh"},
                    "marker": {"size": 4},
                    "hovertemplate": "log10|g|≈%{x:.1f}: %{y:.1%}<extra>layer "
                    + str(layer)
                    + "</extra>",
                }
            )
        return out

    fig = go.Figure(
        data=traces(epochs[0]),
        frames=[{"data": traces(e), "name": str(e)} for e in epochs],
        _validate=False,
    )
    ticks = [t for t in range(math.ceil(x_range[0] + ZERO_GAP), math.floor(x_range[1]) + 1)]
    step = max(1, len(ticks) // 8)
    ticks = ticks[::step]
    fig.update_layout(
        title={"text": title or "Gradient sizes per layer (log10 |g|) over epochs"},
        xaxis_title="log10 |gradient|   (0: exactly zero, or below 1e-24)",
        yaxis_title="share of the layer's weights",
        xaxis={
            "range": x_range,
            "tickvals": [zero_x, *ticks],
            "ticktext": ["0", *[str(t) for t in ticks]],
        },
        yaxis={"range": [0, y_max * 1.05]},
        updatemenus=[play_buttons(-0.18, 150)],
        sliders=[_slider(epochs)],
    )
    fig.add_vline(x=zero_x + ZERO_GAP / 2 + 0.25, line={"color": "#bbbbbb", "dash": "dot"})
    return apply_style(fig, big, height=480)


def _slider(epochs) -> dict:
    return {
        "active": 0,
        "x": 0.15,
        "len": 0.85,
        "y": -0.12,
        "currentvalue": {"prefix": "epoch "},
        "steps": [
            {
                "label": str(e),
                "method": "animate",
                "args": [[str(e)], {"frame": {"duration": 0, "redraw": True}, "mode": "immediate"}],
            }
            for e in epochs
        ],
    }


def norm_range(*grads: pd.DataFrame) -> tuple[float, float] | None:
    """(zmin, zmax) of log10 ‖g‖ over every given table (None when no norm is positive), so
    side-by-side heat maps share one colour scale."""
    values = []
    for g in grads:
        v = g["grad_norm"].to_numpy(dtype=np.float64)
        values.append(v[np.isfinite(v) & (v > 0)])
    v = np.concatenate(values) if values else np.array([])
    if not v.size:
        return None
    lo, hi = float(np.log10(v.min())), float(np.log10(v.max()))
    return (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)


def norm_heatmap(
    grads: pd.DataFrame, big: bool = False, z_range: tuple[float, float] | None = None
) -> go.Figure:
    """Layers × epochs heat map of log10 ‖∂L/∂Wₗ‖ for one run and seed; ``z_range`` shares the
    colour scale with another panel. A map with no positive norm says why it is empty."""
    pivot = grads.pivot_table(index="layer", columns="epoch", values="grad_norm")
    with np.errstate(divide="ignore"):
        z = np.log10(pivot.to_numpy())
    z = np.where(np.isfinite(z), z, np.nan)
    z_range = z_range or norm_range(grads)
    scale = {"zmin": z_range[0], "zmax": z_range[1]} if z_range else {}
    fig = go.Figure(
        go.Heatmap(
            x=pivot.columns,
            y=[f"layer {i}" for i in pivot.index],
            z=z,
            colorscale="Viridis",
            colorbar={"title": "log10 ‖g‖"},
            hovertemplate="epoch %{x}, %{y}: 10^%{z:.2f}<extra></extra>",
            **scale,
        )
    )
    fig.update_layout(
        title="Gradient norm per layer and epoch (log10 ‖g‖)",
        xaxis_title="Epoch",
        yaxis={"autorange": "reversed"},
    )
    if np.isnan(z).all():
        why = (
            "Every weight-gradient norm is exactly 0, which log10 cannot draw: "
            "no gradient reaches these weights, so they never move."
            if len(pivot.index)
            else "No gradients were recorded."
        )
        fig.add_annotation(
            text=why,
            showarrow=False,
            xref="paper",
            yref="paper",
            x=0.5,
            y=0.5,
            font={"size": 18 if big else 14},
            bgcolor="rgba(255,255,255,0.85)",
        )
    return apply_style(fig, big, height=130 + 36 * len(pivot.index))


def layer_lines(grads: pd.DataFrame, value: str, title: str, log_y: bool, big: bool = False):
    """One line per layer over epochs (update ratios, dead or saturated fractions)."""
    n_layers = int(grads["layer"].max())
    colors = layer_colors(n_layers)
    fig = go.Figure()
    for layer in range(1, n_layers + 1):
        d = grads[grads["layer"] == layer]
        if d[value].isna().all():
            continue
        fig.add_trace(
            go.Scatter(
                x=d["epoch"],
                y=d[value],
                name=f"layer {layer}",
                mode="lines",
                line={"color": colors[layer - 1]},
            )
        )
    fig.update_layout(hovermode="x unified", xaxis_title="Epoch", yaxis_title=title, title=title)
    if log_y:
        tidy_log_axis(fig, "y", grads[value])
    elif value == "dead_fraction":
        fig.update_yaxes(range=[-0.02, 1.02], tickformat=".0%")
    return apply_style(fig, big, height=320)
