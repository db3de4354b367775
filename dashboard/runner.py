"""Running comparisons from the app: a bounded cache keyed on the configuration.

Results are deterministic for a configuration (and uploaded data), so one process-wide cache can
serve every session: a session only *looks up* the key of a comparison it ran itself, so no
session sees another's results unless it asks for the very same comparison. The cache keys on the
configuration's JSON (never on arrays, which Streamlit's own cache would hash by sampling) and is
bounded; each session also keeps its latest results in its own state, so switching pages never
retrains even if the shared cache evicted them.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

from nn_core import ExperimentConfig, Results, budget, run_comparison
from nn_core.datasets import Dataset

MAX_ENTRIES = 8


class ResultCache:
    """A thread-safe LRU cache of :class:`Results`, bounded by entries and by estimated bytes
    (``budget.results_bytes``): four large comparisons must not stay held for hours."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = budget.CACHE_BUDGET):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, Results] = OrderedDict()
        self._sizes: dict[str, int] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Results | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            return None

    def put(self, key: str, results: Results) -> None:
        size = budget.results_bytes(results)
        with self._lock:
            if size > self.max_bytes:  # larger than the whole cache: the session keeps it
                return
            self._items[key] = results
            self._sizes[key] = size
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries or self.nbytes > self.max_bytes:
                old, _ = self._items.popitem(last=False)
                self._sizes.pop(old, None)

    @property
    def nbytes(self) -> int:
        return sum(self._sizes.values())

    def __len__(self) -> int:
        return len(self._items)


CACHE = ResultCache()


def cache_key(config: ExperimentConfig, data_fingerprint: str = "") -> str:
    digest = hashlib.sha256((config.to_json() + "\n" + data_fingerprint).encode()).hexdigest()
    return digest[:32]


def run(
    config: ExperimentConfig,
    data: Dataset | None = None,
    data_fingerprint: str = "",
    progress: Callable | None = None,
    cancel: Callable[[], bool] | None = None,
    cache: ResultCache = CACHE,
    partial: list | None = None,
    executor=None,
) -> tuple[str, Results, bool]:
    """(key, results, from_cache). Cancelled comparisons are returned but not cached;
    ``partial`` collects finished runs as they complete and ``executor`` says where to train
    (see ``run_comparison``; it does not change the results, so it is not in the key)."""
    config = budget.plan(config, budget.shape_of(config, data)).config  # refuse / thin snapshots
    key = cache_key(config, data_fingerprint)
    hit = cache.get(key)
    if hit is not None:
        return key, hit, True
    results = run_comparison(
        config, progress, cancel, data=data, partial=partial, executor=executor
    )
    if not results.cancelled:
        cache.put(key, results)
    return key, results, False
