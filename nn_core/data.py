"""The dataset a configuration names: a synthetic generator (:mod:`nn_core.datasets`) or a
bundled real dataset read from ``data/`` (:mod:`nn_core.tabular`).

The one place that knows both kinds, so that tabular builds on datasets and never the reverse.
"""

from __future__ import annotations

import numpy as np

from . import datasets, tabular
from .datasets import Dataset

__all__ = ["Dataset", "make"]


def make(cfg, dtype=np.float64) -> Dataset:
    """Generate and split the dataset described by a ``DatasetConfig``: a synthetic generator,
    or a bundled real dataset (``n_samples``, ``noise`` and ``classes`` do not apply to those)."""
    if cfg.name in datasets.BUNDLED:
        return tabular.load_bundled(cfg, dtype)[0]
    return datasets.make(cfg, dtype)
