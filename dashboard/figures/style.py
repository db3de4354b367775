"""Shared look: one colour per optimizer rule, one per class, and a layout that reads well on a
laptop and on a projector.

Colours carry meaning, so they are assigned by *what* is drawn, never by position: a rule has
the same colour on every page and in every preset (:data:`RULE_COLORS`), and the k-th run of the
same rule in a comparison is a lighter or darker shade of it (:func:`run_colors`). Classes are
coloured by their index (:data:`CLASS_COLORS`) on the Data page and the decision boundaries.
"""

from __future__ import annotations

import colorsys
import zlib
from collections.abc import Iterable
from typing import Any

import plotly.graph_objects as go

from ..text import safe_figure

# Okabe–Ito-derived palette: distinguishable for the common colour-vision deficiencies,
# extended with Plotly's D3 colours. Kept for charts that colour something other than rules.
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

# One colour per optimizer rule (nn_core.optimizers.RULES). No two are shades of one hue, so a
# lighter or darker run of one rule (SHADE_STEPS) is never mistaken for another rule.
RULE_COLORS: dict[str, str] = {
    "sgd": "#0072B2",  # blue
    "momentum": "#009E73",  # bluish green
    "nesterov": "#7A8B00",  # olive
    "adagrad": "#E69F00",  # orange
    "adadelta": "#8C564B",  # brown
    "rmsprop": "#CC79A7",  # reddish purple
    "adam": "#D55E00",  # vermilion
    "adamw": "#7B3294",  # purple
    "nadam": "#4D4D4D",  # dark grey
    "adamax": "#B8860B",  # dark goldenrod
    "lion": "#E7298A",  # magenta
}
# Unknown rules (a registry entry added later) get one of these, picked by a stable hash of the
# name (crc32, not Python's per-process hash()), so the colour is the same in every session.
FALLBACK_COLORS = ("#2ca02c", "#d62728", "#9467bd", "#e377c2", "#bcbd22", "#1f3a93", "#a6761d")

# Classes: blue, orange, green, … (the decision boundaries tint each class's region with its
# colour, so a point and its region match).
CLASS_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#7B3294",
                "#8C564B", "#4D4D4D", "#B8860B")  # fmt: skip

# Shades for the 2nd, 3rd, … run of one rule: lightness changes in HLS space.
SHADE_STEPS = (0.0, -0.16, 0.2, -0.28, 0.3)


def rule_color(rule: str) -> str:
    """The colour of an optimizer rule (registry name, e.g. ``"adam"``)."""
    key = str(rule).lower()
    if key in RULE_COLORS:
        return RULE_COLORS[key]
    return FALLBACK_COLORS[zlib.crc32(key.encode()) % len(FALLBACK_COLORS)]


def class_color(index: int) -> str:
    return CLASS_COLORS[int(index) % len(CLASS_COLORS)]


def shade(hex_colour: str, delta: float) -> str:
    """``hex_colour`` with its HLS lightness moved by ``delta`` (clipped to [0.12, 0.85])."""
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) / 255 for i in (0, 2, 4))
    hue, light, sat = colorsys.rgb_to_hls(r, g, b)
    light = min(0.85, max(0.12, light + delta))
    r, g, b = colorsys.hls_to_rgb(hue, light, sat)
    return "#{:02x}{:02x}{:02x}".format(*(round(v * 255) for v in (r, g, b)))


def rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _label_and_rule(item: Any) -> tuple[str, str]:
    """A run (anything with ``label`` and ``optimizer``), a (label, rule) pair, or a name that
    is a rule's registry name or label (the trajectories page keys paths by the rule's label)."""
    if hasattr(item, "label") and hasattr(item, "optimizer"):
        return str(item.label), str(item.optimizer)
    if isinstance(item, tuple | list) and len(item) == 2:
        return str(item[0]), str(item[1])
    from nn_core.optimizers import RULES

    name = str(item)
    for rule in RULES.values():
        if name.lower() in (rule.name, rule.label.lower()):
            return name, rule.name
    return name, name


def run_colors(runs: Iterable[Any]) -> dict[str, str]:
    """Colour of each run label: its rule's colour, the k-th run of the same rule (in
    configuration order) a shade of it. Items: runs, (label, rule) pairs or rule names/labels."""
    out: dict[str, str] = {}
    seen: dict[str, int] = {}
    for item in runs:
        label, rule = _label_and_rule(item)
        k = seen.get(rule, 0)
        seen[rule] = k + 1
        base = rule_color(rule)
        out[label] = base if k == 0 else shade(base, SHADE_STEPS[k % len(SHADE_STEPS)])
    return out


