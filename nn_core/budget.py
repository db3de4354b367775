"""Memory and work of a comparison, estimated from its configuration before anything trains.

One link or configuration file can ask for 32 runs × 50 seeds × 100 000 epochs of a 20 × 512
network; left alone that fills the server's memory with weight snapshots long before it
finishes. :func:`plan` estimates what a comparison will hold and compute, keeps the weight
snapshots within :data:`SNAPSHOT_BUDGET` by raising ``training.snapshot_every`` (the only
recording whose size grows with the weights × epochs, and the one the trajectory and landscape
views can sample more coarsely), and refuses with a :class:`BudgetError` naming what to reduce
whatever still does not fit :data:`MEMORY_BUDGET` or :data:`WORK_BUDGET`.

With R = runs × seeds trained members, P parameters per network, b bytes per number
(8 for float64, 4 for float32), E epochs, S = ``snapshot_every``:

=====================  ===========================================================================
snapshots              R · (⌊E / S⌋ + 1) · P · b
recorded statistics    R · [ (E + 1) · 200 B                         (loss/score curves)
                             + (⌊E / H⌋ + 1) · (L + 1) · (N_BINS + 12) · 16 B  (gradient stats)
                             + min(E, step_epochs) · steps per epoch · 80 B ]  (per-step losses)
training temporaries   R · b · [ 6 P + max(n_train, n_val) · (2 Σ widths + n_in + 2 n_out) ]
                       (parameters, gradients, optimizer state and the forward pass that
                       evaluates the whole training set)
work                   Σ over members of epochs · n_train · 6 P + (E + 1) · (n_train + n_val) · 2 P
                       multiply-adds (forward + backward per sample, evaluation each epoch)
=====================  ===========================================================================

H = ``histogram_every``, L = hidden layers. The budgets are per comparison; the dashboard holds
at most :data:`SESSION_BUDGET` of finished results per browser session and
:data:`CACHE_BUDGET` in its shared cache.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from . import datasets
from .config import ConfigError, ExperimentConfig
from .recording import N_BINS

MiB = 2**20
MEMORY_BUDGET = 1024 * MiB  # everything one comparison holds while training
SNAPSHOT_BUDGET = 256 * MiB  # weight snapshots kept for the trajectory and landscape views
WORK_BUDGET = 2e12  # multiply-adds: ~10 minutes at a few GFLOP/s on one core
SESSION_BUDGET = 1024 * MiB  # finished results a dashboard session keeps (current + history)
CACHE_BUDGET = 1024 * MiB  # finished results the dashboard's shared cache keeps


class BudgetError(ConfigError):
    """A comparison too large to train; ``path`` names the setting to reduce first."""


@dataclass(frozen=True)
class Shape:
    """What the estimate needs to know about the data: rows and the network's layer sizes."""

    n_train: int
    n_val: int
    sizes: tuple[int, ...]  # (n_in, h₁, …, h_L, n_out)

    @property
    def params(self) -> int:
        """P: weights and biases of every dense layer (learnable slopes are negligible)."""
        return sum((a + 1) * b for a, b in zip(self.sizes[:-1], self.sizes[1:], strict=True))


@dataclass(frozen=True)
class Estimate:
    snapshots: int  # bytes
    statistics: int  # bytes
    temporaries: int  # bytes
    work: float  # multiply-adds
    members: int  # runs × seeds

    @property
    def memory(self) -> int:
        return self.snapshots + self.statistics + self.temporaries


@dataclass(frozen=True)
class Plan:
    """The configuration to train (``snapshot_every`` possibly raised), its estimate, and a
    sentence saying what was changed (empty when nothing was)."""

    config: ExperimentConfig
    estimate: Estimate
    note: str = ""


def shape_of(config: ExperimentConfig, data: datasets.Dataset | None = None) -> Shape:
    """The data's shape for ``config``: from ``data`` when given, else from the configured
    synthetic generator (a 40-row sample gives the feature and output counts) or the bundled
    dataset's catalogue entry, without generating or loading the full data."""
    hidden = tuple(config.network.hidden_layers)
    if data is not None:
        return Shape(len(data.X_train), len(data.X_val), (data.n_features, *hidden, data.n_outputs))
    ds = config.dataset
    if ds.name in datasets.BUNDLED:
        b = datasets.BUNDLED[ds.name]
        task = b.task if ds.task == "auto" else ds.task
        classification = task != "regression"
        n_out = b.classes if classification and b.classes > 2 else 1
        rows, n_in = b.rows, b.features
    else:
        sample = datasets.make(dataclasses.replace(ds, n_samples=40, val_fraction=0.0))
        rows, n_in, n_out = ds.n_samples, sample.n_features, sample.n_outputs
    n_val = round(ds.val_fraction * rows)
    return Shape(rows - n_val, n_val, (n_in, *hidden, n_out))


