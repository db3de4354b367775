"""Training a comparison: every run, every seed, recorded as it goes.

The loop itself, what it records and how runs train together live in :mod:`nn_core.train`;
this module re-exports the names the rest of the engine uses (``plan_groups``,
``train_members``, ``RunRecord``, …) and holds the comparison-level pieces: progress
reports, cancel, and :func:`run_comparison`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import blas
from . import data as datasets  # TODO(merge): run_comparison loads its data with data.make
from .config import ExperimentConfig
from .network import Layout
from .train import (
    RunRecord,
    batch_size_of,
    build_architecture,
    initial_params,
    plan_groups,
    steps_per_epoch,
    train_members,
)

__all__ = [
    "CancelCheck",
    "Progress",
    "ProgressCallback",
    "RunRecord",
    "batch_size_of",
    "build_architecture",
    "initial_params",
    "plan_groups",
    "run_comparison",
    "steps_per_epoch",
    "train_members",
]


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


class _Tally:
    """Steps done across both processes, for the progress callback."""

    def __init__(self, config: ExperimentConfig, groups, n: int, progress):
        self.epochs = config.training.epochs
        self.expected = [sum(self.epochs * steps_per_epoch(r, n) for r, _ in g) for g in groups]
        self.total = sum(self.expected)
        self.labels = [list(dict.fromkeys(r.label for r, _ in g)) for g in groups]
        self.seeds = [tuple(sorted({s for _, s in g})) for g in groups]
        self.of_group = [0] * len(groups)
        self.done = 0
        self.progress = progress
        self.t0 = time.perf_counter()

    def add(self, group: int, epoch: int, steps: int, report: bool = True) -> None:
        self.done += steps
        self.of_group[group] += steps
        if report and self.progress is not None:
            seeds = self.seeds[group]
            self.progress(
                Progress(
                    self.done,
                    self.total,
                    ", ".join(self.labels[group]),
                    seeds[0],
                    epoch,
                    self.epochs,
                    time.perf_counter() - self.t0,
                    seeds,
                )
            )

    def finish(self, group: int) -> None:
        """Diverged runs stop early: count the group's remaining steps as done."""
        self.done += self.expected[group] - self.of_group[group]
        self.of_group[group] = self.expected[group]

    def forget(self, group: int) -> None:
        """The worker died mid-group: its steps will be done again here."""
        self.done -= self.of_group[group]
        self.of_group[group] = 0


def share(config, groups, data, arch, parallel: bool | None):
    """(groups, indices this process trains, indices the worker trains): see
    :func:`run_comparison`'s ``parallel``. The groups come back as given unless the worker is
    used; then the largest may be cut in two (:func:`nn_core.parallel.balance`)."""
    from . import parallel as workers

    everything = (groups, list(range(len(groups))), [])
    if parallel is False or workers.cores() < 2:
        return everything
    n, n_val, tr = len(data.X_train), len(data.X_val), config.training
    snapshots = tr.epochs // tr.snapshot_every + 1
    weight_bytes = np.dtype(tr.dtype).itemsize * Layout.of(arch).size

    def cost(g):
        return workers.estimate(g, batch_size_of(g[0][0], n), arch, n, n_val, tr.epochs)

    plan = workers.balance(groups, cost, lambda g: len(g) * snapshots * weight_bytes)
    start = 0.0 if workers.running() else workers.WORKER_START
    if plan.there and (parallel or plan.saving(start) >= workers.MIN_SAVING):
        return plan.groups, plan.here, plan.there
    if plan.there and plan.saving() >= workers.MIN_SAVING:
        workers.warm()  # not worth waiting for now, but ready for the next comparison
    return everything


