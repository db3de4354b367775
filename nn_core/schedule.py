"""Cutting a comparison into tasks and handing them to a ``concurrent.futures.Executor``.

A **task** is a small picklable description of one lockstep group, or a slice of a big one
(:func:`plan`): the frozen configuration, its members as ``(run index, seed)`` pairs and, only for
data that cannot be regenerated from the configuration (an uploaded CSV), the dataset itself.
:func:`run_task` rebuilds the data, the architecture and the shared starting weights from that
description and calls :func:`nn_core.train.train_members`, the one training entry point; it
returns the group's :class:`~nn_core.train.RunRecord` list. The same function runs on every
path, so the numbers do not depend on where a task ran:

- **inline** (:class:`InlineExecutor`): in the calling thread, one task at a time (one task per
  lockstep group: :func:`nn_core.compare.run_comparison` does not cut groups it trains here);
- **local** (:class:`LocalPool`): a warm pool of worker processes on this machine, started from
  a ``forkserver`` (``spawn`` where there is none): never a fork of the caller, which may be
  Streamlit's threaded server;
- **a Dask cluster** (:func:`connect`): ``distributed.Client(address).get_executor()``.

In-process tasks set BLAS to one thread for their duration and restore it afterwards; BLAS's
thread count is a setting of the whole process, so two comparisons training in-process at the
same time in one process (two dashboard sessions) share it.

Sameness on every path: every seed reaches NumPy as a list of stable integers
(``default_rng([seed, k, ...])``, i.e. ``np.random.SeedSequence``; never ``hash()``), BLAS runs
on one thread inside every task (thread counts can change floating-point sums), and results are
keyed by the task's index, never by completion order (:mod:`nn_core.compare` sorts them by
configuration).

Talking to running tasks: a task given a :class:`Channel` reports ``(task, epoch, steps)`` after
epochs (at most every :data:`REPORT_EVERY` seconds) and stops after the current epoch once the
channel's stop flag is set; its records are then marked incomplete. In-process the channel is a
pair of callbacks; for the local pool it is a queue and an event held by a
``multiprocessing.Manager`` process that the pool starts with its workers (one per comparison
pair, so cancelling one comparison does not stop another sharing the pool). Tasks on a Dask
cluster get no channel: they report when they finish, and a cancel drops the tasks that have not
finished (tasks are about :data:`TASK_SECONDS` long, so little is lost).

Process-wide state: :data:`LOCAL_POOL`, the one :class:`LocalPool` used when a comparison is
given no executor. It holds nothing until the first comparison that wants the pool (or
:meth:`LocalPool.warm`) starts it, and it is shut down when the process exits. Everything else
here lives for one comparison.
"""

from __future__ import annotations

import atexit
import itertools
import math
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from concurrent.futures.process import BrokenProcessPool, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import blas
from .config import ExperimentConfig
from .data import make as make_dataset
from .datasets import Dataset
from .train import (
    RunRecord,
    batch_size_of,
    build_architecture,
    initial_params,
    train_members,
)

ENV_SCHEDULER = "NN_CORE_SCHEDULER"

# --- the estimate that sizes tasks and picks inline or the pool ---
# Seconds on one core ≈ Σ over runs of
#     epochs × [EPOCH_SECONDS + steps × layers × LAYER_STEP_SECONDS
#               + (3·train + val rows) × MACs × MAC_SECONDS]
# where layers = dense layers and MACs = the multiply-adds of one sample's forward pass (the
# weights); a training pass costs about three forward passes. Three constants, read off this
# project's 2-core machine: the fixed cost of an epoch (evaluation and recording calls), the
# per-layer cost of a step of the Python loop and the update, and the matrix products. It is
# an estimate within about a factor of two, which is all task sizing and the inline rule need.
EPOCH_SECONDS = 2e-4
LAYER_STEP_SECONDS = 8e-6
MAC_SECONDS = 0.3e-9
LOCKSTEP_SHARE = 0.25  # a run added to a lockstep group costs about a quarter of it alone
TASK_SECONDS = 1.0  # aim of a task's length: scheduling overhead is noise, cancel still quick
INLINE_SECONDS = 0.3  # comparisons estimated shorter than this train in-process
POOL_START_SECONDS = 0.8  # a cold pool's start-up until LocalPool measures its own
REPORT_EVERY = 0.1  # seconds between a pool task's progress messages
POLL_SECONDS = 0.05  # how often the caller looks at progress, cancel and finished tasks


