"""The loss-landscape grid on the default preset: seconds against the 1 s target.

Run alone with ``python -m benchmarks.landscape``; the main suite prints it at the end.
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

from nn_core import ExperimentConfig, run_comparison
from nn_core.landscape import batched_loss, compute

TARGET_S = 1.0


def measure(rounds: int = 5, resolution: int = 41) -> list[str]:
    results = run_comparison(ExperimentConfig.preset("default"))
    arch, data = results.arch, results.data
    theta0 = results.snapshots[(results.config.runs[0].label, 0)][1][0]
    grid = np.repeat(theta0[None], resolution * resolution, axis=0)
    compute(results, resolution=resolution)  # warm-up
    whole, only_grid = [], []
    for _ in range(rounds):
        t = time.perf_counter()
        compute(results, resolution=resolution)
        whole.append(time.perf_counter() - t)
        t = time.perf_counter()
        batched_loss(arch, grid, data.X_train, data.y_train)
        only_grid.append(time.perf_counter() - t)
    full = statistics.median(whole)
    verdict = "PASS" if full < TARGET_S else "MISS"
    return [
        f"Loss landscape, default preset ({resolution}x{resolution} grid, "
        f"{len(data.X_train)} training rows, {results.arch.sizes} network, median of {rounds})",
        f"  grid evaluation alone: {statistics.median(only_grid):.3f} s",
        f"  whole landscape (PCA plane, 7 projected paths, grid): {full:.3f} s",
        f"landscape under {TARGET_S:g} s: {verdict} — {full:.3f} s",
    ]


def main() -> int:
    for line in measure():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
