"""The per-row contract of every update rule (nn_core/optimizers.py, module docstring).

R runs trained as the rows of one (R, P) matrix with ONE update call, each float hyperparameter
a (R, 1) column where the runs differ, must give bit for bit what each run gives alone with its
own scalar hyperparameters. Plus the helpers the engine calls (stack_hyperparameters,
group_key) and the conventions the rules keep (μ = 0 ignores dampening; Lion's first step).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nn_core import optimizers
from nn_core.optimizers import RULES, group_key, resolve, stack_hyperparameters

R, P, STEPS = 5, 7, 25

# Four values per float hyperparameter (row i takes ROW_VALUES[name][i % 4]); zeros where a zero
# changes a code path (weight decay, momentum, dampening, lr decay, ψ).
ROW_VALUES: dict[str, tuple] = {
    "momentum": (0.9, 0.0, 0.5, 0.0),
    "dampening": (0.5, 0.5, 0.0, 0.1),  # row 1: μ = 0 with τ > 0 (τ ignored)
    "weight_decay": (0.0, 0.01, 0.1, 0.0),
    "eps": (1e-8, 1e-6, 1e-3, 1e-10),
    "alpha": (0.99, 0.9, 0.5, 0.99),
    "rho": (0.9, 0.8, 0.95, 0.5),
    "lr_decay": (0.0, 0.01, 0.1, 0.0),
    "initial_accumulator_value": (0.0, 0.1, 1.0, 0.0),
    "momentum_decay": (4e-3, 0.01, 0.0, 0.1),
    "betas": ((0.9, 0.999), (0.8, 0.99), (0.95, 0.9), (0.9, 0.99)),
}
LR_FACTORS = (1.0, 3.0, 0.5, 1.7)


def row_hyper(rule: str, i: int, bools: dict) -> dict:
    """Run i's hyperparameters: every float one differs between rows."""
    hp = {}
    for h in RULES[rule].hyper:
        if h.kind == "bool":
            hp[h.name] = bools.get(h.name, h.default)
        elif h.name == "lr":
            hp["lr"] = h.default * LR_FACTORS[i % 4]
        else:
            hp[h.name] = ROW_VALUES[h.name][i % 4]
    return resolve(rule, hp)


def bool_settings(rule: str) -> list[dict]:
    """Every combination of the rule's bool hyperparameters."""
    names = RULES[rule].bool_names
    combos = itertools.product(*[(False, True)] * len(names))
    return [dict(zip(names, combo, strict=True)) for combo in combos]


CASES = [(rule, b) for rule in RULES for b in bool_settings(rule)]


def grads_sequence(seed: int, dtype) -> np.ndarray:
    """(STEPS, R, P) gradients of mixed scales, with exact zeros (ε paths, sign(0))."""
    rng = np.random.default_rng(seed)
    g = rng.standard_normal((STEPS, R, P)) * np.geomspace(1e-3, 10.0, P)
    g[:, :, 0] = 0.0
    g[::3, :, 1] = 0.0
    return g.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("rule", "bools"), CASES, ids=[f"{r}-{b}" for r, b in CASES])
def test_a_group_with_per_row_hyperparameters_equals_each_row_alone(rule, bools, dtype):
    rows = [row_hyper(rule, i, bools) for i in range(R)]
    hp = stack_hyperparameters(rule, rows)
    differing = [
        k
        for k, v in hp.items()
        if isinstance(v, np.ndarray)
        or (isinstance(v, tuple) and all(isinstance(x, np.ndarray) for x in v))
    ]
    floats = [h.name for h in RULES[rule].hyper if h.kind != "bool"]
    assert sorted(differing) == sorted(floats)  # every float hyperparameter is a column

    rng = np.random.default_rng(1)
    theta0 = rng.standard_normal((R, P)).astype(dtype)
    grads = grads_sequence(2, dtype)
    update = RULES[rule].update

    group = theta0.copy()
    state = RULES[rule].init(group, hp)
    alone = [theta0[i].copy() for i in range(R)]
    states = [RULES[rule].init(alone[i], rows[i]) for i in range(R)]
    for step in range(STEPS):
        update(group, grads[step], state, hp)  # one call for all R rows
        for i in range(R):
            update(alone[i], grads[step, i].copy(), states[i], rows[i])
        for i in range(R):
            assert np.array_equal(group[i], alone[i]), f"row {i} differs at step {step + 1}"
    assert group.dtype == dtype
    moved = np.abs(group - theta0).max(axis=1)
    assert (moved > 0).all()  # every row trained
    assert np.isfinite(group).all()


@pytest.mark.parametrize("rule", list(RULES))
def test_a_row_slice_of_a_matrix_updates_as_the_run_alone(rule):
    """Element-wise across rows: the rule handed rows 1:3 of a matrix (a view) leaves the other
    rows untouched and gives those rows what the run alone gets."""
    hp = resolve(rule)
    rng = np.random.default_rng(3)
    theta = rng.standard_normal((4, P))
    grads = grads_sequence(4, np.float64)[:, :4]
    ref = theta[1:3].copy()
    before = theta.copy()
    state, ref_state = RULES[rule].init(theta[1:3], hp), RULES[rule].init(ref, hp)
    for step in range(STEPS):
        RULES[rule].update(theta[1:3], grads[step, 1:3], state, hp)
        RULES[rule].update(ref, grads[step, 1:3].copy(), ref_state, hp)
    assert np.array_equal(theta[1:3], ref)
    assert np.array_equal(theta[[0, 3]], before[[0, 3]])


