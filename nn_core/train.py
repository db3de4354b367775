"""The training loop: R runs of one architecture and one batch size, trained together.

A single run is R = 1 of this loop; a comparison's runs that share a batch size train as one
group (:func:`plan_groups`). The runs' parameters are the rows of one (R, P) matrix Θ
(:class:`nn_core.network.Network`), so each step is one stacked forward and backward pass for
every run, and each optimizer rule updates its rows of Θ with **one** call: rows of one rule
that differ in learning rate or weight decay hold them as per-row (R, 1) arrays.

Read top to bottom, :func:`train_group` is::

    record the starting point (epoch 0)                                      begin
    for each epoch:                                                          train_epoch
        set this epoch's learning rates (per-run schedules), shuffle (per seed)
        for each mini-batch:  step = forward, loss, backward, clip, update, record the step
        record the epoch (losses, scores, snapshots), stop the runs that diverged
        report progress (also within an epoch, every ``check_seconds``): stop if told to
    the records                                                              finish

A live comparison (:mod:`nn_core.live`) calls the same three functions, one epoch of each
group in turn, so that every run moves forward together while someone watches.

Every per-run quantity is computed from that run's row alone (stacked matmuls call the same
kernel per matrix, reductions run along each row), so a run trained in a group is bit-identical
to the same run trained alone; the test suite proves it for every rule.

Paired comparisons: for a given seed every run starts from the *same* initial weights, and runs
with the same batch size draw the *same* batch order and dropout masks (their generators are
seeded by ``(seed, batch size)`` only, never by the optimizer). All randomness comes from
``np.random.Generator`` objects created here; nothing touches global state.

What is recorded, per run and seed:

- every epoch (epoch 0 = before training): train and validation loss and accuracy (R² for
  regression), samples seen, wall time (a group's time shared equally by its runs);
- every step of the first ``step_epochs`` epochs: the mini-batch loss (SGD noise);
- every ``histogram_every`` epochs: per-layer gradient statistics (:mod:`nn_core.recording`) of
  the gradient the rule applied at the epoch's last step (epoch 0: the very first step), and the
  fraction of dead (ReLU family) or saturated (sigmoid/tanh) units on that batch;
- every ``snapshot_every`` epochs: a copy of all parameters (for trajectory and landscape views).

Divergence is a result: when a run's training loss or parameters stop being finite the run
stops, is marked diverged at that step, and keeps everything recorded so far; the other runs go
on. Floating-point warnings are silenced inside the loop (``np.errstate``).

The loop knows nothing about processes: whoever calls it decides where it runs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import losses
from .activations import unit_health_many
from .config import ExperimentConfig, RunConfig
from .datasets import Dataset
from .lr_schedules import lr_at
from .network import Architecture, Cache, Network, init_params
from .optimizers import RULES, Rule, group_key, stack_hyperparameters
from .recording import LayerStats

Array = np.ndarray
OnEpoch = Callable[[int, int], bool]

CHECK_SECONDS = 0.2  # within an epoch, call on_epoch at least this often (cancel, progress)


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

    # Pickled compactly (records come back from other processes): the per-epoch statistics
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


# --- what a comparison trains ----------------------------------------------------------------


def build_architecture(config: ExperimentConfig, data: Dataset) -> Architecture:
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


def initial_params(config: ExperimentConfig, arch: Architecture, seed: int) -> Array:
    """The shared starting point θ₀ (P,) of every run with this seed."""
    net = config.network
    return init_params(
        arch,
        np.random.default_rng([seed, 10]),
        net.initializer,
        net.gain,
        net.init_scale,
        dtype=np.dtype(config.training.dtype),
    )


def _per_row(values: list[float]) -> float | Array:
    """One float when every row agrees, else an (R, 1) float64 column (as
    :func:`nn_core.optimizers.stack_hyperparameters` holds per-row values)."""
    if all(v == values[0] for v in values):
        return float(values[0])
    return np.asarray(values, dtype=np.float64).reshape(len(values), 1)


def plan_groups(config: ExperimentConfig, n_train: int) -> list[list[tuple[RunConfig, int]]]:
    """Runs × seeds grouped by batch size (first appearance first): each group trains as one.

    Within a group the members are ordered by update call (rule and fixed hyperparameters,
    first appearance first), then run by run, then seed by seed, so every rule's rows are
    contiguous and share a single optimizer call."""
    groups: dict[int, list[RunConfig]] = {}
    for run in config.runs:
        groups.setdefault(batch_size_of(run, n_train), []).append(run)
    out = []
    for runs in groups.values():
        keys = [group_key(r.optimizer, r.hyperparameters()) for r in runs]
        first = {k: i for i, k in reversed(list(enumerate(keys)))}
        order = sorted(range(len(runs)), key=lambda i: first[keys[i]])
        out.append([(runs[i], seed) for i in order for seed in config.seeds])
    return out


def in_config_order(config: ExperimentConfig, records: list[RunRecord]) -> list[RunRecord]:
    """``records`` sorted as the configuration lists them: by seed, then by run (whatever
    order their groups or tasks finished in)."""
    order = {
        (run.label, seed): (si, ri)
        for si, seed in enumerate(config.seeds)
        for ri, run in enumerate(config.runs)
    }
    return sorted(records, key=lambda r: order[(r.run, r.seed)])


# --- the group's state ------------------------------------------------------------------------


@dataclass
class Member:
    """One (run, seed): its row of Θ and what it has recorded."""

    row: int
    run: RunConfig
    seed: int
    record: RunRecord
    active: bool = True


@dataclass
class Block:
    """Contiguous rows updated by one call of one rule."""

    rows: slice
    params: Array  # the rows' views of Θ and ∇Θ (k, P), or (P,) for a lone row
    grads: Array
    rule: Rule
    hp: dict[str, Any]  # stacked: scalars, or (R, 1) arrays for values that differ by row
    lrs: list[float]  # each row's configured learning rate (before its schedule)
    schedules: list[dict | None]
    state: dict[str, Any]


@dataclass
class Group:
    """Everything the loop reads and writes, for R runs of one batch size."""

    config: ExperimentConfig
    arch: Architecture
    data: Dataset
    net: Network
    params: Array  # Θ (R, P)
    grads: Array  # ∇Θ (R, P)
    stats: LayerStats
    members: list[Member]
    blocks: list[Block]
    batch: int
    n_steps: int  # steps per epoch
    seeds: list[int]  # distinct seeds, sorted
    seed_row: Array  # for each member, its seed's index in ``seeds``
    order_rngs: list[np.random.Generator]  # batch order, per seed
    drop_rngs: list[np.random.Generator]  # dropout masks, per seed
    clip: Array | None  # per-row clipping norm (R,), NaN for rows that do not clip
    start: float
    n_active: int = 0  # runs still training
    step: int = 0
    reported: int = 0  # the step at which on_epoch was last called
    last_report: float = 0.0
    stopped: bool = False  # told to stop before its last epoch
    paused_at: float | None = None  # its clock is stopped (see pause_clock)

    @property
    def active(self) -> bool:
        return self.n_active > 0

    def stop(self, m: Member, diverged: bool) -> None:
        """Member ``m`` trains no more (diverged at this step, when ``diverged``)."""
        m.active = False
        self.n_active -= 1
        if diverged:
            m.record.diverged, m.record.diverged_step = True, self.step

    def elapsed(self) -> float:
        """Seconds since the start (less any time its clock was paused), shared equally by the
        runs of the group."""
        now = time.perf_counter() if self.paused_at is None else self.paused_at
        return (now - self.start) / len(self.members)


def start_group(
    config: ExperimentConfig,
    members: list[tuple[RunConfig, int]],
    data: Dataset,
    arch: Architecture,
    theta0: dict[int, Array],
) -> Group:
    n = len(data.X_train)
    batch = batch_size_of(members[0][0], n)
    if any(batch_size_of(run, n) != batch for run, _ in members):
        raise ValueError("the runs of a group must share one batch size")
    dtype = theta0[members[0][1]].dtype
    params = np.stack([theta0[seed] for _, seed in members]).astype(dtype, copy=False)
    grads = np.zeros_like(params)
    net = Network(arch, params, grads)
    seeds = sorted({seed for _, seed in members})
    clips = [run.clip(config.training) for run, _ in members]
    clip = None
    if any(c is not None for c in clips):
        clip = np.array([math.nan if c is None else c for c in clips])
    return Group(
        config=config,
        arch=arch,
        data=data,
        net=net,
        params=params,
        grads=grads,
        stats=LayerStats(net.layout),
        members=[
            Member(i, run, seed, RunRecord(run.label, run.optimizer, seed, batch))
            for i, (run, seed) in enumerate(members)
        ],
        blocks=_blocks(members, params, grads),
        batch=batch,
        n_steps=math.ceil(n / batch),
        seeds=seeds,
        seed_row=np.array([seeds.index(seed) for _, seed in members]),
        order_rngs=[np.random.default_rng([s, 1, batch]) for s in seeds],
        drop_rngs=[np.random.default_rng([s, 2, batch]) for s in seeds],
        clip=clip,
        start=time.perf_counter(),
        n_active=len(members),
    )


def _blocks(members: list[tuple[RunConfig, int]], params: Array, grads: Array) -> list[Block]:
    """Contiguous rows of one rule with the same bool hyperparameters share an update call
    (:func:`nn_core.optimizers.group_key`); float hyperparameters that differ are held per row,
    which gives each row exactly the bits it gets alone (tests/test_optimizers_rows.py)."""
    keys = [group_key(run.optimizer, run.hyperparameters()) for run, _ in members]
    out, i = [], 0
    while i < len(members):
        j = i + 1
        while j < len(members) and keys[j] == keys[i]:
            j += 1
        runs = [run for run, _ in members[i:j]]
        rule = RULES[runs[0].optimizer]
        rows = [run.hyperparameters() for run in runs]
        hp = stack_hyperparameters(rule.name, rows)
        sl = slice(i, j)
        # A lone row is updated as a vector (P,): the same arithmetic, with less of NumPy's
        # per-call overhead for 2-D operands (an update is a dozen small operations).
        p, gr = (params[i], grads[i]) if j == i + 1 else (params[sl], grads[sl])
        lrs = [row["lr"] for row in rows]
        schedules = [run.schedule for run in runs]
        out.append(Block(sl, p, gr, rule, hp, lrs, schedules, rule.init(p, hp)))
        i = j
    return out


# --- the loop ---------------------------------------------------------------------------------


def train_group(
    config: ExperimentConfig,
    members: list[tuple[RunConfig, int]],
    data: Dataset,
    arch: Architecture,
    theta0: dict[int, Array],
    on_epoch: OnEpoch | None = None,
    timer: Timer | None = None,
    check_seconds: float = CHECK_SECONDS,
) -> list[RunRecord]:
    """Train ``members`` [(run, seed)] — all with the same batch size — together, from the
    starting points ``theta0[seed]``; one :class:`RunRecord` per member, in the given order.

    ``on_epoch(epoch, steps)`` is called after each epoch, and within an epoch whenever
    ``check_seconds`` of training have passed since the last call; ``steps`` counts every run's
    steps since the last call. Returning False stops every run of the group at once (the records
    keep their finished epochs and are marked incomplete). ``timer`` (:class:`Timer`) receives
    the time of each phase of the loop; without it the loop pays nothing for it.
    """
    g = start_group(config, members, data, arch, theta0)
    lap = timer.lap if timer is not None else _no_lap
    begin(g, lap)
    for epoch in range(1, config.training.epochs + 1):
        if not train_epoch(g, epoch, on_epoch, check_seconds, lap):
            break
    return finish(g)


def begin(g: Group, lap=None) -> None:
    """Record the starting point (epoch 0) of every run."""
    lap = lap or _no_lap
    g.last_report = time.perf_counter()
    with np.errstate(all="ignore"):
        record_epoch(g, 0)
        take_snapshots(g, 0)
    lap("recording")


def train_epoch(
    g: Group, epoch: int, on_epoch: OnEpoch | None = None, check_seconds=CHECK_SECONDS, lap=None
) -> bool:
    """Train every active run of ``g`` through ``epoch`` and record it; False when the group is
    done: every run stopped (diverged), or ``on_epoch`` said stop (then ``g.stopped``)."""
    lap = lap or _no_lap
    tr = g.config.training
    with np.errstate(all="ignore"):
        set_learning_rates(g, epoch)
        Xe, ye = shuffled(g)
        shared = Xe.ndim == 2  # one order for every run: no run axis to slice along
        batch, dropout, last_k = g.batch, g.arch.dropout > 0, g.n_steps - 1
        histogram_k = last_k if epoch % tr.histogram_every == 0 else -1
        step_losses = epoch <= tr.step_epochs
        lap("batches")
        timed = lap is not _no_lap  # see train_step
        for k in range(g.n_steps):
            lo, hi = k * batch, (k + 1) * batch
            if shared:
                xb, yb = Xe[lo:hi], ye[lo:hi]
            else:
                xb, yb = Xe[:, lo:hi], ye[:, lo:hi]
            masks = dropout_masks(g, xb.shape[-2]) if dropout else None
            if timed:
                lap("batches")
            train_step(g, epoch, xb, yb, masks, k == histogram_k, step_losses, lap)
            if not g.n_active:
                break
            if on_epoch is not None and k < last_k and _due(g, check_seconds):
                go_on = report(g, epoch, on_epoch)
                lap("progress")
                if not go_on:  # mid-epoch: the unfinished epoch is not recorded
                    for m in g.members:
                        if m.active:
                            m.record.steps = g.step
                    g.stopped = True
                    return False
        end_epoch(g, epoch, lap)
    if not g.active:
        return False
    if on_epoch is not None:
        go_on = report(g, epoch, on_epoch)
        lap("progress")
        if not go_on and epoch < tr.epochs:
            g.stopped = True
            return False
    return True


def finish(g: Group) -> list[RunRecord]:
    """The members' records, in order; runs still active when the group was stopped are marked
    incomplete. Every record carries the group's wall time (shared equally)."""
    if g.stopped:
        for m in g.members:
            if m.active:
                m.record.completed = False
    wall = g.elapsed()
    for m in g.members:
        m.record.wall = wall
    return [m.record for m in g.members]


