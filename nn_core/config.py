"""Experiment configuration: a frozen, JSON-serialisable description of one comparison.

A comparison trains the same network on the same data under several *runs* (an optimizer with
its hyperparameters and a batch size), each repeated over several seeds. The JSON document:

.. code-block:: json

    {"dataset":  {"name": "moons", "n_samples": 400, "noise": 0.2, "val_fraction": 0.2},
     "network":  {"hidden_layers": [16, 16], "activation": "tanh",
                  "initializer": "xavier_uniform"},
     "training": {"epochs": 50, "seeds": 1},
     "runs": [{"label": "Adam", "optimizer": "adam", "batch_size": 32, "lr": 0.01}]}

Every key is checked: unknown keys, unknown names and out-of-range values raise
:class:`ConfigError`, whose message names the key path and what is allowed. Hostile documents
are refused the same way, never with a traceback: text longer than ``MAX_CONFIG_BYTES``, nesting
deeper than ``MAX_DEPTH``, ``NaN``/``Infinity`` or numbers that overflow to infinity (``1e309``),
run labels longer than ``MAX_LABEL`` characters, a title longer than ``MAX_TITLE``, and control
characters (line breaks included) in either.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from . import lr_schedules, optimizers
from .activations import ACTIVATIONS
from .datasets import BUNDLED, DATASETS
from .initializers import INITIALIZERS

MAX_HIDDEN_LAYERS = 20
MAX_WIDTH = 512
MAX_EPOCHS = 100_000
MAX_SEEDS = 50
MAX_RUNS = 32
MAX_SAMPLES = 200_000
TASKS = ("auto", "classification", "regression")
MAX_CONFIG_BYTES = 256 * 1024  # a configuration document (the largest valid one is ~10 KB)
MAX_DEPTH = 8  # nesting of objects and lists (a valid document nests at most 4 deep)
MAX_LABEL = 60  # characters of a run label
MAX_TITLE = 200  # characters of the title
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class ConfigError(ValueError):
    """An invalid configuration. ``path`` is the offending key, e.g. ``runs[2].lr``."""

    def __init__(self, path: str, message: str):
        # One short line whatever the document held (a 100 000-character value is cut).
        path, message = _one_line(path, 120), _one_line(message, 400)
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


def _one_line(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class DatasetConfig:
    name: str = "moons"  # a synthetic generator (datasets.DATASETS) or bundled data (BUNDLED)
    n_samples: int = 400  # total rows before the train/validation split (synthetic only)
    noise: float | None = None  # generator noise; None = the generator's default (synthetic only)
    classes: int = 3  # number of classes for blobs and spirals
    val_fraction: float = 0.2  # held-out fraction, stratified for classification
    seed: int = 0  # data seed, fixed across training seeds so every seed sees the same data
    task: str = "auto"  # "auto", "classification" or "regression": overrides the task inferred
    # for bundled data or a CSV file; the synthetic generators' tasks are fixed (ignored there)
    factor: float | None = None  # circles: inner/outer radius ratio in (0, 1); None = 0.5


@dataclass(frozen=True)
class NetworkConfig:
    hidden_layers: tuple[int, ...] = (16, 16)  # width of each hidden layer
    activation: str | tuple[str, ...] = "tanh"  # one name for all layers, or one per layer
    initializer: str = "xavier_uniform"  # initializers.INITIALIZERS
    init_scale: float | None = None  # a for uniform(±a), σ for normal(σ); None = default
    gain: float | str = 1.0  # Xavier gain: a number, or "auto" = calculate_gain(activation)
    dropout: float = 0.0  # inverted-dropout rate on hidden layers
    l2: float = 0.0  # L2 penalty ½λ‖W‖² on weights (not biases), part of the loss

    @property
    def activations(self) -> tuple[str, ...]:
        if isinstance(self.activation, str):
            return (self.activation,) * len(self.hidden_layers)
        return tuple(self.activation)


@dataclass(frozen=True)
class TrainingConfig:
    epochs: int = 50  # passes over the training set
    seeds: int = 1  # repetitions; seed k uses seed = base_seed + k
    base_seed: int = 0  # first training seed (initial weights, batch order, dropout)
    step_epochs: int = 2  # record the loss at every step during the first N epochs
    histogram_every: int = 1  # record gradient statistics every N epochs
    snapshot_every: int = 1  # keep a copy of all weights every N epochs (trajectories)
    clip_norm: float | None = None  # clip gradients by global L2 norm (torch convention)
    dtype: str = "float64"  # "float64" or "float32"


@dataclass(frozen=True)
class RunConfig:
    label: str  # unique name shown in charts and exports
    optimizer: str  # optimizers.RULES
    batch_size: int | str = 32  # "full" (GD), 1 (SGD) or k (mini-batch)
    hyper: dict[str, Any] = field(default_factory=dict)  # lr and the rule's torch-named options
    clip_norm: float | None = None  # this run's gradient clipping (global L2 norm, torch's
    # clip_grad_norm_); None = training.clip_norm
    schedule: dict[str, Any] | None = None  # learning-rate schedule per epoch (lr_schedules):
    # {"kind": "step", "step_size": 10, "gamma": 0.1}, "cosine" (t_max, eta_min) or "warmup"

    def hyperparameters(self) -> dict[str, Any]:
        """All hyperparameters of the rule, defaults filled in."""
        return optimizers.resolve(self.optimizer, self.hyper)

    def clip(self, training: TrainingConfig) -> float | None:
        """The clipping norm this run trains with: its own, else the training-wide one."""
        return training.clip_norm if self.clip_norm is None else self.clip_norm

    def __hash__(self):  # dict fields: hash the JSON form so configs can key caches
        return hash(
            (
                self.label,
                self.optimizer,
                self.batch_size,
                _dumps(self.hyper),
                self.clip_norm,
                _dumps(self.schedule),
            )
        )


@dataclass(frozen=True)
class ExperimentConfig:
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    runs: tuple[RunConfig, ...] = ()
    title: str = ""  # shown by presets and the dashboard

    # --- construction -----------------------------------------------------------------------

    @classmethod
    def from_dict(cls, doc: Any) -> ExperimentConfig:
        """Build and validate a configuration from a parsed JSON document."""
        _check_document(doc)
        return _parse(doc)

    @classmethod
    def from_json(cls, text: str) -> ExperimentConfig:
        """Parse and validate a JSON document, refusing it with a one-line :class:`ConfigError`
        when it is too long, too deep, holds ``NaN``/``Infinity`` or is malformed."""
        return cls.from_dict(load_json(text))

    @classmethod
    def preset(cls, name: str) -> ExperimentConfig:
        from .presets import PRESETS

        if name not in PRESETS:
            raise ConfigError("preset", f"unknown {name!r}; allowed: {', '.join(PRESETS)}")
        return cls.from_dict(PRESETS[name].config)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["network"]["hidden_layers"] = list(self.network.hidden_layers)
        if not isinstance(self.network.activation, str):
            d["network"]["activation"] = list(self.network.activation)
        d["runs"] = [
            {"label": r.label, "optimizer": r.optimizer, "batch_size": r.batch_size, **r.hyper}
            for r in self.runs
        ]
        for r, run in zip(d["runs"], self.runs, strict=True):
            if run.clip_norm is not None:  # only when set: older documents stay as they were
                r["clip_norm"] = run.clip_norm
            if run.schedule is not None:
                r["schedule"] = dict(run.schedule)
        for r in d["runs"]:
            if "betas" in r:
                r["betas"] = list(r["betas"])
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def with_training(self, **changes: Any) -> ExperimentConfig:
        """A copy with some training fields changed (validated)."""
        doc = self.to_dict()
        doc["training"].update(changes)
        return self.from_dict(doc)

    # --- derived ----------------------------------------------------------------------------

    @property
    def seeds(self) -> list[int]:
        return [self.training.base_seed + k for k in range(self.training.seeds)]


def _dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=list)


def load_json(text: str | bytes) -> Any:
    """A JSON document parsed within bounds: at most ``MAX_CONFIG_BYTES`` long, nested at most
    ``MAX_DEPTH`` deep (checked by a bracket count before parsing, so 100 000 brackets cost one
    pass and no recursion), and without the ``NaN``/``Infinity`` literals standard JSON lacks."""
    if len(text) > 4 * MAX_CONFIG_BYTES:  # before decoding: at most 4 bytes a character
        raise ConfigError("", f"the document is larger than {MAX_CONFIG_BYTES:,} characters")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ConfigError("", f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(
            "", f"the document is {len(text):,} characters; the limit is {MAX_CONFIG_BYTES:,}"
        )
    depth = _max_depth(text)
    if depth > MAX_DEPTH:
        raise ConfigError("", f"nested {depth} deep; a configuration nests at most {MAX_DEPTH}")

    try:  # NaN and ±Infinity are read as floats so the check that refuses them names the key
        return json.loads(text, parse_constant=float)
    except json.JSONDecodeError as exc:
        raise ConfigError("", f"not valid JSON: {exc.msg} (line {exc.lineno})") from None
    except RecursionError:  # unreachable after the depth check; kept as a guarantee
        raise ConfigError("", "nested too deep") from None


def _max_depth(text: str) -> int:
    """Deepest bracket nesting outside strings (an upper bound when the text is malformed)."""
    stripped = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    depth = peak = 0
    for ch in re.sub(r"[^\[\]{}]", "", stripped):
        depth += 1 if ch in "[{" else -1
        peak = max(peak, depth)
    return peak


def _check_document(doc: Any, path: str = "", depth: int = 0) -> None:
    """Refuse what ``json.loads`` or a caller could hand over that no key accepts: non-finite
    numbers (``1e309`` parses as infinity) and nesting beyond ``MAX_DEPTH``; the key is named."""
    if depth > MAX_DEPTH:
        raise ConfigError(path, f"nested too deep; a configuration nests at most {MAX_DEPTH}")
    if isinstance(doc, float) and not math.isfinite(doc):
        raise ConfigError(path, f"must be a finite number, got {doc!r}")
    if isinstance(doc, dict):
        for key, value in doc.items():
            _check_document(value, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(doc, list | tuple):
        for i, value in enumerate(doc):
            _check_document(value, f"{path}[{i}]", depth + 1)


def _text(value: Any, path: str, limit: int, empty: bool) -> str:
    """Free text: a string of at most ``limit`` characters without control characters."""
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise ConfigError(path, "must be a non-empty string" if not empty else "must be a string")
    if len(value) > limit:
        raise ConfigError(path, f"is {len(value):,} characters long; the limit is {limit}")
    if _CONTROL.search(value):
        raise ConfigError(path, "must not contain line breaks or other control characters")
    return value


# --- validation -------------------------------------------------------------------------------


def _check_keys(doc: Any, allowed: list[str], path: str, required: tuple[str, ...] = ()):
    if not isinstance(doc, dict):
        raise ConfigError(path, f"must be an object, got {type(doc).__name__}")
    for key in doc:
        if key not in allowed:
            where = f"{path}.{key}" if path else key
            raise ConfigError(where, f"unknown key; allowed: {', '.join(allowed)}")
    for key in required:
        if key not in doc:
            raise ConfigError(f"{path}.{key}" if path else key, "is required")


def _int(value: Any, path: str, low: int, high: int) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, float) and not math.isfinite(value))
        or int(value) != value
    ):
        raise ConfigError(path, f"must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(path, f"must be between {low} and {high}, got {value!r}")
    return int(value)


def _float(value: Any, path: str, low: float, high: float, high_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(path, f"must be a finite number, got {value!r}")
    ok = low <= value < high if high_open else low <= value <= high
    if not ok:
        bracket = ")" if high_open else "]"
        raise ConfigError(path, f"must be in [{low:g}, {high:g}{bracket}, got {value!r}")
    return float(value)


def _name(value: Any, path: str, allowed) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(path, f"unknown {value!r}; allowed: {', '.join(allowed)}")
    return value


def _fields(cls) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _parse(doc: Any) -> ExperimentConfig:
    _check_keys(doc, _fields(ExperimentConfig), "", required=("runs",))
    ds = _parse_dataset(doc.get("dataset", {}))
    net = _parse_network(doc.get("network", {}))
    tr = _parse_training(doc.get("training", {}))
    runs = _parse_runs(doc["runs"])
    title = _text(doc.get("title", ""), "title", MAX_TITLE, empty=True)
    return ExperimentConfig(ds, net, tr, runs, title)


def _parse_dataset(d: Any) -> DatasetConfig:
    _check_keys(d, _fields(DatasetConfig), "dataset")
    out = DatasetConfig()
    name = _name(d.get("name", out.name), "dataset.name", [*DATASETS, *BUNDLED])
    task = _name(d.get("task", out.task), "dataset.task", TASKS)
    noise = d.get("noise")
    factor = d.get("factor")
    if factor is not None:
        if isinstance(factor, bool) or not isinstance(factor, int | float) or not 0 < factor < 1:
            raise ConfigError("dataset.factor", f"must be in (0, 1), got {factor!r}")
        if name in BUNDLED or DATASETS[name].default_factor is None:
            having = [g for g, gen in DATASETS.items() if gen.default_factor is not None]
            raise ConfigError(
                "dataset.factor", f"applies to {', '.join(having)} only, not {name!r}"
            )
        factor = float(factor)
    return DatasetConfig(
        name=name,
        n_samples=_int(d.get("n_samples", out.n_samples), "dataset.n_samples", 20, MAX_SAMPLES),
        noise=None if noise is None else _float(noise, "dataset.noise", 0.0, 10.0),
        classes=_int(d.get("classes", out.classes), "dataset.classes", 2, 10),
        val_fraction=_float(
            d.get("val_fraction", out.val_fraction), "dataset.val_fraction", 0.0, 0.9
        ),
        seed=_int(d.get("seed", out.seed), "dataset.seed", 0, 2**31 - 1),
        task=task,
        factor=factor,
    )


def _parse_network(d: Any) -> NetworkConfig:
    _check_keys(d, _fields(NetworkConfig), "network")
    out = NetworkConfig()
    layers = d.get("hidden_layers", list(out.hidden_layers))
    if not isinstance(layers, list | tuple) or not 1 <= len(layers) <= MAX_HIDDEN_LAYERS:
        raise ConfigError(
            "network.hidden_layers",
            f"must be a list of 1 to {MAX_HIDDEN_LAYERS} layer widths, got {layers!r}",
        )
    widths = tuple(
        _int(w, f"network.hidden_layers[{i}]", 1, MAX_WIDTH) for i, w in enumerate(layers)
    )
    act = d.get("activation", out.activation)
    if isinstance(act, list | tuple):
        if len(act) != len(widths):
            raise ConfigError(
                "network.activation",
                f"a per-layer list needs {len(widths)} names (one per hidden layer), "
                f"got {len(act)}",
            )
        act = tuple(_name(a, f"network.activation[{i}]", ACTIVATIONS) for i, a in enumerate(act))
    else:
        act = _name(act, "network.activation", ACTIVATIONS)
    scale = d.get("init_scale")
    gain = d.get("gain", out.gain)
    if gain != "auto":
        gain = _float(gain, "network.gain", 0.0, 100.0)
    return NetworkConfig(
        hidden_layers=widths,
        activation=act,
        initializer=_name(
            d.get("initializer", out.initializer), "network.initializer", INITIALIZERS
        ),
        init_scale=None if scale is None else _float(scale, "network.init_scale", 0.0, 100.0),
        gain=gain,
        dropout=_float(d.get("dropout", 0.0), "network.dropout", 0.0, 0.9),
        l2=_float(d.get("l2", 0.0), "network.l2", 0.0, 10.0),
    )


def _parse_training(d: Any) -> TrainingConfig:
    _check_keys(d, _fields(TrainingConfig), "training")
    out = TrainingConfig()
    clip = d.get("clip_norm")
    dtype = _name(d.get("dtype", out.dtype), "training.dtype", ("float64", "float32"))
    return TrainingConfig(
        epochs=_int(d.get("epochs", out.epochs), "training.epochs", 1, MAX_EPOCHS),
        seeds=_int(d.get("seeds", out.seeds), "training.seeds", 1, MAX_SEEDS),
        base_seed=_int(d.get("base_seed", out.base_seed), "training.base_seed", 0, 2**31 - 1),
        step_epochs=_int(
            d.get("step_epochs", out.step_epochs), "training.step_epochs", 0, MAX_EPOCHS
        ),
        histogram_every=_int(
            d.get("histogram_every", out.histogram_every), "training.histogram_every", 1, 10**6
        ),
        snapshot_every=_int(
            d.get("snapshot_every", out.snapshot_every), "training.snapshot_every", 1, 10**6
        ),
        clip_norm=None if clip is None else _float(clip, "training.clip_norm", 1e-12, 1e12),
        dtype=dtype,
    )


_RUN_KEYS = ("label", "optimizer", "batch_size", "clip_norm", "schedule")


def _parse_runs(runs: Any) -> tuple[RunConfig, ...]:
    if not isinstance(runs, list) or not 1 <= len(runs) <= MAX_RUNS:
        raise ConfigError("runs", f"must be a list of 1 to {MAX_RUNS} runs")
    parsed, labels = [], set()
    for i, r in enumerate(runs):
        path = f"runs[{i}]"
        if not isinstance(r, dict):
            raise ConfigError(path, "must be an object")
        if "optimizer" not in r:
            raise ConfigError(
                f"{path}.optimizer", f"is required; allowed: {', '.join(optimizers.RULES)}"
            )
        rule = _name(r["optimizer"], f"{path}.optimizer", optimizers.RULES)
        label = _text(r.get("label", rule), f"{path}.label", MAX_LABEL, empty=False)
        if label in labels:
            raise ConfigError(f"{path}.label", f"{label!r} is used by another run")
        labels.add(label)
        bs = r.get("batch_size", 32)
        if bs != "full":
            bs = _int(bs, f"{path}.batch_size", 1, MAX_SAMPLES) if not isinstance(bs, str) else bs
            if isinstance(bs, str):
                raise ConfigError(f"{path}.batch_size", f'must be "full" or an integer, got {bs!r}')
        hyper = {k: v for k, v in r.items() if k not in _RUN_KEYS}
        allowed = [h.name for h in optimizers.RULES[rule].hyper]
        for key, value in hyper.items():
            if key not in allowed:
                raise ConfigError(
                    f"{path}.{key}",
                    f"{rule} has no such hyperparameter; allowed: {', '.join(_RUN_KEYS)}, "
                    f"{', '.join(allowed)}",
                )
            try:
                optimizers.resolve(rule, {key: value})
            except (ValueError, TypeError, OverflowError) as exc:
                raise ConfigError(f"{path}.{key}", str(exc).removeprefix(f"{key} ")) from None
        if "betas" in hyper:
            hyper["betas"] = tuple(hyper["betas"])
        clip = r.get("clip_norm")
        if clip is not None:
            clip = _float(clip, f"{path}.clip_norm", 1e-12, 1e12)
        schedule = r.get("schedule")
        if schedule is not None:
            try:
                schedule = lr_schedules.check(schedule)
            except ValueError as exc:
                key, _, message = str(exc).partition(": ")
                where = f"{path}.schedule" + (f".{key}" if key else "")
                raise ConfigError(where, message) from None
        parsed.append(RunConfig(label, rule, bs, hyper, clip, schedule))
    return tuple(parsed)
