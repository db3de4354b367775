"""Optimizer update rules with PyTorch 2.13's conventions and defaults (REFERENCE.md).

Each rule is a pair of functions over plain arrays, independent of any network, so the very same
code trains the network and walks a 2-D test function:

    state = rule.init(params, hp)          # a dict of arrays (+ the step count "t")
    rule.update(params, grads, state, hp)  # θ, and the state, updated in place

``hp`` holds every hyperparameter (defaults filled by :func:`resolve`). Updates are in place on
purpose: the engine keeps all parameters in one flat preallocated buffer, and an in-place rule is a
handful of vector operations per step with no allocation of new parameter arrays. The caller owns
both ``params`` and ``state``; nothing is hidden in the rule object, which is frozen data.

Notation: g gradient, θ parameter, t step (from 1), γ learning rate, λ weight decay. Weight decay
is coupled (g ← g + λθ) except in AdamW, Lion and NAdam with ``decoupled_weight_decay``
(θ ← θ(1 − γλ) before the step), as in torch.

The contract a rule keeps
-------------------------

The engine trains R runs as the rows of one (R, P) parameter matrix and hands a rule either the
whole matrix or a slice of rows, with ONE update call for every run of a group; the trajectory
page hands it a 2-vector. So a rule must be:

1. **Element-wise across rows.** ``params``, ``grads`` and every state array have one shape, (P,)
   or (R, P); a row's update reads only that row (no sum, norm or maximum over the parameter
   axis), so a row slice of the matrix updates exactly as the run alone.
2. **Per-row hyperparameters.** Every float hyperparameter in ``hp`` is either a Python float or a
   NumPy float64 array of shape (R, 1) (``betas``: a pair whose elements are each either). A rule
   never branches on a float hyperparameter's value with ``if``: :func:`_is_zero` may skip work
   only for a *scalar* zero, and whatever a zero changes inside a row is written so the arithmetic
   of the general case gives the same bits (``μ·b + x`` with μ = 0 is exactly x, ``θ·(1 − γ·0)``
   is exactly θ, ``g + 0·θ`` is exactly g). A quantity computed from hyperparameters with a
   power (β₁ᵗ, NAdam's 0.96^(tψ)) goes through :func:`_pow`, which evaluates it with Python
   floats row by row, so a row gets the same bits in a group as alone; a (R, 1)
   coefficient meets the parameter matrix through :func:`_c`, cast to its dtype as NumPy casts a
   Python float (so float32 groups also match their runs alone).
3. **Shared structure.** Bool hyperparameters (``amsgrad``, ``centered``,
   ``decoupled_weight_decay``) are the same for a whole call: :func:`group_key` is the part of a
   run's hyperparameters that must be equal for runs to share a call, and
   :func:`stack_hyperparameters` turns the rows' resolved hyperparameters into one ``hp``. The
   step count ``state["t"]`` is shared by every row of a call.
4. **Documented and tested.** The update function's docstring states the algorithm in torch's
   documentation style (the Learn page shows it); the :class:`Rule` entry carries the LaTeX
   summary, the family, the torch class and its fixed arguments (``None`` when torch has no such
   optimizer; tests/golden/make_golden.py then needs an independent oracle), the Keras
   difference, the learning rate for the 2-D test functions and any convention worth stating. A
   rule torch has is one entry here plus ``make golden``; tests/test_optimizers_rows.py holds every
   rule to the per-row contract above.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Array = np.ndarray
State = dict[str, Any]
Scalar = float | Array  # a Python float, or a (R, 1) array of per-row values


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
_DAMPENING = HyperParam("dampening", 0.0, low=0.0, high=1.0, help="dampening τ (ignored at μ = 0)")
_AMSGRAD = HyperParam("amsgrad", False, kind="bool", help="use max of v")


@dataclass(frozen=True)
class TorchOptimizer:
    """The ``torch.optim`` class that implements a rule and the arguments it fixes; the rule's
    resolved hyperparameters (torch's names) are passed on top of these."""

    cls: str  # a class name in torch.optim
    fixed: tuple[tuple[str, Any], ...] = ()

    def kwargs(self, hp: dict[str, Any]) -> dict[str, Any]:
        """Keyword arguments for ``torch.optim.<cls>(params, **kwargs)``."""
        return {**hp, **dict(self.fixed)}


@dataclass(frozen=True)
class Rule:
    """A named update rule: its hyperparameters, the math, the init/update pair, and what the UI,
    the CLI, the oracle tests and the trajectory page need to know about it."""

    name: str
    label: str
    math: str  # one-line LaTeX summary (the full algorithm is the update's docstring)
    hyper: tuple[HyperParam, ...]
    init: Callable[[Array, dict], State]
    update: Callable[[Array, Array, State, dict], None]
    family: str = "adaptive"  # "sgd-family" (step γ·g), "adaptive" (per-coordinate scale), "sign"
    torch: TorchOptimizer | None = None  # None: torch has none; make_golden has its own oracle
    keras: str = ""  # where Keras (TF 2 / Keras 3) differs, shown on the Learn page
    # Learning rate on the 2-D test functions: "gradient" = the function's own rate for a step
    # γ·g (surfaces.Surface.default_lr), "distance" = its rate for rules whose first steps are
    # about γ long whatever the gradient (Surface.distance_lr), or a number.
    surface_lr: str | float = "distance"
    conventions: str = ""  # defaults or conventions that differ from torch's, in words

    @property
    def defaults(self) -> dict[str, Any]:
        return {h.name: h.default for h in self.hyper}

    @property
    def doc(self) -> str:
        """The algorithm, in torch's documentation style: the update function's docstring."""
        return inspect.getdoc(self.update) or ""

    @property
    def bool_names(self) -> tuple[str, ...]:
        return tuple(h.name for h in self.hyper if h.kind == "bool")


# --- per-row helpers --------------------------------------------------------------------------


def _is_zero(value: Scalar) -> bool:
    """True for a scalar zero only: work may be skipped for it. A (R, 1) array is never skipped
    (its zero rows go through arithmetic that leaves them as they would be alone)."""
    return not isinstance(value, np.ndarray) and value == 0


def _pow(base: Scalar, exponent: Scalar) -> Scalar:
    """baseᵉˣᵖᵒⁿᵉⁿᵗ with Python's float power (the C library's ``pow``), row by row when either is
    a (R, 1) array. NumPy's vectorised ``power`` may use another algorithm than ``pow``, so this
    is what keeps β₁ᵗ (and NAdam's 0.96^(tψ)) bit for bit the same in a group and alone; the
    arithmetic around it (+ − × ÷ √) is correctly rounded either way."""
    if isinstance(base, np.ndarray) or isinstance(exponent, np.ndarray):
        b, e = np.broadcast_arrays(np.asarray(base, dtype=np.float64), exponent)
        out = [x**y for x, y in zip(b.ravel().tolist(), e.ravel().tolist(), strict=True)]
        return np.array(out, dtype=np.float64).reshape(b.shape)
    return base**exponent


def _sqrt(x: Scalar) -> Scalar:
    """√x of a hyperparameter expression: a Python float stays a Python float (NumPy would make
    it a float64 scalar, which is not cast like a Python float when it meets float32 arrays)."""
    return np.sqrt(x) if isinstance(x, np.ndarray) else math.sqrt(x)


def _c(value: Scalar, like: Array) -> Scalar:
    """A coefficient ready to meet ``like``: a Python float as is (NumPy casts it to the array's
    dtype), a (R, 1) array cast to that dtype the same way, so float32 rows match their runs
    alone."""
    if isinstance(value, np.ndarray) and value.dtype != like.dtype:
        return value.astype(like.dtype)
    return value


def _zeros(params: Array, *names: str) -> State:
    state: State = {"t": 0}
    for n in names:
        state[n] = np.zeros_like(params)
    return state


def _coupled(params: Array, grads: Array, hp: dict) -> Array:
    """g + λθ (torch's coupled weight decay); g itself for a scalar λ = 0."""
    wd = hp["weight_decay"]
    if type(wd) is float and wd == 0.0:  # the common case, without _is_zero's call
        return grads
    return grads if _is_zero(wd) else grads + _c(wd, params) * params


def _decay(params: Array, hp: dict) -> None:
    """θ ← θ(1 − γλ), decoupled weight decay (AdamW, Lion, NAdamW), in place."""
    wd = hp["weight_decay"]
    if not _is_zero(wd):
        params *= _c(1.0 - hp["lr"] * wd, params)


def _bias_correction(beta: Scalar, t: int) -> Scalar:
    """1 − βᵗ, per row."""
    return 1.0 - _pow(beta, t)


# --- SGD family -----------------------------------------------------------------------------


def _sgd_init(params, hp):
    return _zeros(params)


def _sgd_update(params, grads, state, hp):
    r"""SGD: plain gradient descent.

    input: γ (lr), θ₀ (params), f(θ) (objective), λ (weight decay)
    for t = 1 to … do
        gₜ ← ∇θ fₜ(θₜ₋₁)
        if λ ≠ 0:  gₜ ← gₜ + λθₜ₋₁
        θₜ ← θₜ₋₁ − γ gₜ
    return θₜ

    torch.optim.SGD with momentum = 0. Its default lr is 1e-3; the lab's is 0.01.
    """
    state["t"] += 1
    g = _coupled(params, grads, hp)
    lr = hp["lr"]
    params -= (lr if type(lr) is float else _c(lr, params)) * g


def _momentum_init(params, hp):
    return _zeros(params, "momentum_buffer")


def _heavy_ball(params, grads, state, hp, nesterov: bool) -> None:
    state["t"] += 1
    g = _coupled(params, grads, hp)
    buf = state["momentum_buffer"]
    lr, mu, tau = hp["lr"], hp["momentum"], hp.get("dampening", 0.0)
    # torch ignores τ when μ = 0 (no buffer at all): then b = 0·b + 1·g = g exactly.
    if type(lr) is type(mu) is type(tau) is float:  # every row agrees: no per-row helpers
        keep = 1.0 if mu == 0 else 1.0 - tau
    else:
        keep = np.where(np.asarray(mu) == 0, 1.0, 1.0 - np.asarray(tau, dtype=np.float64))
        lr, mu, keep = _c(lr, params), _c(mu, buf), _c(keep, buf)
    if state["t"] == 1:
        buf[...] = g  # torch: b₁ = g (no dampening on the first step)
    else:
        buf *= mu
        buf += keep * g
    step = g + mu * buf if nesterov else buf
    params -= lr * step


def _momentum_update(params, grads, state, hp):
    r"""Momentum (heavy ball), torch's form.

    input: γ (lr), θ₀ (params), f(θ) (objective), λ (weight decay), μ (momentum), τ (dampening)
    for t = 1 to … do
        gₜ ← ∇θ fₜ(θₜ₋₁)
        if λ ≠ 0:  gₜ ← gₜ + λθₜ₋₁
        if μ ≠ 0:
            if t > 1:  bₜ ← μbₜ₋₁ + (1 − τ) gₜ
            else:      bₜ ← gₜ
            gₜ ← bₜ
        θₜ ← θₜ₋₁ − γ gₜ
    return θₜ

    torch.optim.SGD(momentum=μ, dampening=τ). With μ = 0 the dampening is ignored, as in torch.
    Its default lr is 1e-3; the lab's is 0.01.
    """
    _heavy_ball(params, grads, state, hp, nesterov=False)


def _nesterov_update(params, grads, state, hp):
    r"""Nesterov momentum (Sutskever et al. 2013), torch's form.

    input: γ (lr), θ₀ (params), f(θ) (objective), λ (weight decay), μ (momentum)
    for t = 1 to … do
        gₜ ← ∇θ fₜ(θₜ₋₁)
        if λ ≠ 0:  gₜ ← gₜ + λθₜ₋₁
        if t > 1:  bₜ ← μbₜ₋₁ + gₜ
        else:      bₜ ← gₜ
        gₜ ← gₜ + μbₜ
        θₜ ← θₜ₋₁ − γ gₜ
    return θₜ

    torch.optim.SGD(momentum=μ, nesterov=True), which needs τ = 0. Its default lr is 1e-3; the
    lab's is 0.01.
    """
    _heavy_ball(params, grads, state, hp, nesterov=True)


# --- adaptive rules -------------------------------------------------------------------------


def _adagrad_init(params, hp):
    state = _zeros(params, "sum")
    state["sum"] += _c(hp["initial_accumulator_value"], params)
    return state


def _adagrad_update(params, grads, state, hp):
    r"""Adagrad (Duchi et al. 2011).

    input: γ (lr), θ₀ (params), f(θ) (objective), λ (weight decay), η (lr decay),
           s₀ (initial accumulator value), ε
    for t = 1 to … do
        gₜ ← ∇θ fₜ(θₜ₋₁)
        γ̃ ← γ / (1 + (t − 1)η)
        if λ ≠ 0:  gₜ ← gₜ + λθₜ₋₁
        sₜ ← sₜ₋₁ + gₜ²
        θₜ ← θₜ₋₁ − γ̃ gₜ / (√sₜ + ε)
    return θₜ
    """
    state["t"] += 1
    g = _coupled(params, grads, hp)
    clr = hp["lr"] / (1.0 + (state["t"] - 1) * hp["lr_decay"])
    s = state["sum"]
    s += g * g
    params -= _c(clr, params) * (g / (np.sqrt(s) + _c(hp["eps"], s)))


def _adadelta_init(params, hp):
    return _zeros(params, "square_avg", "acc_delta")


def _adadelta_update(params, grads, state, hp):
    r"""Adadelta (Zeiler 2012).

    input: γ (lr), θ₀ (params), f(θ) (objective), ρ (decay), λ (weight decay), ε;
           v₀ ← 0 (square avg), u₀ ← 0 (accumulate updates)
    for t = 1 to … do
        gₜ ← ∇θ fₜ(θₜ₋₁)
        if λ ≠ 0:  gₜ ← gₜ + λθₜ₋₁
        vₜ ← ρvₜ₋₁ + (1 − ρ) gₜ²
        Δxₜ ← (√(uₜ₋₁ + ε) / √(vₜ + ε)) gₜ
        uₜ ← ρuₜ₋₁ + (1 − ρ) Δxₜ²
        θₜ ← θₜ₋₁ − γ Δxₜ
    return θₜ

    The paper has no learning rate, i.e. γ = 1 (torch's default).
    """
    state["t"] += 1
    g = _coupled(params, grads, hp)
    rho, eps = _c(hp["rho"], params), _c(hp["eps"], params)
    keep = _c(1.0 - hp["rho"], params)
    v, u = state["square_avg"], state["acc_delta"]
    v *= rho
    v += keep * (g * g)
    delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
    u *= rho
    u += keep * (delta * delta)
    params -= _c(hp["lr"], params) * delta


def _rmsprop_init(params, hp):
    return _zeros(params, "square_avg", "grad_avg", "momentum_buffer")


def _rmsprop_update(params, grads, state, hp):
    r"""RMSprop (Hinton's lecture 6e), torch's form.

    input: γ (lr), θ₀ (params), f(θ) (objective), α (smoothing), λ (weight decay), μ (momentum),
           ε, centered; v₀ ← 0 (square average), b₀ ← 0 (buffer), ḡ₀ ← 0
    for t = 1 to … do
        gₜ ← ∇θ fₜ(θₜ₋₁)
        if λ ≠ 0:  gₜ ← gₜ + λθₜ₋₁
        vₜ ← αvₜ₋₁ + (1 − α) gₜ²
        ṽₜ ← vₜ
        if centered:
            ḡₜ ← αḡₜ₋₁ + (1 − α) gₜ
            ṽₜ ← ṽₜ − ḡₜ²
        if μ > 0:
            bₜ ← μbₜ₋₁ + gₜ / (√ṽₜ + ε)
            θₜ ← θₜ₋₁ − γ bₜ
        else:
            θₜ ← θₜ₋₁ − γ gₜ / (√ṽₜ + ε)
    return θₜ

    (With μ = 0, bₜ = 0·bₜ₋₁ + x is exactly x, so the two branches agree bit for bit.)
    """
    state["t"] += 1
    g = _coupled(params, grads, hp)
    alpha = hp["alpha"]
    v = state["square_avg"]
    v *= _c(alpha, v)
    v += _c(1.0 - alpha, v) * (g * g)
    eps = _c(hp["eps"], v)
    if hp["centered"]:
        gbar = state["grad_avg"]
        gbar += _c(1.0 - alpha, v) * (g - gbar)  # torch: lerp
        avg = np.sqrt(v - gbar * gbar) + eps
    else:
        avg = np.sqrt(v) + eps
    lr, mu = _c(hp["lr"], params), hp["momentum"]
    if _is_zero(mu):
        params -= lr * (g / avg)
    else:
        buf = state["momentum_buffer"]
        buf *= _c(mu, buf)
        buf += g / avg
        params -= lr * buf


def _adam_init(params, hp):
    return _zeros(params, "exp_avg", "exp_avg_sq", "max_exp_avg_sq")


def _adam_step(params, g, state, hp) -> None:
    t = state["t"]
    lr, (b1, b2), eps = hp["lr"], hp["betas"], hp["eps"]
    m, v = state["exp_avg"], state["exp_avg_sq"]
    if type(lr) is type(b1) is type(b2) is type(eps) is float:
        # Every row agrees (a lone run, or a group's rows differing in nothing): the per-row
        # helpers below reduce to this plain float arithmetic, done here without their calls
        # (they cost a quarter of a small network's update).
        keep1, keep2, decay2 = 1.0 - b1, 1.0 - b2, b2
        step_size, bc2_sqrt = lr / (1.0 - b1**t), math.sqrt(1.0 - b2**t)
    else:
        keep1, keep2, decay2, eps = _c(1.0 - b1, m), _c(1.0 - b2, v), _c(b2, v), _c(eps, v)
        step_size = _c(lr / _bias_correction(b1, t), params)
        bc2_sqrt = _c(_sqrt(_bias_correction(b2, t)), v)
    # In place where a temporary can be reused: the same operations on the same operands
    # (× is commutative), fewer arrays allocated.
    x = g - m
    x *= keep1
    m += x  # torch: lerp
    v *= decay2
    x = np.multiply(g, g, out=x)
    x *= keep2
    v += x
    if hp["amsgrad"]:
        vmax = state["max_exp_avg_sq"]
        np.maximum(vmax, v, out=vmax)
        x = np.sqrt(vmax, out=x)
    else:
        x = np.sqrt(v, out=x)
    x /= bc2_sqrt
    x += eps  # √v̂ + ε
    x = np.divide(m, x, out=x)
    x *= step_size
    params -= x


def _adam_update(params, grads, state, hp):
    r"""Adam (Kingma & Ba 2015), torch's form.

    input: γ (lr), β₁, β₂ (betas), θ₀ (params), f(θ) (objective), λ (weight decay), ε, amsgrad;
           m₀ ← 0, v₀ ← 0, v̂₀ᵐᵃˣ ← 0
    for t = 1 to … do
        gₜ ← ∇θ fₜ(θₜ₋₁)
        if λ ≠ 0:  gₜ ← gₜ + λθₜ₋₁
        mₜ ← β₁mₜ₋₁ + (1 − β₁) gₜ
        vₜ ← β₂vₜ₋₁ + (1 − β₂) gₜ²
        m̂ₜ ← mₜ / (1 − β₁ᵗ)
        if amsgrad:
            vₜᵐᵃˣ ← max(vₜ₋₁ᵐᵃˣ, vₜ)
            v̂ₜ ← vₜᵐᵃˣ / (1 − β₂ᵗ)
        else:
            v̂ₜ ← vₜ / (1 − β₂ᵗ)
        θₜ ← θₜ₋₁ − γ m̂ₜ / (√v̂ₜ + ε)
    return θₜ
    """
    state["t"] += 1
    _adam_step(params, _coupled(params, grads, hp), state, hp)


def _adamw_update(params, grads, state, hp):
    r"""AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay, torch's form.

    input: γ (lr), β₁, β₂ (betas), θ₀ (params), f(θ) (objective), λ (weight decay), ε, amsgrad;
           m₀ ← 0, v₀ ← 0, v̂₀ᵐᵃˣ ← 0
    for t = 1 to … do
        gₜ ← ∇θ fₜ(θₜ₋₁)
        θₜ ← θₜ₋₁ − γλθₜ₋₁
        mₜ ← β₁mₜ₋₁ + (1 − β₁) gₜ
        vₜ ← β₂vₜ₋₁ + (1 − β₂) gₜ²
        m̂ₜ ← mₜ / (1 − β₁ᵗ)
        v̂ₜ ← vₜ / (1 − β₂ᵗ)   (amsgrad: the running maximum of vₜ, as Adam)
        θₜ ← θₜ − γ m̂ₜ / (√v̂ₜ + ε)
    return θₜ
    """
    state["t"] += 1
    _decay(params, hp)
    _adam_step(params, grads, state, hp)


def _adamax_init(params, hp):
    return _zeros(params, "exp_avg", "exp_inf")


def _adamax_update(params, grads, state, hp):
    r"""Adamax (Kingma & Ba 2015, section 7.1): Adam with the infinity norm, torch's form.

    input: γ (lr), β₁, β₂ (betas), θ₀ (params), f(θ) (objective), λ (weight decay), ε;
           m₀ ← 0 (first moment), u₀ ← 0 (infinity norm)
    for t = 1 to … do
        gₜ ← ∇θ fₜ(θₜ₋₁)
        if λ ≠ 0:  gₜ ← gₜ + λθₜ₋₁
        mₜ ← β₁mₜ₋₁ + (1 − β₁) gₜ
        uₜ ← max(β₂uₜ₋₁, |gₜ| + ε)
        θₜ ← θₜ₋₁ − γ mₜ / ((1 − β₁ᵗ) uₜ)
    return θₜ
    """
    state["t"] += 1
    g = _coupled(params, grads, hp)
    b1, b2 = hp["betas"]
    m, u = state["exp_avg"], state["exp_inf"]
    m += _c(1.0 - b1, m) * (g - m)  # torch: lerp
    u *= _c(b2, u)
    np.maximum(u, np.abs(g) + _c(hp["eps"], u), out=u)
    clr = hp["lr"] / _bias_correction(b1, state["t"])
    params -= _c(clr, params) * (m / u)


def _nadam_init(params, hp):
    state = _zeros(params, "exp_avg", "exp_avg_sq")
    state["mu_product"] = 1.0  # ∏ μᵢ: a float, or (R, 1) when β₁ or ψ differ between rows
    return state


def _nadam_update(params, grads, state, hp):
    r"""NAdam (Dozat 2016), torch's form; NAdamW with decoupled_weight_decay.

    input: γ (lr), β₁, β₂ (betas), θ₀ (params), f(θ) (objective), λ (weight decay), ε,
           ψ (momentum decay), decoupled_weight_decay; m₀ ← 0, v₀ ← 0
    for t = 1 to … do
        gₜ ← ∇θ fₜ(θₜ₋₁)
        if λ ≠ 0:
            if decoupled_weight_decay:  θₜ₋₁ ← θₜ₋₁ − γλθₜ₋₁
            else:                       gₜ ← gₜ + λθₜ₋₁
        μₜ ← β₁(1 − ½·0.96^(tψ))
        μₜ₊₁ ← β₁(1 − ½·0.96^((t+1)ψ))
        mₜ ← β₁mₜ₋₁ + (1 − β₁) gₜ
        vₜ ← β₂vₜ₋₁ + (1 − β₂) gₜ²
        m̂ₜ ← μₜ₊₁mₜ / (1 − ∏ᵢ₌₁..ₜ₊₁ μᵢ) + (1 − μₜ) gₜ / (1 − ∏ᵢ₌₁..ₜ μᵢ)
        v̂ₜ ← vₜ / (1 − β₂ᵗ)
        θₜ ← θₜ₋₁ − γ m̂ₜ / (√v̂ₜ + ε)
    return θₜ
    """
    state["t"] += 1
    t = state["t"]
    lr = hp["lr"]
    if hp["decoupled_weight_decay"]:
        _decay(params, hp)
        g = grads
    else:
        g = _coupled(params, grads, hp)
    b1, b2 = hp["betas"]
    psi = hp["momentum_decay"]
    mu = b1 * (1.0 - 0.5 * _pow(0.96, t * psi))
    mu_next = b1 * (1.0 - 0.5 * _pow(0.96, (t + 1) * psi))
    state["mu_product"] = mu_prod = state["mu_product"] * mu
    m, v = state["exp_avg"], state["exp_avg_sq"]
    m += _c(1.0 - b1, m) * (g - m)
    v *= _c(b2, v)
    v += _c(1.0 - b2, v) * (g * g)
    denom = np.sqrt(v / _c(_bias_correction(b2, t), v)) + _c(hp["eps"], v)
    params -= _c(lr * (1.0 - mu) / (1.0 - mu_prod), params) * (g / denom)
    params -= _c(lr * mu_next / (1.0 - mu_prod * mu_next), params) * (m / denom)


# --- sign rules -----------------------------------------------------------------------------


def _lion_init(params, hp):
    return _zeros(params, "exp_avg")


def _lion_update(params, grads, state, hp):
    r"""Lion, EvoLved Sign Momentum (Chen et al. 2023, Algorithm 2), decoupled weight decay.

    input: γ (lr), β₁, β₂ (betas), θ₀ (params), f(θ) (objective), λ (weight decay); m₀ ← 0
    for t = 1 to … do
        gₜ ← ∇θ fₜ(θₜ₋₁)
        cₜ ← β₁mₜ₋₁ + (1 − β₁) gₜ
        θₜ ← θₜ₋₁(1 − γλ) − γ sign(cₜ)
        mₜ ← β₂mₜ₋₁ + (1 − β₂) gₜ
    return θₜ

    Every coordinate moves by exactly γ (plus the decay): the paper's γ is 3–10× smaller than
    AdamW's, and λ 3–10× larger. torch.optim has no Lion; the oracle tests use an independent
    implementation of the paper's pseudo-code (tests/golden/make_golden.py).
    """
    state["t"] += 1
    b1, b2 = hp["betas"]
    m = state["exp_avg"]
    c = _c(b1, m) * m + _c(1.0 - b1, m) * grads
    _decay(params, hp)
    params -= _c(hp["lr"], params) * np.sign(c)
    m *= _c(b2, m)
    m += _c(1.0 - b2, m) * grads


# --- the registry ---------------------------------------------------------------------------

_SGD_LR_NOTE = (
    "lr defaults to 0.01 here; torch.optim.SGD's own default is 1e-3 (the lab passes the value "
    "explicitly when it checks against torch)."
)

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
            family="sgd-family",
            torch=TorchOptimizer("SGD", (("momentum", 0.0),)),
            surface_lr="gradient",
            conventions=_SGD_LR_NOTE,
        ),
        Rule(
            "momentum",
            "Momentum",
            r"b_1 = g;\; b_t = \mu b_{t-1} + (1-\tau) g;\; \theta \leftarrow \theta - \gamma b_t",
            (_lr(0.01), _MOMENTUM, _DAMPENING, _WD),
            _momentum_init,
            _momentum_update,
            family="sgd-family",
            torch=TorchOptimizer("SGD"),
            keras="Keras writes momentum as v ← μv − γg, θ ← θ + v. That is the same path as "
            "PyTorch's b ← μb + g, θ ← θ − γb while γ is constant and dampening τ = 0; with a "
            "learning-rate schedule the two differ.",
            surface_lr="gradient",
            conventions=_SGD_LR_NOTE + " With μ = 0 the dampening τ is ignored, as in torch.",
        ),
        Rule(
            "nesterov",
            "Nesterov",
            r"b_t \text{ as momentum};\; \theta \leftarrow \theta - \gamma (g + \mu b_t)",
            (_lr(0.01), _MOMENTUM, _WD),
            _momentum_init,
            _nesterov_update,
            family="sgd-family",
            torch=TorchOptimizer("SGD", (("nesterov", True),)),
            surface_lr="gradient",
            conventions=_SGD_LR_NOTE,
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
            torch=TorchOptimizer("Adagrad"),
            keras="Keras starts the accumulator at 0.1 (PyTorch: 0) and puts ε inside the square "
            "root: g/√(s + ε).",
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
            torch=TorchOptimizer("Adadelta"),
            keras="Keras's default learning rate is 1e-3; the paper has no learning rate at all, "
            "which is PyTorch's default of 1.0.",
            surface_lr=1.0,  # the paper's: its step is a ratio of two running averages
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
            torch=TorchOptimizer("RMSprop"),
            keras="Keras's default decay is ρ = 0.9 (PyTorch α = 0.99) and ε sits inside the "
            "square root: g/√(v + ε).",
        ),
        Rule(
            "adam",
            "Adam",
            r"m \leftarrow \beta_1 m + (1-\beta_1) g;\; v \leftarrow \beta_2 v + (1-\beta_2) g^2;\;"
            r" \hat m = \frac{m}{1-\beta_1^t};\; \hat v = \frac{v}{1-\beta_2^t};\;"
            r" \theta \leftarrow \theta - \gamma \frac{\hat m}{\sqrt{\hat v}+\epsilon}",
            (_lr(1e-3), _BETAS, _EPS, _WD, _AMSGRAD),
            _adam_init,
            _adam_update,
            torch=TorchOptimizer("Adam"),
            keras="Keras's ε is the paper's 'ε-hat', added to √v before bias correction: it "
            "corresponds to PyTorch's ε·√(1 − β₂ᵗ) (approximately, as it changes with t), so the "
            "same number is a different ε.",
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
                _AMSGRAD,
            ),
            _adam_init,
            _adamw_update,
            torch=TorchOptimizer("AdamW"),
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
                HyperParam(
                    "decoupled_weight_decay",
                    False,
                    kind="bool",
                    help="NAdamW: θ ← θ(1 − γλ) before the step instead of g ← g + λθ",
                ),
            ),
            _nadam_init,
            _nadam_update,
            torch=TorchOptimizer("NAdam"),
        ),
        Rule(
            "adamax",
            "Adamax",
            r"m \leftarrow \beta_1 m + (1-\beta_1) g;\;"
            r" u \leftarrow \max(\beta_2 u, |g| + \epsilon);\;"
            r" \theta \leftarrow \theta - \frac{\gamma}{1-\beta_1^t} \frac{m}{u}",
            (_lr(2e-3), _BETAS, _EPS, _WD),
            _adamax_init,
            _adamax_update,
            torch=TorchOptimizer("Adamax"),
            keras="Keras's default learning rate is 1e-3 (PyTorch 2e-3), and its ε (default 1e-7) "
            "is added after the maximum, m/(u + ε), where PyTorch takes max(β₂u, |g| + ε).",
        ),
        Rule(
            "lion",
            "Lion",
            r"c = \beta_1 m + (1-\beta_1) g;\;"
            r" \theta \leftarrow \theta (1-\gamma\lambda) - \gamma\, \mathrm{sign}(c);\;"
            r" m \leftarrow \beta_2 m + (1-\beta_2) g",
            (
                _lr(1e-4),
                HyperParam(
                    "betas",
                    (0.9, 0.99),
                    kind="pair",
                    low=0.0,
                    high=1.0,
                    high_open=True,
                    help="(β₁, β₂): β₁ mixes the step's sign, β₂ the momentum",
                ),
                HyperParam("weight_decay", 0.0, low=0.0, high=10.0, help="decoupled λ"),
            ),
            _lion_init,
            _lion_update,
            family="sign",
            torch=None,
            keras="Keras's Lion defaults to a learning rate of 1e-3 (the paper's 1e-4 here); its "
            "weight decay is the optimizer's generic decoupled one, θ ← θ − γλθ, as here.",
            conventions="Not in torch.optim: defaults are the paper's (Chen et al. 2023). "
            "Lion's step is γ in every coordinate, so it wants a γ 3–10× smaller than AdamW's.",
        ),
    ]
}

