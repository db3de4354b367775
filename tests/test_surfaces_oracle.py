"""Trajectories on the 2-D test functions against torch.optim (2.13), float64.

torch computes the gradient by autograd from the formula, nn_core by its analytic gradient, and
the same optimizer rules that train the network walk the path: every rule on every function must
follow torch's trajectory within 1e-10 (relative to the size of the coordinates). Lion, which
torch.optim lacks, follows make_golden's torch-tensor transcription of its paper; each case names
its oracle."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nn_core.optimizers import RULES
from nn_core.surfaces import SURFACES, run_surface
from tests.golden_files import GOLDEN, make_golden

TOL = 1e-10


mg = make_golden()
CASES = json.loads((GOLDEN / "surfaces.json").read_text())["cases"]


def ours(case: dict) -> np.ndarray:
    df = run_surface(
        case["surface"],
        case["rule"],
        case["overrides"],
        tuple(case["start"]),
        case["steps"],
        kappa=case["kappa"],
    )
    return df[["x", "y"]].to_numpy()


def max_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))))


def test_every_rule_and_function_has_a_golden_case():
    assert {(c["surface"], c["rule"]) for c in CASES} == {(s, r) for s in SURFACES for r in RULES}
    assert [(c["surface"], c["rule"]) for c in CASES] == [
        (s["surface"], s["rule"]) for s in mg.surface_case_specs()
    ]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['surface']}-{c['rule']}")
def test_trajectory_matches_torch_golden(case):
    expected = np.asarray(case["trajectory"])
    got = ours(case)
    assert got.shape == expected.shape
    assert max_error(got, expected) < TOL
    assert np.abs(expected[-1] - expected[0]).max() > 1e-6  # the path really moved


@pytest.mark.torch
@pytest.mark.parametrize(
    "case", mg.surface_case_specs()[::5], ids=lambda c: f"{c['surface']}-{c['rule']}"
)
def test_trajectory_matches_torch_live(case):
    pytest.importorskip("torch", exc_type=ImportError)
    assert max_error(ours(case), mg.torch_surface_trajectory(case)) < TOL