def pause_clock(g: Group) -> None:
    """Stop ``g``'s clock (its recorded seconds leave out the time until :func:`resume_clock`:
    a live comparison trains groups in turn and pauses when asked)."""
    g.paused_at = time.perf_counter()


def resume_clock(g: Group) -> None:
    if g.paused_at is not None:
        g.start += time.perf_counter() - g.paused_at
        g.paused_at = None


def set_learning_rates(g: Group, epoch: int) -> None:
    """Each scheduled row's learning rate for this epoch (``epoch - 1`` scheduler steps)."""
    for b in g.blocks:
        if any(s is not None for s in b.schedules):
            lrs = [lr_at(s, lr, epoch - 1) for s, lr in zip(b.schedules, b.lrs, strict=True)]
            b.hp["lr"] = _per_row(lrs)


def shuffled(g: Group) -> tuple[Array, Array]:
    """This epoch's training data in each seed's own shuffled order, cut into mini-batches by
    the loop: x (N, n₀) and y (N, …) when every run sees the same order (one seed, or the full
    batch), else one order per run, x (R, N, n₀) and y (R, N, …)."""
    X, y = g.data.X_train, g.data.y_train
    n = len(X)
    if g.batch >= n:
        return X, y
    perms = [rng.permutation(n) for rng in g.order_rngs]
    if len(perms) == 1:
        return X[perms[0]], y[perms[0]]
    return np.stack([X[p] for p in perms])[g.seed_row], np.stack([y[p] for p in perms])[g.seed_row]


