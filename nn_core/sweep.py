"""Learning-rate sweeps: every rule at its own best learning rate, confirmed on fresh seeds.

The protocol (DeepOBS; Schmidt et al. 2021; AlgoPerf), every number configurable:

1. **Tune.** Each rule trains at every learning rate of one log-spaced grid
   (default 10^(−5 + k/4), k = 0…24) with ``seeds`` seeds; other hyperparameters stay at their
   defaults, or follow an optional second axis (e.g. ``momentum`` over a few values).
2. **Select.** A setting's score is the **median** over seeds of the final validation loss
   (training loss when there is no validation split). A diverged run — NaN/inf, or a final loss
   above the run's starting loss — scores +∞, the worst.
3. **Confirm.** The best setting *and* the rule's default learning rate rerun on
   ``confirm_seeds`` fresh seeds (disjoint from the tuning seeds), so the winner is not a lucky
   seed. Each is reported as the median with a 95 % percentile-bootstrap interval.
4. **Rank.** Rules are ranked by tuned median; a rule's rank counts only the rules whose whole
   interval lies below its own, so rules whose intervals overlap share a rank and are listed as
   not distinguishable.

Flags: the best rate on the edge of the grid (extend the grid); tunability, the decades of
learning rate whose median loss stays within 10 % of the best; epochs to a target loss (a miss
is ∞).

Paired: seed i gives every rule and rate the same initial weights and batch order, exactly as in
a comparison. Runs that differ only in hyperparameters share architecture and batch size, so a
task is one lockstep group of the engine (one rule, a slice of its grid × seeds); tasks go to any
``concurrent.futures.Executor`` and the tables are ordered by configuration, never by completion.
Finished runs can be stored as they finish (:class:`Store`) keyed by a hash of everything that
defines them, so an interrupted sweep resumes without losing or changing anything.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import blas, optimizers
from .config import ConfigError, ExperimentConfig, RunConfig, _float
from .data import make as make_dataset
from .datasets import Dataset
from .results import write_csv

MAX_SWEEP_RUNS = 20_000  # tune + confirm runs of one sweep (a comparison allows 32)
MAX_GRID_POINTS = 200
MAX_AXIS_VALUES = 20
SELECT_ON = ("auto", "val_loss", "train_loss")
BOOTSTRAP_SAMPLES = 2000
TUNABILITY_TOLERANCE = 0.10  # "within 10 % of the best loss"
TASK_RUNS = 40  # runs per task: about a second of the default network's work

SWEEP_COLUMNS = [
    "rule", "lr", "axis", "axis_value", "seed", "phase", "setting",
    "final_train_loss", "best_train_loss", "final_val_loss", "best_val_loss",
    "final_train_score", "final_val_score", "start_loss", "diverged", "diverged_step",
    "epochs_to_target", "score", "seconds",
]  # fmt: skip
BEST_COLUMNS = [
    "rule", "best_lr", "best_axis_value", "default_lr", "tuned_median", "tuned_low", "tuned_high",
    "default_median", "default_low", "default_high", "rank", "not_distinguishable_from",
    "edge", "tunability_decades", "tuned_epochs_to_target",
]  # fmt: skip


@dataclass(frozen=True)
class SweepConfig:
    rules: tuple[str, ...] = tuple(optimizers.RULES)  # every rule the engine has
    lr_min: float = 1e-5
    lr_max: float = 10.0
    lr_points: int = 25  # log-spaced, both ends included
    axis: str | None = None  # an optional second hyperparameter swept on a small grid
    axis_values: tuple[float, ...] = ()
    seeds: int = 3  # tuning seeds per grid point
    confirm_seeds: int = 10  # fresh seeds for the best and the default setting
    select_on: str = "auto"  # "auto" = val_loss when there is a validation split
    target_loss: float | None = None  # for epochs-to-target; None = no target
    batch_size: int | str | None = None  # None = the batch size most of the comparison's runs use

    @property
    def grid(self) -> np.ndarray:
        if self.lr_points == 1:
            return np.array([self.lr_min])
        grid = np.logspace(math.log10(self.lr_min), math.log10(self.lr_max), self.lr_points)
        return np.array([float(f"{lr:.12g}") for lr in grid])  # 1e-05, not 9.999999999999999e-06

    @property
    def decade_step(self) -> float:
        if self.lr_points == 1:
            return 0.0
        return math.log10(self.lr_max / self.lr_min) / (self.lr_points - 1)

    def axis_grid(self) -> tuple[float | None, ...]:
        return tuple(self.axis_values) if self.axis else (None,)

    def n_runs(self) -> int:
        tune = len(self.rules) * self.lr_points * len(self.axis_grid()) * self.seeds
        return tune + len(self.rules) * 2 * self.confirm_seeds

    def to_dict(self) -> dict[str, Any]:
        doc = dataclasses.asdict(self)
        doc["rules"] = list(self.rules)
        doc["axis_values"] = list(self.axis_values)
        return doc

    @classmethod
    def from_dict(cls, doc: Any, path: str = "sweep") -> SweepConfig:
        """Validate a ``sweep`` section; unknown keys and out-of-range values name the key."""
        if doc is None:
            doc = {}
        if not isinstance(doc, dict):
            raise ConfigError(path, f"must be an object, got {type(doc).__name__}")
        allowed = [f.name for f in dataclasses.fields(cls)]
        for key in doc:
            if key not in allowed:
                raise ConfigError(f"{path}.{key}", f"unknown key; allowed: {', '.join(allowed)}")
        out = cls()
        rules = doc.get("rules", list(out.rules))
        if isinstance(rules, str):
            rules = [r.strip() for r in rules.split(",") if r.strip()]
        if not isinstance(rules, list) or not rules:
            raise ConfigError(f"{path}.rules", "must be a non-empty list of optimizer names")
        for r in rules:
            if r not in optimizers.RULES:
                raise ConfigError(
                    f"{path}.rules",
                    f"unknown optimizer {r!r}; allowed: {', '.join(optimizers.RULES)}",
                )
        if len(set(rules)) != len(rules):
            raise ConfigError(f"{path}.rules", "lists a rule twice")
        lr_min = _float(doc.get("lr_min", out.lr_min), f"{path}.lr_min", 1e-12, 100.0)
        lr_max = _float(doc.get("lr_max", out.lr_max), f"{path}.lr_max", 1e-12, 100.0)
        points = _integer(
            doc.get("lr_points", out.lr_points), f"{path}.lr_points", 1, MAX_GRID_POINTS
        )
        if lr_max < lr_min or (points > 1 and lr_max == lr_min):
            raise ConfigError(f"{path}.lr_max", f"must be above lr_min ({lr_min:g})")
        axis = doc.get("axis")
        values: tuple[float, ...] = ()
        if axis is not None:
            if not isinstance(axis, str):
                raise ConfigError(f"{path}.axis", "must be a hyperparameter name")
            raw = doc.get("axis_values")
            if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_AXIS_VALUES:
                raise ConfigError(
                    f"{path}.axis_values", f"must list 1-{MAX_AXIS_VALUES} values for {axis}"
                )
            if axis == "lr":
                raise ConfigError(f"{path}.axis", "lr is the main axis; choose another")
            for r in rules:
                try:
                    values = tuple(
                        optimizers.resolve(r, {axis: v})[axis] for v in raw
                    )  # validates each value against the rule's own range
                except KeyError:
                    raise ConfigError(
                        f"{path}.axis", f"{r} has no hyperparameter {axis!r}"
                    ) from None
                except ValueError as exc:
                    raise ConfigError(f"{path}.axis_values", str(exc)) from None
        elif "axis_values" in doc:
            raise ConfigError(f"{path}.axis_values", "needs an axis")
        select = doc.get("select_on", out.select_on)
        if select not in SELECT_ON:
            raise ConfigError(f"{path}.select_on", f"must be one of {', '.join(SELECT_ON)}")
        target = doc.get("target_loss")
        if target is not None:
            target = _float(target, f"{path}.target_loss", 0.0, 1e12)
        bs = doc.get("batch_size")
        if bs is not None and bs != "full":
            bs = _integer(bs, f"{path}.batch_size", 1, 200_000)
        sweep = cls(
            rules=tuple(rules),
            lr_min=lr_min,
            lr_max=lr_max,
            lr_points=points,
            axis=axis,
            axis_values=values,
            seeds=_integer(doc.get("seeds", out.seeds), f"{path}.seeds", 1, 50),
            confirm_seeds=_integer(
                doc.get("confirm_seeds", out.confirm_seeds), f"{path}.confirm_seeds", 0, 100
            ),
            select_on=select,
            target_loss=target,
            batch_size=bs,
        )
        if sweep.n_runs() > MAX_SWEEP_RUNS:
            raise ConfigError(
                path,
                f"{sweep.n_runs()} runs; a sweep is limited to {MAX_SWEEP_RUNS} "
                "(fewer rules, grid points, axis values or seeds)",
            )
        return sweep


def _integer(value: Any, path: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(path, f"must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(path, f"must be between {low} and {high}, got {value!r}")
    return value


@dataclass(frozen=True)
class SweepPreset:
    name: str
    title: str
    explanation: str
    comparison: str  # the comparison preset whose network, data and batch size it uses
    epochs: int
    sweep: SweepConfig


SWEEP_PRESETS: dict[str, SweepPreset] = {
    p.name: p
    for p in [
        SweepPreset(
            "lr-too-small-too-large",
            "Learning rate: too small, just right, too large",
            "SGD and Adam on two moons at eleven learning rates from 0.0001 to 10. Too small "
            "and SGD's loss hardly moves in 30 epochs; too large and both rules end above where "
            "they started (a red ✕); in between lies each rule's best rate, a different one for "
            "each rule, which is why comparing rules at one rate is unfair.",
            "default",
            30,
            SweepConfig(
                rules=("sgd", "adam"),
                lr_min=1e-4,
                lr_max=10.0,
                lr_points=11,
                seeds=2,
                confirm_seeds=3,
            ),
        ),
    ]
}


def load_document(doc: Any) -> tuple[ExperimentConfig, SweepConfig]:
    """A comparison document with an optional ``sweep`` section."""
    if not isinstance(doc, dict):
        raise ConfigError("", "the configuration must be a JSON object")
    rest = {k: v for k, v in doc.items() if k != "sweep"}
    return ExperimentConfig.from_dict(rest), SweepConfig.from_dict(doc.get("sweep"))


# --- what one run is --------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepRun:
    """One run of a sweep: a rule at one setting, one seed, in one phase."""

    rule: str
    lr: float
    axis_value: float | None
    seed: int
    phase: str  # "tune" | "confirm"
    setting: str  # "grid" | "best" | "default"

    def hyper(self, axis: str | None) -> dict[str, Any]:
        hp: dict[str, Any] = {"lr": self.lr}
        if axis is not None and self.axis_value is not None:
            hp[axis] = self.axis_value
        return hp

    def label(self, axis: str | None) -> str:
        extra = f" {axis}={self.axis_value:g}" if axis and self.axis_value is not None else ""
        return f"{self.rule} lr={self.lr:.6g}{extra} [{self.setting}]"


def run_key(base: ExperimentConfig, sweep: SweepConfig, run: SweepRun, bsize) -> str:
    """A hash of everything that defines a run's numbers (not its phase or how it was found)."""
    doc = base.to_dict()
    definition = {
        "dataset": doc["dataset"],
        "network": doc["network"],
        "training": {k: v for k, v in doc["training"].items() if k not in ("seeds", "base_seed")},
        "rule": run.rule,
        "hyper": run.hyper(sweep.axis),
        "batch_size": bsize,
        "seed": run.seed,
        "numpy": np.__version__,
    }
    text = json.dumps(definition, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def tune_runs(sweep: SweepConfig, seeds: list[int]) -> list[SweepRun]:
    return [
        SweepRun(rule, float(lr), av, seed, "tune", "grid")
        for rule in sweep.rules
        for av in sweep.axis_grid()
        for lr in sweep.grid
        for seed in seeds
    ]


# --- training tasks ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """A picklable unit of work: runs of one rule that train as one lockstep group. Synthetic or
    bundled data is made inside the task from the config; only uploaded data travels."""

    config_json: str
    axis: str | None
    runs: tuple[SweepRun, ...]
    batch_size: int | str
    target_loss: float | None
    keep_curves: bool
    data: Dataset | None = None


def _quiet_training(config: ExperimentConfig) -> ExperimentConfig:
    """A sweep records only losses: no per-step losses, gradient statistics once, one snapshot."""
    tr = dataclasses.replace(
        config.training,
        step_epochs=0,
        histogram_every=max(config.training.epochs, 1),
        snapshot_every=max(config.training.epochs, 1),
    )
    return dataclasses.replace(config, training=tr)


def train_task(task: Task) -> list[dict[str, Any]]:
    """Train one task and return one row per run (with its curve when ``keep_curves``)."""
    from .train import build_architecture, initial_params, train_members

    config = _quiet_training(ExperimentConfig.from_json(task.config_json))
    with blas.limited(1):  # one BLAS thread on every path: thread counts change float sums
        data = task.data
        if data is None:
            data = make_dataset(config.dataset, dtype=np.dtype(config.training.dtype))
        arch = build_architecture(config, data)
        seeds = sorted({r.seed for r in task.runs})
        theta0 = {s: initial_params(config, arch, s) for s in seeds}
        members = [
            (RunConfig(f"r{i}", r.rule, task.batch_size, r.hyper(task.axis)), r.seed)
            for i, r in enumerate(task.runs)
        ]
        start = time.perf_counter()
        records = train_members(config, members, data, arch, theta0)
        seconds = (time.perf_counter() - start) / len(records)
    has_val = len(data.X_val) > 0
    return [
        _row(run, rec, has_val, task, seconds) for run, rec in zip(task.runs, records, strict=True)
    ]


def _row(run: SweepRun, rec, has_val: bool, task: Task, seconds: float) -> dict[str, Any]:
    train = np.array(rec.train_loss, dtype=float)
    val = np.array(rec.val_loss, dtype=float)
    select = val if has_val else train
    diverged = bool(rec.diverged) or not math.isfinite(select[-1]) or select[-1] > select[0]
    target = task.target_loss
    reached = np.nonzero(train <= target)[0] if target is not None else np.array([], dtype=int)
    row = {
        "rule": run.rule,
        "lr": run.lr,
        "axis": task.axis or "",
        "axis_value": np.nan if run.axis_value is None else run.axis_value,
        "seed": run.seed,
        "phase": run.phase,
        "setting": run.setting,
        "final_train_loss": float(train[-1]),
        "best_train_loss": _finite_min(train),
        "final_val_loss": float(val[-1]) if has_val else np.nan,
        "best_val_loss": _finite_min(val) if has_val else np.nan,
        "final_train_score": float(rec.train_score[-1]),
        "final_val_score": float(rec.val_score[-1]) if has_val else np.nan,
        "start_loss": float(select[0]),
        "diverged": diverged,
        "diverged_step": rec.diverged_step,
        "epochs_to_target": float(rec.epochs[reached[0]]) if len(reached) else math.inf,
        "score": math.inf if diverged else float(select[-1]),
        "seconds": seconds,
    }
    if task.keep_curves:
        row["curve"] = {
            "epoch": list(rec.epochs),
            "step": list(rec.steps_at),
            "samples": list(rec.samples),
            "train_loss": train.tolist(),
            "val_loss": val.tolist(),
            "train_score": list(map(float, rec.train_score)),
            "val_score": list(map(float, rec.val_score)),
        }
    return row


def _finite_min(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.min()) if finite.size else math.nan


# --- finished runs kept on disk -----------------------------------------------------------------


class Store:
    """Finished runs as JSON lines (``key``, ``row``), appended and flushed as tasks finish;
    with no path, in memory only (the dashboard reads it while a sweep runs).

    A line cut short by a kill is ignored on reading, so a resumed sweep re-trains only what
    had not been written in full."""

    def __init__(self, path: str | Path | None = None):
        self.path = None if path is None else Path(path)
        self.rows: dict[str, dict] = {}
        self._lock = threading.Lock()
        if self.path is not None and self.path.exists():
            with self.path.open(encoding="utf-8") as fh:
                for line in fh:
                    try:
                        entry = json.loads(line)
                        self.rows[entry["key"]] = entry["row"]
                    except (json.JSONDecodeError, KeyError, TypeError):
                        continue

    def add(self, items: Iterable[tuple[str, dict]]) -> None:
        items = list(items)
        with self._lock:
            for key, row in items:
                self.rows[key] = row
            if self.path is not None:
                with self.path.open("a", encoding="utf-8") as fh:
                    for key, row in items:
                        fh.write(json.dumps({"key": key, "row": row}, default=_json_default))
                        fh.write("\n")

    def snapshot(self) -> list[dict]:
        """The rows stored so far (safe while another thread adds)."""
        with self._lock:
            return list(self.rows.values())


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__}")


# --- the sweep --------------------------------------------------------------------------------


@dataclass
class SweepProgress:
    done: int
    total: int
    phase: str
    elapsed: float

    @property
    def rate(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        return (self.total - self.done) / self.rate if self.done and self.rate else None


@dataclass
class SweepResults:
    config: ExperimentConfig
    sweep: SweepConfig
    runs: pd.DataFrame  # one row per run (sweep.csv)
    curves: pd.DataFrame  # confirmation runs, the compare command's curve columns
    best: pd.DataFrame  # one row per rule (best.csv)
    sensitivity: pd.DataFrame  # rule × lr (× axis value): median, low, high over seeds
    cancelled: bool = False
    versions: dict[str, str] = field(default_factory=dict)

    def to_csv(self, folder: str | Path) -> list[Path]:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        doc = self.config.to_dict()
        doc["sweep"] = self.sweep.to_dict()
        doc["versions"] = self.versions
        paths = [folder / "config.json", folder / "sweep.csv", folder / "curves.csv"]
        paths[0].write_text(json.dumps(doc, indent=2))
        write_csv(self.runs, paths[1])  # text cells neutralised like every export
        write_csv(self.curves, paths[2])
        paths.append(folder / "best.csv")
        write_csv(self.best, paths[-1])
        return paths


def versions() -> dict[str, str]:
    import platform

    import scipy

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
    }


def run_sweep(
    config: ExperimentConfig,
    sweep: SweepConfig | None = None,
    executor: Executor | None = None,
    progress: Callable[[SweepProgress], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    store: Store | None = None,
    data: Dataset | None = None,
) -> SweepResults:
    """Tune, select and confirm (module docstring); return tidy tables.

    ``executor`` runs the tasks (default: in this process). ``store`` keeps finished runs and
    reuses them. ``cancel()`` returning true stops submitting work; the finished runs are kept
    and the tables say ``cancelled``. ``data`` replaces the configured dataset (an upload)."""
    sweep = sweep or SweepConfig()
    if executor is None:
        from .schedule import InlineExecutor

        executor = InlineExecutor()
    n_train = _n_train(config, data)
    bsize = sweep.batch_size if sweep.batch_size is not None else comparison_batch_size(config)
    if bsize != "full":
        bsize = min(int(bsize), n_train)
    base = config.with_training(seeds=1)
    seeds0 = config.training.base_seed
    tune_seeds = list(range(seeds0, seeds0 + sweep.seeds))
    confirm_seeds = list(range(seeds0 + sweep.seeds, seeds0 + sweep.seeds + sweep.confirm_seeds))
    rows: dict[str, dict] = {}
    t0 = time.perf_counter()
    total = sweep.n_runs()
    state = {"cancelled": False}

    def report(phase: str) -> None:
        if progress is not None:
            progress(SweepProgress(len(rows), total, phase, time.perf_counter() - t0))

    def stopped() -> bool:
        if not state["cancelled"] and cancel is not None and cancel():
            state["cancelled"] = True
        return state["cancelled"]

    def train(runs: list[SweepRun], phase: str, keep_curves: bool) -> None:
        keys = [run_key(base, sweep, r, bsize) for r in runs]
        todo: dict[str, list[tuple[str, SweepRun]]] = {}
        queued: set[str] = set()
        for key, run in zip(keys, runs, strict=True):
            if (
                store is not None
                and key in store.rows
                and (not keep_curves or "curve" in store.rows[key])
            ):
                rows[key] = _relabel(store.rows[key], run)
            elif key not in queued and (
                key not in rows or (keep_curves and "curve" not in rows[key])
            ):
                queued.add(key)
                todo.setdefault(run.rule, []).append((key, run))
        report(phase)
        tasks = []
        for items in todo.values():
            for lo in range(0, len(items), TASK_RUNS):
                chunk = items[lo : lo + TASK_RUNS]
                tasks.append(
                    (
                        [k for k, _ in chunk],
                        Task(
                            base.to_json(),
                            sweep.axis,
                            tuple(r for _, r in chunk),
                            bsize,
                            sweep.target_loss,
                            keep_curves,
                            data,
                        ),
                    )
                )
        pending: list[tuple[list[str], Future]] = []
        for task_keys, task in tasks:
            if stopped():
                break
            pending.append((task_keys, executor.submit(train_task, task)))
        for task_keys, future in pending:
            if stopped() and not future.done():
                future.cancel()
            if future.cancelled():
                continue
            got = future.result()
            items = list(zip(task_keys, got, strict=True))
            for key, row in items:
                rows[key] = row
            if store is not None:
                store.add(items)
            report(phase)
        for key, run in zip(keys, runs, strict=True):
            if key in rows:
                rows[key] = _relabel(rows[key], run)

    tune = tune_runs(sweep, tune_seeds)
    train(tune, "tune", keep_curves=False)
    tune_table = _table([rows[k] for k in _keys(base, sweep, tune, bsize) if k in rows])
    sensitivity = summarise_settings(tune_table)
    confirm: list[SweepRun] = []
    for rule in sweep.rules:
        best = best_setting(sensitivity, rule)
        if best is None:
            continue
        default_lr = float(optimizers.RULES[rule].defaults["lr"])
        default_axis = _default_axis(sweep, rule)
        for seed in confirm_seeds:
            confirm.append(SweepRun(rule, best[0], best[1], seed, "confirm", "best"))
            confirm.append(SweepRun(rule, default_lr, default_axis, seed, "confirm", "default"))
    if not stopped() and confirm:
        train(confirm, "confirm", keep_curves=True)
    confirm_rows = [
        {**rows[k], "phase": "confirm", "setting": r.setting}
        for k, r in zip(_keys(base, sweep, confirm, bsize), confirm, strict=True)
        if k in rows
    ]
    table = _table([rows[k] for k in _keys(base, sweep, tune, bsize) if k in rows] + confirm_rows)
    curves = _curves(confirm_rows)
    best_table = summarise_rules(table, sensitivity, sweep)
    return SweepResults(
        config, sweep, table, curves, best_table, sensitivity, state["cancelled"], versions()
    )


def comparison_batch_size(config: ExperimentConfig) -> int | str:
    """The batch size most of the comparison's runs use (the first of equals; 32 without runs):
    the default preset's GD, SGD and five batch-32 runs give 32."""
    sizes = [r.batch_size for r in config.runs]
    return max(sizes, key=sizes.count) if sizes else 32


def _n_train(config: ExperimentConfig, data: Dataset | None) -> int:
    if data is None:
        data = make_dataset(config.dataset, dtype=np.dtype(config.training.dtype))
    return len(data.X_train)


def _keys(base, sweep, runs, bsize) -> list[str]:
    return [run_key(base, sweep, r, bsize) for r in runs]


def _relabel(row: dict, run: SweepRun) -> dict:
    """A stored or shared run reused under this run's phase and setting."""
    return {
        **row,
        "rule": run.rule,
        "lr": run.lr,
        "seed": run.seed,
        "phase": run.phase,
        "setting": run.setting,
    }


def _default_axis(sweep: SweepConfig, rule: str) -> float | None:
    if sweep.axis is None:
        return None
    value = optimizers.RULES[rule].defaults[sweep.axis]
    return float(value)


def _table(rows: list[dict]) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame(columns=SWEEP_COLUMNS)
    return pd.DataFrame([{c: r[c] for c in SWEEP_COLUMNS} for r in rows])


def _curves(rows: list[dict]) -> pd.DataFrame:
    cols = [
        "rule",
        "setting",
        "lr",
        "seed",
        "epoch",
        "step",
        "samples",
        "split",
        "loss",
        "accuracy",
    ]
    parts = []
    for r in rows:
        c = r.get("curve")
        if not c:
            continue
        n = len(c["epoch"])
        for split, loss, score in (
            ("train", c["train_loss"], c["train_score"]),
            ("val", c["val_loss"], c["val_score"]),
        ):
            parts.append(
                pd.DataFrame(
                    {
                        "rule": [r["rule"]] * n,
                        "setting": [r["setting"]] * n,
                        "lr": [r["lr"]] * n,
                        "seed": [r["seed"]] * n,
                        "epoch": c["epoch"],
                        "step": c["step"],
                        "samples": c["samples"],
                        "split": [split] * n,
                        "loss": loss,
                        "accuracy": score,
                    }
                )
            )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)