class SchedulerError(Exception):
    """A Dask scheduler address that is malformed or cannot be reached (one line)."""


@dataclass(frozen=True)
class Task:
    """One unit of work: a lockstep group or a slice of one."""

    index: int  # position in the plan; results are keyed by it
    config: ExperimentConfig
    members: tuple[tuple[int, int], ...]  # (index into config.runs, seed), in group order
    data: Dataset | None = None  # shipped only when it cannot be regenerated
    seconds: float = 0.0  # estimated seconds on one core
    steps: int = 0  # optimizer steps of all members: what progress counts

    @property
    def labels(self) -> list[str]:
        return list(dict.fromkeys(self.config.runs[r].label for r, _ in self.members))

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(sorted({s for _, s in self.members}))


def estimate(
    config: ExperimentConfig, run_index: int, n_train: int, n_val: int, macs: int
) -> float:
    """Estimated seconds to train one (run, seed) on one core (see the constants above)."""
    batch = batch_size_of(config.runs[run_index], n_train)
    steps = math.ceil(n_train / batch)
    layers = len(config.network.hidden_layers) + 1
    per_epoch = (
        EPOCH_SECONDS
        + steps * layers * LAYER_STEP_SECONDS
        + (3 * n_train + n_val) * macs * MAC_SECONDS
    )
    return config.training.epochs * per_epoch


def together(costs: list[float]) -> float:
    """Estimated seconds of runs trained in one lockstep group: the longest, plus
    :data:`LOCKSTEP_SHARE` of each other (they share the per-step and per-epoch work)."""
    return max(costs) + LOCKSTEP_SHARE * (sum(costs) - max(costs)) if costs else 0.0


def plan(
    config: ExperimentConfig,
    groups: list[list[tuple[Any, int]]],
    data: Dataset,
    ship_data: bool,
    workers: int = 1,
    cut: bool = True,
) -> list[Task]:
    """Tasks for ``groups`` (from :func:`nn_core.train.plan_groups`): each group cut into
    contiguous slices of about :data:`TASK_SECONDS`, and the longest task cut further while
    there are fewer tasks than ``workers``; ``cut=False``: one task per group. Lockstep
    training of a slice gives exactly the numbers of the whole group, so cutting changes only
    the time."""
    n_train, n_val = len(data.X_train), len(data.X_val)
    sizes = (data.n_features, *config.network.hidden_layers, data.n_outputs)
    macs = sum(a * b for a, b in itertools.pairwise(sizes))
    run_of = {run.label: i for i, run in enumerate(config.runs)}
    cost = {i: estimate(config, i, n_train, n_val, macs) for i in range(len(config.runs))}
    slices: list[list[tuple[int, int]]] = []
    for group in groups:
        members = [(run_of[run.label], seed) for run, seed in group]
        seconds = together([cost[r] for r, _ in members])
        k = min(len(members), max(1, round(seconds / TASK_SECONDS))) if cut else 1
        slices.extend(_cut(members, k))
    while cut and len(slices) < workers:
        longest = max(range(len(slices)), key=lambda i: together([cost[r] for r, _ in slices[i]]))
        if len(slices[longest]) < 2:
            break
        slices[longest : longest + 1] = _cut(slices[longest], 2)
    epochs = config.training.epochs
    return [
        Task(
            index=i,
            config=config,
            members=tuple(members),
            data=data if ship_data else None,
            seconds=together([cost[r] for r, _ in members]),
            steps=sum(
                epochs * math.ceil(n_train / batch_size_of(config.runs[r], n_train))
                for r, _ in members
            ),
        )
        for i, members in enumerate(slices)
    ]


