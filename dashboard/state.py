"""Session and URL state.

The configuration lives under one plain session-state key (``CONFIG_KEY``) as a validated
:class:`ExperimentConfig`, not in widget state: widget values vanish when their page is not
rendered, and a page may run on its own. The configuration is mirrored in the URL query string
(``?config=<compressed JSON>`` or ``?preset=<name>``) so a link reproduces a comparison; the
Sweeps page adds its own settings the same way (``?sweep=<compressed JSON>``,
:mod:`dashboard.sweep_job`), which a configuration change keeps (``KEPT_PARAMS``).
"""

from __future__ import annotations

import base64
import json
import pickle
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from nn_core import PRESETS, ConfigError, ExperimentConfig, budget
from nn_core.config import MAX_CONFIG_BYTES

from .text import md

CONFIG_KEY = "lab_config"
PRESET_KEY = "lab_preset"
RESULTS_KEY = "lab_results"
NOTICE_KEY = "lab_notice"
PRESENTATION_KEY = "lab_presentation"
HISTORY_KEY = "lab_history"
HISTORY_SIZE = 4
DEFAULT_PRESET = "default"
SNAPSHOT_REQUEST_KEY = "lab_snapshot_request"  # training.snapshot_every as loaded, before budget
MAX_LINK_CHARS = 64 * 1024  # a compressed, base64 configuration (the largest valid one ~4 KB)
KEPT_PARAMS = ("sweep",)  # URL parameters of a page's own that a configuration change keeps


