"""The network's own loss landscape on a 2-D plane through the common starting point.

All runs of one seed start from the same weights θ₀, so one plane can hold every run's path:

    θ(a, b) = θ₀ + a·d₁ + b·d₂

Directions:

- ``"pca"``: the top two principal directions of all runs' pooled trajectories, centred at θ₀
  (right singular vectors of the matrix whose rows are θₜ − θ₀). Orthonormal.
- ``"random"``: filter-normalised Gaussian directions (Li et al., 2018, "Visualizing the Loss
  Landscape of Neural Nets"): for each unit (column of Wₗ) the random direction is rescaled to
  the norm of that unit's weights in the reference point (the mean of the runs' final weights);
  bias and PReLU-slope directions are zero.

Fidelity is reported honestly: ``explained`` is the fraction of Σ‖θₜ − θ₀‖² that the plane
captures, and each path point carries ``distance`` = ‖θₜ − θ₀ − (a d₁ + b d₂)‖ (how far the real
weights are from the drawn point) and ``relative_distance`` = distance / ‖θₜ − θ₀‖.
The grid holds the training loss (data term, evaluation mode) at every plane point, evaluated
for many points at once with one batched matrix product per layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import losses
from .network import Architecture, Layout, Network

Array = np.ndarray

MAX_GRID = 201
DIRECTIONS = ("pca", "random")
_CHUNK_FLOATS = 16_000_000  # bound the batched forward's working memory (~128 MB)


def batched_loss(arch: Architecture, thetas: Array, X: Array, y: Array) -> Array:
    """Evaluation-mode data loss of G parameter vectors ``thetas`` (G, P) on (X, y): (G,).

    Chunks of parameter vectors go through :class:`nn_core.network.Network` as its rows, sized
    so that the activations a forward pass keeps stay under ``_CHUNK_FLOATS``."""

    per_network = 3 * len(X) * sum(arch.sizes)  # inputs, pre-activations and outputs per layer
    chunk = max(1, _CHUNK_FLOATS // per_network)
    out = np.empty(len(thetas))
    with np.errstate(all="ignore"):
        for lo in range(0, len(thetas), chunk):
            logits = Network(arch, thetas[lo : lo + chunk]).logits(X)
            out[lo : lo + len(logits)] = losses.batched_loss(arch.task, logits, y)
    return out


@dataclass(frozen=True)
class Plane:
    origin: Array  # θ₀ (P,)
    d1: Array
    d2: Array
    method: str
    explained: float  # fraction of the pooled trajectory variance (about θ₀) in the plane

    def project(self, thetas: Array) -> tuple[Array, Array, Array, Array]:
        """Least-squares plane coordinates (a, b), distance from the plane and relative distance
        for each row of ``thetas`` (T, P)."""
        diff = thetas - self.origin
        basis = np.stack([self.d1, self.d2], axis=1)  # (P, 2)
        coef, *_ = np.linalg.lstsq(basis, diff.T, rcond=None)
        resid = diff - (basis @ coef).T
        dist = np.linalg.norm(resid, axis=1)
        norm = np.linalg.norm(diff, axis=1)
        rel = np.divide(dist, norm, out=np.zeros_like(dist), where=norm > 0)
        return coef[0], coef[1], dist, rel

    def points(self, a: Array, b: Array) -> Array:
        return self.origin + np.outer(a, self.d1) + np.outer(b, self.d2)


def pca_plane(origin: Array, trajectories: list[Array]) -> Plane:
    """Top-2 principal directions of the pooled trajectories about ``origin``."""
    diff = np.concatenate(trajectories) - origin
    total = float(np.sum(diff * diff))
    if total == 0.0:
        raise ValueError("the weights never moved: there is no plane to show")
    _, s, vt = np.linalg.svd(diff, full_matrices=False)
    d2 = vt[1] if len(vt) > 1 else _orthogonal(vt[0])
    explained = float(np.sum(s[:2] ** 2) / total)
    return Plane(origin, vt[0], d2, "pca", explained)


def _orthogonal(v: Array) -> Array:
    e = np.zeros_like(v)
    e[np.argmin(np.abs(v))] = 1.0
    e -= (e @ v) * v
    return e / np.linalg.norm(e)


def random_plane(
    arch: Architecture, origin: Array, trajectories: list[Array], rng: np.random.Generator
) -> Plane:
    """Filter-normalised random directions (Li et al., 2018) about ``origin``."""
    layout = Layout.of(arch)
    ref = np.mean([t[-1] for t in trajectories], axis=0)
    dirs = []
    for _ in range(2):
        d = np.zeros_like(origin)
        for ws, shape in zip(layout.w_slices, layout.w_shapes, strict=True):
            r = rng.standard_normal(shape)
            w = ref[ws].reshape(shape)
            unit_norm = np.linalg.norm(w, axis=0)
            unit_norm = np.where(unit_norm > 0, unit_norm, 1.0)
            r *= unit_norm / np.linalg.norm(r, axis=0)
            d[ws] = r.ravel()
        dirs.append(d)
    plane = Plane(origin, dirs[0], dirs[1], "random", 0.0)
    pooled = np.concatenate(trajectories)
    dist = plane.project(pooled)[2]
    total = float(np.sum((pooled - origin) ** 2))
    explained = 1.0 - float(np.sum(dist**2)) / total if total > 0 else 0.0
    return Plane(origin, dirs[0], dirs[1], "random", explained)


@dataclass(frozen=True)
class Landscape:
    plane: Plane
    seed: int
    a: Array  # grid coordinates along d₁ (n,)
    b: Array  # grid coordinates along d₂ (n,)
    loss: Array  # (n_b, n_a): loss[i, j] at (a[j], b[i])
    paths: pd.DataFrame  # run, optimizer, seed, epoch, a, b, loss, loss_plane, distance, ...

    def grid_frame(self) -> pd.DataFrame:
        """Tidy grid: one row per (a, b) with its loss."""
        A, B = np.meshgrid(self.a, self.b)
        return pd.DataFrame({"a": A.ravel(), "b": B.ravel(), "loss": self.loss.ravel()})


def compute(
    results,
    seed: int | None = None,
    method: str = "pca",
    resolution: int = 41,
    margin: float = 0.25,
) -> Landscape:
    """The loss surface on the shared plane and every run's projected path for one seed.

    ``results`` is a :class:`nn_core.Results` (weight snapshots are taken at its
    ``snapshot_every`` cadence). The grid spans the projected paths plus ``margin`` of their
    extent on each side. Path rows: run, optimizer, seed, epoch, a, b, loss (true training loss
    at the recorded weights), loss_plane (the surface's value at the projected point), distance,
    relative_distance, explained.
    """
    if method not in DIRECTIONS:
        raise ValueError(f"unknown direction method {method!r}; allowed: {', '.join(DIRECTIONS)}")
    if not 3 <= resolution <= MAX_GRID:
        raise ValueError(f"resolution must be between 3 and {MAX_GRID}, got {resolution}")
    seeds = sorted({s for (_, s) in results.snapshots})
    seed = seeds[0] if seed is None else seed
    if seed not in seeds:
        raise ValueError(f"no runs for seed {seed}; recorded seeds: {seeds}")
    keys = [k for k in results.snapshots if k[1] == seed]
    trajs = [_finite(results.snapshots[k][1]) for k in keys]
    origin = trajs[0][0]
    if method == "pca":
        plane = pca_plane(origin, trajs)
    else:
        plane = random_plane(results.arch, origin, trajs, np.random.default_rng([seed, 20]))
    arch, X, y = results.arch, results.data.X_train, results.data.y_train
    optim = {r.label: r.optimizer for r in results.config.runs}
    frames = []
    for key, traj in zip(keys, trajs, strict=True):
        epochs = results.snapshots[key][0][: len(traj)]
        a, b, dist, rel = plane.project(traj)
        frames.append(
            pd.DataFrame(
                {
                    "run": key[0],
                    "optimizer": optim[key[0]],
                    "seed": seed,
                    "epoch": epochs,
                    "a": a,
                    "b": b,
                    "loss": batched_loss(arch, traj, X, y),
                    "loss_plane": batched_loss(arch, plane.points(a, b), X, y),
                    "distance": dist,
                    "relative_distance": rel,
                    "explained": plane.explained,
                }
            )
        )
    paths = pd.concat(frames, ignore_index=True)
    ga = _span(paths["a"].to_numpy(), margin, resolution)
    gb = _span(paths["b"].to_numpy(), margin, resolution)
    A, B = np.meshgrid(ga, gb)
    grid = batched_loss(arch, plane.points(A.ravel(), B.ravel()), X, y).reshape(A.shape)
    return Landscape(plane, seed, ga, gb, grid, paths)


def _finite(traj: Array) -> Array:
    """Drop trailing snapshots of a diverged run that are not finite."""
    ok = np.isfinite(traj).all(axis=1)
    return traj[: int(np.argmin(ok)) if not ok.all() else len(traj)]


def _span(values: Array, margin: float, n: int) -> Array:
    lo, hi = float(values.min()), float(values.max())
    pad = max(hi - lo, 1e-3) * margin
    return np.linspace(lo - pad, hi + pad, n)
