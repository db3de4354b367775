"""User-supplied text shown as text: escaped for Streamlit's Markdown and for Plotly's labels.

Run labels, class labels, column and file names and preset names come from links, uploads and
configuration files, so they may carry markup. Streamlit renders ``st.markdown``, ``st.warning``,
``st.caption``, widget labels and progress text as Markdown (GitHub flavour, plus
``:red[...]``, icon shortcodes and ``$...$``), where ``![x](URL)`` makes the
browser fetch an image and ``[Log in](URL)`` is a live link. Plotly renders trace names,
hover templates, titles, tick labels and the values a hover template pulls in as a small HTML
subset, where ``<a href="...">`` is a live link.

* :func:`md` backslash-escapes every ASCII punctuation character (CommonMark lets any of them be
  escaped, and the escape always shows the character itself) and folds line breaks into spaces,
  so no block structure (headings, lists, tables) can start inside a value.
* :func:`plotly` escapes ``<``, ``>`` (and a bare ``&``) as entities, shown literally.
* :func:`safe_figure` applies the Plotly rule to a finished figure: trace names and text data
  are escaped whole, and templates and titles (which the figure code writes with ``<b>`` or
  ``<br>``) keep only a fixed set of attribute-free tags, so no link or style can be injected.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

_MD_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character
_NEWLINES = re.compile(r"[\r\n\u2028\u2029]+")
WORD_JOINER = "\u2060"
# what GFM's autolink literals start with: a scheme's "://", "www." and the "@" of an e-mail
_AUTOLINK = re.compile(r"://|www\.|@", re.IGNORECASE)
# Tags the figure code itself writes in templates and titles; nothing with an attribute.
_ALLOWED_TAG = re.compile(r"</?(?:b|i|br|sup|sub|extra|em)\s*/?>", re.IGNORECASE)
_BARE_AMP = re.compile(r"&(?!#\d{1,7};|#x[0-9a-fA-F]{1,6};|[a-zA-Z]{1,10};)")
_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]{1,10});")


def md(value: Any) -> str:
    """``value`` as Markdown source that renders as exactly its text (on one line).

    Backslash escapes stop Markdown's own syntax, but not GitHub-flavoured autolinks: those are
    found in the text *after* parsing, so a bare web address (scheme, "www.") or ``name@host`` would
    still become a live link. An invisible word joiner (U+2060) inside each breaks the match
    and leaves what the reader sees unchanged."""
    text = _AUTOLINK.sub(lambda m: m.group(0)[:-1] + WORD_JOINER + m.group(0)[-1], str(value))
    return _MD_SPECIAL.sub(r"\\\1", _NEWLINES.sub(" ", text))


def plotly(value: Any) -> str:
    """``value`` as Plotly label text with no markup: ``<`` and ``>`` as entities, and ``&``
    too unless it already starts an entity (so escaping twice changes nothing; an entity can
    only ever show a character, never open a tag)."""
    out = _BARE_AMP.sub("&amp;", str(value))
    return out.replace("<", "&lt;").replace(">", "&gt;")


def plotly_template(template: str) -> str:
    """A template or title written by the figure code, possibly holding user text: the
    attribute-free formatting tags in ``_ALLOWED_TAG`` and entities are kept, every other ``<``,
    ``>`` and ``&`` is escaped (so ``<a href=...>`` shows as text)."""
    out, pos = [], 0
    for m in re.finditer(r"<[^<>]*>|&[^&;<>\s]{0,12};?", template):
        out.append(plotly(template[pos : m.start()]))
        token = m.group(0)
        keep = _ALLOWED_TAG.fullmatch(token) or _ENTITY.fullmatch(token)
        out.append(token if keep else plotly(token))
        pos = m.end()
    out.append(plotly(template[pos:]))
    return "".join(out)


def _escape_values(values: Any) -> Any:
    """Text data (categories, hover text, customdata) escaped; numbers untouched."""
    if isinstance(values, str):
        return plotly(values)
    if isinstance(values, np.ndarray) and values.dtype.kind in "biufcmM":
        return values
    if isinstance(values, tuple | list | np.ndarray):
        arr = np.asarray(values, dtype=object)
        if not any(isinstance(v, str) for v in arr.ravel()):
            return values
        flat = [plotly(v) if isinstance(v, str) else v for v in arr.ravel()]
        return np.array(flat, dtype=object).reshape(arr.shape)
    return values


_TRACE_DATA = ("x", "y", "z", "text", "hovertext", "customdata", "labels", "ids")
_TRACE_TEMPLATES = ("hovertemplate", "texttemplate")


def safe_figure(fig):
    """Escape every piece of text in a Plotly figure that may hold user input; returns it.

    Idempotent in effect: already-escaped entities are kept, so applying it twice changes
    nothing visible."""
    for trace in fig.data:
        updates: dict[str, Any] = {}
        for key in ("name", "legendgroup"):
            if key in trace and isinstance(trace[key], str):
                updates[key] = plotly(trace[key])
        for key in _TRACE_DATA:
            if key in trace and trace[key] is not None:
                value = trace[key]
                escaped = _escape_values(value)
                if escaped is not value:
                    updates[key] = escaped
        for key in _TRACE_TEMPLATES:
            if key in trace and isinstance(trace[key], str):
                updates[key] = plotly_template(trace[key])
            elif key in trace and isinstance(trace[key], tuple | list):
                updates[key] = [plotly_template(str(t)) for t in trace[key]]
        if updates:
            trace.update(updates)
    _escape_layout(fig)
    for frame in getattr(fig, "frames", None) or ():
        for trace in frame.data:
            for key in _TRACE_TEMPLATES:
                if key in trace and isinstance(trace[key], str):
                    trace[key] = plotly_template(trace[key])
            for key in ("name", "legendgroup"):
                if key in trace and isinstance(trace[key], str):
                    trace[key] = plotly(trace[key])
    return fig


def _escape_layout(fig) -> None:
    layout = fig.layout
    if layout.title and isinstance(layout.title.text, str):
        layout.title.text = plotly_template(layout.title.text)
    for key in list(layout):
        if not key.startswith(("xaxis", "yaxis", "coloraxis")):
            continue
        axis = layout[key]
        if axis is None:
            continue
        title = axis["title"] if "title" in axis else None
        if title is not None and isinstance(title.text, str):
            title.text = plotly_template(title.text)
        if "ticktext" in axis and axis.ticktext is not None:
            axis.ticktext = [plotly(t) if isinstance(t, str) else t for t in axis.ticktext]
        if "categoryarray" in axis and axis.categoryarray is not None:
            axis.categoryarray = _escape_values(axis.categoryarray)
    for ann in layout.annotations or ():
        if isinstance(ann.text, str):
            ann.text = plotly_template(ann.text)
