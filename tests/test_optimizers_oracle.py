"""Every optimizer rule against torch.optim (2.13), float64, through the whole network.

Golden cases (tests/golden/optimizers.json, written by make_golden.py) hold the data, the initial
flat parameters, the batch of every step and torch's parameters after every step; nn_core must
follow the trajectory within 1e-10. The ``torch`` tests rerun torch in-process (skipped without
torch), through the network and for the rules alone on a fixed gradient sequence. A rule torch
lacks (Lion) is held to make_golden's implementation of its paper in torch tensors, and here,
without torch, to a per-element Python transcription of the same pseudo-code.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from nn_core.network import Architecture, Network
from nn_core.optimizers import RULES, resolve
from tests.golden_files import GOLDEN, make_golden

TOL = 1e-10  # max |θ_nn_core − θ_torch| over every step and parameter (float64)
RULE_TOL = 1e-12  # the rules alone, fed identical gradients


mg = make_golden()
CASES = json.loads((GOLDEN / "optimizers.json").read_text())["cases"]
SPECS = mg.optimizer_case_specs()


def nn_core_trajectory(case: dict) -> np.ndarray:
    """Train the case with nn_core: the network's loss_and_grad (one run, R = 1) on each stored
    batch, then the rule."""
    arch = Architecture(
        tuple(case["arch"]["sizes"]),
        tuple(case["arch"]["activations"]),
        case["arch"]["task"],
        l2=case["arch"]["l2"],
    )
    params = np.array([case["params0"]], dtype=np.float64)
    net = Network(arch, params, np.zeros_like(params))
    X, y = np.asarray(case["X"]), np.asarray(case["y"])
    rule, hp = RULES[case["rule"]], resolve(case["rule"], case["overrides"])
    state = rule.init(params, hp)
    out = []
    for idx in case["batches"]:
        net.loss_and_grad(X[idx], y[idx])
        rule.update(params, net.grads, state, hp)
        out.append(params[0].copy())
    return np.asarray(out)


def max_error(ours: np.ndarray, theirs) -> float:
    theirs = np.asarray(theirs)
    assert ours.shape == theirs.shape
    return float(np.max(np.abs(ours - theirs)))


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matches_torch_golden_every_step(case):
    assert max_error(nn_core_trajectory(case), case["trajectory"]) < TOL


def test_every_rule_has_a_golden_case():
    assert set(RULES) <= {c["rule"] for c in CASES}


def test_every_rule_has_a_weight_decay_case():
    decayed = {c["rule"] for c in CASES if c["overrides"].get("weight_decay", 0) > 0}
    assert decayed | {"adamw"} >= set(RULES)  # adamw decays by default


def test_golden_cases_cover_every_task():
    assert {c["arch"]["task"] for c in CASES} == {"regression", "binary", "multiclass"}


def test_golden_cases_include_minibatches():
    assert any(len({tuple(b) for b in c["batches"]}) > 1 for c in CASES)


def test_golden_cases_are_the_script_cases():
    """The committed file and make_golden.py agree on the cases and their data (no torch)."""
    rebuilt = [mg.build_case(spec) for spec in SPECS]
    keep = ("id", "rule", "overrides", "arch", "params0", "X", "y", "batches")
    assert [{k: c[k] for k in keep} for c in CASES] == [{k: c[k] for k in keep} for c in rebuilt]


def test_golden_trajectories_move():
    """A case whose parameters barely move would test nothing."""
    moved = [
        np.max(np.abs(np.asarray(c["trajectory"][-1]) - np.asarray(c["params0"]))) for c in CASES
    ]
    assert min(moved) > 1e-3


@pytest.mark.torch
@pytest.mark.parametrize("spec", SPECS, ids=[s["id"] for s in SPECS])
def test_matches_torch_live(spec):
    pytest.importorskip("torch", exc_type=ImportError)  # absent or broken
    case = mg.build_case(spec)
    assert max_error(nn_core_trajectory(case), mg.torch_trajectory(case)) < TOL


VARIANTS = list(mg.OPTIMIZER_VARIANTS)


@pytest.mark.torch
@pytest.mark.parametrize(
    ("seed", "rule", "overrides"),
    [(i, r, o) for i, (r, o) in enumerate(VARIANTS)],
    ids=[mg.case_id(r, o) for r, o in VARIANTS],
)
def test_rule_alone_matches_torch_live(seed, rule, overrides):
    pytest.importorskip("torch", exc_type=ImportError)  # absent or broken
    theta0, grads = mg.rule_gradients(seed)
    params, hp = theta0.copy(), resolve(rule, overrides)
    state = RULES[rule].init(params, hp)
    ours = []
    for g in grads:
        RULES[rule].update(params, g.copy(), state, hp)
        ours.append(params.copy())
    theirs = mg.torch_rule_trajectory(rule, overrides, theta0, grads)
    assert max_error(np.asarray(ours), theirs) < RULE_TOL


def test_each_case_names_its_oracle_from_the_registry():
    for case in CASES:
        mapping = RULES[case["rule"]].torch
        if mapping is None:
            assert case["oracle"].startswith("make_golden.")
            assert case["rule"] in mg.INDEPENDENT_ORACLES
        else:
            assert case["oracle"] == f"torch.optim.{mapping.cls}"
    assert {c["oracle"] for c in CASES if c["rule"] == "adamax"} == {"torch.optim.Adamax"}


def test_the_conventions_have_golden_cases():
    ids = {c["id"] for c in CASES}
    assert "momentum,momentum=0.0,dampening=0.5" in ids  # torch ignores τ at μ = 0
    assert any(c["rule"] == "nadam" and c["overrides"].get("decoupled_weight_decay") for c in CASES)


def paper_lion_by_element(theta0, grads, lr, betas, weight_decay) -> np.ndarray:
    """Lion (Chen et al. 2023, Algorithm 2) one coordinate at a time with Python floats:
    c = β₁m + (1 − β₁)g; θ ← θ − η(sign(c) + λθ); m ← β₂m + (1 − β₂)g."""
    b1, b2 = betas
    theta = [float(v) for v in theta0]
    m = [0.0] * len(theta)
    out = []
    for g in grads:
        for i, gi in enumerate(g.tolist()):
            c = b1 * m[i] + (1 - b1) * gi
            sign = (c > 0) - (c < 0)
            theta[i] = theta[i] - lr * (sign + weight_decay * theta[i])
            m[i] = b2 * m[i] + (1 - b2) * gi
        out.append(list(theta))
    return np.asarray(out)


@pytest.mark.parametrize(
    "overrides", [{}, {"lr": 1e-3, "betas": [0.95, 0.98], "weight_decay": 0.1}]
)
def test_lion_matches_the_papers_pseudocode_element_by_element(overrides):
    theta0, grads = mg.rule_gradients(11)
    hp = resolve("lion", overrides)
    params = theta0.copy()
    state = RULES["lion"].init(params, hp)
    ours = []
    for g in grads:
        RULES["lion"].update(params, g.copy(), state, hp)
        ours.append(params.copy())
    ours = np.asarray(ours)
    theirs = paper_lion_by_element(theta0, grads, hp["lr"], hp["betas"], hp["weight_decay"])
    assert max_error(np.asarray(ours), theirs) < RULE_TOL
    assert np.abs(np.diff(ours, axis=0)).max() > 0.99 * hp["lr"]  # every step moves by ~γ
