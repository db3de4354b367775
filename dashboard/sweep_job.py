"""A learning-rate sweep trained in a background thread of one dashboard session.

The thread is owned by the session's state, never by the script run: a widget click reruns the
script but leaves the sweep going, and the page polls it. Finished runs land in an in-memory
:class:`nn_core.sweep.Store` as each task ends, so the page can draw them while the rest train,
and Cancel keeps them.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from nn_core import ExperimentConfig
from nn_core.datasets import Dataset
from nn_core.sweep import Store, SweepConfig, SweepProgress, SweepResults, run_sweep

JOB_KEY = "lab_sweep_job"


@dataclass
class SweepJob:
    config: ExperimentConfig
    sweep: SweepConfig
    data: Dataset | None = None  # an uploaded file's data; None = the configured dataset
    store: Store = field(default_factory=Store)
    progress: SweepProgress | None = None
    results: SweepResults | None = None
    error: str = ""
    started: float = field(default_factory=time.perf_counter)
    _cancel: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> SweepJob:
        self._thread = threading.Thread(target=self._work, name="sweep", daemon=True)
        self._thread.start()
        return self

    def _work(self) -> None:
        try:
            self.results = run_sweep(
                self.config,
                self.sweep,
                progress=self._on_progress,
                cancel=self._cancel.is_set,
                store=self.store,
                data=self.data,
            )
        except Exception as exc:  # shown on the page; the session goes on
            self.error = f"{type(exc).__name__}: {exc}"

    def _on_progress(self, p: SweepProgress) -> None:
        self.progress = p

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
