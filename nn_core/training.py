"""Training a comparison: every run, every seed, recorded as it goes.

Paired comparisons: for a given seed every run starts from the *same* initial weights, and runs
with the same batch size draw the *same* batch order and dropout masks (their generators are
seeded by ``(seed, batch size)`` only, never by the optimizer). All randomness comes from
``np.random.Generator`` objects created here; nothing touches global state.

What is recorded, per run and seed:

- every epoch (epoch 0 = before training): train and validation loss and accuracy (R² for
  regression), samples seen, wall time;
- every step of the first ``step_epochs`` epochs: the mini-batch loss (SGD noise);
- every ``histogram_every`` epochs: per-layer gradient statistics (:mod:`nn_core.recording`) of
  the gradient the rule applied at the epoch's last step (epoch 0: the very first step), and the
  fraction of dead (ReLU family) or saturated (sigmoid/tanh) units on that batch;
- every ``snapshot_every`` epochs: a copy of all parameters (for trajectory and landscape views).

Divergence is a result: when the training loss or the parameters stop being finite the run stops,
is marked diverged at that step, and keeps everything recorded so far. Floating-point warnings are
silenced inside the loop (``np.errstate``); they never reach the console.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import datasets
from .activations import unit_health
from .config import ExperimentConfig, RunConfig
from .network import MLP, Architecture, init_params
from .optimizers import RULES
from .recording import LayerStats


@dataclass(frozen=True)
class Progress:
    """Sent to the progress callback after every epoch of every run."""

    done_steps: int
    total_steps: int
    run: str
    seed: int
    epoch: int
    epochs: int
    elapsed: float  # seconds since the comparison started
    seeds: tuple[int, ...] = ()  # every seed being trained (runs train in lockstep groups)

    @property
    def fraction(self) -> float:
        return self.done_steps / self.total_steps if self.total_steps else 1.0

    @property
    def seed_text(self) -> str:
        """'seed 0' or 'seeds 0–2' for what is training now."""
        if len(self.seeds) > 1:
            return f"seeds {self.seeds[0]}–{self.seeds[-1]}"
        return f"seed {self.seed}"

    @property
    def eta(self) -> float | None:
        """Estimated seconds left, from the average speed so far."""
        if not self.done_steps:
            return None
        return self.elapsed * (self.total_steps - self.done_steps) / self.done_steps


ProgressCallback = Callable[[Progress], None]
CancelCheck = Callable[[], bool]


@dataclass
class RunRecord:
    """Everything recorded for one (run, seed)."""

    run: str
    optimizer: str
    seed: int
    batch_size: int
    epochs: list[int] = field(default_factory=list)
    steps_at: list[int] = field(default_factory=list)
    samples: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_score: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_score: list[float] = field(default_factory=list)
    step_loss: list[tuple[int, int, float]] = field(default_factory=list)  # (step, epoch, loss)
    grad_epochs: list[int] = field(default_factory=list)
    grad_stats: list[dict] = field(default_factory=list)
    health: list[list[float]] = field(default_factory=list)
    snapshot_epochs: list[int] = field(default_factory=list)
    snapshots: list[np.ndarray] = field(default_factory=list)
    diverged: bool = False
    diverged_step: int | None = None
    completed: bool = True
    steps: int = 0
    wall: float = 0.0

    # Pickled compactly (records come back from the worker process): the per-epoch statistics
    # and snapshots travel as a few stacked arrays instead of thousands of small ones, which
    # made sending 15 runs' records 4x slower than training them took to record.
    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if self.grad_stats:
            keys = list(self.grad_stats[0])
            stacked = [np.stack([st[k] for st in self.grad_stats]) for k in keys]
            state["grad_stats"] = (keys, stacked)
        if self.snapshots:
            state["snapshots"] = np.stack(self.snapshots)
        return state

    def __setstate__(self, state: dict) -> None:
        if isinstance(state["grad_stats"], tuple):
            keys, stacked = state["grad_stats"]
            state["grad_stats"] = [
                dict(zip(keys, row, strict=True)) for row in zip(*stacked, strict=True)
            ]
        if isinstance(state["snapshots"], np.ndarray):
            state["snapshots"] = list(state["snapshots"])
        self.__dict__.update(state)


def build_architecture(config: ExperimentConfig, data: datasets.Dataset) -> Architecture:
    net = config.network
    return Architecture(
        sizes=(data.n_features, *net.hidden_layers, data.n_outputs),
        activations=net.activations,
        task=data.task,
        dropout=net.dropout,
        l2=net.l2,
    )


def batch_size_of(run: RunConfig, n_train: int) -> int:
    return n_train if run.batch_size == "full" else min(int(run.batch_size), n_train)


def steps_per_epoch(run: RunConfig, n_train: int) -> int:
    return math.ceil(n_train / batch_size_of(run, n_train))


def initial_params(config: ExperimentConfig, arch: Architecture, seed: int) -> np.ndarray:
    """The shared starting point of every run with this seed."""
    net = config.network
    return init_params(
        arch,
        np.random.default_rng([seed, 10]),
        net.initializer,
        net.gain,
        net.init_scale,
        dtype=np.dtype(config.training.dtype),
    )


def train_run(
    config: ExperimentConfig,
    run: RunConfig,
    seed: int,
    data: datasets.Dataset,
    arch: Architecture,
    theta0: np.ndarray,
    on_epoch: Callable[[int, int], bool] | None = None,
) -> RunRecord:
    """Train one run from ``theta0``. ``on_epoch(epoch, steps_this_epoch)`` is called after each
    epoch and returns False to stop (cancel); the record is then marked incomplete."""
    tr = config.training
    X, y = data.X_train, data.y_train
    n = len(X)
    bsize = batch_size_of(run, n)
    n_steps = math.ceil(n / bsize)
    rule = RULES[run.optimizer]
    hp = run.hyperparameters()
    params = theta0.copy()
    net = MLP(arch, params)
    grads = net.grads
    state = rule.init(params, hp)
    stats = LayerStats(net.layout)
    health_names = arch.activations
    order_rng = np.random.default_rng([seed, 1, bsize])
    drop_rng = np.random.default_rng([seed, 2, bsize])
    rec = RunRecord(run.label, run.optimizer, seed, bsize)
    has_val = len(data.X_val) > 0
    clip = tr.clip_norm
    start = time.perf_counter()

    def record_epoch(epoch: int, step: int) -> bool:
        tl, ts = net.evaluate(X, y)
        vl, vs = net.evaluate(data.X_val, data.y_val) if has_val else (math.nan, math.nan)
        rec.epochs.append(epoch)
        rec.steps_at.append(step)
        rec.samples.append(epoch * n)
        rec.seconds.append(time.perf_counter() - start)
        rec.train_loss.append(tl)
        rec.train_score.append(ts)
        rec.val_loss.append(vl)
        rec.val_score.append(vs)
        return math.isfinite(tl)

    def record_gradients(epoch: int, before: np.ndarray, cache) -> None:
        rec.grad_epochs.append(epoch)
        rec.grad_stats.append(stats.compute(grads, params, before))
        rec.health.append(
            [
                unit_health(a, z, h)
                for a, z, h in zip(health_names, cache.pre, cache.outputs, strict=True)
            ]
        )

    with np.errstate(all="ignore"):
        record_epoch(0, 0)
        rec.snapshot_epochs.append(0)
        rec.snapshots.append(params.copy())
        step = 0
        for epoch in range(1, tr.epochs + 1):
            if bsize < n:
                perm = order_rng.permutation(n)
                Xe, ye = X[perm], y[perm]
            else:
                Xe, ye = X, y
            record_steps = epoch <= tr.step_epochs
            grad_epoch = epoch % tr.histogram_every == 0
            for k in range(n_steps):
                lo = k * bsize
                loss, cache = net.loss_and_grad(Xe[lo : lo + bsize], ye[lo : lo + bsize], drop_rng)
                step += 1
                if not math.isfinite(loss):
                    rec.diverged, rec.diverged_step = True, step
                    break
                if clip is not None:
                    total = float(np.sqrt(np.dot(grads, grads)))
                    grads *= min(clip / (total + 1e-6), 1.0)
                first = step == 1
                last = k == n_steps - 1 and grad_epoch
                if first or last:
                    before = params.copy()
                rule.update(params, grads, state, hp)
                if first:
                    record_gradients(0, before, cache)
                if last:
                    record_gradients(epoch, before, cache)
                if record_steps:
                    rec.step_loss.append((step, epoch, loss))
            rec.steps = step
            if rec.diverged:
                break
            finite = record_epoch(epoch, step)
            if epoch % tr.snapshot_every == 0:
                rec.snapshot_epochs.append(epoch)
                rec.snapshots.append(params.copy())
            if not finite or not np.isfinite(params).all():
                rec.diverged, rec.diverged_step = True, step
                break
            if on_epoch is not None and not on_epoch(epoch, n_steps):
                rec.completed = epoch == tr.epochs
                break
    rec.wall = time.perf_counter() - start
    return rec


def plan_groups(config: ExperimentConfig, n_train: int) -> list[list[tuple[RunConfig, int]]]:
    """Runs × seeds grouped by batch size (first appearance first) for lockstep training.

    Within a group the members are ordered run by run, then seed by seed, so the seeds of one
    run sit side by side and share a single optimizer call."""
    groups: dict[int, list[tuple[RunConfig, int]]] = {}
    for run in config.runs:
        members = groups.setdefault(batch_size_of(run, n_train), [])
        members.extend((run, seed) for seed in config.seeds)
    return list(groups.values())


def train_members(
    config: ExperimentConfig,
    members: list[tuple[RunConfig, int]],
    data: datasets.Dataset,
    arch: Architecture,
    theta0: dict[int, np.ndarray],
    on_epoch: Callable[[int, int], bool] | None = None,
) -> list[RunRecord]:
    """Train one group of :func:`plan_groups`: a lone run alone, several in lockstep."""
    from .lockstep import train_group

    if len(members) == 1:
        run, seed = members[0]
        return [train_run(config, run, seed, data, arch, theta0[seed], on_epoch)]
    return train_group(config, members, data, arch, theta0, on_epoch)
