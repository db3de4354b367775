"""Hidden-layer activations: f(z) and its derivative f'(z), element-wise.

Every entry follows PyTorch's ``torch.nn.functional`` convention (REFERENCE.md), including
f'(0) = 0 for ReLU. Softmax is not here: it is not element-wise and lives fused with the
cross-entropy loss in :mod:`nn_core.losses`.

PReLU is the one activation with a parameter: its slope ``a`` is learnable. Its functions take
the slope as an extra argument and :func:`prelu_slope_grad` gives ∂L/∂a (batched over runs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import erf, expit

Array = np.ndarray

LEAKY_SLOPE = 0.01  # torch.nn.functional.leaky_relu default
ELU_ALPHA = 1.0
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
PRELU_INIT = 0.25
_SQRT_2 = np.sqrt(2.0)
_SQRT_2_OVER_PI = np.sqrt(2.0 / np.pi)
_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)
_GELU_C = 0.044715


def sigmoid(z: Array, a=None) -> Array:
    """σ(z) = 1/(1+e^−z), without overflow for large |z| (scipy's expit)."""
    return expit(z)


def _tanh(z, a=None):
    return np.tanh(z)


def _linear(z, a=None):
    return z


def _linear_d(z, a=None):
    return np.ones_like(z)


def _sigmoid_d(z, a=None):
    s = sigmoid(z)
    return s * (1.0 - s)


def _tanh_d(z, a=None):
    t = np.tanh(z)
    return 1.0 - t * t


def _relu(z, a=None):
    return np.maximum(z, 0.0)


def _relu_d(z, a=None):
    return (z > 0).astype(z.dtype)


def _leaky(z, a=None):
    return np.where(z > 0, z, LEAKY_SLOPE * z)


def _leaky_d(z, a=None):
    return np.where(z > 0, 1.0, LEAKY_SLOPE).astype(z.dtype)


def _prelu(z, a):
    return np.where(z > 0, z, a * z)


def _prelu_d(z, a):
    return np.where(z > 0, np.ones_like(z), a * np.ones_like(z))


def _elu(z, a=None):
    return np.where(z > 0, z, ELU_ALPHA * np.expm1(np.minimum(z, 0.0)))


def _elu_d(z, a=None):
    return np.where(z > 0, 1.0, ELU_ALPHA * np.exp(np.minimum(z, 0.0))).astype(z.dtype)


def _swish(z, a=None):
    return z * sigmoid(z)


def _swish_d(z, a=None):
    s = sigmoid(z)
    return s * (1.0 + z * (1.0 - s))


def _gelu(z, a=None):
    return 0.5 * z * (1.0 + erf(z / _SQRT_2))


def _gelu_d(z, a=None):
    # d/dz [z Φ(z)] = Φ(z) + z φ(z)
    return 0.5 * (1.0 + erf(z / _SQRT_2)) + z * _INV_SQRT_2PI * np.exp(-0.5 * z * z)


def _gelu_tanh(z, a=None):
    return 0.5 * z * (1.0 + np.tanh(_SQRT_2_OVER_PI * (z + _GELU_C * z**3)))


def _gelu_tanh_d(z, a=None):
    u = _SQRT_2_OVER_PI * (z + _GELU_C * z**3)
    t = np.tanh(u)
    du = _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_C * z * z)
    return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * du


def _selu(z, a=None):
    return SELU_SCALE * np.where(z > 0, z, SELU_ALPHA * np.expm1(np.minimum(z, 0.0)))


def _selu_d(z, a=None):
    return SELU_SCALE * np.where(z > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(z, 0.0)))


def prelu_slope_grad(z: Array, upstream: Array, runs: int | None = None) -> Array:
    """∂L/∂a for PReLU with one slope per layer and run: Σ upstream · min(z, 0) (the terms with
    z ≤ 0), summed over every axis but the first. ``z`` and ``upstream`` are (R, B, n), the
    result (R,); each run's sum is reduced over its own rows only. ``runs`` = 1 takes a lone
    network's (B, n) operands (no run axis) and gives (1,), the same sum."""
    terms = upstream * np.minimum(z, 0.0)
    return np.add.reduce(terms.reshape(len(terms) if runs is None else runs, -1), axis=1)