def encode_doc(doc: Any) -> str:
    """Compact, URL-safe form of a JSON document: zlib-compressed JSON in base64url."""
    raw = json.dumps(doc, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


def decode_doc(
    text: str,
    what: str = "configuration",
    max_chars: int = MAX_LINK_CHARS,
    max_bytes: int = MAX_CONFIG_BYTES,
) -> str:
    """The JSON text inside an :func:`encode_doc` link; raises ConfigError (path ``url``,
    naming ``what``) for anything malformed.

    Bounded at every stage: the link's text (``max_chars``) before decoding, and the inflated
    document (``max_bytes``) by a decompressor that stops there, so a small "zip bomb" link
    cannot make the server allocate more than that."""
    if len(text) > max_chars:
        raise ConfigError(
            "url", f"the link's {what} is {len(text):,} characters; the limit is {max_chars:,}"
        )
    try:
        padded = text + "=" * (-len(text) % 4)
        inflate = zlib.decompressobj()
        raw = inflate.decompress(base64.urlsafe_b64decode(padded.encode()), max_bytes + 1)
    except (ValueError, zlib.error) as exc:
        raise ConfigError("url", f"the link's {what} is damaged ({exc})") from None
    if len(raw) > max_bytes or inflate.unconsumed_tail:
        raise ConfigError("url", f"the link's {what} inflates to more than {max_bytes:,} bytes")
    if not inflate.eof:
        raise ConfigError("url", f"the link's {what} is damaged (it is cut short)")
    return raw.decode("utf-8", errors="replace")


def encode_config(config: ExperimentConfig) -> str:
    """Compact, URL-safe form of a configuration."""
    return encode_doc(config.to_dict())


def decode_config(text: str) -> ExperimentConfig:
    """Inverse of :func:`encode_config`; raises ConfigError for anything malformed, bounded as
    :func:`decode_doc` says (``MAX_LINK_CHARS``, ``MAX_CONFIG_BYTES``)."""
    return ExperimentConfig.from_json(decode_doc(text))


def config_from_query(params: dict[str, Any]) -> tuple[ExperimentConfig | None, str | None, str]:
    """(config, preset name, error message) from URL query parameters. The message is Markdown
    with the link's own text escaped (it is shown by ``st.warning``)."""
    if "config" in params:
        try:
            return decode_config(str(params["config"])), None, ""
        except ConfigError as exc:
            return None, None, f"Ignored the configuration in the link: {md(exc)}"
    if "preset" in params:
        name = str(params["preset"])
        if name in PRESETS:
            return ExperimentConfig.preset(name), name, ""
        shown = name if len(name) <= 60 else name[:59] + "…"
        return None, None, f"Ignored unknown preset {md(repr(shown))} in the link."
    return None, None, ""


def ensure_config(session: Any, params: Any) -> ExperimentConfig:
    """The session's configuration, initialised from the URL or the default preset once."""
    if CONFIG_KEY not in session:
        config, preset, error = config_from_query(dict(params))
        if config is None:
            config, preset = ExperimentConfig.preset(DEFAULT_PRESET), DEFAULT_PRESET
        session[CONFIG_KEY] = config
        session[PRESET_KEY] = preset
        session[SNAPSHOT_REQUEST_KEY] = config.training.snapshot_every
        if error:
            session[NOTICE_KEY] = error
    return session[CONFIG_KEY]


def set_config(
    session: Any, params: Any, config: ExperimentConfig, preset: str | None, edited: bool = False
) -> None:
    """Store a new configuration and mirror it in the URL. ``edited``: the sidebar's widgets
    changed the current one (a preset, an import or a link is not ``edited``: its snapshot
    cadence becomes the one asked for, see :func:`edited_doc`)."""
    session[CONFIG_KEY] = config
    session[PRESET_KEY] = preset
    if not edited:
        session[SNAPSHOT_REQUEST_KEY] = config.training.snapshot_every
    mirror_config(params, config, preset)


def mirror_config(params: Any, config: ExperimentConfig, preset: str | None) -> None:
    """Put ``config`` in the URL (``?preset=`` when it is that preset unchanged, else
    ``?config=``), replacing every other parameter but the pages' own (``KEPT_PARAMS``)."""
    kept = {k: params[k] for k in KEPT_PARAMS if k in params}
    params.clear()
    if preset is not None and config == ExperimentConfig.preset(preset):
        params["preset"] = preset
    else:
        params["config"] = encode_config(config)
    for key, value in kept.items():
        params[key] = value


def remember(session: Any, results: Any, preset: str | None) -> None:
    """Make ``results`` the session's current results and keep the last few comparisons, so a
    page can put two of them side by side (e.g. vanishing-sigmoid next to relu-he-fix).

    The history is bounded by count (``HISTORY_SIZE``) and by size: older comparisons are
    dropped while everything kept exceeds ``budget.SESSION_BUDGET`` (the current one is
    always kept)."""
    session[RESULTS_KEY] = results
    history = [h for h in session.get(HISTORY_KEY, []) if h[1] is not results]
    name = preset or results.config.title or "custom"
    if any(h[0] == name for h in history) and preset is None:
        name = f"{name} #{len(history) + 1}"
    history = [h for h in history if h[0] != name] + [(name, results)]
    history = history[-HISTORY_SIZE:]
    sizes = [budget.results_bytes(r) for _, r in history]
    while len(history) > 1 and sum(sizes) > budget.SESSION_BUDGET:
        history.pop(0)
        sizes.pop(0)
    session[HISTORY_KEY] = history


def edited_doc(
    session: Any, config: ExperimentConfig, widgets: dict[str, Any], seeded: dict[str, Any]
) -> dict[str, Any]:
    """The configuration the sidebar's widgets describe: ``config`` with every field whose
    widget the user changed taken from the widgets, and every other field kept exactly.

    ``widgets`` is the document built from the widgets' current values, ``seeded`` the same
    document built from the values they were seeded with; a field differing between the two
    was edited. Fields without a widget (dtype, snapshot_every, histogram_every, task, title,
    a rule option's full precision) and widgets the user did not touch therefore never rewrite
    a link's configuration. ``training.snapshot_every`` restarts from the cadence asked for by
    the preset, import or link (the memory budget may have raised it for a longer comparison)."""
    doc = _merge(config.to_dict(), widgets, seeded)
    asked = session.get(SNAPSHOT_REQUEST_KEY)
    if asked is not None:
        doc["training"]["snapshot_every"] = asked
    return doc


def _merge(base: dict, now: dict, seeded: dict) -> dict:
    out = dict(base)
    for key, value in now.items():
        before = seeded.get(key)
        if isinstance(value, dict) and isinstance(before, dict):
            out[key] = _merge(base.get(key) or {}, value, before)
        elif not _same(value, before):
            out[key] = value
    return out


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def within_budget(
    config: ExperimentConfig, shape: budget.Shape
) -> tuple[ExperimentConfig | None, ConfigError | None, str]:
    """(config to train, None, note) with snapshots thinned to fit the memory budget, or
    (None, the refusal naming what to reduce, "") for a comparison too large to train."""
    try:
        plan = budget.plan(config, shape)
    except budget.BudgetError as exc:
        return None, exc, ""
    return plan.config, None, plan.note


def history(session: Any) -> list[tuple[str, Any]]:
    """[(name, results)] of this session's recent comparisons, oldest first."""
    return list(session.get(HISTORY_KEY, []))


def results_key(results: Any) -> str:
    """A short identity for caching what is drawn from ``results``: its configuration, how far
    it got, and a fingerprint of its data (an upload is not in the configuration)."""
    import hashlib

    data = results.data
    parts = [
        results.config.to_json(),
        str(results.cancelled),
        str(len(results.summary)),
        data.name,
        str(data.X_train.shape),
        repr(float(data.X_train.sum())),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


class PickledLRU:
    """A process-wide, thread-safe LRU store of pickled values bounded by their total size in
    bytes (``st.cache_data`` bounds only the number of entries). Like ``st.cache_data`` it keeps
    pickles and returns a fresh copy on every hit, so a caller may modify what it gets; a value
    larger than the whole budget is built every time and not kept."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict[Any, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_build(self, key: Any, build: Callable[[], Any]) -> Any:
        with self._lock:
            blob = self._items.get(key)
            if blob is not None:
                self._items.move_to_end(key)
        if blob is not None:
            return pickle.loads(blob)
        value = build()
        blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        if len(blob) <= self.max_bytes:
            with self._lock:
                self._items[key] = blob
                self._items.move_to_end(key)
                while self.nbytes > self.max_bytes:
                    self._items.popitem(last=False)
        return value

    @property
    def nbytes(self) -> int:
        return sum(len(b) for b in self._items.values())

    def __len__(self) -> int:
        return len(self._items)


FIGURE_BUDGET = 256 * 2**20  # drawn figures kept for reruns, shared by every session
FIGURES = PickledLRU(FIGURE_BUDGET)
