"""A comparison: every run of a configuration for every seed, trained and gathered into
:class:`~nn_core.results.Results`.

The runs are grouped for lockstep training (:func:`nn_core.train.plan_groups`), the groups
cut into tasks (:func:`nn_core.schedule.plan`) and the tasks run where
:func:`nn_core.schedule.choose` says: in this thread, on the local process pool, or on a Dask
cluster. The records come back in any order and are sorted by configuration (seed, then run), so
the results are the same, bit for bit, wherever the tasks ran.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np

from . import schedule
from .config import ExperimentConfig
from .data import make as make_dataset
from .datasets import Dataset
from .results import Results
from .schedule import Cluster, LocalPool, Task
from .train import RunRecord, build_architecture, in_config_order, plan_groups


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
    """Steps done across every task, for the progress callback."""

    def __init__(self, config: ExperimentConfig, tasks: list[Task], progress):
        self.epochs = config.training.epochs
        self.tasks = {t.index: t for t in tasks}
        self.total = sum(t.steps for t in tasks)
        self.of_task = dict.fromkeys(self.tasks, 0)
        self.done = 0
        self.progress = progress
        self.t0 = time.perf_counter()

    def add(self, index: int, epoch: int, steps: int) -> None:
        # a retried task's dead worker may have sent progress that its rerun sends again
        steps = min(steps, self.tasks[index].steps - self.of_task[index])
        if steps <= 0:
            return
        self.done += steps
        self.of_task[index] += steps
        self._report(self.tasks[index], epoch)

    def finish(self, task: Task) -> None:
        """A task is done: count all of its steps (diverged runs stop early, and pool tasks
        report at most every 0.1 s), and report when that moved the count."""
        left = task.steps - self.of_task[task.index]
        self.done += left
        self.of_task[task.index] = task.steps
        if left > 0:
            self._report(task, self.epochs)

    def forget(self, task: Task) -> None:
        """The task's worker died: its steps will be done again."""
        self.done -= self.of_task[task.index]
        self.of_task[task.index] = 0

    def _report(self, task: Task, epoch: int) -> None:
        if self.progress is None:
            return
        seeds = task.seeds
        self.progress(
            Progress(
                self.done,
                self.total,
                ", ".join(task.labels),
                seeds[0],
                epoch,
                self.epochs,
                time.perf_counter() - self.t0,
                seeds,
            )
        )


def run_comparison(
    config: ExperimentConfig,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    data: Dataset | None = None,
    partial: list[RunRecord] | None = None,
    lockstep: bool = True,
    executor: Executor | LocalPool | Cluster | str | None = None,
    parallel: bool | None = None,
) -> Results:
    """Train every run of ``config`` for every seed and return :class:`~nn_core.Results`.

    Runs that share a batch size train in lockstep, bit-identical to training them one by one
    (``lockstep=False``, kept as the reference and for benchmarks).

    ``executor`` says where the tasks run (:func:`nn_core.schedule.choose`): None chooses
    (``$NN_CORE_SCHEDULER`` when set, else in-process for short comparisons and the local
    process pool for longer ones); ``"inline"``, ``"local"``, a Dask scheduler address
    (``"tcp://host:8786"``), a :class:`~nn_core.schedule.LocalPool`, a
    :class:`~nn_core.schedule.Cluster` or any ``concurrent.futures.Executor``. The numbers are
    the same on every path. ``parallel=False`` is the older spelling of ``executor="inline"``
    (``True``: ``"local"``).

    ``progress`` receives a :class:`Progress` after epochs (in-process: every
    epoch; local pool: every ~0.1 s per task; Dask: per finished task). ``cancel()`` returning
    true stops the comparison and keeps everything finished: tasks not started are dropped, runs
    being trained stop after their epoch and are marked incomplete (on Dask they are dropped).
    ``data`` replaces the configured dataset (e.g. a user's CSV; it is then sent with every
    task, whereas synthetic and bundled data are rebuilt inside each task from the config).
    ``partial``, if given, receives each finished :class:`~nn_core.train.RunRecord` as soon
    as its task is done, so a caller interrupted from outside (a Streamlit rerun) can still
    build :meth:`Results.from_records` from what finished.
    """
    if executor is None and parallel is not None:
        executor = "local" if parallel else "inline"
    ship_data = data is not None
    if data is None:
        data = make_dataset(config.dataset, dtype=np.dtype(config.training.dtype))
    arch = build_architecture(config, data)
    n = len(data.X_train)
    if lockstep:
        groups = plan_groups(config, n)
    else:  # one run at a time, seed by seed
        groups = [[(run, seed)] for seed in config.seeds for run in config.runs]
    pool = executor if isinstance(executor, LocalPool) else None
    workers = pool.workers if pool is not None else schedule.LOCAL_POOL.workers
    tasks = schedule.plan(config, groups, data, ship_data, workers if lockstep else 1)
    backend = schedule.choose(executor, tasks)
    if backend.name == "inline":
        # One after another in this process, which reports and hears a cancel every epoch
        # anyway: slices of a group would only repeat its per-step work for each slice.
        tasks = schedule.plan(config, groups, data, ship_data, cut=False)
    tally = _Tally(config, tasks, progress)
    records: list[RunRecord] = []
    incomplete = {"any": False}

    def done(task: Task, got: list[RunRecord]) -> None:
        records.extend(got)
        if partial is not None:
            partial.extend(got)
        if not all(r.completed for r in got):
            incomplete["any"] = True
        tally.finish(task)

    try:
        cancelled = schedule.run_tasks(
            tasks,
            backend,
            on_epoch=tally.add,
            on_done=done,
            on_retry=tally.forget,
            cancelled=cancel if cancel is not None else lambda: False,
        )
    finally:
        backend.close()
    records = in_config_order(config, records)
    return Results.from_records(config, data, arch, records, cancelled or incomplete["any"])