def test_zero_momentum_buffer_equals_the_plain_step_bit_for_bit():
    """RMSprop's claim: b = 0·b + x is exactly x, so θ − γb with μ = 0 is θ − γx, bit for bit
    (the group's rows with μ = 0 take the buffer path; the run alone does not)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal(10_000) * np.geomspace(1e-300, 1e300, 10_000)
    buf = rng.standard_normal(10_000) * 1e10
    theta = rng.standard_normal(10_000)
    b = buf.copy()
    b *= 0.0
    b += x
    assert np.array_equal(b.view(np.int64), x.view(np.int64))
    lr = 0.37
    assert np.array_equal((theta - lr * b).view(np.int64), (theta - lr * x).view(np.int64))


def test_momentum_zero_ignores_dampening_and_is_plain_sgd():
    """torch: with μ = 0 there is no buffer, so τ changes nothing; nn_core's momentum rule at
    μ = 0 follows plain SGD exactly whatever τ."""
    theta0, grads = np.linspace(-1, 1, P), grads_sequence(6, np.float64)[:, 0]
    paths = {}
    for rule, over in (("sgd", {}), ("momentum", {"momentum": 0.0, "dampening": 0.7})):
        theta, hp = theta0.copy(), resolve(rule, {"lr": 0.05, **over})
        state = RULES[rule].init(theta, hp)
        for g in grads:
            RULES[rule].update(theta, g, state, hp)
        paths[rule] = theta
    assert np.array_equal(paths["sgd"], paths["momentum"])


def test_stack_hyperparameters_collapses_equal_values_to_python_floats():
    rows = [{"lr": 0.01, "betas": [0.9, 0.999]}, {"lr": 0.02, "betas": [0.9, 0.99]}]
    hp = stack_hyperparameters("adam", rows)
    assert type(hp["eps"]) is float and hp["eps"] == 1e-8
    assert hp["lr"].shape == (2, 1) and hp["lr"].dtype == np.float64
    assert hp["lr"].ravel().tolist() == [0.01, 0.02]
    assert type(hp["betas"][0]) is float and hp["betas"][0] == 0.9
    assert hp["betas"][1].ravel().tolist() == [0.999, 0.99]
    assert hp["amsgrad"] is False
    single = stack_hyperparameters("adam", [{"lr": 0.01}])
    assert single == resolve("adam", {"lr": 0.01})


def test_stack_hyperparameters_rejects_mixed_bools_and_bad_values():
    with pytest.raises(ValueError, match="amsgrad differs"):
        stack_hyperparameters("adam", [{"amsgrad": True}, {"amsgrad": False}])
    with pytest.raises(ValueError, match="lr must be > 0"):
        stack_hyperparameters("adam", [{"lr": 0.1}, {"lr": -1.0}])
    with pytest.raises(ValueError, match="at least one row"):
        stack_hyperparameters("adam", [])


def test_group_key_holds_the_rule_and_its_bools_only():
    a = group_key("rmsprop", resolve("rmsprop", {"lr": 0.1, "momentum": 0.5}))
    b = group_key("rmsprop", resolve("rmsprop", {"lr": 0.2}))
    c = group_key("rmsprop", resolve("rmsprop", {"centered": True}))
    assert a == b != c
    assert hash(a) == hash(b)
    assert group_key("adam", {}) != group_key("adamw", {})
    assert group_key("nadam", {"decoupled_weight_decay": True}) == (
        "nadam",
        (("decoupled_weight_decay", True),),
    )
    with pytest.raises(KeyError, match="unknown optimizer"):
        group_key("adamm", {})


def test_pow_evaluates_with_python_floats_row_by_row():
    b1 = np.array([[0.9], [0.8]])
    out = optimizers._pow(b1, 7)
    assert out.shape == (2, 1)
    assert out.ravel().tolist() == [0.9**7, 0.8**7]
    psi = np.array([[0.004], [0.01]])
    assert optimizers._pow(0.96, 3 * psi).ravel().tolist() == [0.96**0.012, 0.96 ** (3 * 0.01)]
    assert type(optimizers._pow(0.9, 7)) is float and optimizers._pow(0.9, 7) == 0.9**7


def test_lion_first_step_is_minus_lr_times_the_sign():
    """m₀ = 0, so c₁ = (1 − β₁)g₁ and the first step is θ(1 − γλ) − γ·sign(g₁) exactly."""
    hp = resolve("lion", {"lr": 0.01, "weight_decay": 0.1})
    theta = np.array([0.5, -2.0, 3.0, 0.0])
    g = np.array([3.0, -1e-9, 0.0, -5.0])
    expected = theta * (1 - 0.01 * 0.1) - 0.01 * np.sign(g)
    RULES["lion"].update(theta, g, RULES["lion"].init(theta, hp), hp)
    np.testing.assert_allclose(theta, expected, rtol=0, atol=1e-15)