def _cut(members: list, k: int) -> list[list]:
    """``members`` in ``k`` contiguous slices whose lengths differ by at most one."""
    bounds = [round(i * len(members) / k) for i in range(k + 1)]
    return [members[a:b] for a, b in itertools.pairwise(bounds)]


# --- running one task (on any path) ---


class Channel:
    """What a running task may say and hear: progress out, a stop flag in."""

    def report(self, task: int, epoch: int, steps: int) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def stopped(self) -> bool:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass
class InlineChannel(Channel):
    """For tasks run in the caller's thread: the callbacks are called directly."""

    on_epoch: Callable[[int, int, int], None]
    cancelled: Callable[[], bool]

    def report(self, task: int, epoch: int, steps: int) -> None:
        self.on_epoch(task, epoch, steps)

    def stopped(self) -> bool:
        return self.cancelled()


@dataclass
class PoolChannel(Channel):
    """For tasks in the local pool: proxies of a ``multiprocessing.Manager`` queue and event
    (picklable; each call is a round trip to the manager, hence the throttle in
    :func:`run_task`)."""

    messages: Any  # Manager().Queue() proxy of (task, epoch, steps)
    stop: Any  # Manager().Event() proxy

    def report(self, task: int, epoch: int, steps: int) -> None:
        self.messages.put((task, epoch, steps))

    def stopped(self) -> bool:
        return self.stop.is_set()


def run_task(task: Task, channel: Channel | None = None) -> list[RunRecord]:
    """Train ``task``'s members (on whatever process the executor chose) with BLAS on one
    thread; an empty list when the comparison was cancelled before the task started."""
    if isinstance(channel, PoolChannel) and channel.stopped():
        return []  # queued in the pool before a cancel (in-process the caller just checked)
    config = task.config
    data = task.data
    if data is None:
        data = make_dataset(config.dataset, dtype=np.dtype(config.training.dtype))
    arch = build_architecture(config, data)
    theta0 = {seed: initial_params(config, arch, seed) for seed in task.seeds}
    members = [(config.runs[r], seed) for r, seed in task.members]
    on_epoch = None if channel is None else _epoch_hook(task.index, channel)
    with blas.limited(1):
        return train_members(config, members, data, arch, theta0, on_epoch)


def _epoch_hook(index: int, channel: Channel) -> Callable[[int, int], bool]:
    """``on_epoch`` for :func:`~nn_core.train.train_members`: steps are summed and sent at
    most every :data:`REPORT_EVERY` seconds (in-process: every epoch), and the stop flag is read
    as often; True means go on."""
    inline = isinstance(channel, InlineChannel)
    state = {"steps": 0, "last": time.monotonic()}

    def on_epoch(epoch: int, steps: int) -> bool:
        state["steps"] += steps
        now = time.monotonic()
        if not inline and now - state["last"] < REPORT_EVERY:
            return True
        channel.report(index, epoch, state["steps"])
        state["steps"], state["last"] = 0, now
        return not channel.stopped()

    return on_epoch


# --- executors ---


class InlineExecutor(Executor):
    """A synchronous executor: ``submit`` runs the call at once in the caller's thread."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        future.set_running_or_notify_cancel()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # a task's error surfaces from result(), as on other paths
            future.set_exception(exc)
        return future


def cores() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _start_worker() -> None:
    """Pool initializer: one BLAS thread per worker process, for the process's whole life."""
    blas.set_threads(1)


def _ready() -> int:
    return os.getpid()


