"""Activations against torch.nn.functional (2.13) and against their own finite differences.

Golden values (tests/golden/activations.json, written by make_golden.py) hold torch's f(z) and
f'(z) (autograd) on a grid reaching ±700; the ``torch`` tests recompute them live on a dense grid.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from nn_core import losses
from nn_core.activations import ACTIVATIONS, prelu_slope_grad, sigmoid
from tests.golden_files import GOLDEN, make_golden

RTOL, ATOL = 1e-12, 1e-14  # relative, absolute for values near 0 (tanh-tail rounding ~5e-15)
FD_TOL = 1e-6  # relative error of a centred finite difference in float64


mg = make_golden()
DATA = json.loads((GOLDEN / "activations.json").read_text())
CASES = DATA["cases"]


def _id(name: str, a: float | None) -> str:
    return name if a is None else f"{name}(a={a})"


def evaluate(name: str, key: str, z: np.ndarray, a: float | None) -> np.ndarray:
    act = ACTIVATIONS[name]
    return (act.forward if key == "f" else act.derivative)(z, a)


def within(ours: np.ndarray, ref) -> bool:
    ref = np.asarray(ref, dtype=np.float64)
    return ours.shape == ref.shape and bool(np.all(np.abs(ours - ref) <= RTOL * np.abs(ref) + ATOL))


def rel_error(x, y) -> float:
    """CS231n's max |x − y| / max(|x| + |y|, 1e-8)."""
    x, y = np.asarray(x), np.asarray(y)
    return float(np.max(np.abs(x - y) / np.maximum(np.abs(x) + np.abs(y), 1e-8)))


# --- torch golden values ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "key"),
    [(c, k) for c in CASES for k in ("f", "df")],
    ids=[f"{_id(c['name'], c['a'])}-{k}" for c in CASES for k in ("f", "df")],
)
def test_matches_torch_golden(case, key):
    assert within(evaluate(case["name"], key, np.asarray(case["z"]), case["a"]), case[key])


def test_every_activation_has_golden_values():
    assert set(ACTIVATIONS) <= {c["name"] for c in CASES}


PRELU_CASES = [c for c in CASES if c["name"] == "prelu"]


@pytest.mark.parametrize("case", PRELU_CASES, ids=[str(c["a"]) for c in PRELU_CASES])
def test_prelu_slope_grad_matches_torch_golden(case):
    z = np.asarray(case["z"])
    ours = prelu_slope_grad(z[None], np.asarray(mg.activation_upstream(z.size))[None])
    assert ours.shape == (1,) and ours[0] == pytest.approx(case["da"], rel=RTOL)


@pytest.mark.parametrize("name", sorted(DATA["gains"]))
def test_gain_matches_torch_calculate_gain(name):
    assert ACTIVATIONS[name].gain == pytest.approx(DATA["gains"][name], rel=1e-15)


# --- finite differences -------------------------------------------------------------------

# A grid over [−4, 4] shifted so that no point lies within 0.0137 of the kinks at 0. Further out
# GELU's forms lose relative accuracy to the cancellation in 1 + erf and 1 + tanh (torch's too),
# which a finite difference amplifies; the tails are held to torch's values above instead.
FD_Z = np.linspace(-4.0, 4.0, 97) + 0.0137
FD_H = 1e-5
FD_CASES = list(mg.ACTIVATION_CASES)


@pytest.mark.parametrize(("name", "a"), FD_CASES, ids=[_id(n, a) for n, a in FD_CASES])
def test_derivative_matches_finite_difference(name, a):
    f = ACTIVATIONS[name].forward
    fd = (f(FD_Z + FD_H, a) - f(FD_Z - FD_H, a)) / (2.0 * FD_H)
    assert rel_error(ACTIVATIONS[name].derivative(FD_Z, a), fd) < FD_TOL


@pytest.mark.parametrize("a", [0.25, -0.3, 1.5])
def test_prelu_slope_grad_matches_finite_difference(a):
    rng = np.random.default_rng(3)
    z, upstream = rng.standard_normal((32, 5)), rng.standard_normal((32, 5))

    def loss(slope):
        return float(np.sum(upstream * ACTIVATIONS["prelu"].forward(z, slope)))

    fd = (loss(a + 1e-6) - loss(a - 1e-6)) / 2e-6
    assert rel_error(prelu_slope_grad(z[None], upstream[None])[0], fd) < FD_TOL


# --- numerical facts from REFERENCE.md ------------------------------------------------------

EXTREMES = np.array([-1e5, -700.0, 700.0, 1e5])


@pytest.mark.parametrize(
    ("name", "key"),
    [(n, k) for n in ACTIVATIONS for k in ("f", "df")],
    ids=[f"{n}-{k}" for n in ACTIVATIONS for k in ("f", "df")],
)
def test_finite_without_warnings_at_extremes(name, key):
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        values = evaluate(name, key, EXTREMES, 0.25)
    assert np.all(np.isfinite(values))


def test_sigmoid_saturates_cleanly():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = sigmoid(np.array([-700.0, 700.0]))
    assert s[0] == pytest.approx(np.exp(-700.0), rel=1e-14) and s[1] == 1.0


def test_softplus_in_the_binary_loss_is_stable_at_700():
    z, y = np.array([[[700.0], [-700.0]]]), np.array([[0.0], [1.0]])  # one network, 2 rows
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value, grad = losses.loss_and_grad("binary", z, y)
    assert (value.tolist(), grad.ravel().tolist()) == ([700.0], [0.5, -0.5])


def test_gelu_tanh_approximation_error():
    """REFERENCE.md: ≤ 4.73e-4 (3 significant digits; torch's own maximum is 4.7324e-4)."""
    z = np.linspace(-10.0, 10.0, 200_001)
    gap = np.max(np.abs(ACTIVATIONS["gelu_tanh"].forward(z) - ACTIVATIONS["gelu"].forward(z)))
    assert 1e-4 < gap <= 4.735e-4


def test_selu_at_minus_one():
    value = ACTIVATIONS["selu"].forward(np.array([-1.0]))[0]
    assert abs(value - (-1.1113307378125625)) <= 1e-15


def test_relu_derivative_at_zero_is_zero():
    assert ACTIVATIONS["relu"].derivative(np.array([0.0]))[0] == 0.0


def test_softmax_cross_entropy_of_large_logits_is_exact():
    ce = DATA["softmax_ce"]
    logits, target = np.array([ce["logits"]]), np.array([ce["target"]])
    ours = (
        losses.loss("multiclass", logits, target),
        losses.loss_and_grad("multiclass", logits[None], target)[0][0],
    )
    assert (ce["loss"], *ours) == (1000.0, 1000.0, 1000.0)


# --- live torch -------------------------------------------------------------------------------

LIVE_Z = np.concatenate([np.linspace(-40.0, 40.0, 8001), mg.ACTIVATION_POINTS])


LIVE_CASES = [(n, a, k) for n, a in FD_CASES for k in ("f", "df")]


@pytest.mark.torch
@pytest.mark.parametrize(
    ("name", "a", "key"), LIVE_CASES, ids=[f"{_id(n, a)}-{k}" for n, a, k in LIVE_CASES]
)
def test_matches_torch_live(name, a, key):
    pytest.importorskip("torch", exc_type=ImportError)  # absent or broken
    ref = mg.torch_activation_values(name, a, LIVE_Z.tolist())[key]
    assert within(evaluate(name, key, LIVE_Z, a), ref)
