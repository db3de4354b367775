"""Gradient-health figures: log10|g| histograms over epochs, norm heat map, unit health."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from .style import apply_style

MAX_FRAMES = 120


def layer_colors(n_layers: int) -> list[str]:
    """Input-side layers dark, output side light, so depth reads at a glance."""
    return sample_colorscale("Viridis", list(np.linspace(0.0, 0.9, max(n_layers, 1))))


def histogram_animation(hist: pd.DataFrame, n_layers: int, big: bool = False) -> go.Figure:
    """Per-layer histograms of log10|g| (share of the layer's weights per bin), one frame per
    recorded epoch with play/pause and an epoch slider. ``hist`` holds one run and seed."""
    epochs = sorted(hist["epoch"].unique())
    if len(epochs) > MAX_FRAMES:
        idx = np.unique(np.linspace(0, len(epochs) - 1, MAX_FRAMES).round().astype(int))
        epochs = [epochs[i] for i in idx]
    totals = hist.groupby(["epoch", "layer"])["count"].transform("sum")
    h = hist.assign(share=hist["count"] / totals, centre=(hist["bin_left"] + hist["bin_right"]) / 2)
    colors = layer_colors(n_layers)
    by_key = {key: d.sort_values("centre") for key, d in h.groupby(["epoch", "layer"])}
    empty = h.iloc[:0]

    def traces(epoch):
        # Plain dicts: 60+ frames of validated trace objects cost ~0.3 s per figure.
        out = []
        for layer in range(1, n_layers + 1):
            d = by_key.get((epoch, layer), empty)
            out.append(
                {
                    "type": "scatter",
                    "x": d["centre"].to_numpy(),
                    "y": d["share"].to_numpy(),
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
    fig.update_layout(
        xaxis_title="log10 |gradient|",
        yaxis_title="share of the layer's weights",
        xaxis={"range": [float(h["bin_left"].min()) - 0.5, float(h["bin_right"].max()) + 0.5]},
        yaxis={"range": [0, float(h["share"].max()) * 1.05 if len(h) else 1]},
        updatemenus=[_play_buttons()],
        sliders=[_slider(epochs)],
    )
    return apply_style(fig, big, height=460)


def _play_buttons() -> dict:
    return {
        "type": "buttons",
        "direction": "left",
        "x": 0.0,
        "y": -0.18,
        "xanchor": "left",
        "showactive": False,
        "buttons": [
            {
                "label": "▶ Play",
                "method": "animate",
                "args": [
                    None,
                    {
                        "frame": {"duration": 150, "redraw": True},
                        "fromcurrent": True,
                        "transition": {"duration": 0},
                    },
                ],
            },
            {
                "label": "⏸ Pause",
                "method": "animate",
                "args": [[None], {"frame": {"duration": 0, "redraw": False}, "mode": "immediate"}],
            },
        ],
    }


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


def norm_heatmap(grads: pd.DataFrame, big: bool = False) -> go.Figure:
    """Layers × epochs heat map of log10 ‖∂L/∂Wₗ‖ for one run and seed."""
    pivot = grads.pivot_table(index="layer", columns="epoch", values="grad_norm")
    with np.errstate(divide="ignore"):
        z = np.log10(pivot.to_numpy())
    z = np.where(np.isfinite(z), z, np.nan)
    fig = go.Figure(
        go.Heatmap(
            x=pivot.columns,
            y=[f"layer {i}" for i in pivot.index],
            z=z,
            colorscale="Viridis",
            colorbar={"title": "log10 ‖g‖"},
            hovertemplate="epoch %{x}, %{y}: 10^%{z:.2f}<extra></extra>",
        )
    )
    fig.update_layout(xaxis_title="Epoch", yaxis={"autorange": "reversed"})
    return apply_style(fig, big, height=80 + 36 * len(pivot.index))


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
    fig.update_layout(hovermode="x unified", xaxis_title="Epoch", yaxis_title=title)
    if log_y:
        fig.update_yaxes(type="log")
    return apply_style(fig, big, height=320)
