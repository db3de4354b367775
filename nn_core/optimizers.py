"""Optimizer update rules with PyTorch 2.13's conventions and defaults (REFERENCE.md).

Each rule is a pair of functions over plain arrays, independent of any network, so the very same
code trains the MLP and walks a 2-D test function:

    state = rule.init(params, hp)          # a dict of arrays (+ the step count "t")
    rule.update(params, grads, state, hp)  # θ, and the state, updated in place

``hp`` holds every hyperparameter (defaults filled by :func:`resolve`). Updates are in place on
purpose: the engine keeps all parameters in one flat preallocated buffer, and an in-place rule is a
handful of vector operations per step with no allocation of new parameter arrays. The caller owns
both ``params`` and ``state``; nothing is hidden in the rule object, which is frozen data.

Notation: g gradient, θ parameter, t step (from 1), γ learning rate, λ weight decay. Weight decay
is coupled (g ← g + λθ) except in AdamW (θ ← θ(1 − γλ) before the step), as in torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

Array = np.ndarray
State = dict[str, Any]


@dataclass(frozen=True)
class HyperParam:
    """A hyperparameter with torch's name, default and allowed range."""

    name: str
    default: Any
    kind: str = "float"  # "float" | "bool" | "pair"
    low: float | None = None  # inclusive unless low_open
    high: float | None = None  # inclusive unless high_open
    low_open: bool = False
    high_open: bool = False
    help: str = ""

    def describe_range(self) -> str:
        if self.kind == "bool":
            return "true or false"
        lo = "" if self.low is None else ("> " if self.low_open else ">= ") + f"{self.low:g}"
        hi = "" if self.high is None else ("< " if self.high_open else "<= ") + f"{self.high:g}"
        what = "each value " if self.kind == "pair" else ""
        return what + " and ".join(s for s in (lo, hi) if s)

    def check(self, value: Any) -> Any:
        """Return the value normalised (floats, tuples) or raise ValueError with the range."""
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"must be true or false, got {value!r}")
            return value
        if self.kind == "pair":
            if not isinstance(value, list | tuple) or len(value) != 2:
                raise ValueError(f"must be a pair [b1, b2], got {value!r}")
            return tuple(self._check_number(v) for v in value)
        return self._check_number(value)

    def _check_number(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be a number, got {value!r}")
        v = float(value)
        ok = np.isfinite(v)
        if ok and self.low is not None:
            ok = v > self.low if self.low_open else v >= self.low
        if ok and self.high is not None:
            ok = v < self.high if self.high_open else v <= self.high
        if not ok:
            raise ValueError(f"must be {self.describe_range()}, got {value!r}")
        return v


def _lr(default: float) -> HyperParam:
    return HyperParam("lr", default, low=0.0, low_open=True, high=100.0, help="learning rate γ")


_WD = HyperParam("weight_decay", 0.0, low=0.0, high=10.0, help="coupled weight decay λ")
_EPS = HyperParam("eps", 1e-8, low=0.0, high=1.0, help="ε added to the denominator")
_BETAS = HyperParam(
    "betas", (0.9, 0.999), kind="pair", low=0.0, high=1.0, high_open=True, help="(β₁, β₂)"
)
_MOMENTUM = HyperParam("momentum", 0.9, low=0.0, high=1.0, high_open=True, help="momentum μ")
_DAMPENING = HyperParam("dampening", 0.0, low=0.0, high=1.0, help="dampening τ")


@dataclass(frozen=True)
class Rule:
    """A named update rule: its hyperparameters, the math, and the init/update pair."""

    name: str
    label: str
    math: str
    hyper: tuple[HyperParam, ...]
    init: Callable[[Array, dict], State]
    update: Callable[[Array, Array, State, dict], None]

    @property
    def defaults(self) -> dict[str, Any]:
        return {h.name: h.default for h in self.hyper}


def _zeros(params: Array, *names: str) -> State:
    state: State = {"t": 0}
    for n in names:
        state[n] = np.zeros_like(params)
    return state


def _coupled(params: Array, grads: Array, hp: dict) -> Array:
    wd = hp["weight_decay"]
    return grads + wd * params if (wd.any() if isinstance(wd, np.ndarray) else wd) else grads


# --- SGD family -----------------------------------------------------------------------------


def _sgd_init(params, hp):
    return _zeros(params)


def _sgd_update(params, grads, state, hp):
    state["t"] += 1
    g = _coupled(params, grads, hp)
    params -= hp["lr"] * g


def _momentum_init(params, hp):
    return _zeros(params, "momentum_buffer")


def _momentum_update(params, grads, state, hp, nesterov=False):
    state["t"] += 1
    g = _coupled(params, grads, hp)
    buf = state["momentum_buffer"]
    mu = hp["momentum"]
    if state["t"] == 1:
        buf[...] = g  # torch: b₁ = g (no dampening on the first step)
    else:
        buf *= mu
        buf += (1.0 - hp.get("dampening", 0.0)) * g  # nesterov has no dampening (torch: τ=0)
    step = g + mu * buf if nesterov else buf
    params -= hp["lr"] * step


def _nesterov_update(params, grads, state, hp):
    _momentum_update(params, grads, state, hp, nesterov=True)


# --- adaptive rules -------------------------------------------------------------------------


def _adagrad_init(params, hp):
    state = _zeros(params, "sum")
    state["sum"] += hp["initial_accumulator_value"]
    return state


def _adagrad_update(params, grads, state, hp):
    state["t"] += 1
    g = _coupled(params, grads, hp)
    clr = hp["lr"] / (1.0 + (state["t"] - 1) * hp["lr_decay"])
    s = state["sum"]
    s += g * g
    params -= clr * (g / (np.sqrt(s) + hp["eps"]))


def _adadelta_init(params, hp):
    return _zeros(params, "square_avg", "acc_delta")


def _adadelta_update(params, grads, state, hp):
    state["t"] += 1
    g = _coupled(params, grads, hp)
    rho, eps = hp["rho"], hp["eps"]
    v, u = state["square_avg"], state["acc_delta"]
    v *= rho
    v += (1.0 - rho) * (g * g)
    delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
    u *= rho
    u += (1.0 - rho) * (delta * delta)
    params -= hp["lr"] * delta


def _rmsprop_init(params, hp):
    return _zeros(params, "square_avg", "grad_avg", "momentum_buffer")


def _rmsprop_update(params, grads, state, hp):
    state["t"] += 1
    g = _coupled(params, grads, hp)
    alpha = hp["alpha"]
    v = state["square_avg"]
    v *= alpha
    v += (1.0 - alpha) * (g * g)
    if hp["centered"]:
        gbar = state["grad_avg"]
        gbar += (1.0 - alpha) * (g - gbar)  # torch: lerp
        avg = np.sqrt(v - gbar * gbar) + hp["eps"]
    else:
        avg = np.sqrt(v) + hp["eps"]
    if hp["momentum"] > 0:
        buf = state["momentum_buffer"]
        buf *= hp["momentum"]
        buf += g / avg
        params -= hp["lr"] * buf
    else:
        params -= hp["lr"] * (g / avg)


def _adam_init(params, hp):
    return _zeros(params, "exp_avg", "exp_avg_sq", "max_exp_avg_sq")


def _adam_update(params, grads, state, hp, decoupled=False):
    state["t"] += 1
    t = state["t"]
    lr = hp["lr"]
    if decoupled:
        params *= 1.0 - lr * hp["weight_decay"]
        g = grads
    else:
        g = _coupled(params, grads, hp)
    b1, b2 = hp["betas"]
    m, v = state["exp_avg"], state["exp_avg_sq"]
    m += (1.0 - b1) * (g - m)  # torch: lerp
    v *= b2
    v += (1.0 - b2) * (g * g)
    step_size = lr / (1.0 - b1**t)
    bc2_sqrt = np.sqrt(1.0 - b2**t)
    if hp["amsgrad"]:
        vmax = state["max_exp_avg_sq"]
        np.maximum(vmax, v, out=vmax)
        denom = np.sqrt(vmax) / bc2_sqrt + hp["eps"]
    else:
        denom = np.sqrt(v) / bc2_sqrt + hp["eps"]
    params -= step_size * (m / denom)


def _adamw_update(params, grads, state, hp):
    _adam_update(params, grads, state, hp, decoupled=True)


def _nadam_init(params, hp):
    state = _zeros(params, "exp_avg", "exp_avg_sq")
    state["mu_product"] = 1.0
    return state


def _nadam_update(params, grads, state, hp):
    state["t"] += 1
    t = state["t"]
    lr = hp["lr"]
    g = _coupled(params, grads, hp)
    b1, b2 = hp["betas"]
    psi = hp["momentum_decay"]
    mu = b1 * (1.0 - 0.5 * 0.96 ** (t * psi))
    mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
    state["mu_product"] *= mu
    mu_prod = state["mu_product"]
    m, v = state["exp_avg"], state["exp_avg_sq"]
    m += (1.0 - b1) * (g - m)
    v *= b2
    v += (1.0 - b2) * (g * g)
    denom = np.sqrt(v / (1.0 - b2**t)) + hp["eps"]
    params -= (lr * (1.0 - mu) / (1.0 - mu_prod)) * (g / denom)
    params -= (lr * mu_next / (1.0 - mu_prod * mu_next)) * (m / denom)


RULES: dict[str, Rule] = {
    r.name: r
    for r in [
        Rule(
            "sgd",
            "SGD",
            r"\theta \leftarrow \theta - \gamma g",
            (_lr(0.01), _WD),
            _sgd_init,
            _sgd_update,
        ),
        Rule(
            "momentum",
            "Momentum",
            r"b_1 = g;\; b_t = \mu b_{t-1} + (1-\tau) g;\; \theta \leftarrow \theta - \gamma b_t",
            (_lr(0.01), _MOMENTUM, _DAMPENING, _WD),
            _momentum_init,
            _momentum_update,
        ),
        Rule(
            "nesterov",
            "Nesterov",
            r"b_t \text{ as momentum};\; \theta \leftarrow \theta - \gamma (g + \mu b_t)",
            (_lr(0.01), _MOMENTUM, _WD),
            _momentum_init,
            _nesterov_update,
        ),
        Rule(
            "adagrad",
            "Adagrad",
            r"\tilde\gamma = \frac{\gamma}{1+(t-1)\eta};\; s \leftarrow s + g^2;\;"
            r" \theta \leftarrow \theta - \tilde\gamma \frac{g}{\sqrt{s}+\epsilon}",
            (
                _lr(0.01),
                HyperParam("lr_decay", 0.0, low=0.0, help="learning-rate decay η"),
                _WD,
                HyperParam("initial_accumulator_value", 0.0, low=0.0, help="initial value of s"),
                HyperParam("eps", 1e-10, low=0.0, high=1.0, help="ε added to the denominator"),
            ),
            _adagrad_init,
            _adagrad_update,
        ),
        Rule(
            "adadelta",
            "Adadelta",
            r"v \leftarrow \rho v + (1-\rho) g^2;\; \Delta = \frac{\sqrt{u+\epsilon}}"
            r"{\sqrt{v+\epsilon}} g;\; u \leftarrow \rho u + (1-\rho)\Delta^2;\;"
            r" \theta \leftarrow \theta - \gamma \Delta",
            (
                _lr(1.0),
                HyperParam("rho", 0.9, low=0.0, high=1.0, help="decay ρ"),
                HyperParam("eps", 1e-6, low=0.0, high=1.0, help="ε inside the roots"),
                _WD,
            ),
            _adadelta_init,
            _adadelta_update,
        ),
        Rule(
            "rmsprop",
            "RMSprop",
            r"v \leftarrow \alpha v + (1-\alpha) g^2;\;"
            r" \theta \leftarrow \theta - \gamma \frac{g}{\sqrt{v}+\epsilon}",
            (
                _lr(0.01),
                HyperParam("alpha", 0.99, low=0.0, high=1.0, help="smoothing α"),
                _EPS,
                _WD,
                HyperParam("momentum", 0.0, low=0.0, high=1.0, high_open=True, help="μ"),
                HyperParam("centered", False, kind="bool", help="divide by the variance"),
            ),
            _rmsprop_init,
            _rmsprop_update,
        ),
        Rule(
            "adam",
            "Adam",
            r"m \leftarrow \beta_1 m + (1-\beta_1) g;\; v \leftarrow \beta_2 v + (1-\beta_2) g^2;\;"
            r" \hat m = \frac{m}{1-\beta_1^t};\; \hat v = \frac{v}{1-\beta_2^t};\;"
            r" \theta \leftarrow \theta - \gamma \frac{\hat m}{\sqrt{\hat v}+\epsilon}",
            (
                _lr(1e-3),
                _BETAS,
                _EPS,
                _WD,
                HyperParam("amsgrad", False, kind="bool", help="use max of v"),
            ),
            _adam_init,
            _adam_update,
        ),
        Rule(
            "adamw",
            "AdamW",
            r"\theta \leftarrow \theta (1-\gamma\lambda);\; \text{then the Adam step}",
            (
                _lr(1e-3),
                _BETAS,
                _EPS,
                HyperParam("weight_decay", 1e-2, low=0.0, high=10.0, help="decoupled λ"),
                HyperParam("amsgrad", False, kind="bool", help="use max of v"),
            ),
            _adam_init,
            _adamw_update,
        ),
        Rule(
            "nadam",
            "NAdam",
            r"m \leftarrow \beta_1 m + (1-\beta_1) g;\;"
            r" \mu_t = \beta_1(1 - \tfrac12 0.96^{t\psi});\; \hat m = \frac{\mu_{t+1} m}"
            r"{1-\prod_{i\le t+1}\mu_i} + \frac{(1-\mu_t) g}{1-\prod_{i\le t}\mu_i};\;"
            r" v \leftarrow \beta_2 v + (1-\beta_2) g^2;\; \hat v = \frac{v}{1-\beta_2^t};\;"
            r" \theta \leftarrow \theta - \gamma \frac{\hat m}{\sqrt{\hat v}+\epsilon}",
            (
                _lr(2e-3),
                _BETAS,
                _EPS,
                _WD,
                HyperParam("momentum_decay", 4e-3, low=0.0, help="ψ"),
            ),
            _nadam_init,
            _nadam_update,
        ),
    ]
}


def resolve(rule_name: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Fill a rule's defaults and validate the overrides.

    Raises KeyError for an unknown rule or hyperparameter and ValueError for a value out of
    range; each message names the key and what is allowed.
    """
    if rule_name not in RULES:
        raise KeyError(f"unknown optimizer {rule_name!r}; allowed: {', '.join(RULES)}")
    rule = RULES[rule_name]
    hp = rule.defaults
    specs = {h.name: h for h in rule.hyper}
    for key, value in (overrides or {}).items():
        if key not in specs:
            raise KeyError(
                f"{rule_name} has no hyperparameter {key!r}; allowed: {', '.join(specs)}"
            )
        try:
            hp[key] = specs[key].check(value)
        except ValueError as exc:
            raise ValueError(f"{key} {exc}") from None
    return hp