def estimate(config: ExperimentConfig, shape: Shape) -> Estimate:
    """Bytes held and multiply-adds done by training ``config`` on data of ``shape``."""
    tr = config.training
    b = np.dtype(tr.dtype).itemsize
    P = shape.params
    seeds = tr.seeds
    members = len(config.runs) * seeds
    E = tr.epochs
    layers = len(shape.sizes) - 1
    n, n_val = max(shape.n_train, 1), shape.n_val
    widths = sum(shape.sizes[1:-1])
    snapshots = members * (E // tr.snapshot_every + 1) * P * b
    statistics = 0
    work = 0.0
    for run in config.runs:
        batch = n if run.batch_size == "full" else min(int(run.batch_size), n)
        steps = math.ceil(n / batch)
        per_member = (
            (E + 1) * 200
            + (E // tr.histogram_every + 1) * layers * (N_BINS + 12) * 16
            + min(E, tr.step_epochs) * steps * 80
        )
        statistics += seeds * per_member
        work += seeds * (E * n * 6 * P + (E + 1) * (n + n_val) * 2 * P)
    rows = max(n, n_val)
    temporaries = members * b * (6 * P + rows * (2 * widths + shape.sizes[0] + 2 * shape.sizes[-1]))
    return Estimate(snapshots, statistics, temporaries, work, members)


def plan(config: ExperimentConfig, shape: Shape) -> Plan:
    """The configuration to train within the budgets, or :class:`BudgetError`.

    Snapshots are thinned first: ``snapshot_every`` becomes the smallest cadence at least the
    requested one whose snapshots fit :data:`SNAPSHOT_BUDGET` (the first and every S-th epoch
    are kept, so the trajectory still spans the whole training). Then the total memory and the
    work are checked; a refusal names the biggest factor the user can reduce."""
    est = estimate(config, shape)
    note = ""
    if est.snapshots > SNAPSHOT_BUDGET:
        tr = config.training
        per_snapshot = est.members * shape.params * np.dtype(tr.dtype).itemsize
        if per_snapshot * 2 > SNAPSHOT_BUDGET:  # even the first and last epoch alone
            raise BudgetError(
                "network.hidden_layers",
                f"one copy of every member's weights takes {_size(per_snapshot)} "
                f"({est.members} runs × seeds × {shape.params:,} parameters); the snapshot budget "
                f"is {_size(SNAPSHOT_BUDGET)}: use fewer runs or seeds, or a smaller network",
            )
        keep = max(1, SNAPSHOT_BUDGET // per_snapshot - 1)  # snapshots after epoch 0
        every = max(tr.snapshot_every, math.ceil(tr.epochs / keep))
        config = config.with_training(snapshot_every=every)
        note = (
            f"Weights are kept every {every} epochs (asked: every {tr.snapshot_every}) so the "
            f"snapshots fit the {_size(SNAPSHOT_BUDGET)} budget; trajectories and the loss "
            "landscape use those epochs."
        )
        est = estimate(config, shape)
    if est.memory > MEMORY_BUDGET:
        parts = {
            "training.epochs": est.statistics,
            "runs": est.temporaries,
        }
        path = max(parts, key=parts.get)
        advice = (
            "fewer epochs or a larger training.histogram_every"
            if path == "training.epochs"
            else "fewer runs or seeds, fewer samples or a smaller network"
        )
        raise BudgetError(
            path,
            f"this comparison would hold about {_size(est.memory)} (recorded statistics "
            f"{_size(est.statistics)}, training {_size(est.temporaries)}, snapshots "
            f"{_size(est.snapshots)}); the limit is {_size(MEMORY_BUDGET)}: use {advice}",
        )
    if est.work > WORK_BUDGET:
        raise BudgetError(
            "training.epochs",
            f"this comparison needs about {est.work:.2g} multiply-adds; the limit is "
            f"{WORK_BUDGET:.0g} (roughly ten minutes): use fewer epochs, runs, seeds or "
            "samples, or a smaller network",
        )
    return Plan(config, est, note)


def results_bytes(results) -> int:
    """Bytes held by a :class:`nn_core.Results`: its tables, snapshots and data arrays."""
    total = 0
    for name in ("curves", "steps", "gradients", "histograms", "summary"):
        frame = getattr(results, name, None)
        if frame is not None:
            total += int(frame.memory_usage(index=True, deep=True).sum())
    for epochs, theta in (getattr(results, "snapshots", None) or {}).values():
        total += np.asarray(epochs).nbytes + np.asarray(theta).nbytes
    data = getattr(results, "data", None)
    for attr in ("X_train", "y_train", "X_val", "y_val"):
        arr = getattr(data, attr, None)
        if isinstance(arr, np.ndarray):
            total += arr.nbytes
    return total


def _size(n: float) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / MiB:.0f} MiB"
