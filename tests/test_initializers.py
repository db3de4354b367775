"""Initializers against their formulas and torch.nn.init (2.13), by sample statistics.

Golden statistics (tests/golden/initializers.json, written by make_golden.py) hold the mean, std,
min and max of torch's draw of a 400×300 weight for each initializer, with the formula's std.
Tolerances are 5 standard errors: SE(mean) = σ/√n, SE(std) = σ·√((κ − 1)/(4n)) with the
distribution's kurtosis κ (3 normal, 9/5 uniform); two samples compared: √2 times that.
"""

from __future__ import annotations

import functools
import json
import math

import numpy as np
import pytest

from nn_core.initializers import INITIALIZERS
from tests.golden_files import GOLDEN, make_golden

Z = 5.0  # standard errors
KURTOSIS = {"uniform": 1.8, "normal": 3.0}


mg = make_golden()
CASES = json.loads((GOLDEN / "initializers.json").read_text())["cases"]
IDS = [c["name"] if c["gain"] == 1.0 else f"{c['name']}(gain={c['gain']:.4g})" for c in CASES]
RANDOM = [c for c in CASES if c["name"] != "zeros"]
RANDOM_IDS = [i for i, c in zip(IDS, CASES, strict=True) if c["name"] != "zeros"]
UNIFORM = [c for c in CASES if c["bound"] is not None]
UNIFORM_IDS = [i for i, c in zip(IDS, CASES, strict=True) if c["bound"] is not None]


@functools.cache
def _draw(index: int, seed: int) -> np.ndarray:
    c = CASES[index]
    rng = np.random.default_rng(seed)
    return INITIALIZERS[c["name"]].weights(rng, c["fan_in"], c["fan_out"], c["gain"], c["scale"])


def draw(case: dict, seed: int = 7) -> np.ndarray:
    return _draw(CASES.index(case), seed)


def se_std(case: dict, n: int) -> float:
    kurtosis = KURTOSIS[INITIALIZERS[case["name"]].dist]
    return case["theory_std"] * math.sqrt((kurtosis - 1.0) / (4.0 * n))


def our_std(case: dict) -> float:
    return INITIALIZERS[case["name"]].std(
        case["fan_in"], case["fan_out"], case["gain"], case["scale"]
    )


