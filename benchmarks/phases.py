"""Where nn_core's training time goes, phase by phase: ``python -m benchmarks.phases``.

Replays :func:`nn_core.training.train_run`'s loop from the same pieces (``MLP`` forward and
backward, the loss, the rule's update, ``LayerStats``, ``unit_health``) with a clock around each
phase, so the phases add up to the run: batch slicing, forward, loss, backward, the per-step
bookkeeping (divergence check, step losses), the optimizer update, the per-epoch evaluation and
the recording (gradient statistics and unit health, snapshots). The loop is checked against
``train_run``: same final parameters, and the unclocked wall time is printed next to it.

    python -m benchmarks.phases                          # b1-sgd, full recording
    python -m benchmarks.phases --workload b32-adam --recording lean
    python -m benchmarks.phases --workload b1-adam --cprofile
"""

from __future__ import annotations

import argparse
import cProfile
import math
import pstats
import sys
import time
from collections import defaultdict

import numpy as np

from nn_core import losses
from nn_core.activations import unit_health
from nn_core.network import MLP
from nn_core.optimizers import RULES
from nn_core.recording import LayerStats
from nn_core.training import batch_size_of, build_architecture, initial_params, train_run

from .workloads import registry

PHASES = (
    "batch slicing",
    "forward",
    "loss + dlogits",
    "backward",
    "step bookkeeping",
    "optimizer update",
    "epoch evaluation",
    "gradient stats",
    "snapshots",
)


def clocked_run(config, run, seed, data, arch, theta0) -> tuple[dict[str, float], np.ndarray, int]:
    """train_run's loop (no dropout, no clipping) with a clock per phase."""
    tr = config.training
    X, y = data.X_train, data.y_train
    n = len(X)
    bsize = batch_size_of(run, n)
    n_steps = math.ceil(n / bsize)
    rule, hp = RULES[run.optimizer], run.hyperparameters()
    params = theta0.copy()
    net = MLP(arch, params)
    grads = net.grads
    state = rule.init(params, hp)
    stats = LayerStats(net.layout)
    order_rng = np.random.default_rng([seed, 1, bsize])
    t = defaultdict(float)
    clock = time.perf_counter
    step_loss, snapshots, grad_stats = [], [params.copy()], []

    def evaluate():
        net.evaluate(X, y)
        if len(data.X_val):
            net.evaluate(data.X_val, data.y_val)

    with np.errstate(all="ignore"):
        evaluate()
        step = 0
        for epoch in range(1, tr.epochs + 1):
            c0 = clock()
            if bsize < n:
                perm = order_rng.permutation(n)
                Xe, ye = X[perm], y[perm]
            else:
                Xe, ye = X, y
            t["batch slicing"] += clock() - c0
            grad_epoch = epoch % tr.histogram_every == 0
            for k in range(n_steps):
                c0 = clock()
                lo = k * bsize
                xb, yb = Xe[lo : lo + bsize], ye[lo : lo + bsize]
                c1 = clock()
                cache = net.forward(xb, train=True)
                c2 = clock()
                loss, dlogits = losses.loss_and_grad(arch.task, cache.logits, yb)
                loss += net.l2_penalty()
                c3 = clock()
                net.backward(cache, dlogits)
                c4 = clock()
                step += 1
                finite = math.isfinite(loss)
                first = step == 1
                last = k == n_steps - 1 and grad_epoch
                if first or last:
                    before = params.copy()
                c5 = clock()
                rule.update(params, grads, state, hp)
                c6 = clock()
                if first or last:
                    grad_stats.append(stats.compute(grads, params, before))
                    health = zip(arch.activations, cache.pre, strict=True)
                    grad_stats.append([unit_health(a, z, None) for a, z in health])
                c7 = clock()
                if epoch <= tr.step_epochs:
                    step_loss.append((step, epoch, loss))
                c8 = clock()
                t["batch slicing"] += c1 - c0
                t["forward"] += c2 - c1
                t["loss + dlogits"] += c3 - c2
                t["backward"] += c4 - c3
                t["step bookkeeping"] += (c5 - c4) + (c8 - c7)
                t["optimizer update"] += c6 - c5
                t["gradient stats"] += c7 - c6
                if not finite:
                    raise RuntimeError("the profiled run diverged; pick another workload")
            c0 = clock()
            evaluate()
            c1 = clock()
            if epoch % tr.snapshot_every == 0:
                snapshots.append(params.copy())
            np.isfinite(params).all()
            c2 = clock()
            t["epoch evaluation"] += c1 - c0
            t["snapshots"] += c2 - c1
    return dict(t), params, step


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.phases", description=__doc__.split("\n")[0]
    )
    singles = [w.name for w in registry().values() if w.kind == "run"]
    p.add_argument("--workload", default="b1-sgd", choices=singles)
    p.add_argument("--recording", default="full", choices=("lean", "full"))
    p.add_argument("--epochs", type=int, help="override the workload's epochs")
    p.add_argument("--cprofile", action="store_true", help="also print cProfile's top functions")
    args = p.parse_args(argv)

    w = registry()[args.workload]
    config = w.recording(args.recording)
    if args.epochs:
        config = config.with_training(epochs=args.epochs)
    run, data = config.runs[0], w.data()
    if config.network.dropout or config.training.clip_norm is not None:
        raise SystemExit("phases does not replay dropout or clipping")
    arch = build_architecture(config, data)
    seed = config.seeds[0]
    theta0 = initial_params(config, arch, seed)

    train_run(config, run, seed, data, arch, theta0)  # warm-up
    walls = []
    for _ in range(3):
        rec = train_run(config, run, seed, data, arch, theta0)
        walls.append(rec.wall)
    best = None
    for _ in range(3):
        phases, theta, steps = clocked_run(config, run, seed, data, arch, theta0)
        if best is None or sum(phases.values()) < sum(best.values()):
            best = phases
    assert steps == rec.steps and np.array_equal(theta, rec.snapshots[-1]), "replay differs"

    total = sum(best.values())
    print(f"{w.name}: {w.description}")
    print(f"{run.optimizer}, batch {run.batch_size}, {config.training.epochs} epochs, "
          f"{steps} steps, {args.recording} recording")  # fmt: skip
    print(f"train_run wall (unclocked, best of 3): {min(walls):.3f} s "
          f"= {1e6 * min(walls) / steps:.1f} µs/step; clocked replay: {total:.3f} s "
          f"(best of 3; same final θ)\n")  # fmt: skip
    print(f"{'phase':18} {'seconds':>8} {'µs/step':>8} {'share':>6}")
    for name in PHASES:
        sec = best.get(name, 0.0)
        print(f"{name:18} {sec:8.3f} {1e6 * sec / steps:8.1f} {100 * sec / total:5.1f}%")
    print(f"{'total':18} {total:8.3f} {1e6 * total / steps:8.1f} {100.0:5.1f}%")

    if args.cprofile:
        prof = cProfile.Profile()
        prof.runcall(train_run, config, run, seed, data, arch, theta0)
        print()
        pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