def dropout_masks(g: Group, batch: int) -> list[Array]:
    """Inverted-dropout masks per hidden layer (R, B, nₗ), drawn per seed in the order a run
    alone draws them and shared by every run of that seed."""
    p, dtype = g.arch.dropout, g.params.dtype
    widths = g.arch.sizes[1:-1]
    per_seed = [
        [(rng.random((batch, w)) >= p).astype(dtype) / (1 - p) for w in widths]
        for rng in g.drop_rngs
    ]
    return [np.stack([per_seed[s][layer] for s in g.seed_row]) for layer in range(len(widths))]


def train_step(
    g: Group, epoch: int, xb: Array, yb: Array, masks, last: bool, step_losses: bool, lap
) -> None:
    """One step of every run: forward, loss, backward, divergence check, clip, update, and the
    step's recording (gradient statistics at the epoch's ``last`` step, ``step_losses``)."""
    # Without a timer the laps are skipped, not called: seven calls are a few per cent of a
    # small network's step.
    timed = lap is not _no_lap
    net = g.net
    cache = net.forward_pass(xb, masks)  # a lone run's arrays are 2-D (no run axis)
    if timed:
        lap("forward")
    values, dlogits = losses.loss_and_grad(net.arch.task, cache.logits, yb)
    if timed:
        lap("loss")
    net.backward(cache, dlogits)
    if timed:
        lap("backward")
    g.step += 1
    if net.arch.l2:
        values = values + net.l2_penalty()
    values = values.tolist()
    if not math.isfinite(sum(values)):  # a finite sum: every run's loss is finite
        stop_diverged(g, values)
    if g.clip is not None:
        clip_gradients(g.grads, g.clip)
    if timed:
        lap("bookkeeping")
    first = g.step == 1
    if first or last:
        before = g.params.copy()
    for b in g.blocks:
        b.rule.update(b.params, b.grads, b.state, b.hp)
    if timed:
        lap("update")
    if first:
        record_gradients(g, 0, before, cache)
    if last:
        record_gradients(g, epoch, before, cache)
    if step_losses:
        for m in g.members:
            if m.active:
                m.record.step_loss.append((g.step, epoch, values[m.row]))
    if timed:
        lap("recording")


