"""Per-unit views of a recorded network: the gradient reaching every unit, and every unit's output.

The training loop records gradients per *layer* (:mod:`nn_core.recording`); the Network page
wants them per *unit*. They are recomputed here from the weight snapshots a comparison keeps
(``Results.snapshots``): one forward and backward pass of the recorded network per snapshot, all
snapshots at once as the rows of the engine's batched network (R = number of snapshots).

For dense layer l (l = 1..L+1, the output layer last) with pre-activations zₗ (N, nₗ) and the
per-sample losses ℓᵢ (the training loss is their mean, L = (1/N) Σᵢ ℓᵢ):

    δₗ = ∂L/∂zₗ   (the engine's backward recursion: δₗ₋₁ = (δₗ Wₗᵀ) ⊙ f'(zₗ₋₁))
    gₗⱼ = sqrt( (1/N) Σᵢ (N δₗ,ᵢⱼ)² )      the RMS over samples of ∂ℓᵢ/∂zₗⱼ

``N δ`` is the gradient of one sample's own loss, so g does not depend on how many rows were
used. Evaluation mode: no dropout masks (a mask would make the picture depend on a draw). The
L2 penalty does not reach δ (it acts on weights only).

Checks (tests/test_network_view.py): Σᵢ δₗ,ᵢⱼ is the engine's bias gradient ∂L/∂bₗⱼ and
‖hₗ₋₁ᵀ δₗ‖ its weight-gradient norm; both are also checked by central finite differences.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import losses
from .activations import ACTIVATIONS
from .network import Architecture, Layout, Network

Array = np.ndarray

MAX_ROWS = 2000  # rows of the training data used (a fixed stride beyond): the cost is E·N·width
CHUNK_VALUES = 4_000_000  # snapshots are processed in chunks of about this many unit values


def batched_network(arch: Architecture, params: Array):
    """The engine's batched network over the rows of ``params`` (R, P), evaluation only.

    The one place this module names the engine's class."""
    return Network(arch, params)


@dataclass(frozen=True)
class UnitGradients:
    """Per-unit gradient magnitudes of one run at its snapshot epochs.

    ``grads[l]`` is (E, nₗ₊₁) for dense layer l+1 (hidden layers first, the output layer
    last); ``weights[l]`` is (E, nₗ, nₗ₊₁), the snapshot's Wₗ₊₁; ``loss`` (E,) is the mean
    training loss on the rows used (without the L2 term); ``rows`` how many rows were used."""

    epochs: Array
    grads: list[Array]
    weights: list[Array]
    loss: Array
    rows: int


def sample_rows(X: Array, y: Array, max_rows: int = MAX_ROWS) -> tuple[Array, Array]:
    """At most ``max_rows`` rows at a fixed stride (deterministic, spread over the set)."""
    if len(X) <= max_rows:
        return X, y
    idx = np.linspace(0, len(X) - 1, max_rows).round().astype(int)
    return X[idx], y[idx]


def _deltas(arch: Architecture, params: Array, cache, dlogits: Array) -> list[Array]:
    """δₗ for every dense layer, (R, N, nₗ), from the forward cache (pre-activations zₗ and
    outputs fₗ(zₗ)) and ∂L/∂logits. Weights and PReLU slopes are read from the flat layout, so
    only the network's forward pass is borrowed from the engine."""
    lay = Layout.of(arch)
    r = len(params)
    W = [params[:, s].reshape(r, *sh) for s, sh in zip(lay.w_slices, lay.w_shapes, strict=True)]
    out = [dlogits]
    delta = dlogits
    for layer in range(arch.n_layers - 1, 0, -1):
        up = np.matmul(delta, W[layer].transpose(0, 2, 1))
        below = layer - 1
        act = ACTIVATIONS[arch.activations[below]]
        if act.from_output is not None:
            delta = up * act.from_output(cache.outputs[below])
        else:
            idx = lay.slope_index.get(below)
            slope = None if idx is None else params[:, idx, None, None]
            delta = up * act.derivative(cache.pre[below], slope)
        out.append(delta)
    return out[::-1]


def unit_deltas(arch: Architecture, params: Array, X: Array, y: Array) -> tuple[list[Array], Array]:
    """(δₗ for each dense layer as (R, N, nₗ), the R mean losses) at the rows of ``params``."""
    cache = batched_network(arch, params).forward(X)
    loss, dlogits = losses.loss_and_grad(arch.task, cache.logits, y)  # every row at once
    return _deltas(arch, params, cache, dlogits), loss


def unit_gradients(
    arch: Architecture,
    epochs: Array,
    snapshots: Array,
    X: Array,
    y: Array,
    max_rows: int = MAX_ROWS,
) -> UnitGradients:
    """Per-unit gradient magnitudes gₗⱼ (module docstring) at every snapshot (E, P)."""
    X, y = sample_rows(X, y, max_rows)
    n = len(X)
    lay = Layout.of(arch)
    snapshots = np.asarray(snapshots)
    per = max(1, CHUNK_VALUES // max(1, n * sum(arch.sizes[1:])))
    parts, losses_ = [], []
    with np.errstate(all="ignore"):  # a diverged snapshot gives inf/NaN, drawn as such
        for lo in range(0, len(snapshots), per):
            deltas, loss = unit_deltas(arch, snapshots[lo : lo + per], X, y)
            parts.append([np.sqrt(np.mean((n * d) ** 2, axis=1)) for d in deltas])
            losses_.append(loss)
    grads = [np.concatenate([p[layer] for p in parts]) for layer in range(arch.n_layers)]
    weights = [
        snapshots[:, s].reshape(len(snapshots), *sh)
        for s, sh in zip(lay.w_slices, lay.w_shapes, strict=True)
    ]
    return UnitGradients(np.asarray(epochs), grads, weights, np.concatenate(losses_), n)


def unit_outputs(arch: Architecture, theta: Array, X: Array) -> list[Array]:
    """Every unit's output at the rows of ``X`` (G, n₀) for one parameter vector: hₗ = fₗ(zₗ)
    (G, nₗ) for each hidden layer, then the output layer's logits (G, k)."""
    with np.errstate(all="ignore"):
        cache = batched_network(arch, np.asarray(theta)[None]).forward(X)
    return [h[0] for h in cache.outputs] + [cache.logits[0]]


def activation_names(arch: Architecture) -> list[str]:
    """Display name of each hidden layer's activation."""
    return [ACTIVATIONS[a].label for a in arch.activations]
