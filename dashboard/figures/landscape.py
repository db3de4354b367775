"""The network's loss surface on the shared plane, with every run's projected path."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from nn_core.landscape import Landscape

from .style import apply_style

FAR_FROM_PLANE = 0.5  # relative distance above which a drawn point is mostly off the plane
LOW_EXPLAINED = 0.5  # plane explains less than this share of the trajectories' spread


def fidelity_warnings(land: Landscape) -> list[str]:
    """Honest caveats about how well the plane represents the real trajectories."""
    out = []
    if land.plane.explained < LOW_EXPLAINED:
        out.append(
            f"The plane captures only {land.plane.explained:.0%} of how far the weights moved "
            f"(warning below {LOW_EXPLAINED:.0%}): the paths drawn are shadows of trajectories "
            "that mostly leave the plane, and the surface under them is not the loss they saw."
        )
    moved = land.paths[land.paths["epoch"] > 0]
    if len(moved):
        far = moved.groupby("run")["relative_distance"].median()
        bad = far[far > FAR_FROM_PLANE]
        if len(bad):
            names = ", ".join(f"{r} ({v:.0%})" for r, v in bad.items())
            out.append(
                f"These runs are mostly off the plane (median distance from it, relative to how "
                f"far they moved, above {FAR_FROM_PLANE:.0%}): {names}. Compare their true loss "
                "(hover) with the surface value at the drawn point."
            )
    return out


def _log_z(loss: np.ndarray) -> np.ndarray:
    return np.log10(np.maximum(loss, 1e-12))


def contour(land: Landscape, colors: dict[str, str], big: bool = False) -> go.Figure:
    """Contours of log10(loss) over (a, b) with the projected paths, start at the origin."""
    fig = go.Figure(
        go.Contour(
            x=land.a,
            y=land.b,
            z=_log_z(land.loss),
            colorscale="Viridis",
            ncontours=30,
            colorbar={"title": "log10 loss"},
            hovertemplate="a=%{x:.3g}, b=%{y:.3g}<br>log10 loss=%{z:.3f}<extra></extra>",
        )
    )
    for run, d in land.paths.groupby("run", sort=False):
        fig.add_trace(
            go.Scatter(
                x=d["a"],
                y=d["b"],
                mode="lines+markers",
                name=run,
                line={"color": colors.get(run, "#333"), "width": 3},
                marker={"size": 4},
                customdata=np.column_stack(
                    [d["epoch"], d["loss"], d["loss_plane"], d["relative_distance"]]
                ),
                hovertemplate=run + " · epoch %{customdata[0]}<br>true loss %{customdata[1]:.4g}"
                "<br>surface here %{customdata[2]:.4g}<br>off-plane %{customdata[3]:.0%}"
                "<extra></extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=[0],
            y=[0],
            mode="markers",
            name="start",
            marker={
                "symbol": "x",
                "size": 14,
                "color": "white",
                "line": {"width": 2, "color": "black"},
            },
        )
    )
    fig.update_layout(xaxis_title="direction 1", yaxis_title="direction 2")
    return apply_style(fig, big, height=600)


def surface3d(land: Landscape, colors: dict[str, str], big: bool = False) -> go.Figure:
    """3-D loss surface with the paths drawn at the surface's height (log10 loss)."""
    z = _log_z(land.loss)
    lift = 0.01 * float(np.nanmax(z) - np.nanmin(z))
    fig = go.Figure(
        go.Surface(x=land.a, y=land.b, z=z, colorscale="Viridis", opacity=0.9, showscale=False)
    )
    for run, d in land.paths.groupby("run", sort=False):
        fig.add_trace(
            go.Scatter3d(
                x=d["a"],
                y=d["b"],
                z=_log_z(d["loss_plane"].to_numpy()) + lift,
                name=run,
                mode="lines+markers",
                line={"color": colors.get(run, "#333"), "width": 6},
                marker={"size": 2},
            )
        )
    fig.update_layout(
        scene={
            "xaxis_title": "direction 1",
            "yaxis_title": "direction 2",
            "zaxis_title": "log10 loss",
        },
    )
    return apply_style(fig, big, height=650)
