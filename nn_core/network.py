"""The network: R multilayer perceptrons of one architecture, their parameters the rows of one
(R, P) matrix. A single run is R = 1; a lockstep group of runs (and the loss landscape's grid of
parameter points) is R > 1. There is no other network in nn_core.

Layout of each row θ (length P), layer by layer, l = 1..L+1 (L hidden layers + output):

    [W₁ (n₀×n₁), b₁ (n₁), W₂ (n₁×n₂), b₂ (n₂), …, W_{L+1}, b_{L+1}, a₁, …]

followed by one PReLU slope a per PReLU hidden layer. ``W`` and ``b`` are reshaped *views* of θ,
and the gradient buffer ∇θ has the same layout, so an optimizer updates every run's whole
network with a few vector operations and the recorder reads every layer with one segmented
reduction.

Forward, for a batch X of shape (B, n₀) shared by every run, or (R, B, n₀), one per run:

    h₀ = X;  zₗ[r] = hₗ₋₁[r] Wₗ[r] + bₗ[r];  hₗ = fₗ(zₗ) ⊙ maskₗ  (l ≤ L);  z_{L+1} = logits

each layer one stacked product over the leading run axis (``np.matmul`` calls the same kernel
per matrix as for a single one, so a run's numbers do not depend on which other rows it shares
the matrix with: a run trained in a group is bit-identical to the run trained alone).

Backward (δ = ∂L/∂z):  ∂L/∂Wₗ = hₗ₋₁ᵀ δₗ;  ∂L/∂bₗ = 1ᵀ δₗ;  δₗ₋₁ = (δₗ Wₗᵀ ⊙ maskₗ₋₁) ⊙ f'(zₗ₋₁).

Optional L2 penalty ½λ Σₗ ‖Wₗ‖² (weights only, not biases) is part of the loss and its gradient.
Dropout is inverted dropout on hidden outputs: mask = 1[u ≥ p] / (1 − p).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import losses
from .activations import ACTIVATIONS, PRELU_INIT, prelu_slope_grad
from .initializers import INITIALIZERS

Array = np.ndarray


@dataclass(frozen=True)
class Architecture:
    """Shape of the network: ``sizes`` = (n_in, h₁, …, h_L, n_out), one activation per hidden
    layer, the task (which fixes the output head) and the regularisers."""

    sizes: tuple[int, ...]
    activations: tuple[str, ...]
    task: str
    dropout: float = 0.0
    l2: float = 0.0

    def __post_init__(self):
        if len(self.activations) != len(self.sizes) - 2:
            raise ValueError("one activation per hidden layer is required")
        if self.task not in losses.TASKS:
            raise ValueError(f"unknown task {self.task!r}; allowed: {', '.join(losses.TASKS)}")

    @property
    def n_layers(self) -> int:
        """Number of dense layers (hidden + output)."""
        return len(self.sizes) - 1


@dataclass(frozen=True)
class Layout:
    """Where each piece of the network sits in the flat buffer."""

    w_slices: tuple[slice, ...]
    b_slices: tuple[slice, ...]
    w_shapes: tuple[tuple[int, int], ...]
    slope_index: dict[int, int] = field(default_factory=dict)  # hidden layer -> index in θ
    size: int = 0

    @staticmethod
    def of(arch: Architecture) -> Layout:
        ws, bs, shapes, slopes = [], [], [], {}
        pos = 0
        for fan_in, fan_out in zip(arch.sizes[:-1], arch.sizes[1:], strict=True):
            ws.append(slice(pos, pos + fan_in * fan_out))
            pos += fan_in * fan_out
            bs.append(slice(pos, pos + fan_out))
            pos += fan_out
            shapes.append((fan_in, fan_out))
        for layer, name in enumerate(arch.activations):
            if ACTIVATIONS[name].learnable:
                slopes[layer] = pos
                pos += 1
        return Layout(tuple(ws), tuple(bs), tuple(shapes), slopes, pos)

    def segments(self) -> tuple[Array, Array]:
        """(starts, is_weight) of the contiguous segments W₁, b₁, W₂, b₂, … (and slopes)."""
        starts, is_w = [], []
        for w, b in zip(self.w_slices, self.b_slices, strict=True):
            starts += [w.start, b.start]
            is_w += [True, False]
        if self.slope_index:
            starts.append(min(self.slope_index.values()))
            is_w.append(False)
        return np.array(starts), np.array(is_w)


def init_params(
    arch: Architecture,
    rng: np.random.Generator,
    initializer: str,
    gain: float | str = 1.0,
    scale: float | None = None,
    dtype=np.float64,
) -> Array:
    """Draw one flat parameter vector θ (P,), a row of :class:`Network`'s matrix.
    ``gain="auto"`` uses each layer's activation gain (``torch.nn.init.calculate_gain``); the
    output layer uses gain 1."""
    layout = Layout.of(arch)
    init = INITIALIZERS[initializer]
    theta = np.zeros(layout.size, dtype=dtype)
    for layer, (fan_in, fan_out) in enumerate(layout.w_shapes):
        if gain == "auto":
            g = ACTIVATIONS[arch.activations[layer]].gain if layer < len(arch.activations) else 1
        else:
            g = float(gain)
        theta[layout.w_slices[layer]] = init.weights(rng, fan_in, fan_out, g, scale).ravel()
        theta[layout.b_slices[layer]] = init.bias(rng, fan_in, fan_out)
    for idx in layout.slope_index.values():
        theta[idx] = PRELU_INIT
    return theta


@dataclass
class Cache:
    """What the backward pass needs from the forward pass, in the network's working shape:
    arrays (R, B, n) with a leading run axis, or (B, n) for a lone network (R = 1, see
    :meth:`Network.forward_pass`); :meth:`stacked` gives the leading axis in every case."""

    inputs: list[Array]  # hₗ₋₁ fed to layer l (after dropout): (R, B, nₗ₋₁), or (B, n₀) shared
    pre: list[Array]  # zₗ of hidden layers (R, B, nₗ)
    masks: list[Array | None]  # dropout masks (R, B, nₗ) or None
    logits: Array  # (R, B, k)
    outputs: list[Array]  # fₗ(zₗ) before dropout (for derivatives from outputs, unit health)

    def stacked(self) -> Cache:
        """The same arrays with a leading run axis (views; ``self`` when they have one)."""
        if self.logits.ndim == 3:
            return self

        def run_axis(arrays):
            return [None if a is None else a[None] for a in arrays]

        return Cache(
            run_axis(self.inputs),
            run_axis(self.pre),
            run_axis(self.masks),
            self.logits[None],
            run_axis(self.outputs),
        )


class Network:
    """R networks of one architecture whose parameters are the rows of ``params`` (R, P).

    ``W``, ``b`` (and ``gW``, ``gb``) are views into ``params`` (``grads``), so anything that
    writes the buffers in place (an optimizer, a finite-difference check) is seen by the next
    forward pass. Without ``grads`` the networks can only be evaluated (the loss landscape
    evaluates thousands of plane points this way).

    A lone network (R = 1) computes in 2-D: its products are plain (B, nₗ₋₁) @ (nₗ₋₁, nₗ)
    ones and its element-wise work has no run axis. This is the same code with operands one
    axis shorter (``np.matmul`` calls the same kernel for a matrix as for each matrix of a
    stack, and every reduction runs in the same order), so the numbers are the same bits as
    the network's row in a stack of several (tests/test_lone_network.py); it only saves
    NumPy's per-call cost of the extra axis, which is most of a small network's step."""

    def __init__(self, arch: Architecture, params: Array, grads: Array | None = None):
        self.arch = arch
        self.layout = lay = Layout.of(arch)
        if params.ndim != 2 or params.shape[1] != lay.size:
            raise ValueError(f"params must have shape (R, {lay.size}), got {params.shape}")
        self.params, self.grads = params, grads
        r = params.shape[0]
        self.lone = lone = r == 1
        shapes = lay.w_shapes
        self.W = [params[:, s].reshape(r, *sh) for s, sh in zip(lay.w_slices, shapes, strict=True)]
        self.b = [params[:, s] for s in lay.b_slices]
        if grads is not None:
            self.gW = [
                grads[:, s].reshape(r, *sh) for s, sh in zip(lay.w_slices, shapes, strict=True)
            ]
            self.gb = [grads[:, s] for s in lay.b_slices]
        self.acts = [ACTIVATIONS[a] for a in arch.activations]
        # Views made once (a step makes none), in the working shape: weights (R, nₗ₋₁, nₗ) and
        # their transposes, biases broadcast over the batch (R, 1, nₗ), each hidden layer's
        # PReLU slope (R, 1, 1), gradient views to write into; a lone network's without the
        # run axis: (nₗ₋₁, nₗ), (nₗ,), slope (1,).
        if lone:
            self._W = [w[0] for w in self.W]
            self._b = [b[0] for b in self.b]
            self._WT = [w.T for w in self._W]
            if grads is not None:
                self._gW = [w[0] for w in self.gW]
                self._gb = [b[0] for b in self.gb]
        else:
            self._W = self.W
            self._b = [b[:, None, :] for b in self.b]
            self._WT = [w.transpose(0, 2, 1) for w in self.W]
            if grads is not None:
                self._gW, self._gb = self.gW, self.gb
        self._slopes = [
            None
            if (i := lay.slope_index.get(layer)) is None
            else (params[0, i : i + 1] if lone else params[:, i, None, None])
            for layer in range(len(self.acts))
        ]
        self._slope_at = [lay.slope_index.get(layer) for layer in range(len(self.acts))]
        self._layers = tuple(range(arch.n_layers - 1, -1, -1))

    def forward_pass(self, X: Array, masks: list[Array | None] | None = None) -> Cache:
        """The forward pass in the working shape (:class:`Cache`): what :meth:`backward` takes.
        X is (B, n₀) shared by every run or (R, B, n₀); ``masks[l]`` likewise (R, B, nₗ) or
        (B, nₗ). A lone network drops the run axis of X and the masks (its cache is 2-D)."""
        h = X
        if self.lone:
            if X.ndim == 3:
                h = X[0]
            if masks is not None:
                masks = [m if m is None or m.ndim == 2 else m[0] for m in masks]
        W, b, slopes = self._W, self._b, self._slopes
        inputs, pre, used, outputs = [], [], [], []
        for layer, act in enumerate(self.acts):
            inputs.append(h)
            z = np.matmul(h, W[layer])
            z += b[layer]
            pre.append(z)
            h = act.forward(z, slopes[layer])
            outputs.append(h)
            mask = None if masks is None else masks[layer]
            if mask is not None:
                h = h * mask
            used.append(mask)
        inputs.append(h)
        logits = np.matmul(h, W[-1])
        logits += b[-1]
        return Cache(inputs, pre, used, logits, outputs)

    def forward(self, X: Array, masks: list[Array | None] | None = None) -> Cache:
        """Logits of every run for X (B, n₀) shared by all runs or (R, B, n₀). Dropout is on
        exactly when ``masks`` are given: ``masks[l]`` (R, B, nₗ) (or (B, nₗ)) multiplies hidden
        layer l's output, None leaves it alone; evaluation passes no masks. Every array of the
        cache has the leading run axis (R, B, ·), a lone network's too."""
        return self.forward_pass(X, masks).stacked()

    def backward(self, cache: Cache, dlogits: Array) -> None:
        """Fill ``grads`` with every run's ∂L/∂θ given ∂L/∂logits (R, B, k), the L2 term
        included. Each row's gradient is computed from that row alone. ``cache`` and
        ``dlogits`` are in the working shape of :meth:`forward_pass` (a lone network's
        stacked ones are accepted too)."""
        if self.lone and dlogits.ndim == 3:
            cache = _without_run_axis(cache)
            dlogits = dlogits[0]
        inputs, masks, pre, outputs = cache.inputs, cache.masks, cache.pre, cache.outputs
        gW, gb, WT = self._gW, self._gb, self._WT
        delta = dlogits
        for layer in self._layers:
            h = inputs[layer]
            # hᵀ: (R, nₗ₋₁, B), or (nₗ₋₁, B) for an input shared by all runs (matmul broadcasts)
            hT = h.T if h.ndim == 2 else h.transpose(0, 2, 1)
            np.matmul(hT, delta, out=gW[layer])
            np.add.reduce(delta, axis=-2, out=gb[layer])  # np.sum without its wrapper
            if layer == 0:
                break
            up = np.matmul(delta, WT[layer])
            below = layer - 1
            if masks[below] is not None:
                up *= masks[below]
            z = pre[below]
            slope = self._slopes[below]
            if slope is not None:
                self.grads[:, self._slope_at[below]] = prelu_slope_grad(z, up, len(self.params))
            act = self.acts[below]
            if act.from_output is not None:
                delta = up * act.from_output(outputs[below])
            else:
                delta = up * act.derivative(z, slope)
        if self.arch.l2:
            for gw, w in zip(gW, self._W, strict=True):
                gw += self.arch.l2 * w

    def l2_penalty(self) -> Array:
        """½λ Σₗ ‖Wₗ‖² of every run: (R,) (zeros without L2)."""
        out = np.zeros(len(self.params))
        if self.arch.l2:
            for w in self.W:
                out += np.add.reduce((w * w).reshape(len(w), -1), axis=1)
            out *= 0.5 * self.arch.l2
        return out

    def loss_and_grad(
        self, X: Array, y: Array, masks: list[Array | None] | None = None
    ) -> tuple[Array, Cache]:
        """Training-mode loss of every run (R,) (data term + L2; dropout when ``masks`` are
        given) and the gradient written to ``grads``; the cache as :meth:`forward` gives it."""
        cache = self.forward_pass(X, masks)
        values, dlogits = losses.loss_and_grad(self.arch.task, cache.logits, y)
        self.backward(cache, dlogits)
        return values + self.l2_penalty(), cache.stacked()

    def loss(self, X: Array, y: Array, masks: list[Array | None] | None = None) -> Array:
        """Loss of every run (R,) at the current parameters, L2 term included; evaluation mode
        unless ``masks`` are given."""
        z = self._logits(X, masks)
        return losses.batched_loss(self.arch.task, z, y) + self.l2_penalty()

    def evaluate(self, X: Array, y: Array) -> tuple[Array, Array]:
        """(data loss without the L2 term, accuracy or R²) of every run, each (R,), in
        evaluation mode on the targets ``y`` shared by every run."""
        z = self._logits(X)
        return losses.batched_loss(self.arch.task, z, y), losses.batched_score(self.arch.task, z, y)

    def logits(self, X: Array) -> Array:
        """Evaluation-mode logits (R, B, k)."""
        return self._logits(X)

    def _logits(self, X: Array, masks: list[Array | None] | None = None) -> Array:
        """Logits (R, B, k) without stacking the rest of a lone network's cache."""
        z = self.forward_pass(X, masks).logits
        return z[None] if z.ndim == 2 else z


def _without_run_axis(cache: Cache) -> Cache:
    """A lone network's stacked cache back in its working shape (2-D)."""

    def drop(arrays):
        return [None if a is None else (a[0] if a.ndim == 3 else a) for a in arrays]

    return Cache(
        drop(cache.inputs),
        drop(cache.pre),
        cache.masks and drop(cache.masks),
        cache.logits[0],
        drop(cache.outputs),
    )
