"""Session and URL state.

The configuration lives under one plain session-state key (``CONFIG_KEY``) as a validated
:class:`ExperimentConfig`, not in widget state: widget values vanish when their page is not
rendered, and a page may run on its own. The configuration is mirrored in the URL query string
(``?config=<compressed JSON>`` or ``?preset=<name>``) so a link reproduces a comparison.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

from nn_core import PRESETS, ConfigError, ExperimentConfig

CONFIG_KEY = "lab_config"
PRESET_KEY = "lab_preset"
RESULTS_KEY = "lab_results"
NOTICE_KEY = "lab_notice"
PRESENTATION_KEY = "lab_presentation"
HISTORY_KEY = "lab_history"
HISTORY_SIZE = 4
DEFAULT_PRESET = "default"


def encode_config(config: ExperimentConfig) -> str:
    """Compact, URL-safe form of a configuration."""
    raw = json.dumps(config.to_dict(), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


def decode_config(text: str) -> ExperimentConfig:
    """Inverse of :func:`encode_config`; raises ConfigError for anything malformed."""
    try:
        padded = text + "=" * (-len(text) % 4)
        raw = zlib.decompress(base64.urlsafe_b64decode(padded.encode()), bufsize=1 << 16)
    except (ValueError, zlib.error) as exc:
        raise ConfigError("url", f"the link's configuration is damaged ({exc})") from None
    return ExperimentConfig.from_json(raw.decode("utf-8", errors="replace"))


def config_from_query(params: dict[str, Any]) -> tuple[ExperimentConfig | None, str | None, str]:
    """(config, preset name, error message) from URL query parameters."""
    if "config" in params:
        try:
            return decode_config(str(params["config"])), None, ""
        except ConfigError as exc:
            return None, None, f"Ignored the configuration in the link: {exc}"
    if "preset" in params:
        name = str(params["preset"])
        if name in PRESETS:
            return ExperimentConfig.preset(name), name, ""
        return None, None, f"Ignored unknown preset {name!r} in the link."
    return None, None, ""


def ensure_config(session: Any, params: Any) -> ExperimentConfig:
    """The session's configuration, initialised from the URL or the default preset once."""
    if CONFIG_KEY not in session:
        config, preset, error = config_from_query(dict(params))
        if config is None:
            config, preset = ExperimentConfig.preset(DEFAULT_PRESET), DEFAULT_PRESET
        session[CONFIG_KEY] = config
        session[PRESET_KEY] = preset
        if error:
            session[NOTICE_KEY] = error
    return session[CONFIG_KEY]


def set_config(session: Any, params: Any, config: ExperimentConfig, preset: str | None) -> None:
    """Store a new configuration and mirror it in the URL."""
    session[CONFIG_KEY] = config
    session[PRESET_KEY] = preset
    params.clear()
    if preset is not None and config == ExperimentConfig.preset(preset):
        params["preset"] = preset
    else:
        params["config"] = encode_config(config)


def remember(session: Any, results: Any, preset: str | None) -> None:
    """Make ``results`` the session's current results and keep the last few comparisons, so a
    page can put two of them side by side (e.g. vanishing-sigmoid next to relu-he-fix)."""
    session[RESULTS_KEY] = results
    history = [h for h in session.get(HISTORY_KEY, []) if h[1] is not results]
    name = preset or results.config.title or "custom"
    if any(h[0] == name for h in history) and preset is None:
        name = f"{name} #{len(history) + 1}"
    history = [h for h in history if h[0] != name] + [(name, results)]
    session[HISTORY_KEY] = history[-HISTORY_SIZE:]


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