class LocalPool:
    """A warm pool of worker processes on this machine, and the manager that carries progress
    and stop flags to them. Created empty; started by :meth:`warm` or the first
    :meth:`executor`; shut down by :meth:`shutdown` or when the process exits.

    Shared by every comparison that uses it (in the dashboard: every browser session, through
    ``st.cache_resource``): tasks from concurrent comparisons queue for the same workers, each
    comparison with its own progress queue and stop flag. Nothing of a comparison stays in the
    workers after its tasks return.
    """

    def __init__(self, workers: int | None = None):
        self.workers = workers or cores()
        self.startup: float | None = None  # measured seconds from start to all workers ready
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._manager: Any = None
        self._registered = False

    @staticmethod
    def context():
        """The ``forkserver`` context (``spawn`` where there is none): workers never fork the
        caller. The fork server preloads nn_core, so a worker (or a replacement for a dead one)
        starts in milliseconds; it is started once per process, by the first pool."""
        if "forkserver" in multiprocessing.get_all_start_methods():
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["nn_core.schedule"])
            return ctx
        return multiprocessing.get_context("spawn")

    def running(self) -> bool:
        return self._executor is not None

    def executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = self._start()
            return self._executor

    def _start(self) -> ProcessPoolExecutor:
        if not self._registered:
            atexit.register(self.shutdown)
            self._registered = True
        t0 = time.perf_counter()
        pool = ProcessPoolExecutor(
            self.workers, mp_context=self.context(), initializer=_start_worker
        )
        # one call per worker starts them all now; the first start is timed for the rule in
        # nn_core.schedule.choose (the pool is worth its start-up only for longer comparisons)
        ready = [pool.submit(_ready) for _ in range(self.workers)]
        if self.startup is None:
            pending = {"n": len(ready)}

            def done(_f, pending=pending):
                pending["n"] -= 1
                if pending["n"] == 0 and self.startup is None:
                    self.startup = time.perf_counter() - t0

            for f in ready:
                f.add_done_callback(done)
        return pool

    def warm(self) -> None:
        """Start the workers now (returns at once; they load while the caller goes on). Not in
        a worker process: one that imports its parent's unguarded main script must not start a
        pool of its own (it would outlive the parent)."""
        in_worker = multiprocessing.parent_process() is not None
        if self.workers > 1 and not self.running() and not in_worker:

            def start():
                self.executor()
                self.channel_ready()

            threading.Thread(target=start, daemon=True, name="nn_core-warm").start()

    def channel_ready(self) -> None:
        with self._lock:
            if self._manager is None:
                self._manager = self.context().Manager()

    def channel(self) -> PoolChannel:
        """A fresh progress queue and stop flag for one comparison."""
        self.channel_ready()
        return PoolChannel(self._manager.Queue(), self._manager.Event())

    def restart(self, broken: Executor) -> ProcessPoolExecutor:
        """A new pool in place of ``broken`` (a worker died); idempotent when several
        comparisons notice the same broken pool."""
        with self._lock:
            if self._executor is broken or self._executor is None:
                if self._executor is not None:
                    self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = self._start()
            return self._executor

    def shutdown(self) -> None:
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None
            if self._manager is not None:
                self._manager.shutdown()
                self._manager = None


LOCAL_POOL = LocalPool()  # the only process-wide object of nn_core (see the module docstring)


# --- Dask ---


def scheduler_address(text: str) -> str:
    """``text`` as a Dask scheduler address (``tcp://host:port``; a bare ``host:port`` gets
    ``tcp://``); raises :class:`SchedulerError` when it cannot be one."""
    address = text.strip()
    if "://" not in address:
        address = "tcp://" + address
    protocol, _, rest = address.partition("://")
    host, _, port = rest.rpartition(":")
    if protocol not in ("tcp", "tls", "inproc", "ucx") or not host or not port.isdigit():
        raise SchedulerError(
            f"{text!r} is not a Dask scheduler address; expected tcp://HOST:PORT, "
            "e.g. tcp://127.0.0.1:8786"
        )
    return address


