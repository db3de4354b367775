"""Weight initializers, drawn from an explicit ``np.random.Generator`` (never global state).

A weight matrix has shape (fan_in, fan_out). Formulas follow ``torch.nn.init`` (REFERENCE.md):

========================  ====================================================
zeros                     W = 0
uniform                   U(−a, a), a = ``scale`` (default 0.5, TF Playground)
normal                    N(0, σ²), σ = ``scale`` (default 1.0)
xavier_uniform            U(±gain·√(6/(fan_in+fan_out)))
xavier_normal             N(0, (gain·√(2/(fan_in+fan_out)))²)
he_uniform                U(±√(6/fan_in))       (kaiming_uniform_, gain √2)
he_normal                 N(0, 2/fan_in)        (kaiming_normal_, gain √2)
lecun_normal              N(0, 1/fan_in)
torch_default             W and b ~ U(±1/√fan_in)   (nn.Linear.reset_parameters)
========================  ====================================================

Biases are zero except for ``torch_default``, which draws them like PyTorch's nn.Linear.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Array = np.ndarray


@dataclass(frozen=True)
class Initializer:
    """One registry entry: ``bound_or_std(fan_in, fan_out, gain, scale)`` gives the uniform
    half-width (``dist == "uniform"``) or the normal standard deviation (``dist == "normal"``)."""

    name: str
    label: str
    formula: str
    dist: str  # "zeros" | "uniform" | "normal"
    spread: Callable[[int, int, float, float], float]
    uses_gain: bool = False
    uses_scale: bool = False
    default_scale: float = 0.0

    def std(self, fan_in: int, fan_out: int, gain: float = 1.0, scale: float | None = None):
        """Theoretical standard deviation of one weight."""
        s = self.default_scale if scale is None else scale
        v = self.spread(fan_in, fan_out, gain, s)
        if self.dist == "uniform":
            return v / np.sqrt(3.0)
        return v if self.dist == "normal" else 0.0

    def weights(
        self,
        rng: np.random.Generator,
        fan_in: int,
        fan_out: int,
        gain: float = 1.0,
        scale: float | None = None,
        dtype=np.float64,
    ) -> Array:
        """Draw a (fan_in, fan_out) weight matrix."""
        s = self.default_scale if scale is None else scale
        v = self.spread(fan_in, fan_out, gain, s)
        if self.dist == "uniform":
            return rng.uniform(-v, v, size=(fan_in, fan_out)).astype(dtype, copy=False)
        if self.dist == "normal":
            return (v * rng.standard_normal((fan_in, fan_out))).astype(dtype, copy=False)
        return np.zeros((fan_in, fan_out), dtype=dtype)

    def bias(self, rng: np.random.Generator, fan_in: int, fan_out: int, dtype=np.float64):
        """Draw a (fan_out,) bias vector: zeros except for ``torch_default``."""
        if self.name == "torch_default":
            v = 1.0 / np.sqrt(fan_in)
            return rng.uniform(-v, v, size=fan_out).astype(dtype, copy=False)
        return np.zeros(fan_out, dtype=dtype)


INITIALIZERS: dict[str, Initializer] = {
    i.name: i
    for i in [
        Initializer("zeros", "Zeros", "W = 0", "zeros", lambda fi, fo, g, s: 0.0),
        Initializer(
            "uniform",
            "Uniform(±a)",
            "U(−a, a)",
            "uniform",
            lambda fi, fo, g, s: s,
            uses_scale=True,
            default_scale=0.5,
        ),
        Initializer(
            "normal",
            "Normal(σ)",
            "N(0, σ²)",
            "normal",
            lambda fi, fo, g, s: s,
            uses_scale=True,
            default_scale=1.0,
        ),
        Initializer(
            "xavier_uniform",
            "Xavier/Glorot uniform",
            "U(±gain·√(6/(fan_in+fan_out)))",
            "uniform",
            lambda fi, fo, g, s: g * np.sqrt(6.0 / (fi + fo)),
            uses_gain=True,
        ),
        Initializer(
            "xavier_normal",
            "Xavier/Glorot normal",
            "N(0, (gain·√(2/(fan_in+fan_out)))²)",
            "normal",
            lambda fi, fo, g, s: g * np.sqrt(2.0 / (fi + fo)),
            uses_gain=True,
        ),
        Initializer(
            "he_uniform",
            "He/Kaiming uniform",
            "U(±√(6/fan_in))",
            "uniform",
            lambda fi, fo, g, s: np.sqrt(6.0 / fi),
        ),
        Initializer(
            "he_normal",
            "He/Kaiming normal",
            "N(0, 2/fan_in)",
            "normal",
            lambda fi, fo, g, s: np.sqrt(2.0 / fi),
        ),
        Initializer(
            "lecun_normal",
            "LeCun normal",
            "N(0, 1/fan_in)",
            "normal",
            lambda fi, fo, g, s: np.sqrt(1.0 / fi),
        ),
        Initializer(
            "torch_default",
            "PyTorch nn.Linear default",
            "W, b ~ U(±1/√fan_in)",
            "uniform",
            lambda fi, fo, g, s: 1.0 / np.sqrt(fi),
        ),
    ]
}
