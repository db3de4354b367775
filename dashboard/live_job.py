"""A comparison trained live in a background thread of one dashboard session.

The thread belongs to the session's state, not to a script run, so clicks rerun the page while
training goes on. It advances a :class:`nn_core.live.LiveComparison` one epoch of every run at a
time and, at most every :data:`PUBLISH_SECONDS` (and whenever it pauses or ends), publishes the
comparison so far as a :class:`~nn_core.Results` that the pages draw. Play, Pause, Step (one
epoch) and Cancel take effect at the next epoch boundary (Cancel also within a long epoch).

Each session has its own job and its own thread: sessions never see each other's runs, and one
session's live training only shares the server's cores with the others, never blocks them.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from nn_core import ExperimentConfig, Results
from nn_core.datasets import Dataset
from nn_core.live import LiveComparison

JOB_KEY = "lab_live_job"
PUBLISH_SECONDS = 0.2  # the charts' update cadence is at most this (the page polls as often)
IDLE_SECONDS = 5.0  # paused this long, the page stops polling (until Play or Step)
PACES = {0: "full speed", 30: "30 epochs/s", 10: "10 epochs/s", 3: "3 epochs/s"}


@dataclass
class LiveJob:
    config: ExperimentConfig
    data: Dataset | None = None  # an uploaded file's data; None = the configured dataset
    name: str | None = None  # what the results are called once kept (see state.remember)
    fingerprint: str = ""  # the uploaded data's, for the result cache's key
    report: dict | None = None  # the uploaded data's report
    pace: float = 0  # epochs per second at most; 0 = as fast as it trains
    version: int = 0  # counts publications (see ``view``)
    epoch: int = 0
    epochs: int = 0
    fraction: float = 0.0
    seconds: float = 0.0  # training time so far
    eta: float | None = None
    error: str = ""
    kept: bool = False  # the session has taken the final results (state.remember)
    started: float = field(default_factory=time.perf_counter)
    _playing: bool = True
    _waiting_since: float | None = None  # when the thread began waiting for Play or Step
    _steps: int = 0  # epochs still to train while paused (Step)
    _cancel: bool = False
    _wake: threading.Condition = field(default_factory=threading.Condition)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _live: LiveComparison | None = None
    _snapshot: tuple | None = None  # the records last published
    _view: Results | None = None
    _built_version: int = -1

    def start(self, playing: bool = True) -> LiveJob:
        self._playing = playing
        self.epochs = self.config.training.epochs
        self._thread = threading.Thread(target=self._work, name="live", daemon=True)
        self._thread.start()
        return self

    # --- controls (any thread) ---------------------------------------------------------------

    def play(self) -> None:
        with self._wake:
            self._playing, self._steps = True, 0
            self._wake.notify_all()

    def pause(self) -> None:
        with self._wake:
            self._playing, self._steps = False, 0
            self._wake.notify_all()

    def step(self) -> None:
        """Train one more epoch, then pause."""
        with self._wake:
            self._playing = False
            self._steps += 1
            self._wake.notify_all()

    def cancel(self) -> None:
        with self._wake:
            self._cancel = True
            self._wake.notify_all()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def paused(self) -> bool:
        return not self._playing and self._steps == 0 and self.running

    @property
    def waiting(self) -> bool:
        """The thread is waiting for Play or Step (what it trained is published)."""
        return self._waiting_since is not None

    @property
    def idle(self) -> bool:
        """Paused for more than :data:`IDLE_SECONDS`."""
        since = self._waiting_since
        return self.paused and since is not None and time.perf_counter() - since > IDLE_SECONDS

    @property
    def cancelled(self) -> bool:
        return self._cancel

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    # --- the thread ---------------------------------------------------------------------------

    def _work(self) -> None:
        try:
            live = LiveComparison(self.config, self.data)
            self._publish(live)
            last, cost = time.perf_counter(), 0.0
            while not live.done:
                if live.epoch != self.epoch and not self._may_train():
                    self._publish(live)  # paused: show every epoch trained before waiting
                if not self._wait_turn():
                    live.stop()
                    break
                began = time.perf_counter()
                live.advance(cancel=lambda: self._cancel)
                with self._wake:
                    if self._steps:
                        self._steps -= 1
                    pausing = not self._playing and self._steps == 0
                now = time.perf_counter()
                if pausing or live.done or now - last >= max(PUBLISH_SECONDS, 2 * cost):
                    self._publish(live)
                    last = time.perf_counter()
                    cost = last - now  # publishing at most a third of the time leaves the
                    # rest to training
                if self.pace and not live.done:  # slow motion: wait out the epoch's share
                    with self._wake:
                        self._wake.wait_for(lambda: self._cancel, 1 / self.pace - (now - began))
            self._publish(live)
        except Exception as exc:  # shown on the page; the session goes on
            self.error = f"{type(exc).__name__}: {exc}"

    def _may_train(self) -> bool:
        with self._wake:
            return self._cancel or self._playing or self._steps > 0

    def _wait_turn(self) -> bool:
        """Block while paused; False when cancelled."""
        with self._wake:
            self._waiting_since = time.perf_counter()
            self._wake.wait_for(lambda: self._cancel or self._playing or self._steps > 0)
            self._waiting_since = None
            return not self._cancel

    def _publish(self, live: LiveComparison) -> None:
        """Hand the records so far to the pages (copies: cheap); their tables are built by
        :attr:`view` when a page asks, so versions nobody draws cost nothing."""
        snap = live.snapshot()
        with self._lock:
            self._live, self._snapshot = live, snap
            self.version += 1
        self.epoch = live.epoch
        self.fraction = live.steps_done / max(live.total_steps, 1)
        self.seconds = live.seconds
        left = live.epochs - live.epoch
        per_epoch = live.seconds / live.epoch if live.epoch else None
        if self.pace:
            per_epoch = max(per_epoch or 0.0, 1 / self.pace)
        self.eta = None if per_epoch is None or live.done else left * per_epoch

    @property
    def view(self) -> Results | None:
        """The comparison so far (the same object until the next publication)."""
        with self._lock:
            if self._snapshot is not None and self._built_version != self.version:
                self._view = self._live.build(self._snapshot)
                self._built_version = self.version
            return self._view

    def release(self) -> None:
        """Drop the trained groups once the results are kept elsewhere (they hold a second
        copy of every weight snapshot)."""
        with self._lock:
            self._live, self._snapshot = None, None

    @property
    def results(self) -> Results | None:
        """The final results, once the thread has ended (cancelled ones are marked so)."""
        return None if self.running else self.view