@dataclass
class Cluster:
    """A connection to a Dask scheduler and its ``concurrent.futures`` executor."""

    address: str
    client: Any
    executor: Executor = field(init=False)

    def __post_init__(self):
        # retries=1: a task whose worker died, or that failed, runs once more elsewhere;
        # pure=False: every task is new work (never deduplicated against an older one)
        self.executor = self.client.get_executor(retries=1, pure=False)

    def close(self) -> None:
        self.client.close()


def connect(address: str, timeout: float = 5.0) -> Cluster:
    """Connect to the Dask scheduler at ``address``; :class:`SchedulerError` (one line) when
    ``distributed`` is missing or the scheduler does not answer within ``timeout`` seconds."""
    address = scheduler_address(address)
    try:
        from distributed import Client
    except ImportError:
        raise SchedulerError(
            "running on a cluster needs the 'distributed' package (pip install distributed)"
        ) from None
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SchedulerError(f"cannot reach the Dask scheduler at {address}: {reason}") from None
    return Cluster(address, client)


# --- choosing a path and running the tasks ---


@dataclass
class Backend:
    """Where one comparison's tasks run."""

    name: str  # "inline", "local", "dask" or "executor" (one the caller gave)
    executor: Executor
    window: int  # tasks handed to the executor at a time (the rest wait here: cancel is free)
    channel: Channel | None = None  # for pool tasks; inline tasks get theirs from run_tasks
    pool: LocalPool | None = None  # to replace a broken pool
    close: Callable[[], None] = lambda: None


def choose(
    executor: Executor | LocalPool | Cluster | str | None,
    tasks: list[Task],
) -> Backend:
    """The backend for ``tasks``.

    ``executor`` None: ``$NN_CORE_SCHEDULER`` when set, else this machine by the rule below
    with :data:`LOCAL_POOL`; a :class:`LocalPool`: this machine by the rule with that pool;
    ``"inline"`` or ``"local"`` (:data:`LOCAL_POOL`) force one; a scheduler address, a
    :class:`Cluster` or any other ``concurrent.futures.Executor`` run every task there.

    The rule: the pool when there are at least two tasks and two workers and the comparison is
    estimated (:func:`estimate`) to take more than :data:`INLINE_SECONDS` on one core, plus the
    pool's start-up when it is not running yet (measured by the pool the first time it starts,
    :data:`POOL_START_SECONDS` before that); otherwise, and always inside a worker process
    (never a pool of pools), inline: a short comparison would spend
    more on handing tasks over than it saves."""
    pool = LOCAL_POOL
    if executor is None:
        executor = os.environ.get(ENV_SCHEDULER, "").strip() or None
    if isinstance(executor, LocalPool):
        pool, executor = executor, None
    if executor is None and multiprocessing.parent_process() is not None:
        executor = "inline"  # already a worker process: never a pool of pools
    if executor is None:
        total = sum(t.seconds for t in tasks)
        start = 0.0 if pool.running() else (pool.startup or POOL_START_SECONDS)
        wanted = len(tasks) > 1 and pool.workers > 1 and total > INLINE_SECONDS + start
        executor = "local" if wanted else "inline"
    if executor == "inline":
        return Backend("inline", InlineExecutor(), window=1)
    if executor == "local":
        return Backend(
            "local", pool.executor(), 2 * pool.workers, channel=pool.channel(), pool=pool
        )
    if isinstance(executor, str):
        cluster = connect(executor)
        return Backend("dask", cluster.executor, window=len(tasks), close=cluster.close)
    if isinstance(executor, Cluster):
        return Backend("dask", executor.executor, window=len(tasks))
    if isinstance(executor, Executor):
        return Backend("executor", executor, window=len(tasks))
    raise TypeError(f"executor: an Executor, 'inline', 'local' or an address, not {executor!r}")