def run_comparison(
    config: ExperimentConfig,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    data: datasets.Dataset | None = None,
    partial: list[RunRecord] | None = None,
    lockstep: bool = True,
    parallel: bool | None = None,
):
    """Train every run of ``config`` for every seed and return :class:`nn_core.Results`.

    Runs that share a batch size train in lockstep (:mod:`nn_core.lockstep`), bit-identical to
    training them one by one (``lockstep=False``, kept as the reference and for benchmarks).
    The groups are shared between this process and a worker process (:mod:`nn_core.parallel`)
    when that is estimated to save time (``parallel=None``); ``True`` splits whenever there are
    two groups, ``False`` never; the numbers are the same either way.
    ``progress`` receives a :class:`Progress` after each epoch; ``cancel()`` returning true stops
    the comparison after the current epoch and keeps everything recorded so far (the runs being
    trained are marked incomplete, runs not started are absent). ``data`` replaces the
    configured dataset (e.g. a user's CSV). ``partial``, if given, receives each finished
    :class:`RunRecord` as soon as it is done, so a caller interrupted from outside (a Streamlit
    rerun) can still build :meth:`Results.from_records` from what finished.
    """
    from . import parallel as workers
    from .results import Results

    if data is None:
        data = datasets.make(config.dataset, dtype=np.dtype(config.training.dtype))
    arch = build_architecture(config, data)
    n = len(data.X_train)
    theta0 = {seed: initial_params(config, arch, seed) for seed in config.seeds}
    if lockstep:
        groups = plan_groups(config, n)
    else:  # one run at a time, seed by seed
        groups = [[(run, seed)] for seed in config.seeds for run in config.runs]
    shared, here, there = share(config, groups, data, arch, parallel)
    worker = workers.acquire() if there else None
    if worker is None:  # alone: keep the groups whole (a cut group only pays on two cores)
        here, there = list(range(len(groups))), []
    else:
        groups = shared
    tally = _Tally(config, groups, n, progress)

    records: list[RunRecord] = []
    state = {"cancelled": False, "remote_busy": bool(there), "training_here": True}
    remote_done: set[int] = set()

    def keep(group: int, got: list[RunRecord]) -> None:
        tally.finish(group)
        records.extend(got)
        if partial is not None:
            partial.extend(got)
        if not all(r.completed for r in got):
            state["cancelled"] = True

    def handle(message: tuple) -> None:
        kind = message[0]
        if kind == "progress":
            _, _, index, epoch, steps = message
            tally.add(there[index], epoch, steps, report=not state["training_here"])
        elif kind == "records":
            _, _, index, got = message
            remote_done.add(there[index])
            keep(there[index], got)
        elif kind == "done":
            state["remote_busy"] = False
        else:  # "error": train what the worker did not finish here instead
            raise EOFError(message[2])

    def drain(timeout: float | None = 0.0) -> None:
        """Handle the worker's waiting messages; a dead worker's groups come back here."""
        if not state["remote_busy"]:
            return
        try:
            while state["remote_busy"] and (message := worker.receive(timeout)) is not None:
                handle(message)
                timeout = 0.0
        except (EOFError, OSError):
            state["remote_busy"] = False
            state["worker_failed"] = True
            for group in there:
                if group not in remote_done:
                    tally.forget(group)
                    here.append(group)

    def cancelled() -> bool:
        if cancel is not None and cancel():
            state["cancelled"] = True
        if state["cancelled"] and state["remote_busy"] and not state.get("cancel_sent"):
            state["cancel_sent"] = True
            worker.cancel()  # the worker stops after its current epoch
        return state["cancelled"]

    clean = False
    try:
        # Two processes on two cores: one BLAS thread each (the worker starts with one).
        with blas.limited(1) if worker is not None else contextlib.nullcontext():
            if worker is not None:
                worker.submit(workers.Job(config, data, arch, theta0, [groups[i] for i in there]))
            i = 0
            while i < len(here) and not cancelled():
                group = here[i]

                def on_epoch(epoch: int, steps: int, group=group) -> bool:
                    tally.add(group, epoch, steps)
                    drain()
                    return not cancelled()

                keep(group, train_members(config, groups[group], data, arch, theta0, on_epoch))
                i += 1
                if i == len(here):  # wait for the worker (a dead worker's groups extend `here`)
                    state["training_here"] = False
                    while state["remote_busy"] and not cancelled():
                        drain(0.05)
                    state["training_here"] = True
            if worker is not None:
                while state["remote_busy"]:  # cancelled: collect what the worker finished
                    cancelled()
                    drain(0.05)
                clean = not state.get("worker_failed")
    finally:
        if worker is not None:
            workers.release(worker, clean)
    order = {
        (run.label, seed): (si, ri)
        for si, seed in enumerate(config.seeds)
        for ri, run in enumerate(config.runs)
    }
    records.sort(key=lambda r: order[(r.run, r.seed)])
    return Results.from_records(config, data, arch, records, state["cancelled"])
