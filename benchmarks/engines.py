"""Running one timed job on either engine.

nn_core runs in this process; PyTorch runs in a separate worker process (``spawn``), which this
process drives one job at a time. The separation matters on a small machine: NumPy's OpenBLAS and
torch's OpenMP each keep a pool of worker threads that spin for a while after a parallel region,
and with both pools in one process on 2 cores the idle pool steals time from the busy engine
(measured while writing this suite: nn_core's batch-32 step went from ~70 to ~230 µs after torch
had run in the same process, and torch's 2-thread steps swung by 10-100x). In separate
processes, as a user would run either engine, the idle one sleeps.
"""

from __future__ import annotations

import dataclasses
import inspect
import multiprocessing as mp
import time
import traceback

import numpy as np

from nn_core import blas, run_comparison
from nn_core.train import build_architecture, initial_params, train_group

from .workloads import Workload, registry, with_training

# Pause before each timed job so the other engine's idle threads stop spinning.
SETTLE_SECONDS = 0.02


@dataclasses.dataclass(frozen=True)
class Job:
    workload: str
    quick: bool
    engine: str  # "ours" | "torch"
    recording: str = "lean"  # ours only: "lean" | "full"
    dtype: str = "float64"  # torch only; ours always trains in the workload's dtype (float64)
    threads: int | None = None  # ours: NumPy's BLAS threads (None: default); torch: required
    one_by_one: bool = False  # ours comparisons only: run_comparison(lockstep=False)
    one_process: bool = False  # ours comparisons only: run_comparison(executor="inline")
    warmup: bool = False  # a 1-epoch, 1-seed version, run untimed before the rounds

    def resolve(self) -> Workload:
        w = registry(self.quick)[self.workload]
        if self.warmup:
            short = with_training(w.config, epochs=1, seeds=1, snapshot_every=1)
            w = dataclasses.replace(w, config=short)
        return w


@dataclasses.dataclass
class Outcome:
    seconds: float  # for a job stopped at its time limit: the limit (a lower bound)
    steps: int
    thetas: list[np.ndarray]  # final parameters, one per (seed, run) in run_comparison's order
    capped: bool = False


def has_one_by_one() -> bool:
    """Whether run_comparison can be told to train runs one by one (``lockstep=False``)."""
    return "lockstep" in inspect.signature(run_comparison).parameters


def run_ours(job: Job) -> Outcome:
    w = job.resolve()
    config = w.recording(job.recording)
    with blas.limited(job.threads):
        data = w.data()
        if w.kind == "comparison":
            kwargs = {"lockstep": False} if job.one_by_one else {}
            if job.one_by_one or job.one_process:
                kwargs["executor"] = "inline"
            time.sleep(SETTLE_SECONDS)
            start = time.perf_counter()
            res = run_comparison(config, data=data, **kwargs)
            seconds = time.perf_counter() - start
            thetas = [res.snapshots[(r.label, s)][1][-1] for s in config.seeds for r in config.runs]
            return Outcome(seconds, int(res.summary["steps"].sum()), thetas)
        arch = build_architecture(config, data)
        seed = config.seeds[0]
        theta0 = {seed: initial_params(config, arch, seed)}
        time.sleep(SETTLE_SECONDS)
        start = time.perf_counter()
        [rec] = train_group(config, [(config.runs[0], seed)], data, arch, theta0)
        seconds = time.perf_counter() - start
    return Outcome(seconds, rec.steps, [rec.snapshots[-1]])


def _run_torch(torch_ref, job):
    if hasattr(job, "run_torch"):  # a job that drives torch_ref itself (benchmarks.sweeps)
        return job.run_torch(torch_ref)
    torch_ref.set_threads(job.threads)
    w = job.resolve()
    config = w.config
    data = w.data()
    time.sleep(SETTLE_SECONDS)
    if w.kind == "comparison":
        thetas, seconds, steps = torch_ref.train_comparison(config, data, job.dtype)
        return Outcome(seconds, steps, thetas)
    arch = build_architecture(config, data)
    seed = config.seeds[0]
    theta0 = initial_params(config, arch, seed)
    theta, seconds, steps = torch_ref.train(
        config, config.runs[0], seed, data, arch, theta0, job.dtype
    )
    return Outcome(seconds, steps, [theta])


def _serve(conn) -> None:
    """Worker main loop: answer ("ok", torch version, default threads) or ("error", why), then
    run each Job received until None arrives."""
    try:
        from . import torch_ref
    except ImportError as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ok", torch_ref.version(), torch_ref.get_threads()))
    while (job := conn.recv()) is not None:
        try:
            conn.send(("ok", _run_torch(torch_ref, job)))
        except Exception:
            conn.send(("error", traceback.format_exc()))


class TorchUnavailable(RuntimeError):
    pass


class TorchWorker:
    """A child process that imports torch and runs torch jobs on request.

    A job that outlives its time limit is stopped by killing the worker (a fresh one is started
    for the next job) and reported as ``capped`` with the limit as its time: on a loaded 2-core
    machine torch's 2-thread runs occasionally take 10–50x their usual time, and waiting for them
    would turn a minutes-long benchmark into an hour.
    """

    def __init__(self):
        self._start()

    def _start(self) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child,), daemon=True, name="torch-bench")
        self._proc.start()
        child.close()
        try:
            hello = self._conn.recv()
        except EOFError:
            hello = ("error", f"the torch worker exited with code {self._proc.exitcode}")
        if hello[0] != "ok":
            self._proc.join()
            raise TorchUnavailable(hello[1])
        self.version: str = hello[1]
        self.default_threads: int = hello[2]

    def run(self, job, limit: float | None = None):
        """Run a :class:`Job` (an :class:`Outcome` back), or any picklable object with a
        ``run_torch(torch_ref)`` method (its return value back)."""
        self._conn.send(job)
        if limit is not None and not self._conn.poll(limit):
            self._proc.kill()
            self._proc.join()
            self._conn.close()
            self._start()
            return Outcome(limit, 0, [], capped=True)
        status, payload = self._conn.recv()
        if status != "ok":
            raise RuntimeError(f"torch job {job} failed:\n{payload}")
        return payload

    def close(self) -> None:
        if self._proc.is_alive():
            self._conn.send(None)
            self._proc.join(timeout=10)
        self._conn.close()