def run_tasks(
    tasks: list[Task],
    backend: Backend,
    on_epoch: Callable[[int, int, int], None],
    on_done: Callable[[Task, list[RunRecord]], None],
    on_retry: Callable[[Task], None],
    cancelled: Callable[[], bool],
) -> bool:
    """Run ``tasks`` on ``backend``, longest first; True when cancelled.

    ``on_epoch(task index, epoch, steps)`` reports progress inside tasks (in-process and on the
    local pool); ``on_done(task, records)`` is called in this thread as each task finishes, in
    completion order (the caller orders the records); ``on_retry(task)`` when a task is
    resubmitted because its worker process died (once per task; a second death raises).
    ``cancelled()`` is polled; once true, tasks not started are dropped, running ones are told
    to stop after their current epoch (and their partial records are kept), and a failure or
    exception in the caller's callbacks does the same on the way out."""
    # In-process the tasks run in plan order; elsewhere longest first, so that the last task to
    # finish is a short one. pop() takes from the end.
    waiting = list(reversed(tasks))
    if backend.name != "inline":
        waiting.sort(key=lambda t: t.seconds)
    running: dict[Future, Task] = {}
    retried: set[int] = set()
    executor = backend.executor
    channel = backend.channel
    stop = {"asked": False}

    def asked() -> bool:
        if not stop["asked"] and cancelled():
            stop["asked"] = True
        return stop["asked"]

    if backend.name == "inline":
        channel = InlineChannel(on_epoch, asked)

    def submit(task: Task) -> None:
        nonlocal executor
        args = (task,) if channel is None else (task, channel)
        try:
            running[executor.submit(run_task, *args)] = task
        except BrokenProcessPool:  # a worker died while the pool was idle
            if backend.pool is None:
                raise
            executor = backend.executor = backend.pool.restart(executor)
            running[executor.submit(run_task, *args)] = task

    finished = False
    try:
        while (waiting or running) and not asked():
            while waiting and len(running) < backend.window:
                submit(waiting.pop())
            done, _ = wait(list(running), timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            _drain(channel, on_epoch)
            for future in _in_order(done, running):
                task = running.pop(future)
                try:
                    records = future.result()
                except BrokenProcessPool:
                    if backend.pool is None or task.index in retried:
                        again = " again" if task.index in retried else ""
                        raise RuntimeError(
                            f"a worker process died{again} while training {', '.join(task.labels)}"
                        ) from None
                    retried.add(task.index)
                    executor = backend.executor = backend.pool.restart(executor)
                    on_retry(task)
                    waiting.append(task)  # next to go
                    continue
                on_done(task, records)
        finished = True
    finally:
        # only pool tasks hear the stop flag; elsewhere a running task is not waited for
        _stop(running, channel, wait_for_running=finished and isinstance(channel, PoolChannel))
        if finished:
            for future, task in list(running.items()):
                if not future.done():
                    continue
                try:
                    records = future.result()
                except Exception:  # a cancelled or broken task: nothing to keep
                    continue
                on_done(task, records)
            _drain(channel, on_epoch)
    return stop["asked"]


def _in_order(done: Iterable[Future], running: dict[Future, Task]) -> list[Future]:
    return sorted(done, key=lambda f: running[f].index)


def _drain(channel: Channel | None, on_epoch: Callable[[int, int, int], None]) -> None:
    """Pass the pool's waiting progress messages on."""
    if not isinstance(channel, PoolChannel):
        return
    while True:
        try:
            task, epoch, steps = channel.messages.get_nowait()
        except (queue.Empty, OSError, EOFError):
            return
        on_epoch(task, epoch, steps)


def _stop(running: dict[Future, Task], channel: Channel | None, wait_for_running: bool) -> None:
    """Cancel what has not started; tell running pool tasks to stop after their epoch and, when
    asked, wait for them (their partial records are kept)."""
    if isinstance(channel, PoolChannel) and running:
        try:
            channel.stop.set()
        except (OSError, EOFError):
            pass
    for future in list(running):
        if future.cancel():
            del running[future]
    if wait_for_running and running:
        wait(list(running))