def stop_diverged(g: Group, values: list[float]) -> None:
    """Runs whose step loss is not finite stop here, diverged at this step."""
    for m in g.members:
        if m.active and not math.isfinite(values[m.row]):
            g.stop(m, diverged=True)
            m.record.steps = g.step


def clip_gradients(grads: Array, clip: Array) -> None:
    """torch's ``clip_grad_norm_`` per row: ∇θ ← ∇θ · min(c / (‖∇θ‖₂ + 1e-6), 1) for each row
    with a norm c (rows with NaN in ``clip`` are left alone). One vectorised operation."""
    total = np.sqrt(np.add.reduce(grads * grads, axis=1))
    factor = np.minimum(clip / (total + 1e-6), 1.0)
    factor[np.isnan(clip)] = 1.0
    grads *= factor.astype(grads.dtype)[:, None]


def record_gradients(g: Group, epoch: int, before: Array, cache: Cache) -> None:
    """Per-layer gradient statistics and unit health of every active run, in one call each."""
    many = g.stats.compute_many(g.grads, g.params, before)
    cache = cache.stacked()
    layers = zip(g.arch.activations, cache.pre, cache.outputs, strict=True)
    health = np.stack([unit_health_many(a, z, h) for a, z, h in layers], axis=1).tolist()
    for m in g.members:
        if m.active:
            m.record.grad_epochs.append(epoch)
            m.record.grad_stats.append({key: value[m.row] for key, value in many.items()})
            m.record.health.append(health[m.row])


