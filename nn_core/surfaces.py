"""Classic 2-D test functions with analytic gradients, walked by the network's own optimizers.

The trajectories here use :data:`nn_core.optimizers.RULES` on a 2-vector θ = (x, y): the very
same update code that trains the MLP, so a path drawn on the Rosenbrock valley is the rule's
true behaviour, not a second implementation.

==============  ==============================================  ====================  ===========
function        f(x, y)                                          minima                start
==============  ==============================================  ====================  ===========
rosenbrock      (1−x)² + 100(y−x²)²                              (1, 1)                (−1.5, 2)
beale           (1.5−x+xy)² + (2.25−x+xy²)² + (2.625−x+xy³)²     (3, 0.5)              (3, 4)
himmelblau      (x²+y−11)² + (x+y²−7)²                           four, f = 0           (0, 0)
rastrigin       20 + x² + y² − 10(cos 2πx + cos 2πy)             (0, 0)                (−2, 3.5)
saddle          x² − y²                                          none (saddle at 0)    (−1, 1e-3)
bowl            ½(x² + κy²)                                      (0, 0)                (−1.8, 1)
==============  ==============================================  ====================  ===========
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import optimizers

Array = np.ndarray


def _rosenbrock(x, y, k):
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def _rosenbrock_grad(x, y, k):
    return -2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)


def _beale_terms(x, y):
    return 1.5 - x + x * y, 2.25 - x + x * y * y, 2.625 - x + x * y**3


def _beale(x, y, k):
    a, b, c = _beale_terms(x, y)
    return a * a + b * b + c * c


def _beale_grad(x, y, k):
    a, b, c = _beale_terms(x, y)
    dx = 2 * a * (y - 1) + 2 * b * (y * y - 1) + 2 * c * (y**3 - 1)
    dy = 2 * a * x + 4 * b * x * y + 6 * c * x * y * y
    return dx, dy


def _himmelblau(x, y, k):
    return (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2


def _himmelblau_grad(x, y, k):
    p, q = x * x + y - 11, x + y * y - 7
    return 4 * x * p + 2 * q, 2 * p + 4 * y * q


def _rastrigin(x, y, k):
    return 20 + x * x + y * y - 10 * (np.cos(2 * np.pi * x) + np.cos(2 * np.pi * y))


def _rastrigin_grad(x, y, k):
    return (
        2 * x + 20 * np.pi * np.sin(2 * np.pi * x),
        2 * y + 20 * np.pi * np.sin(2 * np.pi * y),
    )


def _saddle(x, y, k):
    return x * x - y * y


def _saddle_grad(x, y, k):
    return 2 * x, -2 * y


def _bowl(x, y, k):
    return 0.5 * (x * x + k * y * y)


def _bowl_grad(x, y, k):
    return x, k * y


@dataclass(frozen=True)
class Surface:
    """A test function: ``f(x, y, kappa)`` and ``grad(x, y, kappa)`` broadcast over arrays."""

    name: str
    label: str
    formula: str
    f: Callable
    grad: Callable
    domain: tuple[tuple[float, float], tuple[float, float]]
    start: tuple[float, float]
    minima: tuple[tuple[float, float], ...]
    default_lr: float  # a learning rate at which plain GD makes visible progress
    # The learning rate for rules whose first steps are about γ long whatever the gradient
    # (Adagrad, RMSprop, Adam, Lion…): γ is a distance here, chosen to make the path visible in
    # ~200 steps.
    distance_lr: float
    log_contours: bool = False  # values span many decades: draw contours of log(1+f)
    notes: str = ""
    kappa: float = field(default=10.0)  # condition number (bowl only)

    def value(self, x, y, kappa: float | None = None):
        return self.f(x, y, self.kappa if kappa is None else kappa)

    def gradient(self, x, y, kappa: float | None = None):
        return self.grad(x, y, self.kappa if kappa is None else kappa)

    def grid(self, n: int = 201, kappa: float | None = None) -> tuple[Array, Array, Array]:
        """(xs, ys, Z) with Z[i, j] = f(xs[j], ys[i]) over the customary domain."""
        (x0, x1), (y0, y1) = self.domain
        xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
        X, Y = np.meshgrid(xs, ys)
        return xs, ys, self.value(X, Y, kappa)


SURFACES: dict[str, Surface] = {
    s.name: s
    for s in [
        Surface(
            "rosenbrock", "Rosenbrock", "(1−x)² + 100(y−x²)²", _rosenbrock, _rosenbrock_grad,
            ((-2.0, 2.0), (-1.0, 3.0)), (-1.5, 2.0), ((1.0, 1.0),), 1e-3, 0.1, log_contours=True,
            notes="a curved, narrow valley: easy to find, slow to follow to (1, 1)",
        ),
        Surface(
            "beale", "Beale", "(1.5−x+xy)² + (2.25−x+xy²)² + (2.625−x+xy³)²", _beale,
            _beale_grad, ((-4.5, 4.5), (-4.5, 4.5)), (3.0, 4.0), ((3.0, 0.5),), 1e-5, 0.1,
            log_contours=True, notes="steep walls and flat plateaus; momentum overshoots",
        ),
        Surface(
            "himmelblau", "Himmelblau", "(x²+y−11)² + (x+y²−7)²", _himmelblau, _himmelblau_grad,
            ((-5.0, 5.0), (-5.0, 5.0)),
            (0.0, 0.0),
            ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)),
            1e-2, 0.03, log_contours=True,
            notes="four minima of equal depth: which one a rule finds",
        ),
        Surface(
            "rastrigin", "Rastrigin", "20 + x² + y² − 10(cos 2πx + cos 2πy)", _rastrigin,
            _rastrigin_grad, ((-4.5, 4.5), (-4.5, 4.5)), (-2.0, 3.5), ((0.0, 0.0),), 1e-3, 0.1,
            notes="a bowl covered in local minima",
        ),
        Surface(
            "saddle", "Saddle", "x² − y²", _saddle, _saddle_grad, ((-2.0, 2.0), (-2.0, 2.0)),
            (-1.0, 1e-3), (), 1e-2, 0.01,
            notes="GD escapes slowly along y; adaptive rules escape fast",
        ),
        Surface(
            "bowl", "Ill-conditioned bowl", "½(x² + κy²)", _bowl, _bowl_grad,
            ((-2.0, 2.0), (-2.0, 2.0)), (-1.8, 1.0), ((0.0, 0.0),), 0.1, 0.03,
            notes="GD's best step 2/(1+κ) converges at rate (κ−1)/(κ+1); momentum at "
            "(√κ−1)/(√κ+1)",
        ),
    ]
}  # fmt: skip

MAX_STEPS = 100_000


def default_lr(surface: str | Surface, rule: str) -> float:
    """The learning rate a rule starts with on a test function, as its registry entry says
    (``Rule.surface_lr``): the function's ``default_lr`` for a step γ·g (the SGD family: γ must
    suit the gradient's scale), its ``distance_lr`` for rules whose step is about γ long whatever
    the gradient, or the entry's own number (Adadelta: the paper's 1.0)."""
    surf = SURFACES[surface] if isinstance(surface, str) else surface
    choice = optimizers.RULES[rule].surface_lr
    if choice == "gradient":
        return float(surf.default_lr)
    if choice == "distance":
        return float(surf.distance_lr)
    return float(choice)


def gd_optimal(kappa: float) -> tuple[float, float]:
    """Best GD step on ½(x² + κy²) and its convergence rate per step: 2/(1+κ), (κ−1)/(κ+1)."""
    return 2.0 / (1.0 + kappa), (kappa - 1.0) / (kappa + 1.0)


def momentum_optimal(kappa: float) -> tuple[float, float, float]:
    """Best heavy-ball (torch momentum) lr, μ and rate on ½(x² + κy²):
    4/(1+√κ)², ((√κ−1)/(√κ+1))² and (√κ−1)/(√κ+1)."""
    r = math.sqrt(kappa)
    rate = (r - 1.0) / (r + 1.0)
    return 4.0 / (1.0 + r) ** 2, rate * rate, rate


def run_surface(
    surface: str | Surface,
    optimizer: str,
    hyper: dict[str, Any] | None = None,
    start: tuple[float, float] | None = None,
    steps: int = 200,
    kappa: float | None = None,
    label: str | None = None,
) -> pd.DataFrame:
    """Walk ``optimizer`` on a test function; one row per step (step 0 is the start).

    Columns: optimizer, label, step, x, y, loss, grad_norm, dx, dy (the update applied at this
    step), eff_lr_x, eff_lr_y (−Δθ/g: the effective per-coordinate learning rate, γ for plain
    GD, adaptive for Adagrad/RMSprop/Adam), and for rules that have them the state buffers after
    the step (``momentum_buffer``, ``exp_avg``, ``exp_avg_sq``, …) as ``<name>_x``/``<name>_y``.
    A path whose point or loss stops being finite ends there; ``diverged`` marks its last row.
    Without an ``lr`` in ``hyper`` the rule starts at :func:`default_lr` for the function (the
    trajectory page's value), not at its network default.
    """
    surf = SURFACES[surface] if isinstance(surface, str) else surface
    if not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be between 1 and {MAX_STEPS}, got {steps}")
    k = surf.kappa if kappa is None else float(kappa)
    hp = optimizers.resolve(optimizer, hyper)
    if "lr" not in (hyper or {}):
        hp["lr"] = default_lr(surf, optimizer)
    rule = optimizers.RULES[optimizer]
    theta = np.array(surf.start if start is None else start, dtype=np.float64)
    state = rule.init(theta, hp)
    buffers = [n for n, v in state.items() if isinstance(v, np.ndarray)]
    # One row per step, collected in preallocated arrays (rows beyond a divergence are cut).
    xy = np.full((steps + 1, 2), np.nan)
    loss = np.full(steps + 1, np.nan)
    gnorm = np.full(steps + 1, np.nan)
    delta = np.zeros((steps + 1, 2))
    used = np.full((steps + 1, 2), np.nan)  # the gradient each step applied
    buf = {name: np.zeros((steps + 1, 2)) for name in buffers}
    last = steps
    with np.errstate(all="ignore"):
        g = np.array(surf.gradient(theta[0], theta[1], k), dtype=np.float64)
        xy[0], loss[0], gnorm[0] = theta, surf.value(theta[0], theta[1], k), np.hypot(*g)
        for name in buffers:
            buf[name][0] = state[name]
        for t in range(1, steps + 1):
            before = theta.copy()
            rule.update(theta, g, state, hp)
            delta[t], used[t] = theta - before, g
            g = np.array(surf.gradient(theta[0], theta[1], k), dtype=np.float64)
            xy[t], loss[t], gnorm[t] = theta, surf.value(theta[0], theta[1], k), np.hypot(*g)
            for name in buffers:
                buf[name][t] = state[name]
            if not (np.isfinite(theta).all() and np.isfinite(loss[t]) and np.isfinite(g).all()):
                last = t
                break
    rows = slice(0, last + 1)
    with np.errstate(all="ignore"):
        eff = np.where(used != 0, -delta / np.where(used != 0, used, 1.0), np.nan)
    df = pd.DataFrame(
        {
            "optimizer": optimizer,
            "label": label or optimizer,
            "step": np.arange(last + 1),
            "x": xy[rows, 0],
            "y": xy[rows, 1],
            "loss": loss[rows],
            "grad_norm": gnorm[rows],
            "dx": delta[rows, 0],
            "dy": delta[rows, 1],
            "eff_lr_x": eff[rows, 0],
            "eff_lr_y": eff[rows, 1],
            **{f"{n}_{c}": buf[n][rows, i] for n in buffers for i, c in enumerate("xy")},
        }
    )
    df["diverged"] = False
    df.loc[last, "diverged"] = not np.isfinite([xy[last, 0], xy[last, 1], loss[last]]).all()
    return df