def test_every_initializer_has_a_golden_case():
    assert set(INITIALIZERS) <= {c["name"] for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_std_formula_is_torchs(case):
    assert our_std(case) == pytest.approx(case["theory_std"], rel=1e-12, abs=0.0)


@pytest.mark.parametrize("case", RANDOM, ids=RANDOM_IDS)
def test_sample_mean_is_zero(case):
    w = draw(case)
    assert abs(w.mean()) <= Z * case["theory_std"] / math.sqrt(w.size)


@pytest.mark.parametrize("case", RANDOM, ids=RANDOM_IDS)
def test_sample_std_matches_formula(case):
    w = draw(case)
    assert abs(w.std(ddof=1) - our_std(case)) <= Z * se_std(case, w.size)


@pytest.mark.parametrize("case", RANDOM, ids=RANDOM_IDS)
def test_sample_std_matches_torch_sample(case):
    w, torch_w = draw(case), case["weight"]
    assert abs(w.std(ddof=1) - torch_w["std"]) <= Z * math.sqrt(2.0) * se_std(case, w.size)


@pytest.mark.parametrize("case", RANDOM, ids=RANDOM_IDS)
def test_torch_golden_sample_matches_formula(case):
    """The golden file itself: torch's draw has the formula's mean and std."""
    s = case["weight"]
    sd = case["theory_std"]
    assert abs(s["mean"]) <= Z * sd / math.sqrt(s["n"]) and abs(s["std"] - sd) <= Z * se_std(
        case, s["n"]
    )


@pytest.mark.parametrize("case", UNIFORM, ids=UNIFORM_IDS)
def test_uniform_draws_fill_torchs_bounds(case):
    """Within ±bound and reaching it (P(max|W| < 0.999·bound) ≈ e^−120 for n = 120 000)."""
    w = draw(case)
    assert 0.999 * case["bound"] < np.max(np.abs(w)) <= case["bound"]


@pytest.mark.parametrize("case", UNIFORM, ids=UNIFORM_IDS)
def test_torch_golden_uniform_fills_its_bounds(case):
    s, bound = case["weight"], case["bound"]
    assert -bound <= s["min"] < -0.999 * bound and 0.999 * bound < s["max"] <= bound


TORCH_DEFAULT = next(c for c in CASES if c["name"] == "torch_default")


def test_torch_default_bias_range():
    fan_in, fan_out = TORCH_DEFAULT["fan_in"], TORCH_DEFAULT["fan_out"]
    b = INITIALIZERS["torch_default"].bias(np.random.default_rng(1), fan_in, fan_out)
    assert b.shape == (fan_out,) and 0.9 / math.sqrt(fan_in) < np.max(np.abs(b)) <= 1 / math.sqrt(
        fan_in
    )


def test_torch_default_bias_std_matches_torch_sample():
    fan_in, fan_out = TORCH_DEFAULT["fan_in"], TORCH_DEFAULT["fan_out"]
    b = INITIALIZERS["torch_default"].bias(np.random.default_rng(1), fan_in, fan_out)
    tol = Z * math.sqrt(2.0) * se_std(TORCH_DEFAULT, fan_out)
    assert abs(b.std(ddof=1) - TORCH_DEFAULT["bias"]["std"]) <= tol


@pytest.mark.parametrize("name", sorted(set(INITIALIZERS) - {"torch_default"}))
def test_bias_is_zero_except_torch_default(name):
    assert not INITIALIZERS[name].bias(np.random.default_rng(1), 4, 3).any()


def test_zeros_are_all_zero():
    w = INITIALIZERS["zeros"].weights(np.random.default_rng(1), 40, 30)
    assert w.shape == (40, 30) and not w.any()


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
def test_same_seed_same_draws(name):
    init = INITIALIZERS[name]
    a, b = (init.weights(np.random.default_rng(11), 20, 10) for _ in range(2))
    assert np.array_equal(a, b)


@pytest.mark.parametrize("name", sorted(set(INITIALIZERS) - {"zeros"}))
def test_different_seeds_different_draws(name):
    init = INITIALIZERS[name]
    a, b = (init.weights(np.random.default_rng(seed), 20, 10) for seed in (11, 12))
    assert not np.array_equal(a, b)


@pytest.fixture
def restore_global_numpy_random():
    saved = np.random.get_state()  # noqa: NPY002 - the legacy global state is what is tested
    yield
    np.random.set_state(saved)  # noqa: NPY002


@pytest.mark.usefixtures("restore_global_numpy_random")
@pytest.mark.parametrize("name", sorted(INITIALIZERS))
def test_global_numpy_random_state_neither_used_nor_touched(name):
    """Draws depend on the Generator only, whatever np.random.seed was, and leave it alone."""
    init, draws, untouched = INITIALIZERS[name], [], []
    for global_seed in (0, 1):
        np.random.seed(global_seed)  # noqa: NPY002
        before = np.random.get_state()[1].copy()  # noqa: NPY002
        w = init.weights(np.random.default_rng(5), 20, 10)
        b = init.bias(np.random.default_rng(5), 20, 10)
        draws.append(np.concatenate([w.ravel(), b]))
        untouched.append(np.array_equal(np.random.get_state()[1], before))  # noqa: NPY002
    assert np.array_equal(*draws) and all(untouched)


@pytest.mark.torch
@pytest.mark.parametrize("case", RANDOM, ids=RANDOM_IDS)
def test_sample_std_matches_torch_live(case):
    pytest.importorskip("torch", exc_type=ImportError)  # absent or broken
    theirs = mg.torch_init_stats(case["name"], case["gain"], case["scale"], seed=2024)["weight"]
    w = draw(case, seed=2024)
    assert abs(w.std(ddof=1) - theirs["std"]) <= Z * math.sqrt(2.0) * se_std(case, w.size)
