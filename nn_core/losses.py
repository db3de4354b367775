"""Output heads: the loss on raw network outputs (logits) and its gradient, fused and stable.

======================  ==========================================  ===========================
task                    loss (mean over the batch of N rows)        ∂L/∂z
======================  ==========================================  ===========================
regression              MSE: mean over all elements of (z − y)²     2(z − y) / z.size
binary                  BCE from logit: max(z,0) − zy + log(1+e^−|z|)  (σ(z) − y) / N
multiclass              softmax CE: logsumexp(z) − z_y              (softmax(z) − onehot(y)) / N
======================  ==========================================  ===========================

Targets: regression y (N, k) float; binary y (N, 1) in {0, 1}; multiclass y (N,) integer labels.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

Array = np.ndarray

TASKS = ("regression", "binary", "multiclass")


def loss_and_grad(task: str, z: Array, y: Array) -> tuple[Array, Array]:
    """Mean loss of G networks and ∂L/∂z: ``z`` is (G, N, k) logits, ``y`` the targets shared
    by every network (N, …) or one set per network (G, N, …). Returns (values (G,), grad
    (G, N, k)); ``values`` is :func:`batched_loss`, and each network's gradient depends on its
    own logits and targets only (a single network is G = 1).

    A lone network may also pass ``z`` without the network axis, (N, k) (``y`` with or
    without it): values are then (1,) and the gradient (N, k), the same bits as for
    ``z[None]``. The loss and its gradient share one softmax (one exp per logit)."""
    if z.ndim == 2 and y.ndim > _TARGET_NDIM[task]:
        y = y[0]
    n = float(z.shape[-2])  # a float divides faster than an int, to the same value
    if task == "binary":
        return _mean(_bce_terms(z, y), z), (expit(z) - y) / n
    if task == "multiclass":
        zmax, e, s = _softmax_parts(z)
        idx = _targets(z, y)
        values = _mean(_ce_terms(z, idx, zmax, s), z)
        grad = e / s
        grad[idx] -= 1.0
        grad /= n
        return values, grad
    diff = z - y
    return _mean(diff * diff, z), (2.0 / (n * z.shape[-1])) * diff


# Axes of one network's targets: multiclass labels (N,), binary and regression (N, k).
_TARGET_NDIM = {"binary": 2, "multiclass": 1, "regression": 2}


def _bce_terms(z: Array, y: Array) -> Array:
    """max(z, 0) − zy + log(1 + e^−|z|), element by element."""
    return np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))


def _softmax_parts(z: Array) -> tuple[Array, Array, Array]:
    """(max over classes m, e = exp(z − m), Σ e), each kept with its class axis."""
    zmax = z.max(axis=-1, keepdims=True)
    e = np.exp(z - zmax)
    return zmax, e, e.sum(axis=-1, keepdims=True)


def _ce_terms(z: Array, idx: tuple, zmax: Array, s: Array) -> Array:
    """logsumexp(z) − z_y per sample: log Σ e + m − z_y."""
    return np.log(s[..., 0]) + zmax[..., 0] - z[idx]


def _mean(terms: Array, z: Array) -> Array:
    """Each network's mean of its terms (G,), reduced over its own rows only. A lone
    network's terms without the network axis are one contiguous block: summed as a whole (the
    same pairwise sum as its row of a (G, N·k) reshape), then put in a (1,) array, which costs
    less than a reduction along an axis."""
    if z.ndim == 2:
        return np.array([np.add.reduce(terms, axis=None) / terms.size])
    flat = terms.reshape(len(terms), -1)
    return np.add.reduce(flat, axis=1) / flat.shape[1]


def _targets(z: Array, y: Array) -> tuple[Array, ...]:
    """Index of each row's target logit in z (G, N, k): z[_targets(z, y)] is (G, N); for a lone
    network's z (N, k) and labels (N,), (N,)."""
    if z.ndim == 2:
        return np.arange(len(z)), y
    g, n = z.shape[:2]
    return np.arange(g)[:, None], np.arange(n), np.broadcast_to(y, (g, n))


def loss(task: str, z: Array, y: Array) -> float:
    """The mean loss alone (no gradient): :func:`batched_loss` of one network."""
    return float(batched_loss(task, z[None], y[None])[0])


def score(task: str, z: Array, y: Array) -> float:
    """Accuracy for classification, R² (coefficient of determination) for regression:
    :func:`batched_score` of one network."""
    return float(batched_score(task, z[None], y)[0])


def predict_proba(task: str, z: Array) -> Array:
    """Class probabilities (binary: P(y=1) as (N,), multiclass: (N, K)); regression: z."""
    if task == "binary":
        return expit(z[:, 0])
    if task == "multiclass":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    return z


def batched_loss(task: str, z: Array, y: Array) -> Array:
    """Mean loss of G networks at once: ``z`` is (G, N, k) logits, ``y`` the targets shared by
    every network (N, …) or one set per network (G, N, …); the result is (G,).

    Each network's loss is reduced over its own rows only, with the reduction :func:`loss` uses,
    so ``batched_loss(task, z, y)[g] == loss(task, z[g], y[g])`` exactly (a run trained in a
    group relies on it to equal the run trained alone)."""
    if task == "binary":
        terms = _bce_terms(z, y)
    elif task == "multiclass":
        zmax, _, s = _softmax_parts(z)
        terms = _ce_terms(z, _targets(z, y), zmax, s)
    else:
        diff = z - y
        terms = diff * diff
    return _mean(terms, z)


def batched_score(task: str, z: Array, y: Array) -> Array:
    """:func:`score` of G networks at once on the same targets ``y`` (N, …); the result is (G,),
    and ``batched_score(task, z, y)[g] == score(task, z[g], y)`` exactly."""
    if task == "binary":
        return _fraction((z[..., 0] > 0) == (y[:, 0] > 0.5))
    if task == "multiclass":
        return _fraction(np.argmax(z, axis=2) == y)
    res = (y - z) ** 2
    ss_res = np.add.reduce(res.reshape(len(res), -1), axis=1).astype(np.float64)  # as float()
    ss_tot = float(np.sum((y - y.mean(axis=0)) ** 2))
    if ss_tot > 0:
        return 1.0 - ss_res / ss_tot
    return np.full(len(z), np.nan)


def _fraction(hits: Array) -> Array:
    """Fraction of True per row of ``hits`` (G, N): ``np.mean(hits, axis=1)`` without its
    Python wrapper (the same float64 count divided by N: exact sums of 0/1, one rounding)."""
    return np.add.reduce(hits, axis=1, dtype=np.float64) / hits.shape[1]
