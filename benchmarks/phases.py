"""Where nn_core's training time goes, phase by phase: ``python -m benchmarks.phases``.

Times the engine's own loop (:func:`nn_core.train.train_group`) with its ``timer`` hook, group by
group as ``run_comparison`` forms them (in this process): every phase of the loop gets the time
since the previous one — batch slicing and dropout masks, forward, loss, backward, the per-step
bookkeeping (divergence check, clipping), the optimizer updates, the per-epoch evaluation, the
recording (gradient statistics and unit health, step losses, snapshots) and progress reports.

The products alone are measured separately (:mod:`benchmarks.floor`, the GEMM-only floor at the
workload's sizes), which splits the total into what the issue asks for: matrix products,
element-wise work (activations, loss and their derivatives: forward + loss + backward minus
their products), updates, recording (recording + evaluation minus its products), and Python
(slicing, bookkeeping, progress and the loop itself).

    python -m benchmarks.phases                          # b1-sgd, full recording
    python -m benchmarks.phases --workload sweep-375     # a whole comparison, group by group
    python -m benchmarks.phases --workload b32-adam --recording lean --cprofile
"""

from __future__ import annotations

import argparse
import cProfile
import math
import pstats
import sys
import time

from nn_core.train import (
    Timer,
    batch_size_of,
    build_architecture,
    initial_params,
    plan_groups,
    train_group,
)

from . import floor
from .workloads import registry, with_training

PHASES = (
    "batches",
    "forward",
    "loss",
    "backward",
    "bookkeeping",
    "update",
    "evaluation",
    "recording",
    "progress",
)


def timed(config, data, timer: Timer | None = None) -> tuple[float, int, int]:
    """Train every group of ``config`` in this process; (wall seconds, steps of every run,
    evaluations of every group), the phases added to ``timer``."""
    arch = build_architecture(config, data)
    theta0 = {seed: initial_params(config, arch, seed) for seed in config.seeds}
    steps = evaluations = 0
    start = time.perf_counter()
    for members in plan_groups(config, len(data.X_train)):
        records = train_group(config, members, data, arch, theta0, timer=timer)
        steps += sum(r.steps for r in records)
        evaluations += max(len(r.epochs) for r in records)
    return time.perf_counter() - start, steps, evaluations


def products(config, data) -> tuple[float, float]:
    """(seconds of the training steps' products, seconds of the evaluations' products) for
    ``config`` as planned, from the GEMM-only floor at its sizes."""
    arch = build_architecture(config, data)
    n_train, n_val = len(data.X_train), len(data.X_val)
    epochs = config.training.epochs
    step_s = eval_s = 0.0
    for members in plan_groups(config, n_train):
        batch = batch_size_of(members[0][0], n_train)
        shared = len({seed for _, seed in members}) == 1
        f = floor.measure(arch, len(members), batch, shared, n_train, n_val)
        step_s += f.step_s * epochs * math.ceil(n_train / batch)
        eval_s += f.eval_s * (epochs + 1)
    return step_s, eval_s


def breakdown(phases: dict[str, float], wall: float, gemm_step: float, gemm_eval: float):
    """The wall time split into matmuls, element-wise, updates, recording and Python."""
    p = {name: phases.get(name, 0.0) for name in PHASES}
    compute = p["forward"] + p["loss"] + p["backward"]
    return {
        "matmuls (GEMM floor)": gemm_step + gemm_eval,
        "element-wise (activations, loss, derivatives)": max(compute - gemm_step, 0.0),
        "optimizer updates": p["update"],
        "recording (evaluation, statistics, snapshots)": p["recording"]
        + max(p["evaluation"] - gemm_eval, 0.0),
        "Python (slicing, bookkeeping, loop)": p["batches"]
        + p["bookkeeping"]
        + p["progress"]
        + max(wall - sum(p.values()), 0.0),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.phases", description=__doc__.split("\n")[0]
    )
    choices = [n for n, w in registry().items() if w.kind != "sweep"]  # sweeps: benchmarks.sweeps
    p.add_argument("--workload", default="b1-sgd", choices=choices)
    p.add_argument("--recording", default="full", choices=("lean", "full"))
    p.add_argument("--epochs", type=int, help="override the workload's epochs")
    p.add_argument("--rounds", type=int, default=3, help="keep the fastest of this many")
    p.add_argument("--quick", action="store_true", help="the workloads' --quick epochs")
    p.add_argument("--cprofile", action="store_true", help="also print cProfile's top functions")
    args = p.parse_args(argv)

    w = registry(args.quick)[args.workload]
    config = w.recording(args.recording)
    if args.epochs:
        config = with_training(config, epochs=args.epochs)
    data = w.data()
    for line in report(w, config, data, args.recording, args.rounds):
        print(line)
    if args.cprofile:
        prof = cProfile.Profile()
        prof.runcall(timed, config, data)
        print()
        pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(15)
    return 0


def report(w, config, data, recording: str, rounds: int) -> list[str]:
    timed(with_training(config, epochs=1), data)  # warm-up
    walls = [timed(config, data)[0] for _ in range(rounds)]  # no timer: the plain loop
    best: tuple[float, Timer] | None = None
    for _ in range(rounds):
        timer = Timer()
        wall, steps, _ = timed(config, data, timer)
        if best is None or wall < best[0]:
            best = (wall, timer)
    wall, timer = best
    gemm_step, gemm_eval = products(config, data)
    groups = " + ".join(
        f"{len(m)}@{batch_size_of(m[0][0], len(data.X_train))}"
        for m in plan_groups(config, len(data.X_train))
    )
    out = [
        f"{w.name}: {w.description}",
        f"{len(config.runs)} run(s) x {len(config.seeds)} seed(s) in groups {groups} "
        f"(runs@batch), {config.training.epochs} epochs, {steps} steps of all runs, "
        f"{recording} recording",
        f"wall without the timer (best of {rounds}): {min(walls):.3f} s "
        f"= {1e6 * min(walls) / steps:.2f} µs per run-step; with it: {wall:.3f} s",
        "",
        f"{'phase':16} {'seconds':>8} {'share':>6}",
    ]
    for name in PHASES:
        sec = timer.seconds.get(name, 0.0)
        out.append(f"{name:16} {sec:8.3f} {100 * sec / wall:5.1f}%")
    out += ["", f"{'where the time goes':46} {'seconds':>8} {'share':>6}"]
    for name, sec in breakdown(timer.seconds, wall, gemm_step, gemm_eval).items():
        out.append(f"{name:46} {sec:8.3f} {100 * sec / wall:5.1f}%")
    return out


if __name__ == "__main__":
    sys.exit(main())
