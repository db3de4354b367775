"""Both cores: a comparison's lockstep groups shared between this process and one worker.

A comparison trains in lockstep groups (:func:`nn_core.training.plan_groups`), one per batch
size. The groups are independent, so this process can train some while a worker process trains
the others, each with a single-threaded BLAS. Whether that pays is decided per comparison from an
estimate of each group's time (:func:`estimate`): the worker is used only when the split saves
more than :data:`MIN_SAVING` seconds, so small jobs stay in-process where the hand-over would cost
more than it saves.

The worker is one persistent process, ``python -m nn_core.worker``, started on first use (or
ahead of it by :func:`warm`): a fresh interpreter rather than a fork, so it neither copies a
threaded server such as Streamlit's nor re-runs the caller's main script the way
``multiprocessing``'s spawn and forkserver do. After that a job costs a pipe round trip. The
worker trains the same code on the same inputs, so results do not depend on which process
trained a group; the tests compare them bit for bit. It reports progress after every epoch and
sends each group's records as soon as the group finishes; a cancel message stops it after the
current epoch. If the worker dies, the groups it had not finished are trained here instead. One
comparison at a time uses the worker; a second, concurrent one trains in-process.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection

from .config import ExperimentConfig, RunConfig
from .datasets import Dataset
from .network import Architecture

Members = list[tuple[RunConfig, int]]

# Use the worker only when the split is estimated to save this many seconds more than sending
# the records back costs (measured: ~20 ms of hand-over on the default preset's split).
MIN_SAVING = 0.05
TRANSFER_RATE = 300e6  # bytes per second: pickling records and passing them through a pipe
MAX_CUTS = 3  # how many times the largest group may be cut in two
WORKER_START = 0.6  # seconds a new worker takes to import nn_core (measured ~0.55 s)

# A model of a group's seconds on one core, fitted (non-negative least squares, relative error)
# to 70 measured groups on this project's 2-core machine: 7 networks of 1-10 hidden layers and
# 300-66 000 weights, batch 1 to full, 1-15 runs. It predicts those within 0.77-1.47x, enough
# to balance two processes. L layers, F weights, H hidden units, R runs, B batch, N rows.
STEP_FIXED = (0.9e-6, 5.1e-6)  # per step: a + b·L
STEP_PER_RUN = (7.2e-6, 1.23e-6, 2.5e-9)  # per step and run: a + b·L + c·F (the update)
PER_WEIGHT = 4.7e-11  # per sample, run and weight: the products (×3 when training)
PER_UNIT = 1.06e-9  # per sample, run and hidden unit: element-wise work (×3 when training)
EVAL_FIXED = (3.25e-5, 2.67e-5)  # per evaluation: a·L + R·b·L


def estimate(members: Members, batch: int, arch: Architecture, n_train: int, n_val: int,
             epochs: int) -> float:  # fmt: skip
    """Estimated seconds to train one lockstep group on one core."""
    runs, layers = len(members), arch.n_layers
    weights = sum(a * b for a, b in zip(arch.sizes[:-1], arch.sizes[1:], strict=True))
    sample = PER_WEIGHT * weights + PER_UNIT * sum(arch.sizes[1:-1])
    per_run = STEP_PER_RUN[0] + STEP_PER_RUN[1] * layers + STEP_PER_RUN[2] * weights
    step = STEP_FIXED[0] + STEP_FIXED[1] * layers + runs * (per_run + 3 * batch * sample)
    evaluation = layers * (EVAL_FIXED[0] + runs * EVAL_FIXED[1]) + runs * (n_train + n_val) * sample
    return epochs * math.ceil(n_train / batch) * step + (epochs + 1) * evaluation


def split(costs: list[float]) -> tuple[list[int], list[int]]:
    """Group indices for (this process, the worker): longest first, each to the lighter side;
    this process keeps the single longest group."""
    here, there, load_here, load_there = [], [], 0.0, 0.0
    for i in sorted(range(len(costs)), key=lambda i: -costs[i]):
        if load_here <= load_there:
            here.append(i)
            load_here += costs[i]
        else:
            there.append(i)
            load_there += costs[i]
    return sorted(here), sorted(there)


def longer_side(costs: list[float], here: list[int], there: list[int]) -> float:
    return max(sum(costs[i] for i in here), sum(costs[i] for i in there))


@dataclass(frozen=True)
class Plan:
    groups: list[Members]  # possibly with a large group cut in two
    here: list[int]  # indices into groups trained by this process
    there: list[int]  # ... and by the worker
    total: float  # estimated seconds to train everything here
    here_load: float  # ... this process's share
    there_load: float  # ... the worker's share, with sending its records back

    def saving(self, start: float = 0.0) -> float:
        """Estimated seconds saved over training everything here, when the worker needs
        ``start`` seconds before it can begin (0 when it is already running)."""
        return self.total - max(self.here_load, start + self.there_load)


def balance(groups: list[Members], cost: Callable[[Members], float],
            record_bytes: Callable[[Members], float]) -> Plan:  # fmt: skip
    """Share ``groups`` between the two processes, cutting the largest group in two (its runs
    split, each half still in lockstep) while that shortens the longer side by over 3 %: a
    comparison that is one big group, or dominated by one, can use both cores too."""
    costs = [cost(g) for g in groups]
    total = sum(costs)
    here, there = split(costs)
    best = longer_side(costs, here, there)
    for _ in range(MAX_CUTS):
        big = max(range(len(groups)), key=costs.__getitem__)
        if len(groups[big]) < 2:
            break
        half = (len(groups[big]) + 1) // 2
        trial = [*groups[:big], groups[big][:half], groups[big][half:], *groups[big + 1 :]]
        trial_costs = [cost(g) for g in trial]
        h, t = split(trial_costs)
        length = longer_side(trial_costs, h, t)
        if length > 0.97 * best:
            break
        groups, costs, here, there, best = trial, trial_costs, h, t, length
    transfer = sum(record_bytes(groups[i]) for i in there) / TRANSFER_RATE
    here_load = sum(costs[i] for i in here)
    there_load = sum(costs[i] for i in there) + transfer
    return Plan(groups, here, there, total, here_load, there_load)


def running() -> bool:
    """Whether a worker process is already started (no start-up to wait for)."""
    worker = _state["worker"]
    return worker is not None and worker.alive()


def cores() -> int:
    """Cores this process may use; 1 where no worker can be started (the pipes it is driven
    through are POSIX file descriptors)."""
    if os.name != "posix":
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


# --- the worker process ------------------------------------------------------------------------


@dataclass
class Job:
    config: ExperimentConfig
    data: Dataset
    arch: Architecture
    theta0: dict
    groups: list[Members]


def serve(inbox: Connection, outbox: Connection) -> None:
    """The worker's loop (:mod:`nn_core.worker` runs it): train each job's groups, streaming
    progress and records; stop a job after its current epoch when ("cancel", job id) arrives."""
    while True:
        try:
            message = inbox.recv()
        except EOFError:
            return
        if message is None:
            return
        if message[0] != "job":  # a cancel that came after its job had finished
            continue
        _, job_id, job = message
        if _run(inbox, outbox, job_id, job):
            return


def _run(inbox: Connection, outbox: Connection, job_id: int, job: Job) -> bool:
    """Train one job; True when the parent asked the worker to quit meanwhile."""
    from .training import train_members

    state = {"cancelled": False, "quit": False}

    def on_epoch(index: int, epoch: int, steps: int) -> bool:
        outbox.send(("progress", job_id, index, epoch, steps))
        while inbox.poll():
            got = inbox.recv()
            if got is None:
                state["quit"] = state["cancelled"] = True
            elif got == ("cancel", job_id):
                state["cancelled"] = True
        return not state["cancelled"]

    try:
        for index, members in enumerate(job.groups):
            records = train_members(
                job.config,
                members,
                job.data,
                job.arch,
                job.theta0,
                lambda epoch, steps, index=index: on_epoch(index, epoch, steps),
            )
            outbox.send(("records", job_id, index, records))
            if state["cancelled"] or not all(r.completed for r in records):
                break
        outbox.send(("done", job_id))
    except Exception:
        outbox.send(("error", job_id, traceback.format_exc()))
    return state["quit"]


class Worker:
    """One worker process (``python -m nn_core.worker``) and the two pipes to it."""

    def __init__(self):
        from_parent, to_child = os.pipe()  # (read end, write end)
        from_child, to_parent = os.pipe()
        env = dict(os.environ)
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = "1"  # one core each: this process and the worker
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "nn_core.worker", str(from_parent), str(to_parent)],
                pass_fds=(from_parent, to_parent),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
        except BaseException:
            os.close(to_child)
            os.close(from_child)
            raise
        finally:
            os.close(from_parent)
            os.close(to_parent)
        self.outbox = Connection(to_child, readable=False)
        self.inbox = Connection(from_child, writable=False)
        self.job_id = 0
        self._sending = threading.Lock()  # a job and a cancel must not interleave on the pipe

    def alive(self) -> bool:
        return self.proc.poll() is None

    def submit(self, job: Job) -> None:
        """Send the job from a thread: a job larger than the pipe's buffer would otherwise hold
        this process until the worker reads it (a worker still starting takes ~0.5 s). If the
        worker is gone, :meth:`receive` says so."""
        self.job_id += 1
        threading.Thread(
            target=self._send, args=(("job", self.job_id, job),), name="nn_core-job", daemon=True
        ).start()

    def cancel(self) -> None:
        self._send(("cancel", self.job_id))

    def _send(self, message: tuple) -> None:
        with self._sending:
            try:
                self.outbox.send(message)
            except OSError:
                pass

    def receive(self, timeout: float | None) -> tuple | None:
        """The current job's next message, None when none came within ``timeout``; raises
        EOFError when the worker is gone."""
        while True:
            if not self.inbox.poll(timeout):
                if not self.alive():
                    raise EOFError("the worker process exited")
                return None
            message = self.inbox.recv()
            if message[1] == self.job_id:
                return message

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.inbox.close()
        self.outbox.close()


_lock = threading.Lock()
_state: dict[str, Worker | None] = {"worker": None}


def acquire() -> Worker | None:
    """The worker for one comparison, started on first use; None when another comparison is
    using it or no worker can be started. Give it back with :func:`release`."""
    if not _lock.acquire(blocking=False):
        return None
    try:
        worker = _state["worker"]
        if worker is None or not worker.alive():
            worker = _state["worker"] = Worker()
        return worker
    except Exception:
        _lock.release()
        return None


def release(worker: Worker, clean: bool) -> None:
    """Give the worker back; one left mid-job (``clean`` False) is killed, not reused."""
    if not clean:
        worker.kill()
        _state["worker"] = None
    _lock.release()


def shutdown() -> None:
    """Stop the worker (tests; it also stops by itself when this process exits)."""
    with _lock:
        worker = _state["worker"]
        if worker is not None:
            worker.kill()
        _state["worker"] = None


def warm() -> None:
    """Start the worker ahead of the first comparison that needs it (it loads while the caller
    goes on: starting it does not wait for it)."""
    if cores() > 1:
        worker = acquire()
        if worker is not None:
            release(worker, clean=True)
