"""Seeded synthetic datasets and the train/validation split.

Each generator takes ``(rng, n, noise, classes)`` and returns ``X`` (n, d) and ``y``: integer class
labels (n,) for classification, float targets (n, 1) for regression. The split is stratified for
classes, and features are standardised with the *training* mean and standard deviation only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Array = np.ndarray


def _moons(rng, n, noise, classes):
    n_out = n // 2
    n_in = n - n_out
    t_out = np.linspace(0, np.pi, n_out)
    t_in = np.linspace(0, np.pi, n_in)
    X = np.vstack(
        [
            np.column_stack([np.cos(t_out), np.sin(t_out)]),
            np.column_stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5]),
        ]
    )
    y = np.concatenate([np.zeros(n_out, int), np.ones(n_in, int)])
    return X + noise * rng.standard_normal(X.shape), y


def _circles(rng, n, noise, classes):
    n_out = n // 2
    n_in = n - n_out
    t_out = rng.uniform(0, 2 * np.pi, n_out)
    t_in = rng.uniform(0, 2 * np.pi, n_in)
    X = np.vstack(
        [
            np.column_stack([np.cos(t_out), np.sin(t_out)]),
            0.5 * np.column_stack([np.cos(t_in), np.sin(t_in)]),
        ]
    )
    y = np.concatenate([np.zeros(n_out, int), np.ones(n_in, int)])
    return X + noise * rng.standard_normal(X.shape), y


def _spirals(rng, n, noise, classes):
    y = np.arange(n) % classes
    r = rng.uniform(0.05, 1.0, n)
    theta = 4.0 * r + y * (2 * np.pi / classes) + noise * rng.standard_normal(n)
    return np.column_stack([r * np.sin(theta), r * np.cos(theta)]), y


def _xor(rng, n, noise, classes):
    X = rng.uniform(-1, 1, (n, 2))
    y = ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(int)
    return X + noise * rng.standard_normal(X.shape), y


def _blobs(rng, n, noise, classes):
    angles = 2 * np.pi * np.arange(classes) / classes
    centres = 3.0 * np.column_stack([np.cos(angles), np.sin(angles)])
    y = np.arange(n) % classes
    return centres[y] + noise * rng.standard_normal((n, 2)), y


def _sine(rng, n, noise, classes):
    x = rng.uniform(-3, 3, (n, 1))
    return x, np.sin(x) + noise * rng.standard_normal((n, 1))


@dataclass(frozen=True)
class Generator:
    name: str
    label: str
    task: str  # "classification" or "regression"
    default_noise: float
    make: Callable
    description: str


DATASETS: dict[str, Generator] = {
    g.name: g
    for g in [
        Generator("moons", "Two moons", "classification", 0.2, _moons, "two interleaving arcs"),
        Generator("circles", "Circles", "classification", 0.1, _circles, "a ring around a disc"),
        Generator("spirals", "Spirals", "classification", 0.2, _spirals, "k interleaved arms"),
        Generator("xor", "XOR", "classification", 0.05, _xor, "opposite quadrants share a class"),
        Generator("blobs", "Gaussian blobs", "classification", 1.0, _blobs, "k Gaussian clusters"),
        Generator("sine", "Noisy sine", "regression", 0.1, _sine, "y = sin(x) + noise"),
    ]
}


@dataclass(frozen=True)
class Dataset:
    """A split, standardised dataset ready for training.

    ``y_*`` is in the form the loss wants: (n, 1) floats for regression and binary tasks,
    (n,) integer labels for multiclass.
    """

    name: str
    task: str  # "regression" | "binary" | "multiclass"
    X_train: Array
    y_train: Array
    X_val: Array
    y_val: Array
    n_classes: int  # 0 for regression
    feature_names: tuple[str, ...]
    mean: Array  # training-set feature means used for standardisation
    std: Array
    class_names: tuple[str, ...] = ()

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    @property
    def n_outputs(self) -> int:
        return self.n_classes if self.task == "multiclass" else 1


def split(
    X: Array, y: Array, val_fraction: float, rng: np.random.Generator, stratify: bool
) -> tuple[Array, Array]:
    """Indices (train, val). Stratified: each class contributes round(val_fraction·n_c) rows."""
    n = len(X)
    if val_fraction <= 0:
        return np.arange(n), np.array([], dtype=int)
    if not stratify:
        perm = rng.permutation(n)
        n_val = max(1, round(val_fraction * n))
        return np.sort(perm[n_val:]), np.sort(perm[:n_val])
    train, val = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = round(val_fraction * len(idx))
        k = min(k, len(idx) - 1)  # keep at least one training row per class
        val.append(idx[:k])
        train.append(idx[k:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def prepare(
    name: str,
    X: Array,
    y: Array,
    classification: bool,
    val_fraction: float,
    rng: np.random.Generator,
    feature_names: tuple[str, ...] | None = None,
    class_names: tuple[str, ...] = (),
    dtype=np.float64,
) -> Dataset:
    """Split (stratified for classes) and standardise with training statistics."""
    tr, va = split(X, y, val_fraction, rng, stratify=classification)
    mean = X[tr].mean(axis=0)
    std = X[tr].std(axis=0)
    std = np.where(std > 0, std, 1.0)

    def norm(rows):
        return ((X[rows] - mean) / std).astype(dtype)

    if classification:
        n_classes = int(y.max()) + 1
        task = "binary" if n_classes == 2 else "multiclass"
        if task == "binary":
            ys = (y.astype(dtype)[tr, None], y.astype(dtype)[va, None])
        else:
            ys = (y[tr].astype(np.intp), y[va].astype(np.intp))
    else:
        n_classes, task = 0, "regression"
        yy = y.reshape(len(y), -1).astype(dtype)
        ys = (yy[tr], yy[va])
    names = feature_names or tuple(f"x{i + 1}" for i in range(X.shape[1]))
    return Dataset(
        name, task, norm(tr), ys[0], norm(va), ys[1], n_classes, names, mean, std, class_names
    )


def make(cfg, dtype=np.float64) -> Dataset:
    """Generate and split the synthetic dataset described by a ``DatasetConfig``."""
    gen = DATASETS[cfg.name]
    rng = np.random.default_rng([cfg.seed, 0])
    noise = gen.default_noise if cfg.noise is None else cfg.noise
    X, y = gen.make(rng, cfg.n_samples, noise, cfg.classes)
    classification = gen.task == "classification"
    return prepare(
        cfg.name,
        X,
        y,
        classification,
        cfg.val_fraction,
        np.random.default_rng([cfg.seed, 1]),
        dtype=dtype,
    )
