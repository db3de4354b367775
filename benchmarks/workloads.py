"""The benchmark workloads: what is trained, for how long, on which data.

A workload is either one run (an optimizer and a batch size, one seed), a whole comparison (every
run of a preset, for every seed, end to end through ``run_comparison``) or a learning-rate sweep
(``run_sweep``, measured by :mod:`benchmarks.sweeps`). Epoch counts are chosen
so that nn_core takes roughly 0.2–3 s per workload on a 2-core machine; ``quick`` shrinks them
for a smoke run.

Two recording levels are timed for nn_core:

- ``lean``: the least the engine records — per-epoch train/validation loss and score (always on),
  no per-step losses, no gradient statistics after the first step, one final snapshot (needed to
  compare the final parameters with torch). This is the work the torch reference also does.
- ``full``: the :class:`nn_core.config.TrainingConfig` defaults (per-step losses for 2 epochs,
  gradient statistics and histograms every epoch, a snapshot every epoch), as the dashboard runs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cache

import numpy as np

from nn_core import ExperimentConfig
from nn_core.config import DatasetConfig, RunConfig, TrainingConfig
from nn_core.datasets import Dataset, make, prepare
from nn_core.optimizers import RULES
from nn_core.sweep import SweepConfig
from nn_core.train import batch_size_of

DIGITS_LIKE = "digits-like"
_FULL_RECORDING = {
    "step_epochs": TrainingConfig.step_epochs,
    "histogram_every": TrainingConfig.histogram_every,
    "snapshot_every": TrainingConfig.snapshot_every,
}


@dataclass(frozen=True)
class Workload:
    name: str
    kind: str  # "run": one run (a group of one); "comparison": run_comparison, every run, seed;
    # "sweep": run_sweep(config, sweep), see benchmarks.sweeps
    config: ExperimentConfig  # epochs and seeds set; recording at the lean level
    description: str
    digits: bool = False  # trains on digits_like_arrays() instead of config.dataset
    references: bool = True  # also time torch and one-by-one (False: too long for a sweep)
    sweep: SweepConfig | None = None  # kind "sweep" only

    @property
    def runs(self) -> tuple[RunConfig, ...]:
        return self.config.runs

    def data(self) -> Dataset:
        return _data(self.digits, self.config.dataset)

    def recording(self, level: str) -> ExperimentConfig:
        """The configuration with ``lean`` or ``full`` recording (see the module docstring)."""
        if level == "lean":
            return self.config
        return with_training(self.config, **_FULL_RECORDING)

    @property
    def batch(self) -> str:
        sizes = {str(r.batch_size) for r in self.runs}
        return sizes.pop() if len(sizes) == 1 else "mixed"

    @property
    def optimizer(self) -> str:
        names = {r.optimizer for r in self.runs}
        return names.pop() if len(names) == 1 else "mixed"

    def batch_size(self) -> int | None:
        """The numeric batch size of a one-run workload (full batch = n_train), else None."""
        if self.kind != "run":
            return None
        return batch_size_of(self.runs[0], len(self.data().X_train))

    def is_full_batch(self) -> bool:
        return self.kind == "run" and self.runs[0].batch_size == "full"

    def lockstep_batch(self) -> int | None:
        """The batch size of a comparison whose runs all share it (one lockstep group)."""
        if self.kind != "comparison":
            return None
        sizes = {batch_size_of(r, len(self.data().X_train)) for r in self.runs}
        return sizes.pop() if len(sizes) == 1 else None


def with_training(config: ExperimentConfig, **changes) -> ExperimentConfig:
    """``config`` with some training fields changed, without re-validating the document (a
    sweep has more runs than a comparison document may list)."""
    return dataclasses.replace(config, training=dataclasses.replace(config.training, **changes))


def digits_like_arrays(n: int = 1797, features: int = 64, classes: int = 10):
    """Gaussian blobs shaped like scikit-learn's digits: (n, 64) features, 10 classes.

    Class centres are drawn from N(0, 1) in each dimension and samples scatter around them with
    unit noise, so the classes overlap partly and the network has something to learn.
    """
    rng = np.random.default_rng([1797, 64, 10])
    centres = rng.standard_normal((classes, features))
    y = np.arange(n) % classes
    X = centres[y] + rng.standard_normal((n, features))
    return X, y


@cache
def _data(digits: bool, dataset: DatasetConfig) -> Dataset:
    if digits:
        X, y = digits_like_arrays()
        return prepare(DIGITS_LIKE, X, y, True, 0.2, np.random.default_rng([0, 1]))
    return make(dataset)


def _lean(doc: dict, epochs: int, seeds: int = 1) -> ExperimentConfig:
    doc = {**doc, "training": {**doc.get("training", {})}}
    doc["training"].update(
        epochs=epochs, seeds=seeds, step_epochs=0, histogram_every=10**6, snapshot_every=epochs
    )
    return ExperimentConfig.from_dict(doc)


def _one_run(base: dict, run: dict) -> dict:
    return {**base, "runs": [{"label": run["optimizer"], **run}]}


SWEEP = "sweep-375"
DEFAULT_SWEEP = "sweep-default"


def default_sweep(quick: bool = False) -> SweepConfig:
    """The issue's default sweep: every rule the engine has x 25 learning rates 10^(-5+k/4) x
    3 seeds, then each rule's best and default rate on 10 fresh seeds, at batch 32.
    ``quick``: 5 rates, 1 seed, 2 confirmation seeds (every rule still)."""
    if quick:
        return SweepConfig(rules=tuple(RULES), lr_points=5, seeds=1, confirm_seeds=2, batch_size=32)
    return SweepConfig(rules=tuple(RULES), lr_points=25, seeds=3, confirm_seeds=10, batch_size=32)


SWEEP_LRS = tuple(10 ** (-5 + k / 4) for k in range(25))


def _sweep(base: ExperimentConfig) -> ExperimentConfig:
    """``base``'s runs, each at every learning rate of ``SWEEP_LRS``. Built directly: a sweep
    has more runs than a comparison document may list (config.MAX_RUNS)."""
    runs = tuple(
        dataclasses.replace(run, label=f"{run.label} lr={lr:.3g}", hyper={**run.hyper, "lr": lr})
        for run in base.runs
        for lr in SWEEP_LRS
    )
    return dataclasses.replace(base, runs=runs)


@cache
def registry(quick: bool = False) -> dict[str, Workload]:
    """Every workload by name, in the order the table prints them."""
    default = ExperimentConfig.preset("default").to_dict()
    base = {k: default[k] for k in ("dataset", "network")}
    digits = {
        "dataset": {"name": "blobs", "classes": 10},  # placeholder: the data is synthesised here
        "network": {"hidden_layers": [128, 64], "activation": "relu", "initializer": "he_normal"},
    }

    def ep(full: int) -> int:
        return max(1, full // 25) if quick else full

    moons = "default preset data and network (moons 320 train rows, 2-16-16-1 tanh, binary)"
    single = [
        ("b1-sgd", base, {"optimizer": "sgd", "batch_size": 1, "lr": 0.01}, 20, moons),
        ("b1-adam", base, {"optimizer": "adam", "batch_size": 1, "lr": 0.001}, 15, moons),
        ("b32-momentum", base, {"optimizer": "momentum", "batch_size": 32, "lr": 0.1,
                                "momentum": 0.9}, 350, moons),
        ("b32-adam", base, {"optimizer": "adam", "batch_size": 32, "lr": 0.01}, 350, moons),
        ("b64-adam", base, {"optimizer": "adam", "batch_size": 64, "lr": 0.01}, 600, moons),
        ("full-gd", base, {"optimizer": "sgd", "batch_size": "full", "lr": 0.1}, 2000, moons),
        ("full-adam", base, {"optimizer": "adam", "batch_size": "full", "lr": 0.01}, 2000, moons),
    ]  # fmt: skip
    out: dict[str, Workload] = {}
    for name, b, run, epochs, desc in single:
        out[name] = Workload(name, "run", _lean(_one_run(b, run), ep(epochs)), desc)
    preset_epochs = 2 if quick else default["training"]["epochs"]
    for seeds in (1, 3):
        name = f"preset-{seeds}seed" + ("s" if seeds > 1 else "")
        out[name] = Workload(
            name,
            "comparison",
            _lean(default, preset_epochs, seeds),
            f"the whole default preset (7 runs) x {seeds} seed(s), end to end",
        )
    blobs = "1797x64 Gaussian blobs, 10 classes (1437 train rows), 64-128-64-10 relu, softmax CE"
    out[DIGITS_LIKE] = Workload(
        DIGITS_LIKE,
        "run",
        _lean(_one_run(digits, {"optimizer": "adam", "batch_size": 32, "lr": 0.001}), ep(25)),
        blobs,
        digits=True,
    )
    # One lockstep group each: every run shares the batch size.
    five = [r for r in default["runs"] if r["batch_size"] == 32]
    out["lockstep-b32"] = Workload(
        "lockstep-b32",
        "comparison",
        _lean({**default, "runs": five}, preset_epochs, 3),
        "the default preset's 5 batch-32 runs x 3 seeds: one lockstep group of 15 runs",
    )
    out[SWEEP] = Workload(
        SWEEP,
        "comparison",
        _sweep(out["lockstep-b32"].config),
        "learning-rate sweep: the default preset's 5 batch-32 rules x 25 learning rates "
        "10^(-5+k/4) x 3 seeds = 375 runs, one group, one update call per rule",
        references=False,
    )
    sweep = default_sweep(quick)
    sweep_epochs = 2 if quick else default["training"]["epochs"]
    out[DEFAULT_SWEEP] = Workload(
        DEFAULT_SWEEP,
        "sweep",
        _lean(default, sweep_epochs),
        f"the default sweep: default preset's data and network at batch 32, {len(sweep.rules)} "
        f"rules x {sweep.lr_points} rates x {sweep.seeds} seeds + {len(sweep.rules)} x 2 x "
        f"{sweep.confirm_seeds} confirmation runs = {sweep.n_runs()} runs, {sweep_epochs} epochs",
        references=False,
        sweep=sweep,
    )
    rules = [
        {"label": "SGD", "optimizer": "sgd", "lr": 0.05},
        {"label": "Momentum", "optimizer": "momentum", "lr": 0.01, "momentum": 0.9},
        {"label": "Adagrad", "optimizer": "adagrad", "lr": 0.01},
        {"label": "RMSprop", "optimizer": "rmsprop", "lr": 0.001},
        {"label": "Adam", "optimizer": "adam", "lr": 0.001},
    ]
    for batch, epochs in ((32, 10), (128, 30)):
        name = f"lockstep-digits-b{batch}"
        runs = [{**r, "batch_size": batch} for r in rules]
        out[name] = Workload(
            name,
            "comparison",
            _lean({**digits, "runs": runs}, ep(epochs)),
            f"5 rules at batch {batch}, 1 seed, one lockstep group; {blobs}",
            digits=True,
        )
    return out