# --- the statistics ---------------------------------------------------------------------------


def summarise_settings(tune: pd.DataFrame) -> pd.DataFrame:
    """Median (and min/max) score over seeds for every rule × lr × axis value of the tuning
    runs; ``diverged`` counts diverged seeds. A setting with a diverged seed has an infinite
    max; its median is infinite when half or more of its seeds diverged."""
    cols = ["rule", "lr", "axis_value", "median", "low", "high", "diverged", "seeds"]
    if tune.empty:
        return pd.DataFrame(columns=cols)
    tune = tune[tune.phase == "tune"].copy()
    tune["axis_key"] = tune.axis_value.fillna(-1.0)
    out = []
    for (rule, lr, _), d in tune.groupby(["rule", "lr", "axis_key"], sort=False):
        s = d.score.to_numpy(dtype=float)
        out.append(
            {
                "rule": rule,
                "lr": lr,
                "axis_value": d.axis_value.iloc[0],
                "median": float(np.median(s)),
                "low": float(np.min(s)),
                "high": float(np.max(s)),
                "diverged": int(d.diverged.sum()),
                "seeds": len(s),
            }
        )
    return pd.DataFrame(out, columns=cols)


def best_setting(settings: pd.DataFrame, rule: str) -> tuple[float, float | None] | None:
    """(lr, axis value) with the lowest median score; ties go to the smaller learning rate."""
    d = settings[settings.rule == rule]
    if d.empty:
        return None
    d = d.sort_values(["median", "lr"], kind="stable")
    row = d.iloc[0]
    av = None if pd.isna(row.axis_value) else float(row.axis_value)
    return float(row.lr), av