FAMILIES = ("sgd-family", "adaptive", "sign")


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


def group_key(rule_name: str, hp: dict[str, Any]) -> tuple:
    """What must be equal for runs to share one update call: the rule and its bool
    hyperparameters (they choose the code path). Float hyperparameters may differ per row.

    ``hp`` may be partial; missing bools take the rule's defaults. Hashable."""
    if rule_name not in RULES:
        resolve(rule_name)  # raises the one-line KeyError naming the allowed rules
    rule = RULES[rule_name]
    defaults = rule.defaults
    bools = tuple((name, bool(hp.get(name, defaults[name]))) for name in rule.bool_names)
    return (rule_name, bools)


def _stack(name: str, values: list[float]) -> float | Array:
    """One float when every row agrees, else the per-row (R, 1) float64 column."""
    first = values[0]
    if all(v == first for v in values):
        return float(first)
    return np.asarray(values, dtype=np.float64).reshape(len(values), 1)


def stack_hyperparameters(rule_name: str, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One ``hp`` for R runs of a rule trained as the rows of one (R, P) matrix.

    Each row is validated and completed with :func:`resolve`. A float hyperparameter equal in
    every row becomes that Python float; one that differs becomes a (R, 1) float64 array, row i
    holding run i's value (``betas`` element by element). Bool hyperparameters must agree (they
    are part of :func:`group_key`); otherwise ValueError names the hyperparameter.
    """
    if not rows:
        raise ValueError("stack_hyperparameters needs at least one row")
    resolved = [resolve(rule_name, dict(r)) for r in rows]
    out: dict[str, Any] = {}
    for h in RULES[rule_name].hyper:
        values = [r[h.name] for r in resolved]
        if h.kind == "bool":
            if len(set(values)) > 1:
                raise ValueError(
                    f"{h.name} differs between the rows of one {rule_name} group; "
                    "bool hyperparameters must be equal (see group_key)"
                )
            out[h.name] = values[0]
        elif h.kind == "pair":
            out[h.name] = tuple(_stack(h.name, [v[i] for v in values]) for i in range(2))
        else:
            out[h.name] = _stack(h.name, values)
    return out
