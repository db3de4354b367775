"""Pure Plotly figure builders: engine tables in, ``go.Figure`` out, no Streamlit.

One colour per run, the same on every page (:func:`run_colors`), and ``hovermode="x unified"``
wherever runs are compared over a shared x axis.
"""

from .style import PALETTE, apply_style, run_colors

__all__ = ["PALETTE", "apply_style", "run_colors"]
