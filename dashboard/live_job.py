"""A comparison trained live for one dashboard session, in a process of its own.

The training runs :func:`nn_core.live.serve` in a separate process (the local pool's
``forkserver`` context: never a fork of the threaded server), so it never competes with the
server's sessions for Python's lock; a thread of this session relays what it sends. The job
belongs to the session's state, not to a script run, so clicks rerun the page while training
goes on. The process publishes the records so far at most every ``PUBLISH_SECONDS`` (and
whenever it pauses or ends); :attr:`LiveJob.view` turns the latest into a
:class:`~nn_core.Results` when a page draws it. Play, Pause, Step (one epoch) and Cancel take
effect at the next epoch boundary (Cancel also within a long epoch).

Each session has its own job and its own process: sessions never see each other's runs, and one
session's live training shares the machine's cores with the others but never blocks them.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from nn_core import ExperimentConfig, Results
from nn_core.data import make as make_dataset
from nn_core.datasets import Dataset
from nn_core.live import PUBLISH_SECONDS, serve
from nn_core.schedule import LocalPool
from nn_core.train import build_architecture

JOB_KEY = "lab_live_job"
IDLE_SECONDS = 5.0  # paused this long, the page stops polling (until Play or Step)
PACES = {0: "full speed", 30: "30 epochs/s", 10: "10 epochs/s", 3: "3 epochs/s"}
__all__ = ["IDLE_SECONDS", "JOB_KEY", "PACES", "PUBLISH_SECONDS", "LiveJob"]


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
    _playing: bool = True  # what was asked last (the process acts at its next epoch)
    _steps: int = 0
    _cancel: bool = False
    _waiting_since: float | None = None  # when the process said it waits for Play or Step
    _conn: object = None
    _send_lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _snapshot: tuple | None = None  # the records last published
    _view: Results | None = None
    _built_version: int = -1
    _data_arch: tuple | None = None

    def start(self, playing: bool = True) -> LiveJob:
        self._playing = playing
        self.epochs = self.config.training.epochs
        ctx = LocalPool.context()
        mine, theirs = ctx.Pipe()
        process = ctx.Process(
            target=serve,
            args=(theirs, self.config, self.data, playing, self.pace),
            name="live-training",
            daemon=True,
        )
        process.start()
        theirs.close()  # the child's end: when the child exits, our recv() ends
        self._conn = mine
        self._thread = threading.Thread(target=self._relay, args=(process,), daemon=True)
        self._thread.start()
        return self

    # --- controls (any thread) ---------------------------------------------------------------

    def _send(self, *msg) -> None:
        with self._send_lock:
            try:
                self._conn.send(msg)
            except (OSError, EOFError, BrokenPipeError, AttributeError):
                pass  # the process has ended

    def play(self) -> None:
        self._playing, self._steps = True, 0
        self._send("play")

    def pause(self) -> None:
        self._playing, self._steps = False, 0
        self._send("pause")

    def step(self) -> None:
        """Train one more epoch, then pause."""
        self._playing = False
        self._steps += 1
        self._waiting_since = None
        self._send("step")

    def cancel(self) -> None:
        self._cancel = True
        self._send("cancel")

    def set_pace(self, pace: float) -> None:
        self.pace = pace
        self._send("pace", pace)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def paused(self) -> bool:
        """Pause was asked (the process stops at its next epoch boundary)."""
        return not self._playing and self._steps == 0 and self.running

    @property
    def waiting(self) -> bool:
        """The process waits for Play or Step (what it trained is published)."""
        return self._waiting_since is not None and self.running

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

    # --- the relay thread ----------------------------------------------------------------------

    def _relay(self, process) -> None:
        try:
            while True:
                msg = self._conn.recv()
                if msg[0] == "progress":
                    self._progress(msg[1])
                elif msg[0] == "error":
                    self.error = msg[1]
                elif msg[0] == "done":
                    break
        except (EOFError, OSError):
            if not self.error and self._snapshot is None:
                self.error = "the training process ended unexpectedly"
        finally:
            self._waiting_since = None
            self._conn.close()
            process.join(5)

    def _progress(self, p: dict) -> None:
        if "snapshot" in p:
            with self._lock:
                self._snapshot = p["snapshot"]
                self.version += 1
        self.epoch, self.epochs = p["epoch"], p["epochs"]
        self.fraction, self.seconds = p["fraction"], p["seconds"]
        if p["waiting"]:
            self._steps = 0
            self._waiting_since = self._waiting_since or time.perf_counter()
        else:
            self._waiting_since = None
        left = self.epochs - self.epoch
        per_epoch = self.seconds / self.epoch if self.epoch else None
        if self.pace:
            per_epoch = max(per_epoch or 0.0, 1 / self.pace)
        self.eta = None if per_epoch is None or p["done"] else left * per_epoch

    # --- what the pages draw -------------------------------------------------------------------

    @property
    def view(self) -> Results | None:
        """The comparison so far (the same object until the next publication)."""
        with self._lock:
            if self._snapshot is not None and self._built_version != self.version:
                records, incomplete = self._snapshot
                data, arch = self._shape()
                self._view = Results.from_records(self.config, data, arch, records, incomplete)
                self._built_version = self.version
            return self._view

    def _shape(self):
        """The data and architecture the records belong to (built here, once: the process
        has its own)."""
        if self._data_arch is None:
            data = self.data
            if data is None:
                data = make_dataset(self.config.dataset, dtype=np.dtype(self.config.training.dtype))
            self._data_arch = (data, build_architecture(self.config, data))
        return self._data_arch

    def release(self) -> None:
        """Drop the last published records once the results are kept elsewhere."""
        with self._lock:
            self._snapshot = None

    @property
    def results(self) -> Results | None:
        """The final results, once training has ended (cancelled ones are marked so)."""
        return None if self.running else self.view
