"""Pure Plotly figure builders: engine tables in, ``go.Figure`` out, no Streamlit.

One colour per optimizer rule, the same on every page (:func:`run_colors`), one per class, and
``hovermode="x unified"`` wherever runs are compared over a shared x axis.
"""

from .style import CLASS_COLORS, PALETTE, RULE_COLORS, apply_style, rule_color, run_colors

__all__ = ["CLASS_COLORS", "PALETTE", "RULE_COLORS", "apply_style", "rule_color", "run_colors"]
