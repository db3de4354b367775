"""A multilayer perceptron whose parameters live in one flat buffer.

Layout of the flat vector θ (length P), layer by layer, l = 1..L+1 (L hidden layers + output):

    [W₁ (n₀×n₁), b₁ (n₁), W₂ (n₁×n₂), b₂ (n₂), …, W_{L+1}, b_{L+1}, a₁, …]

followed by one PReLU slope a per PReLU hidden layer. ``W`` and ``b`` are reshaped *views* of θ,
and the gradient buffer ∇θ has the same layout, so an optimizer updates the whole network with a
few vector operations and the recorder reads every layer with one segmented reduction.

Forward, for a batch X of shape (B, n₀):

    h₀ = X;  zₗ = hₗ₋₁ Wₗ + bₗ;  hₗ = fₗ(zₗ) ⊙ maskₗ  (l ≤ L);  z_{L+1} = logits

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
    """Draw a flat parameter vector. ``gain="auto"`` uses each layer's activation gain
    (``torch.nn.init.calculate_gain``); the output layer uses gain 1."""
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
    """What the backward pass needs from the forward pass."""

    inputs: list[Array]  # hₗ₋₁ fed to layer l (after dropout)
    pre: list[Array]  # zₗ of hidden layers
    masks: list[Array | None]
    logits: Array
    outputs: list[Array] | None = None  # fₗ(zₗ) before dropout (for derivatives from outputs)


class MLP:
    """An MLP bound to a parameter buffer ``params`` and a gradient buffer ``grads``.

    The buffers are 1-D arrays in the :class:`Layout`; the network holds views into them, so
    anything that writes ``params`` in place (an optimizer, a finite-difference check) is seen
    by the next forward pass.
    """

    def __init__(self, arch: Architecture, params: Array, grads: Array | None = None):
        self.arch = arch
        self.layout = Layout.of(arch)
        if params.shape != (self.layout.size,):
            raise ValueError(f"params must have shape ({self.layout.size},), got {params.shape}")
        self.params = params
        self.grads = np.zeros_like(params) if grads is None else grads
        lay = self.layout
        self.W = [params[s].reshape(sh) for s, sh in zip(lay.w_slices, lay.w_shapes, strict=True)]
        self.b = [params[s] for s in lay.b_slices]
        self.gW = [
            self.grads[s].reshape(sh) for s, sh in zip(lay.w_slices, lay.w_shapes, strict=True)
        ]
        self.gb = [self.grads[s] for s in lay.b_slices]
        self.acts = [ACTIVATIONS[a] for a in arch.activations]

    def _slope(self, layer: int):
        idx = self.layout.slope_index.get(layer)
        return None if idx is None else self.params[idx]

    def forward(
        self,
        X: Array,
        train: bool = False,
        rng: np.random.Generator | None = None,
        masks: list[Array | None] | None = None,
    ) -> Cache:
        """Run the network. Dropout is active when ``train`` is true: masks are drawn from
        ``rng`` unless given explicitly (``masks[l]`` for hidden layer l, for tests)."""
        p = self.arch.dropout
        h = X
        inputs, pre, used_masks, outputs = [], [], [], []
        for layer, act in enumerate(self.acts):
            inputs.append(h)
            z = h @ self.W[layer]
            z += self.b[layer]
            pre.append(z)
            h = act.forward(z, self._slope(layer))
            outputs.append(h)
            mask = None
            if train and (masks is not None or p > 0):
                if masks is not None:
                    mask = masks[layer]
                else:
                    mask = (rng.random(h.shape) >= p).astype(h.dtype) / (1.0 - p)
                if mask is not None:
                    h = h * mask
            used_masks.append(mask)
        inputs.append(h)
        logits = h @ self.W[-1]
        logits += self.b[-1]
        return Cache(inputs, pre, used_masks, logits, outputs)

    def backward(self, cache: Cache, dlogits: Array) -> None:
        """Fill ``self.grads`` with ∂L/∂θ given ∂L/∂logits (the L2 term included)."""
        delta = dlogits
        for layer in range(self.arch.n_layers - 1, -1, -1):
            np.matmul(cache.inputs[layer].T, delta, out=self.gW[layer])
            np.add.reduce(delta, axis=0, out=self.gb[layer])  # np.sum without its wrapper
            if layer == 0:
                break
            up = delta @ self.W[layer].T
            below = layer - 1
            if cache.masks[below] is not None:
                up *= cache.masks[below]
            z = cache.pre[below]
            slope = self._slope(below)
            if slope is not None:
                self.grads[self.layout.slope_index[below]] = prelu_slope_grad(z, up)
            act = self.acts[below]
            if act.from_output is not None:
                delta = up * act.from_output(cache.outputs[below])
            else:
                delta = up * act.derivative(z, slope)
        if self.arch.l2:
            for gw, w in zip(self.gW, self.W, strict=True):
                gw += self.arch.l2 * w

    def l2_penalty(self) -> float:
        if not self.arch.l2:
            return 0.0
        return 0.5 * self.arch.l2 * float(sum(np.sum(w * w) for w in self.W))

    def loss_and_grad(
        self,
        X: Array,
        y: Array,
        rng: np.random.Generator | None = None,
        masks: list[Array | None] | None = None,
    ) -> tuple[float, Cache]:
        """Training-mode loss (dropout on) and gradient written to ``self.grads``."""
        cache = self.forward(X, train=True, rng=rng, masks=masks)
        value, dlogits = losses.loss_and_grad(self.arch.task, cache.logits, y)
        self.backward(cache, dlogits)
        return value + self.l2_penalty(), cache

    def loss(self, X: Array, y: Array, masks: list[Array | None] | None = None) -> float:
        """Loss at the current parameters; evaluation mode unless ``masks`` are given."""
        cache = self.forward(X, train=masks is not None, masks=masks)
        return losses.loss(self.arch.task, cache.logits, y) + self.l2_penalty()

    def evaluate(self, X: Array, y: Array) -> tuple[float, float]:
        """(data loss without the L2 term, accuracy or R²) in evaluation mode."""
        z = self.forward(X).logits
        return losses.loss(self.arch.task, z, y), losses.score(self.arch.task, z, y)

    def logits(self, X: Array) -> Array:
        return self.forward(X).logits
