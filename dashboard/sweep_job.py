"""A learning-rate sweep trained in a background thread of one dashboard session, and the
Sweeps page's settings in the URL.

The thread is owned by the session's state, never by the script run: a widget click reruns the
script but leaves the sweep going, and the page polls it. Finished runs land in an in-memory
:class:`nn_core.sweep.Store` as each task ends, so the page can draw them while the rest train,
and Cancel keeps them.

The page's settings travel in ``?sweep=<compressed JSON>`` (:func:`encode_settings`), in
:class:`nn_core.sweep.SweepConfig`'s own words plus the epochs: ``{"rules": [...], "lr_min": 1e-05,
"lr_max": 10, "lr_points": 25, "seeds": 3, "confirm_seeds": 10, "epochs": 60}``. A link is
bounded like the configuration's (:func:`dashboard.state.decode_doc`, with smaller caps) and
validated by ``SweepConfig`` and by the page form's own ranges, so a link the form cannot show is
refused with the key named instead of breaking a widget.
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from nn_core import ConfigError, ExperimentConfig
from nn_core.datasets import Dataset
from nn_core.sweep import Store, SweepConfig, SweepProgress, SweepResults, run_sweep

from . import state
from .text import md

JOB_KEY = "lab_sweep_job"
SETTINGS_KEY = "lab_sweep_settings"  # the form's last settings (page words: span, points, ...)
LINK_KEY = "lab_sweep_link"  # the ?sweep= text last read or written, so it is applied once
SWEEP_PARAM = "sweep"

# The Sweeps form's ranges; a link outside them is refused (a widget would raise on it).
SPAN_OPTIONS = (-6, -5, -4, -3, -2, -1, 0, 1, 2)  # log10 of the learning-rate range's ends
LIMITS = {"points": (2, 100), "seeds": (1, 10), "confirm": (0, 30), "epochs": (1, 2000)}
DEFAULTS = {"rules": ["sgd", "momentum", "adam"], "span": (-5, 1), "points": 25, "seeds": 3,
            "confirm": 10}  # fmt: skip
MAX_SWEEP_LINK_CHARS = 4096  # a compressed, base64 link of every rule is ~200 characters
MAX_SWEEP_LINK_BYTES = 16 * 1024
# page words -> SweepConfig words (and "epochs", which is the comparison's)
LINK_KEYS = {"rules": "rules", "points": "lr_points", "seeds": "seeds",
             "confirm": "confirm_seeds", "epochs": "epochs"}  # fmt: skip


def link_doc(settings: dict[str, Any]) -> dict[str, Any]:
    """The page's settings as the link's document (SweepConfig's keys and ``epochs``)."""
    lo, hi = settings["span"]
    doc: dict[str, Any] = {"rules": list(settings["rules"])}
    doc["lr_min"], doc["lr_max"] = 10.0**lo, 10.0**hi
    for page_key, link_key in LINK_KEYS.items():
        if page_key != "rules" and page_key in settings:  # a link may leave epochs out
            doc[link_key] = int(settings[page_key])
    return doc


def sweep_config(settings: dict[str, Any]) -> SweepConfig:
    """The sweep the page's settings ask for; ConfigError names what is wrong."""
    doc = link_doc(settings)
    doc.pop("epochs", None)
    return SweepConfig.from_dict(doc)


def encode_settings(settings: dict[str, Any]) -> str:
    """The ``?sweep=`` text of the page's settings."""
    return state.encode_doc(link_doc(settings))


def decode_settings(text: str) -> dict[str, Any]:
    """The page's settings from a ``?sweep=`` text; ConfigError (with the key) for a damaged,
    oversized or out-of-range link."""
    raw = state.decode_doc(text, "sweep section", MAX_SWEEP_LINK_CHARS, MAX_SWEEP_LINK_BYTES)
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        raise ConfigError("url", "the link's sweep section is not valid JSON") from None
    if not isinstance(doc, dict):
        raise ConfigError("sweep", f"must be an object, got {type(doc).__name__}")
    allowed = ["rules", "lr_min", "lr_max", *list(LINK_KEYS.values())[1:]]
    for key in doc:
        if key not in allowed:
            raise ConfigError(
                f"sweep.{str(key)[:40]}", f"not a setting of the Sweeps page; allowed: "
                f"{', '.join(allowed)}"
            )  # fmt: skip
    epochs = _within(doc.get("epochs"), "sweep.epochs", *LIMITS["epochs"])
    sweep = SweepConfig.from_dict({k: v for k, v in doc.items() if k != "epochs"})
    span = []
    for key, value in (("lr_min", sweep.lr_min), ("lr_max", sweep.lr_max)):
        power = math.log10(value)
        if abs(power - round(power)) > 1e-9 or round(power) not in SPAN_OPTIONS:
            raise ConfigError(
                f"sweep.{key}", f"must be a power of ten from 1e{SPAN_OPTIONS[0]} to "
                f"1e{SPAN_OPTIONS[-1]} on this page, got {value:g}"
            )  # fmt: skip
        span.append(round(power))
    settings = {"rules": list(sweep.rules), "span": tuple(span)}
    for page_key, value in (("points", sweep.lr_points), ("seeds", sweep.seeds),
                            ("confirm", sweep.confirm_seeds)):  # fmt: skip
        settings[page_key] = _within(value, f"sweep.{LINK_KEYS[page_key]}", *LIMITS[page_key])
    if epochs is not None:
        settings["epochs"] = epochs
    return settings


def _within(value: Any, path: str, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(path, f"must be an integer, got {_short(value)}")
    if not low <= value <= high:
        raise ConfigError(path, f"must be between {low} and {high} on this page, got {value}")
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def settings_from_link(text: str) -> tuple[dict[str, Any] | None, str]:
    """(settings, "") from a ``?sweep=`` text, or (None, a Markdown warning naming what is
    wrong; the page keeps its defaults)."""
    try:
        return decode_settings(text), ""
    except ConfigError as exc:
        return None, f"Ignored the sweep settings in the link: {md(exc)}"


def mirror_settings(session: Any, params: Any) -> None:
    """Keep ``?sweep=`` equal to the session's valid settings (re-added after a page switch
    dropped it); nothing while there are none, or they do not make a valid sweep."""
    saved = session.get(SETTINGS_KEY)
    if not saved:
        return
    try:
        sweep_config(saved)
    except (ConfigError, KeyError, TypeError, ValueError):
        return
    text = encode_settings(saved)
    if params.get(SWEEP_PARAM) != text:
        params[SWEEP_PARAM] = text
    session[LINK_KEY] = text


def apply_link(session: Any, params: Any) -> str:
    """Read ``?sweep=`` once per distinct link: valid settings replace the session's, a bad
    link is dropped from the URL; returns the warning to show ("" when none)."""
    text = params.get(SWEEP_PARAM)
    if text is None or text == session.get(LINK_KEY):
        return ""
    settings, error = settings_from_link(str(text))
    if settings is None:
        del params[SWEEP_PARAM]
        return error
    session[SETTINGS_KEY] = settings
    session[LINK_KEY] = text
    return ""


@dataclass
class SweepJob:
    config: ExperimentConfig
    sweep: SweepConfig
    data: Dataset | None = None  # an uploaded file's data; None = the configured dataset
    executor: Any = None  # where the tasks train (None: in the job's thread)
    store: Store = field(default_factory=Store)
    progress: SweepProgress | None = None
    results: SweepResults | None = None
    error: str = ""
    started: float = field(default_factory=time.perf_counter)
    _cancel: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> SweepJob:
        self._thread = threading.Thread(target=self._work, name="sweep", daemon=True)
        self._thread.start()
        return self

    def _work(self) -> None:
        try:
            self.results = run_sweep(
                self.config,
                self.sweep,
                executor=self.executor,
                progress=self._on_progress,
                cancel=self._cancel.is_set,
                store=self.store,
                data=self.data,
            )
        except Exception as exc:  # shown on the page; the session goes on
            self.error = f"{type(exc).__name__}: {exc}"

    def _on_progress(self, p: SweepProgress) -> None:
        self.progress = p

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
