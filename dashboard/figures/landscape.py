"""The network's loss surface on the shared plane, with every run's projected path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from nn_core.landscape import Landscape

from .style import apply_style

LOW_EXPLAINED = 0.5  # a plane (or a run) with less of its movement in the plane is flagged


def run_captured(land: Landscape) -> pd.Series:
    """Per run, the share of its movement the plane captures, in the same measure as the
    plane's own ``explained``: 1 − Σ distance² / Σ ‖θₜ − θ₀‖² over the run's recorded points
    (‖θₜ − θ₀‖ = distance / relative_distance). The headline number and the per-run warnings
    therefore never contradict each other."""
    moved = land.paths[(land.paths["epoch"] > 0) & (land.paths["relative_distance"] > 0)]
    out = {}
    for run in land.paths["run"].unique():
        m = moved[moved["run"] == run]
        if m.empty:
            out[run] = 1.0
            continue
        dist = m["distance"].to_numpy(dtype=np.float64)
        total = np.sum((dist / m["relative_distance"].to_numpy(dtype=np.float64)) ** 2)
        out[run] = float(1.0 - np.sum(dist**2) / total) if total > 0 else 1.0
    return pd.Series(out, dtype=float)


def fidelity_warnings(land: Landscape) -> list[str]:
    """Honest caveats about how well the plane represents the real trajectories, all in one
    measure: the share of the squared distance travelled from θ₀ that lies in the plane."""
    out = []
    if land.plane.explained < LOW_EXPLAINED:
        out.append(
            f"The plane captures only {land.plane.explained:.0%} of how far the weights moved "
            f"(warning below {LOW_EXPLAINED:.0%}): the paths drawn are shadows of trajectories "
            "that mostly leave the plane, and the surface under them is not the loss they saw."
        )
    per_run = run_captured(land)
    bad = per_run[per_run < LOW_EXPLAINED]
    if len(bad):
        names = ", ".join(f"{r} ({v:.0%})" for r, v in bad.items())
        out.append(
            f"The plane captures less than {LOW_EXPLAINED:.0%} of these runs' own movement, so "
            f"they are mostly off the plane: {names}. Compare their true loss (hover) with the "
            "surface value at the drawn point."
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
            colorbar={"title": "log10 loss", "x": 1.0, "xanchor": "left"},
            hovertemplate="a=%{x:.3g}, b=%{y:.3g}<br>log10 loss=%{z:.3f}<extra></extra>",
        )
    )
    for run, d in land.paths.groupby("run", sort=False):
        colour = colors.get(run, "#333333")
        # A white casing under every path keeps it visible on every colour of the map.
        fig.add_trace(
            go.Scatter(
                x=d["a"], y=d["b"], mode="lines", showlegend=False, hoverinfo="skip",
                legendgroup=run, meta="casing", line={"color": "white", "width": 7 if big else 6},
            )
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=d["a"],
                y=d["b"],
                mode="lines+markers",
                name=run,
                legendgroup=run,
                meta="path",
                line={"color": colour, "width": 3},
                marker={"size": 5, "line": {"width": 0.5, "color": "white"}},
                customdata=np.column_stack(
                    [d["epoch"], d["loss"], d["loss_plane"], d["relative_distance"]]
                ),
                hovertemplate=run + " · epoch %{customdata[0]}<br>true loss %{customdata[1]:.4g}"
                "<br>surface here %{customdata[2]:.4g}<br>off-plane %{customdata[3]:.0%}"
                "<extra></extra>",
            )
        )
        # The end point, large: a path that barely moved is still a visible dot.
        fig.add_trace(
            go.Scatter(
                x=d["a"].iloc[-1:], y=d["b"].iloc[-1:], mode="markers", showlegend=False,
                legendgroup=run, meta="end", hoverinfo="skip",
                marker={"size": 13 if big else 11, "color": colour, "symbol": "diamond",
                        "line": {"width": 2, "color": "white"}},
            )
        )  # fmt: skip
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
    apply_style(fig, big, height=640)
    # Legend above the plot, the colour bar on the right: they no longer overlap.
    fig.update_layout(
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
    )
    return fig


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
    apply_style(fig, big, height=650)
    fig.update_layout(legend={"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"})
    return fig
