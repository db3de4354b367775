"""Lockstep training: the runs of a comparison that share a batch size, trained as one batched
computation.

R runs keep their parameters as the rows of one (R, P) matrix Θ, in the flat layout of
:class:`nn_core.network.Layout`. Each layer is then one stacked product for all runs,

    Zₗ[r] = Hₗ₋₁[r] Wₗ[r] + bₗ[r]        (np.matmul over the leading run axis)

and each rule updates its rows of Θ in place. Every per-run quantity is computed with the same
operations in the same order as :func:`nn_core.training.train_run` (a stacked matmul calls the
same kernel per matrix as a single one), so a run trained in lockstep is bit-identical to the run
trained alone; the test suite proves it for every rule.

Randomness is shared exactly as in paired single runs: batch order and dropout masks come from
generators seeded by (seed, batch size), drawn once per seed and used by every run of that seed.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from . import losses
from .activations import ACTIVATIONS, unit_health_many
from .config import ExperimentConfig, RunConfig
from .datasets import Dataset
from .network import Architecture, Layout
from .optimizers import RULES
from .recording import LayerStats
from .training import RunRecord, batch_size_of

Array = np.ndarray


@dataclass
class StackedCache:
    inputs: list[Array]  # (R, B, nₗ₋₁) fed to each layer
    pre: list[Array]  # (R, B, nₗ) pre-activations of hidden layers
    masks: list[Array | None]
    logits: Array  # (R, B, k)
    outputs: list[Array]  # fₗ(zₗ) before dropout


class StackedMLP:
    """R networks of one architecture whose parameters are the rows of ``params`` (R, P).

    ``grads`` (same shape) receives :meth:`backward`'s gradients; without it the networks can
    only be evaluated (the loss landscape evaluates thousands of plane points this way)."""

    def __init__(self, arch: Architecture, params: Array, grads: Array | None = None):
        self.arch = arch
        self.layout = lay = Layout.of(arch)
        self.params, self.grads = params, grads
        r = params.shape[0]
        shapes = lay.w_shapes
        self.W = [params[:, s].reshape(r, *sh) for s, sh in zip(lay.w_slices, shapes, strict=True)]
        self.b = [params[:, s] for s in lay.b_slices]
        if grads is not None:
            self.gW = [
                grads[:, s].reshape(r, *sh) for s, sh in zip(lay.w_slices, shapes, strict=True)
            ]
            self.gb = [grads[:, s] for s in lay.b_slices]
        self.acts = [ACTIVATIONS[a] for a in arch.activations]

    def _slope(self, layer: int):
        idx = self.layout.slope_index.get(layer)
        return None if idx is None else self.params[:, idx, None, None]

    def forward(self, X: Array, masks: list[Array | None] | None = None) -> StackedCache:
        """X is (R, B, n₀) or (B, n₀) shared by all runs; ``masks[l]`` (R, B, nₗ) or None."""
        h = X
        inputs, pre, used, outputs = [], [], [], []
        for layer, act in enumerate(self.acts):
            inputs.append(h)
            z = np.matmul(h, self.W[layer])
            z += self.b[layer][:, None, :]
            pre.append(z)
            h = act.forward(z, self._slope(layer))
            outputs.append(h)
            mask = None if masks is None else masks[layer]
            if mask is not None:
                h = h * mask
            used.append(mask)
        inputs.append(h)
        logits = np.matmul(h, self.W[-1])
        logits += self.b[-1][:, None, :]
        return StackedCache(inputs, pre, used, logits, outputs)

    def backward(self, cache: StackedCache, dlogits: Array) -> None:
        """Fill ``grads`` row by row, as :meth:`MLP.backward` does for one run."""
        delta = dlogits
        for layer in range(self.arch.n_layers - 1, -1, -1):
            h = cache.inputs[layer]
            if h.ndim == 2:  # input shared by all runs
                h = np.broadcast_to(h, (delta.shape[0], *h.shape))
            np.matmul(h.transpose(0, 2, 1), delta, out=self.gW[layer])
            np.add.reduce(delta, axis=1, out=self.gb[layer])
            if layer == 0:
                break
            up = np.matmul(delta, self.W[layer].transpose(0, 2, 1))
            below = layer - 1
            if cache.masks[below] is not None:
                up *= cache.masks[below]
            z = cache.pre[below]
            slope = self._slope(below)
            if slope is not None:
                idx = self.layout.slope_index[below]
                for r in range(len(up)):  # same reduction as prelu_slope_grad, run by run
                    self.grads[r, idx] = float(np.sum(up[r] * np.minimum(z[r], 0.0)))
            act = self.acts[below]
            if act.from_output is not None:
                delta = up * act.from_output(cache.outputs[below])
            else:
                delta = up * act.derivative(z, slope)
        if self.arch.l2:
            for gw, w in zip(self.gW, self.W, strict=True):
                gw += self.arch.l2 * w

    def l2_penalty(self, r: int) -> float:
        if not self.arch.l2:
            return 0.0
        return 0.5 * self.arch.l2 * float(sum(np.sum(w[r] * w[r]) for w in self.W))


def stacked_loss_and_grad(task: str, z: Array, y: Array) -> tuple[list[float], Array]:
    """Per-run mean losses and ∂L/∂z for stacked logits z (R, B, k), run by run identical to
    :func:`nn_core.losses.loss_and_grad`."""
    values = losses.batched_loss(task, z, y).tolist()
    n = z.shape[1]
    if task == "binary":
        return values, (expit(z) - y) / n
    if task == "multiclass":
        zmax = z.max(axis=2, keepdims=True)
        e = np.exp(z - zmax)
        grad = e / e.sum(axis=2, keepdims=True)
        np.put_along_axis(grad, y[:, :, None], np.take_along_axis(grad, y[:, :, None], 2) - 1.0, 2)
        grad /= n
        return values, grad
    diff = z - y
    return values, (2.0 / diff[0].size) * diff


@dataclass
class _Member:
    index: int  # position in the group
    run: RunConfig
    seed: int
    record: RunRecord
    active: bool = True


def train_group(
    config: ExperimentConfig,
    members: list[tuple[RunConfig, int]],
    data: Dataset,
    arch: Architecture,
    theta0: dict[int, Array],
    on_epoch: Callable[[int, int], bool] | None = None,
) -> list[RunRecord]:
    """Train ``members`` [(run, seed)] — all with the same batch size — in lockstep.

    Returns one :class:`RunRecord` per member, in the given order, equal to what
    :func:`train_run` records for each alone, except the time columns: runs trained together
    share the wall time, and each is credited the group's time divided by the number of runs.
    ``on_epoch(epoch, steps)`` is called after each epoch (``steps`` counts every run's steps)
    and returns False to stop every run of the group.
    """
    tr = config.training
    X, y = data.X_train, data.y_train
    n = len(X)
    bsize = batch_size_of(members[0][0], n)
    if any(batch_size_of(run, n) != bsize for run, _ in members):
        raise ValueError("lockstep members must share one batch size")
    n_steps = math.ceil(n / bsize)
    R = len(members)
    dtype = theta0[members[0][1]].dtype
    params = np.stack([theta0[seed] for _, seed in members]).astype(dtype, copy=False)
    grads = np.zeros_like(params)
    net = StackedMLP(arch, params, grads)
    stats = LayerStats(net.layout)
    group = [
        _Member(i, run, seed, RunRecord(run.label, run.optimizer, seed, bsize))
        for i, (run, seed) in enumerate(members)
    ]
    updates = _update_groups(members, params)
    seeds = sorted({seed for _, seed in members})
    row_of_seed = {s: i for i, s in enumerate(seeds)}
    rows = np.array([row_of_seed[seed] for _, seed in members])
    shared_input = len(seeds) == 1
    order_rngs = {s: np.random.default_rng([s, 1, bsize]) for s in seeds}
    drop_rngs = {s: np.random.default_rng([s, 2, bsize]) for s in seeds}
    has_val = len(data.X_val) > 0
    dropout = arch.dropout
    clip = tr.clip_norm
    start = time.perf_counter()

    def elapsed() -> float:
        return (time.perf_counter() - start) / R

    def evaluate(Xs: Array, ys: Array) -> list[tuple[float, float]]:
        z = net.forward(Xs).logits
        loss = losses.batched_loss(arch.task, z, ys).tolist()
        return list(zip(loss, losses.batched_score(arch.task, z, ys).tolist(), strict=True))

    def record_epoch(epoch: int, step: int) -> None:
        train = evaluate(X, y)
        val = evaluate(data.X_val, data.y_val) if has_val else [(math.nan, math.nan)] * R
        now = elapsed()
        for m in group:
            if not m.active:
                continue
            rec = m.record
            rec.epochs.append(epoch)
            rec.steps_at.append(step)
            rec.samples.append(epoch * n)
            rec.seconds.append(now)
            rec.train_loss.append(train[m.index][0])
            rec.train_score.append(train[m.index][1])
            rec.val_loss.append(val[m.index][0])
            rec.val_score.append(val[m.index][1])

    def record_gradients(epoch: int, before: Array, cache: StackedCache) -> None:
        # Every run at once; each run's figures equal what it records alone.
        many = stats.compute_many(grads, params, before)
        layers = zip(arch.activations, cache.pre, cache.outputs, strict=True)
        health = np.stack([unit_health_many(a, z, h) for a, z, h in layers], axis=1).tolist()
        for m in group:
            if not m.active:
                continue
            r = m.index
            m.record.grad_epochs.append(epoch)
            m.record.grad_stats.append({key: value[r] for key, value in many.items()})
            m.record.health.append(health[r])

    with np.errstate(all="ignore"):
        record_epoch(0, 0)
        for m in group:
            m.record.snapshot_epochs.append(0)
            m.record.snapshots.append(params[m.index].copy())
        step = 0
        for epoch in range(1, tr.epochs + 1):
            # Xe is (N, n₀) when every run sees the same order, else (R, N, n₀); ye is (R, N, …)
            if bsize >= n:
                Xe, ye = X, np.broadcast_to(y, (R, *y.shape))
            else:
                perms = [order_rngs[s].permutation(n) for s in seeds]
                if shared_input:
                    Xe, ye = X[perms[0]], np.broadcast_to(y[perms[0]], (R, *y.shape))
                else:
                    Xe = np.stack([X[p] for p in perms])[rows]
                    ye = np.stack([y[p] for p in perms])[rows]
            record_steps = epoch <= tr.step_epochs
            grad_epoch = epoch % tr.histogram_every == 0
            for k in range(n_steps):
                lo = k * bsize
                xb = Xe[..., lo : lo + bsize, :]
                yb = ye[:, lo : lo + bsize]
                masks = None
                if dropout > 0:
                    masks = _masks(drop_rngs, seeds, rows, xb.shape[-2], arch, dropout, dtype)
                cache = net.forward(xb, masks)
                values, dlogits = stacked_loss_and_grad(arch.task, cache.logits, yb)
                net.backward(cache, dlogits)
                step += 1
                stopped = False
                # a sum is finite only if every term is: the common case skips the loop
                if arch.l2 or not math.isfinite(sum(values)):
                    for m in group:
                        if m.active:
                            loss = values[m.index] + net.l2_penalty(m.index)
                            values[m.index] = loss
                            if not math.isfinite(loss):
                                m.active, stopped = False, True
                                m.record.diverged, m.record.diverged_step = True, step
                                m.record.steps = step
                if clip is not None:
                    for r in range(R):
                        total = float(np.sqrt(np.dot(grads[r], grads[r])))
                        grads[r] *= min(clip / (total + 1e-6), 1.0)
                first = step == 1
                last = k == n_steps - 1 and grad_epoch
                if first or last:
                    before = params.copy()
                for sl, rule, hp, state in updates:
                    rule.update(params[sl], grads[sl], state, hp)
                if first:
                    record_gradients(0, before, cache)
                if last:
                    record_gradients(epoch, before, cache)
                if record_steps:
                    for m in group:
                        if m.active:
                            m.record.step_loss.append((step, epoch, values[m.index]))
                if stopped and not any(m.active for m in group):
                    break
            for m in group:
                if m.active:
                    m.record.steps = step
            if not any(m.active for m in group):
                break
            record_epoch(epoch, step)
            for m in group:
                if not m.active:
                    continue
                rec = m.record
                if epoch % tr.snapshot_every == 0:
                    rec.snapshot_epochs.append(epoch)
                    rec.snapshots.append(params[m.index].copy())
                if not math.isfinite(rec.train_loss[-1]) or not np.isfinite(params[m.index]).all():
                    m.active = False
                    rec.diverged, rec.diverged_step = True, step
            if not any(m.active for m in group):
                break
            if on_epoch is not None and not on_epoch(epoch, n_steps * R):
                for m in group:
                    if m.active:
                        m.record.completed = epoch == tr.epochs
                break
    wall = elapsed()
    for m in group:
        m.record.wall = wall
    return [m.record for m in group]


def _update_groups(members, params: Array):
    """Contiguous row slices sharing a rule and identical hyperparameters get one update call;
    others get their own. Each entry is (slice, rule, hp, state)."""
    out = []
    i = 0
    while i < len(members):
        run = members[i][0]
        key = (run.optimizer, json.dumps(run.hyperparameters(), sort_keys=True, default=list))
        j = i + 1
        while j < len(members):
            other = members[j][0]
            okey = (
                other.optimizer,
                json.dumps(other.hyperparameters(), sort_keys=True, default=list),
            )
            if okey != key:
                break
            j += 1
        rule = RULES[run.optimizer]
        hp = run.hyperparameters()
        sl = slice(i, j)
        out.append((sl, rule, hp, rule.init(params[sl], hp)))
        i = j
    return out


def _masks(drop_rngs, seeds, rows, batch: int, arch: Architecture, p: float, dtype):
    """Dropout masks per hidden layer, drawn per seed in the order a single run draws them."""
    per_seed = [[] for _ in seeds]
    for si, s in enumerate(seeds):
        for width in arch.sizes[1:-1]:
            per_seed[si].append((drop_rngs[s].random((batch, width)) >= p).astype(dtype) / (1 - p))
    return [np.stack([per_seed[si][layer] for si in rows]) for layer in range(len(arch.sizes) - 2)]
