"""Where a comparison trains: in-process against the local process pool, and Dask's overhead.

    python -m benchmarks.executors              # inline vs a warm 2-process pool, 3 rounds
    python -m benchmarks.executors --dask       # also a Dask LocalCluster (starts in ~3 s)

Every workload is one ``run_comparison`` (lean recording, as in :mod:`benchmarks.suite`), timed
end to end in this process: ``inline`` trains every task here (``executor="inline"``), ``pool``
hands them to :data:`nn_core.schedule.LOCAL_POOL` started and warmed beforehand
(``executor="local"``), ``auto`` lets :func:`nn_core.schedule.choose` decide. The results of
every path are checked equal (final parameters) before a time is reported. With ``--dask`` a
LocalCluster of two single-threaded worker processes on loopback measures the round trip of an
empty task, the throughput of many, and the default preset on the cluster.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from nn_core import data as datasets  # synthetic or bundled
from nn_core import run_comparison, schedule
from nn_core.train import plan_groups

from .workloads import registry

WORKLOADS = ("preset-1seed", "preset-3seeds", "lockstep-b32", "lockstep-digits-b32")


def _finals(res) -> list[np.ndarray]:
    return [thetas[-1] for _, thetas in res.snapshots.values()]


def _time(config, data, executor) -> tuple[float, list[np.ndarray]]:
    start = time.perf_counter()
    res = run_comparison(config, data=data, executor=executor)
    return time.perf_counter() - start, _finals(res)


def _tasks(config, data) -> list[schedule.Task]:
    d = data if data is not None else datasets.make(config.dataset)
    groups = plan_groups(config, len(d.X_train))
    return schedule.plan(config, groups, d, data is not None, schedule.LOCAL_POOL.workers)


def compare_paths(rounds: int) -> list[str]:
    pool = schedule.LOCAL_POOL
    start = time.perf_counter()
    pool.warm()
    while pool.startup is None and time.perf_counter() - start < 30:
        time.sleep(0.01)
    lines = [
        f"local pool: {pool.workers} worker processes, started in "
        f"{pool.startup or float('nan'):.2f} s",
        "",
        f"{'workload':22s} {'tasks':>5s} {'inline s':>9s} {'pool s':>8s} {'auto s':>8s}"
        f" {'inline/pool':>11s}  auto chose",
    ]
    work = registry(quick=False)
    for name in WORKLOADS:
        w = work[name]
        data = w.data() if w.digits else None
        times: dict[str, list[float]] = {"inline": [], "local": [], None: []}
        reference = None
        for _ in range(rounds):
            for path in times:
                seconds, finals = _time(w.config, data, path)
                if reference is None:
                    reference = finals
                assert all(np.array_equal(a, b) for a, b in zip(reference, finals, strict=True))
                times[path].append(seconds)
        med = {k: statistics.median(v) for k, v in times.items()}
        tasks = _tasks(w.config, data)
        auto = schedule.choose(None, tasks).name
        lines.append(
            f"{name:22s} {len(tasks):5d} {med['inline']:9.3f} {med['local']:8.3f} {med[None]:8.3f}"
            f" {med['inline'] / med['local']:11.2f}  {auto}"
        )
    return lines


def _nothing(x: int) -> int:
    return x


def dask_overhead() -> list[str]:
    from distributed import LocalCluster

    t0 = time.perf_counter()
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
        worker_dashboard_address=None,
    ) as cluster:
        started = time.perf_counter() - t0
        connected = schedule.connect(cluster.scheduler_address)
        try:
            ex = connected.executor
            ex.submit(_nothing, 0).result()  # the function reaches the workers once
            n = 20
            t = time.perf_counter()
            for i in range(n):
                ex.submit(_nothing, i).result()
            latency = (time.perf_counter() - t) / n
            n = 400
            t = time.perf_counter()
            futures = [ex.submit(_nothing, i) for i in range(n)]
            for f in futures:
                f.result()
            throughput = (time.perf_counter() - t) / n
            w = registry(quick=False)["preset-1seed"]
            inline, ref = _time(w.config, None, "inline")
            on_dask, got = _time(w.config, None, connected)
            assert all(np.array_equal(a, b) for a, b in zip(ref, got, strict=True))
        finally:
            connected.close()
    return [
        f"Dask LocalCluster (2 workers x 1 thread, loopback): started in {started:.2f} s",
        f"  one empty task, submitted and awaited alone: {1e3 * latency:.2f} ms",
        f"  400 empty tasks submitted together: {1e3 * throughput:.3f} ms a task",
        f"  preset-1seed: {on_dask:.3f} s on the cluster, {inline:.3f} s inline (same numbers)",
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.executors", description=__doc__)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--dask", action="store_true", help="also measure a Dask LocalCluster")
    args = p.parse_args(argv)
    for line in compare_paths(args.rounds):
        print(line)
    if args.dask:
        print()
        for line in dask_overhead():
            print(line)
    schedule.LOCAL_POOL.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