def apply_style(fig: go.Figure, big: bool = False, height: int | None = None) -> go.Figure:
    """Common layout; ``big`` is presentation mode: large type and thick lines."""
    import plotly.io as pio

    fig.update_layout(
        # the template object, not its name: by name Plotly deep-copies the whole registered
        # template for every figure, a third of the time to build a loss-curve chart
        template=pio.templates["plotly_white"],
        font={"size": 20 if big else 13},
        legend={"title": None},
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    if height is not None:
        fig.update_layout(height=height)
    if big:
        fig.update_traces(line={"width": 4}, selector={"type": "scatter"})
    return safe_figure(fig)  # run, class and column names are user text: shown as text


def tidy_log_axis(fig: go.Figure, axis: str = "y", values: Iterable[float] | None = None) -> None:
    """A log axis with labels only at powers of ten (no "2 5 2 5" minor labels) when the data
    span at least one decade; a shorter span keeps Plotly's ticks but in plain numbers."""
    import numpy as np

    update = fig.update_yaxes if axis == "y" else fig.update_xaxes
    update(type="log")
    if values is None:
        return
    v = np.asarray(list(values), dtype=np.float64)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size and np.log10(v.max()) - np.log10(v.min()) >= 1.0:
        update(dtick=1, exponentformat="power", showexponent="all", minor={"showgrid": True})
    else:
        update(exponentformat="none", tickformat=".3~g")


def min_span(values: Iterable[float], span: float, low: float | None = None) -> list[float] | None:
    """An axis range of at least ``span`` centred on the data, or None when the data already
    span more (so Plotly's autorange is kept): a flat line is drawn flat, not zoomed until
    rounding noise looks like a cliff. ``low`` keeps the range above a floor (e.g. 0 for a
    loss)."""
    import numpy as np

    v = np.asarray(list(values), dtype=np.float64)
    v = v[np.isfinite(v)]
    if not v.size:
        return None
    lo, hi = float(v.min()), float(v.max())
    if hi - lo >= span:
        return None
    mid = (lo + hi) / 2
    a, b = mid - span / 2, mid + span / 2
    if low is not None and a < low:
        a, b = low, low + span
    return [a, b]


def play_buttons(y: float, frame_ms: int, yanchor: str | None = None) -> dict:
    """Plotly's ▶ Play / ❚❚ Pause buttons for an animation, at ``y`` below the plot, showing
    each frame for ``frame_ms`` milliseconds (glyphs every font has)."""
    menu = {
        "type": "buttons",
        "direction": "left",
        "x": 0.0,
        "y": y,
        "xanchor": "left",
        "showactive": False,
        "buttons": [
            {
                "label": "▶ Play",
                "method": "animate",
                "args": [
                    None,
                    {
                        "frame": {"duration": frame_ms, "redraw": True},
                        "fromcurrent": True,
                        "transition": {"duration": 0},
                    },
                ],
            },
            {
                "label": "❚❚ Pause",
                "method": "animate",
                "args": [[None], {"frame": {"duration": 0, "redraw": False}, "mode": "immediate"}],
            },
        ],
    }
    if yanchor is not None:
        menu["yanchor"] = yanchor
    return menu


def band(x, low, high, colour: str, legendgroup: str | None = None, alpha: float = 0.15):
    """A filled band between ``low`` and ``high`` over ``x`` (a spread over seeds), no legend."""
    import numpy as np

    return go.Scatter(
        x=np.concatenate([np.asarray(x), np.asarray(x)[::-1]]),
        y=np.concatenate([np.asarray(high), np.asarray(low)[::-1]]),
        fill="toself",
        fillcolor=rgba(colour, alpha),
        line={"width": 0},
        hoverinfo="skip",
        showlegend=False,
        legendgroup=legendgroup,
    )


class FramedFigure(go.Figure):
    """A ``go.Figure`` whose animation frames and a few large layout parts are plain dicts,
    handed to Plotly as they are.

    Plotly validates every trace of every frame it is given (about 0.4 ms each), which for 60
    frames × 20 traces is most of a second on every change of a setting; it also deep-copies
    its whole theme template into each figure (tens of ms) and validates every step of the
    animation slider. The race on Descent trajectories builds these parts in one fixed shape
    (``plain_frames``, ``raw_layout``: template, slider, play buttons; a unit test passes the
    whole figure through ``go.Figure`` to prove it valid), and a cached figure
    (:func:`dashboard.page.figure`) hands back the frames Plotly validated when it was built.
    :meth:`to_dict` — what ``plotly.io.to_json``, ``write_html`` and ``st.plotly_chart``
    serialise — includes them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._plain_frames: list[dict] = []
        self._raw_layout: dict[str, Any] = {}

    @property
    def plain_frames(self) -> list[dict]:
        return self._plain_frames

    @property
    def raw_layout(self) -> dict[str, Any]:
        return self._raw_layout

    def to_dict(self) -> dict:
        out = super().to_dict()
        if self._raw_layout:
            out["layout"] = {**out.get("layout", {}), **self._raw_layout}
        if self._plain_frames:
            out["frames"] = self._plain_frames
        return out
