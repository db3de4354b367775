"""Shared look: run colours and a layout that reads well on a laptop and on a projector."""

from __future__ import annotations

from collections.abc import Iterable

import plotly.graph_objects as go

from ..text import safe_figure

# Okabe–Ito-derived palette: distinguishable for the common colour-vision deficiencies,
# extended with Plotly's D3 colours for comparisons of more than eight runs.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#000000",
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
)


def run_colors(labels: Iterable[str]) -> dict[str, str]:
    """Colour of each run by its position in the configuration (stable across pages)."""
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(labels)}


def apply_style(fig: go.Figure, big: bool = False, height: int | None = None) -> go.Figure:
    """Common layout; ``big`` is presentation mode: large type and thick lines."""
    fig.update_layout(
        template="plotly_white",
        font={"size": 20 if big else 13},
        legend={"title": None},
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    if height is not None:
        fig.update_layout(height=height)
    if big:
        fig.update_traces(line={"width": 4}, selector={"type": "scatter"})
    return safe_figure(fig)  # run, class and column names are user text: shown as text