def bootstrap_median(
    values: np.ndarray, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0
) -> tuple[float, float, float]:
    """(median, 2.5 %, 97.5 %) of the median by the percentile bootstrap. Infinite values (diverged
    runs) take part as the worst scores; the generator is seeded by stable integers."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return math.nan, math.nan, math.nan
    rng = np.random.default_rng([seed, values.size])
    idx = rng.integers(0, values.size, size=(samples, values.size))
    medians = np.median(values[idx], axis=1)
    # "lower"/"higher" pick sample values: interpolating next to an infinite score gives NaN
    low = float(np.percentile(medians, 2.5, method="lower"))
    high = float(np.percentile(medians, 97.5, method="higher"))
    return float(np.median(values)), low, high


def tunability(
    settings: pd.DataFrame, rule: str, decade_step: float, tolerance: float = TUNABILITY_TOLERANCE
) -> float:
    """Decades of learning rate whose median score is within ``tolerance`` of the rule's best
    (grid points × the grid's spacing in decades)."""
    d = settings[settings.rule == rule]
    best = d["median"].min()
    if not math.isfinite(best):
        return 0.0
    close = d["median"] <= best + tolerance * abs(best)
    return float(close.sum() * decade_step)


def summarise_rules(
    table: pd.DataFrame, settings: pd.DataFrame, sweep: SweepConfig
) -> pd.DataFrame:
    """One row per rule: best and default learning rates, tuned and default medians with their
    95 % intervals over the confirmation seeds, rank, edge flag, tunability."""
    rows = []
    grid = sweep.grid
    for i, rule in enumerate(sweep.rules):
        best = best_setting(settings, rule)
        if best is None:
            continue
        confirm = table[(table.phase == "confirm") & (table.rule == rule)]
        tuned = confirm[confirm.setting == "best"]
        default = confirm[confirm.setting == "default"]
        tm, tl, th = bootstrap_median(tuned.score.to_numpy(), seed=2 * i)
        dm, dl, dh = bootstrap_median(default.score.to_numpy(), seed=2 * i + 1)
        if tuned.empty:  # no confirmation seeds: report the tuning medians
            s = settings[(settings.rule == rule) & (settings.lr == best[0])]
            tm, tl, th = float(s["median"].iloc[0]), float(s.low.iloc[0]), float(s.high.iloc[0])
        epochs = tuned.epochs_to_target.to_numpy(dtype=float)
        rows.append(
            {
                "rule": rule,
                "best_lr": best[0],
                "best_axis_value": np.nan if best[1] is None else best[1],
                "default_lr": float(optimizers.RULES[rule].defaults["lr"]),
                "tuned_median": tm,
                "tuned_low": tl,
                "tuned_high": th,
                "default_median": dm,
                "default_low": dl,
                "default_high": dh,
                "edge": bool(len(grid) > 1 and best[0] in (grid[0], grid[-1])),
                "tunability_decades": tunability(settings, rule, sweep.decade_step),
                "tuned_epochs_to_target": float(np.median(epochs)) if epochs.size else math.inf,
            }
        )
    out = pd.DataFrame(rows)
    if out.empty:
        return pd.DataFrame(columns=BEST_COLUMNS)
    out["rank"], out["not_distinguishable_from"] = rank_rules(out)
    out = out.sort_values(["rank", "tuned_median"], kind="stable").reset_index(drop=True)
    return out[BEST_COLUMNS]


def rank_rules(best: pd.DataFrame) -> tuple[list[int], list[str]]:
    """A rule's rank is 1 + the number of rules whose whole interval lies below its own; rules
    whose intervals overlap are listed as not distinguishable."""
    lows, highs = best.tuned_low.to_numpy(float), best.tuned_high.to_numpy(float)
    names = best.rule.tolist()
    ranks, ties = [], []
    for i in range(len(names)):
        ranks.append(1 + int(np.sum(highs < lows[i])))
        overlap = [
            names[j]
            for j in range(len(names))
            if j != i and not (highs[j] < lows[i] or highs[i] < lows[j])
        ]
        ties.append(", ".join(overlap))
    return ranks, ties