@dataclass(frozen=True)
class Activation:
    """One registry entry.

    ``forward(z, a)`` and ``derivative(z, a)`` map a (batch, units) array to the same shape;
    ``a`` is PReLU's slope and ignored by every other activation. ``gain`` is
    ``torch.nn.init.calculate_gain``'s value. ``health`` says which unit statistic the
    gradient-health view records: ``"dead"`` (ReLU family: output exactly zero for every sample),
    ``"saturated"`` (sigmoid/tanh: |f'(z)| below 5 % of its maximum) or ``None``.
    """

    name: str
    label: str
    formula: str
    forward: Callable[..., Array]
    derivative: Callable[..., Array]
    gain: float
    health: str | None
    learnable: bool = False
    # f'(z) from the output h = f(z) alone, when that is exactly how ``derivative`` computes it
    # (tanh: 1 − h², sigmoid: h(1 − h)); the backward pass then skips recomputing f(z).
    from_output: Callable[[Array], Array] | None = None


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in [
        Activation("linear", "Linear", "z", _linear, _linear_d, 1.0, None),
        Activation(
            "sigmoid",
            "Sigmoid",
            "1/(1+e^-z)",
            sigmoid,
            _sigmoid_d,
            1.0,
            "saturated",
            from_output=lambda s: s * (1.0 - s),
        ),
        Activation(
            "tanh",
            "tanh",
            "tanh z",
            _tanh,
            _tanh_d,
            5.0 / 3.0,
            "saturated",
            from_output=lambda t: 1.0 - t * t,
        ),
        Activation("relu", "ReLU", "max(0, z)", _relu, _relu_d, np.sqrt(2.0), "dead"),
        Activation(
            "leaky_relu",
            "Leaky ReLU",
            "z if z>0 else 0.01z",
            _leaky,
            _leaky_d,
            float(np.sqrt(2.0 / (1.0 + LEAKY_SLOPE**2))),
            "dead",
        ),
        Activation(
            "prelu",
            "PReLU",
            "z if z>0 else a·z (a learnable, init 0.25)",
            _prelu,
            _prelu_d,
            float(np.sqrt(2.0 / (1.0 + PRELU_INIT**2))),
            "dead",
            learnable=True,
        ),
        Activation("elu", "ELU", "z if z>0 else e^z − 1", _elu, _elu_d, 1.0, None),
        Activation("swish", "Swish / SiLU", "z·σ(z)", _swish, _swish_d, 1.0, None),
        Activation("gelu", "GELU", "0.5z(1+erf(z/√2))", _gelu, _gelu_d, 1.0, None),
        Activation(
            "gelu_tanh",
            "GELU (tanh approx.)",
            "0.5z(1+tanh(√(2/π)(z+0.044715z³)))",
            _gelu_tanh,
            _gelu_tanh_d,
            1.0,
            None,
        ),
        Activation("selu", "SELU", "λ(z if z>0 else α(e^z − 1))", _selu, _selu_d, 0.75, None),
    ]
}

# Relative threshold on f'(z) below which a sigmoid/tanh unit counts as saturated.
SATURATION_THRESHOLD = 0.05
_MAX_DERIVATIVE = {"sigmoid": 0.25, "tanh": 1.0}


def unit_health(name: str, z: Array, h: Array | None = None) -> float:
    """Fraction of units that are dead (ReLU family) or saturated (sigmoid/tanh) on this batch.

    dead: the unit's output is ≤ 0 for every sample (its weights get no gradient from ReLU);
    saturated: the mean over samples of f'(z)/max f' is below ``SATURATION_THRESHOLD``.
    Returns NaN for activations with neither notion.
    """
    return float(unit_health_many(name, z[None], None if h is None else h[None])[0])


def unit_health_many(name: str, z: Array, h: Array | None = None) -> Array:
    """:func:`unit_health` of R runs at once: ``z`` and ``h`` are (R, B, n), the result (R,).

    Each run's figure is reduced over its own rows only, so it equals the run's alone."""
    act = ACTIVATIONS[name]
    if act.health == "dead":  # all(z ≤ 0) over the samples, as max(z) ≤ 0 (NaN: not dead)
        off = np.maximum.reduce(z, axis=1) <= 0
    elif act.health == "saturated":
        d = act.from_output(h) if h is not None and act.from_output else act.derivative(z)
        mean = np.add.reduce(d, axis=1)
        mean /= z.shape[1] * _MAX_DERIVATIVE[name]
        off = mean < SATURATION_THRESHOLD
    else:
        return np.full(len(z), np.nan)
    return np.add.reduce(off, axis=1, dtype=np.float64) / off.shape[1]


def get(name: str) -> Activation:
    """Look an activation up by name, with a message listing the allowed names."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise KeyError(f"unknown activation {name!r}; allowed: {', '.join(ACTIVATIONS)}") from None
