"""Per-step time of one-run workloads and whole comparisons (in-process, one core): this
worktree's nn_core against earlier commits, in one process, alternating; best of N rounds (wall
and CPU time) and the median per-round ratio new / old. Also checks that every version ends with
the same final parameters, bit for bit.

    python scripts/step_overhead.py          # 3e5958b (base) and 0accc65 (old) against now
    python scripts/step_overhead.py --rounds 21 --scale 0.3 --workloads b1-sgd,digits-like

``--old`` is a commit from before the batched network (``training.train_run`` on ``network.MLP``);
``--base`` any commit with ``nn_core.train.train_group``. Each is unpacked with ``git archive``
into a temporary directory under another package name. BLAS is pinned to one thread (small
products; less noise on a shared machine).
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks.workloads import registry  # noqa: E402
from nn_core.train import steps_per_epoch  # noqa: E402

WORKLOADS = (
    "b1-sgd,b1-adam,b32-momentum,b32-adam,b64-adam,full-gd,full-adam,digits-like,"
    "preset-1seed,preset-3seeds,lockstep-b32"
)


def unpack(commit: str, name: str, into: Path) -> None:
    """nn_core at ``commit`` as package ``name`` under ``into`` (its imports are relative)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "nn_core"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    (into / "nn_core").rename(into / name)


def runner(pkg: str, w, scale: float, recording: str):
    """A function training ``w`` once with package ``pkg``; returns its record."""
    # The old package's config cannot read today's documents: it trains on today's config.
    cls = importlib.import_module(("nn_core" if pkg == "nn_core_old" else pkg) + ".config")
    doc = w.recording(recording).to_dict()
    epochs = max(1, int(doc["training"]["epochs"] * scale))
    doc["training"]["epochs"] = epochs
    doc["training"]["snapshot_every"] = min(doc["training"].get("snapshot_every", 1), epochs)
    config = cls.ExperimentConfig.from_dict(doc)
    data = w.data()
    if w.kind == "comparison":
        return comparison_runner(pkg, config, data)
    run, seed = config.runs[0], config.seeds[0]
    if pkg == "nn_core_old":
        tr = importlib.import_module(pkg + ".training")
        net = importlib.import_module(pkg + ".network")
        nc = config.network
        arch = net.Architecture(
            sizes=(data.n_features, *nc.hidden_layers, data.n_outputs),
            activations=nc.activations,
            task=data.task,
            dropout=nc.dropout,
            l2=nc.l2,
        )
        theta0 = tr.initial_params(config, arch, seed)
        return lambda: tr.train_run(config, run, seed, data, arch, theta0)
    tr = importlib.import_module(pkg + ".train")
    arch = tr.build_architecture(config, data)
    theta0 = {seed: tr.initial_params(config, arch, seed)}
    return lambda: tr.train_group(config, [(run, seed)], data, arch, theta0)[0]


@dataclass
class Finished:
    """What the timing loop reads of a comparison: its run-steps and every final θ."""

    steps: int
    snapshots: list


def comparison_runner(pkg: str, config, data):
    """A function running the whole comparison in this process (lockstep groups, no worker
    process on any version), returning its run-steps and final parameters."""
    module = importlib.import_module(pkg + (".training" if pkg == "nn_core_old" else ".compare"))
    kwargs = {"parallel": False} if pkg == "nn_core_old" else {"executor": "inline"}
    n = len(data.X_train)
    per_seed = sum(steps_per_epoch(r, n) for r in config.runs)
    steps = config.training.epochs * per_seed * len(config.seeds)

    def go():
        res = module.run_comparison(config, data=data, **kwargs)
        final = np.concatenate([res.snapshots[key][1][-1] for key in sorted(res.snapshots)])
        return Finished(steps, [final])

    return go


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--old", default="0accc65")
    p.add_argument("--base", default="3e5958b")  # the engine before the per-step work
    p.add_argument("--rounds", type=int, default=11)
    p.add_argument("--scale", type=float, default=1.0, help="fraction of each workload's epochs")
    p.add_argument("--workloads", default=WORKLOADS)
    p.add_argument("--recording", default="lean", choices=("lean", "full"))
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="step_overhead_"))
    unpack(args.old, "nn_core_old", tmp)
    unpack(args.base, "nn_core_base", tmp)
    sys.path.insert(0, str(tmp))
    versions = {"old": "nn_core_old", "base": "nn_core_base", "new": "nn_core"}
    names = args.workloads.split(",")
    reg = registry()
    fns = {(n, v): runner(pkg, reg[n], args.scale, args.recording) for n in names
           for v, pkg in versions.items()}  # fmt: skip
    steps, final = {}, {}
    for key, f in fns.items():  # warm-up, step counts and final parameters
        rec = f()
        steps[key], final[key] = rec.steps, rec.snapshots[-1]
    for n in names:
        for v in versions:
            if not np.array_equal(final[(n, v)], final[(n, "new")]):
                print(f"!! {n}: {v}'s final parameters differ from new's")
    best = {key: [np.inf, np.inf] for key in fns}
    walls = {key: [] for key in fns}
    for r in range(args.rounds):
        for n in names:
            for v in list(versions) if r % 2 == 0 else list(versions)[::-1]:
                t0, c0 = time.perf_counter(), time.process_time()
                fns[(n, v)]()
                t1, c1 = time.perf_counter(), time.process_time()
                b = best[(n, v)]
                b[0], b[1] = min(b[0], t1 - t0), min(b[1], c1 - c0)
                walls[(n, v)].append(t1 - t0)
    head = "".join(f"{v + ' wall':>11}{v + ' cpu':>10}" for v in versions)
    print(f"{'µs/step':14}{head}   (best of {args.rounds}; old={args.old}, base={args.base})")
    for n in names:
        row = "".join(
            f"{1e6 * best[(n, v)][0] / steps[(n, v)]:11.1f}"
            f"{1e6 * best[(n, v)][1] / steps[(n, v)]:10.1f}"
            for v in versions
        )
        print(f"{n:14}{row}")
    # A shared machine's speed drifts over minutes, which moves best-of-N by more than the
    # differences looked for; versions timed back to back in the same round see the same
    # machine, so their per-round ratio is the steadier figure.
    print(f"\n{'new / old':14}{'median':>8}{'quartiles':>16}   (per-round ratio of wall times)")
    for n in names:
        ratio = np.array(walls[(n, "new")]) / np.array(walls[(n, "old")])
        q1, med, q3 = np.percentile(ratio, [25, 50, 75])
        print(f"{n:14}{med:8.3f}   {q1:6.3f} – {q3:5.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
