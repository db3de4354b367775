"""A comparison trained epoch by epoch, so that someone can watch it: play, pause, one epoch at a
time, stop.

:class:`LiveComparison` holds every lockstep group of a comparison (:func:`train.plan_groups`)
and moves them forward together: :meth:`~LiveComparison.advance` trains *one* epoch of every
group with the engine's own :func:`train.train_epoch`, so after it returns every run has the
same number of epochs and :meth:`~LiveComparison.results` can be drawn. The numbers are those of
:func:`nn_core.compare.run_comparison`: the same groups, starting points and generators, one
epoch of a group after another instead of all of a group's epochs at once (groups share
nothing). Each group's clock runs only while it trains, so the recorded seconds leave out the
other groups' epochs and any pause.

Everything runs in the caller's thread with NumPy's BLAS on one thread, as every task of a
comparison does. The object is not thread-safe: one thread advances it; others read only what
:meth:`~LiveComparison.results` returned (built from copies of the records).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from . import blas
from .config import ExperimentConfig
from .data import make as make_dataset
from .datasets import Dataset
from .results import Results
from .train import (
    CHECK_SECONDS,
    RunRecord,
    begin,
    build_architecture,
    finish,
    in_config_order,
    initial_params,
    pause_clock,
    plan_groups,
    resume_clock,
    start_group,
    train_epoch,
)


class LiveComparison:
    """Every run of ``config``, trained one epoch at a time by :meth:`advance`."""

    def __init__(self, config: ExperimentConfig, data: Dataset | None = None):
        if data is None:
            data = make_dataset(config.dataset, dtype=np.dtype(config.training.dtype))
        self.config, self.data = config, data
        self.arch = build_architecture(config, data)
        theta0 = {seed: initial_params(self.config, self.arch, seed) for seed in config.seeds}
        plan = plan_groups(config, len(data.X_train))
        self.groups = [start_group(config, members, data, self.arch, theta0) for members in plan]
        self.epoch = 0
        self.epochs = config.training.epochs
        self.stopped = False
        self.seconds = 0.0  # time spent training (the sum of advance() calls)
        started = time.perf_counter()
        with blas.limited(1):
            for g in self.groups:
                begin(g)
                pause_clock(g)
        self.seconds += time.perf_counter() - started

    @property
    def done(self) -> bool:
        """Nothing is left to train: the last epoch is done, every run diverged, or stopped."""
        return self.stopped or self.epoch >= self.epochs or not any(self._training())

    def _training(self):
        return [g for g in self.groups if g.active and not g.stopped]

    @property
    def steps_done(self) -> int:
        return sum(g.step * len(g.members) for g in self.groups)

    @property
    def total_steps(self) -> int:
        return sum(g.n_steps * self.epochs * len(g.members) for g in self.groups)

    def advance(self, cancel: Callable[[], bool] | None = None) -> bool:
        """Train the next epoch of every group still training; True while more is left.
        ``cancel()`` is also asked within long epochs (every ~0.2 s): true stops every run
        where it is, keeping its finished epochs (the runs are then marked incomplete)."""
        if self.done:
            return False
        epoch = self.epoch + 1
        hook = None
        if cancel is not None:

            def hook(_epoch: int, _steps: int) -> bool:
                return not cancel()

        started = time.perf_counter()
        with blas.limited(1):
            for g in self._training():
                resume_clock(g)
                train_epoch(g, epoch, hook, CHECK_SECONDS)
                pause_clock(g)
                if g.stopped:
                    self.stop()
                    break
        self.seconds += time.perf_counter() - started
        self.epoch = epoch
        return not self.done

    def stop(self) -> None:
        """Train no more: the runs still training keep what they have, marked incomplete."""
        self.stopped = True
        for g in self.groups:
            g.stopped = g.stopped or g.active

    def snapshot(self) -> tuple[list[RunRecord], bool]:
        """(copies of every run's record so far, in the configuration's order — seed, then run,
        as :func:`~nn_core.compare.run_comparison` orders them —, whether the comparison is
        incomplete: still training, stopped, or a run was cut short). Cheap: the lists are
        copied, their items shared (never changed once appended)."""
        out = []
        for g in self.groups:
            if self.done:
                finish(g)  # the wall time and "completed" of each record, as a plain run
            for m in g.members:
                # not copy.copy, which would go through RunRecord's compact pickling
                rec = RunRecord(
                    **{k: list(v) if isinstance(v, list) else v for k, v in vars(m.record).items()}
                )
                if not self.done:
                    rec.wall = g.elapsed()
                out.append(rec)
        out = in_config_order(self.config, out)
        incomplete = not self.done or self.stopped or not all(r.completed for r in out)
        return out, incomplete

    def build(self, snapshot: tuple[list[RunRecord], bool]) -> Results:
        """The :class:`~nn_core.Results` of a :meth:`snapshot` (any thread may build it)."""
        records, incomplete = snapshot
        return Results.from_records(self.config, self.data, self.arch, records, incomplete)

    def results(self) -> Results:
        """The comparison as far as it has trained (``cancelled`` until it is done and was not
        stopped); when done, the same tables as ``run_comparison`` (timings aside)."""
        return self.build(self.snapshot())


# --- serving a live comparison from another process ---------------------------------------------

PUBLISH_SECONDS = 0.2  # publish at most this often (and when pausing or done)
PAUSE_LIMIT = 30 * 60  # a comparison left paused this long, or by a gone parent, is stopped


def serve(conn, config: ExperimentConfig, data: Dataset | None, playing: bool, pace: float):
    """Train ``config`` live for whoever holds the other end of ``conn`` (a
    ``multiprocessing`` connection): the dashboard runs this in a process of its own, so the
    training never competes with the server for Python's lock.

    Receives ``("play",)``, ``("pause",)``, ``("step",)`` (one epoch, then pause),
    ``("cancel",)`` and ``("pace", epochs_per_second)`` (0: full speed); they take effect at the
    next epoch boundary (cancel also within a long epoch). Sends ``("progress", dict)`` with
    ``epoch``, ``epochs``, ``fraction``, ``seconds`` (training time), ``waiting`` and, when
    published, ``snapshot`` (:meth:`LiveComparison.snapshot`); ``("error", text)`` if
    training fails; and ``("done",)`` last. Publishes at most every :data:`PUBLISH_SECONDS`
    (or twice what publishing costs), and always on pausing and at the end."""
    ctl = {"playing": playing, "steps": 0, "cancel": False, "pace": pace}

    def handle(msg) -> None:
        kind = msg[0]
        if kind == "play":
            ctl.update(playing=True, steps=0)
        elif kind == "pause":
            ctl.update(playing=False, steps=0)
        elif kind == "step":
            ctl.update(playing=False, steps=ctl["steps"] + 1)
        elif kind == "cancel":
            ctl["cancel"] = True
        elif kind == "pace":
            ctl["pace"] = float(msg[1])

    def drain() -> None:
        while conn.poll():
            handle(conn.recv())

    def may_train() -> bool:
        return ctl["cancel"] or ctl["playing"] or ctl["steps"] > 0

    def send(live: LiveComparison, snapshot: bool, waiting: bool = False) -> None:
        conn.send((
            "progress",
            {
                "epoch": live.epoch,
                "epochs": live.epochs,
                "fraction": live.steps_done / max(live.total_steps, 1),
                "seconds": live.seconds,
                "waiting": waiting,
                "done": live.done,
                **({"snapshot": live.snapshot()} if snapshot else {}),
            },
        ))  # fmt: skip

    try:
        live = LiveComparison(config, data)
        send(live, True)
        published, last, cost = 0, time.perf_counter(), 0.0
        while not live.done:
            drain()
            if not may_train():
                send(live, live.epoch != published, waiting=True)
                published = live.epoch
                started = time.perf_counter()
                while not may_train():  # paused: wait for Play, Step or Cancel
                    if not conn.poll(PAUSE_LIMIT - (time.perf_counter() - started)):
                        ctl["cancel"] = True  # left paused (or the parent is gone)
                        break
                    handle(conn.recv())
                send(live, False)
            if ctl["cancel"]:
                live.stop()
                break
            began = time.perf_counter()
            live.advance(cancel=lambda: drain() or ctl["cancel"])
            if ctl["steps"]:
                ctl["steps"] -= 1
            drain()
            now = time.perf_counter()
            pausing = not may_train()
            if pausing or live.done or now - last >= max(PUBLISH_SECONDS, 2 * cost):
                send(live, True)
                published, last = live.epoch, time.perf_counter()
                cost = last - now
            elif ctl["pace"]:
                send(live, False)  # the epoch counter moves on every epoch in slow motion
            if ctl["pace"] and not live.done:  # slow motion: wait out the epoch's share
                end = began + 1 / ctl["pace"]
                while not ctl["cancel"] and (left := end - time.perf_counter()) > 0:
                    if conn.poll(left):
                        handle(conn.recv())
        send(live, True)
    except (EOFError, BrokenPipeError, OSError):
        return  # the parent is gone
    except Exception as exc:  # the parent shows it; nothing is left running
        try:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
        except (EOFError, BrokenPipeError, OSError):
            return
    try:
        conn.send(("done",))
    except (EOFError, BrokenPipeError, OSError):
        pass
    finally:
        conn.close()