def end_epoch(g: Group, epoch: int, lap) -> None:
    """Record the finished epoch of every active run, then stop the runs that diverged."""
    for m in g.members:
        if m.active:
            m.record.steps = g.step
    if not g.active:
        return
    record_epoch(g, epoch)
    lap("evaluation")
    if epoch % g.config.training.snapshot_every == 0:
        take_snapshots(g, epoch)
    finite = np.isfinite(g.params).all(axis=1)
    for m in g.members:
        if m.active and not (math.isfinite(m.record.train_loss[-1]) and finite[m.row]):
            g.stop(m, diverged=True)
    lap("recording")


def record_epoch(g: Group, epoch: int) -> None:
    """Train and validation loss and score of every active run, in evaluation mode."""
    d = g.data
    train = [v.tolist() for v in g.net.evaluate(d.X_train, d.y_train)]
    if len(d.X_val):
        val = [v.tolist() for v in g.net.evaluate(d.X_val, d.y_val)]
    else:
        val = [[math.nan] * len(g.members)] * 2
    now = g.elapsed()
    n = len(d.X_train)
    for m in g.members:
        if not m.active:
            continue
        rec, r = m.record, m.row
        rec.epochs.append(epoch)
        rec.steps_at.append(g.step)
        rec.samples.append(epoch * n)
        rec.seconds.append(now)
        rec.train_loss.append(train[0][r])
        rec.train_score.append(train[1][r])
        rec.val_loss.append(val[0][r])
        rec.val_score.append(val[1][r])


def take_snapshots(g: Group, epoch: int) -> None:
    for m in g.members:
        if m.active:
            m.record.snapshot_epochs.append(epoch)
            m.record.snapshots.append(g.params[m.row].copy())


def _due(g: Group, seconds: float) -> bool:
    return time.perf_counter() - g.last_report >= seconds


def report(g: Group, epoch: int, on_epoch: OnEpoch) -> bool:
    """Hand the steps done since the last report to ``on_epoch``; False means stop."""
    steps = (g.step - g.reported) * len(g.members)
    g.reported = g.step
    called = time.perf_counter()
    go_on = on_epoch(epoch, steps)
    g.last_report = time.perf_counter()
    g.start += g.last_report - called  # the caller's time is not the runs' training time
    return bool(go_on)


# What the comparison code calls a group's training (same arguments, the same loop).
train_members = train_group


# --- timing hooks (benchmarks) ----------------------------------------------------------------


class Timer:
    """Accumulates the time between successive :meth:`lap` calls under the phase named by each
    call: ``lap("forward")`` charges the time since the previous lap to "forward"."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.seconds[phase] = self.seconds.get(phase, 0.0) + (now - self._last)
        self._last = now


def _no_lap(phase: str) -> None:
    pass
