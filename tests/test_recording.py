"""Recording many runs at once: each run's figures equal its own, and are right.

Lockstep training records every run of a group with one call (``LayerStats.compute_many``,
``unit_health_many``, ``batched_loss``, ``batched_score``). These tests hold those calls to two
oracles: the single-run functions, bit for bit, and direct per-layer NumPy computations
(``np.linalg.norm``, ``np.histogram``) that share no code with them.
"""

import numpy as np
import pytest

from nn_core import losses
from nn_core.activations import ACTIVATIONS, unit_health, unit_health_many
from nn_core.network import Architecture, Layout
from nn_core.recording import HIST_EDGES, HIST_HIGH, HIST_LOW, N_BINS, LayerStats

ARCH = Architecture((3, 7, 5, 2), ("relu", "prelu"), "multiclass")


def buffers(rng, runs, size, dtype=np.float64):
    """Gradients spanning 30 decades, with exact zeros, an infinity and a NaN in some runs."""
    grads = rng.standard_normal((runs, size)) * 10.0 ** rng.uniform(-28, 9, (runs, size))
    grads[0, :3] = 0.0
    if runs > 2:
        grads[1, 5] = np.inf
        grads[2, 0] = np.nan
    params = rng.standard_normal((runs, size))
    before = params + rng.standard_normal((runs, size)) * 1e-3
    return grads.astype(dtype), params.astype(dtype), before.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("runs", [1, 2, 5])
def test_many_runs_at_once_equal_each_run_alone(runs, dtype):
    layout = Layout.of(ARCH)
    stats = LayerStats(layout)
    grads, params, before = buffers(np.random.default_rng(runs), runs, layout.size, dtype)
    many = stats.compute_many(grads, params, before)
    assert many["hist"].shape == (runs, ARCH.n_layers, N_BINS)
    for r in range(runs):
        alone = stats.compute(grads[r], params[r], before[r])
        assert alone.keys() == many.keys()
        for key, value in alone.items():
            assert np.array_equal(value, many[key][r], equal_nan=True), key


def test_statistics_match_a_direct_per_layer_computation():
    layout = Layout.of(ARCH)
    rng = np.random.default_rng(7)
    grads, params, before = buffers(rng, 4, layout.size)
    many = LayerStats(layout).compute_many(grads, params, before)
    inner = HIST_EDGES.copy()
    inner[0], inner[-1] = -np.inf, np.inf  # the first and last bins take everything beyond
    for r in range(4):
        for layer, s in enumerate(layout.w_slices):
            g, w, d = grads[r, s], params[r, s], params[r, s] - before[r, s]
            with np.errstate(all="ignore"):
                expected = {
                    "grad_norm": np.linalg.norm(g),
                    "grad_mean_abs": np.mean(np.abs(g)),
                    "grad_max_abs": np.max(np.abs(g)),
                    "weight_norm": np.linalg.norm(w),
                    "update_ratio": np.linalg.norm(d) / np.linalg.norm(w),
                }
                logs = np.log10(np.abs(g))
            for key, value in expected.items():
                got = many[key][r, layer]
                if np.isnan(value):
                    assert np.isnan(got), (key, r, layer)
                else:
                    assert got == pytest.approx(value, rel=1e-12), (key, r, layer)
            # zeros (log −inf) and NaN count in the first bin, +inf in the last
            logs = np.where(np.isnan(logs), -np.inf, logs)
            counts, _ = np.histogram(np.clip(logs, HIST_LOW, HIST_HIGH - 1e-9), inner)
            assert np.array_equal(many["hist"][r, layer], counts), (r, layer)
            assert many["hist"][r, layer].sum() == g.size


@pytest.mark.parametrize("name", [n for n, a in ACTIVATIONS.items() if a.health] + ["gelu"])
def test_unit_health_of_many_runs_equals_each_alone(name):
    rng = np.random.default_rng(3)
    z = rng.standard_normal((4, 9, 6)) * 3.0
    z[1, :, 2] = -1.0  # a unit that is off for every sample of run 1
    act = ACTIVATIONS[name]
    slope = np.full((4, 1, 1), 0.25) if act.learnable else None
    h = act.forward(z, slope)
    many = unit_health_many(name, z, h)
    assert many.shape == (4,)
    for r in range(4):
        alone = unit_health(name, z[r], h[r])
        assert np.array_equal(many[r], alone, equal_nan=True)
    for r in range(4):  # the definitions, computed directly
        if act.health == "dead":
            expected = np.mean([np.all(z[r][:, u] <= 0) for u in range(6)])
        elif act.health == "saturated":
            top = {"sigmoid": 0.25, "tanh": 1.0}[name]
            slope_r = None if slope is None else slope[r]
            d = act.derivative(z[r], slope_r) / top
            expected = np.mean([np.mean(d[:, u]) < 0.05 for u in range(6)])
        else:
            expected = np.nan
        assert np.allclose(many[r], expected, equal_nan=True), (name, r)
    if act.health == "dead":
        assert many[1] >= 1 / 6


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
def test_batched_losses_and_scores_equal_each_network_alone(task, dtype):
    rng = np.random.default_rng(11)
    g, n, k = 5, 37, {"multiclass": 4, "binary": 1, "regression": 2}[task]
    z = (rng.standard_normal((g, n, k)) * 4).astype(dtype)
    if task == "multiclass":
        per_net = rng.integers(0, k, (g, n))
    elif task == "binary":
        per_net = (rng.random((g, n, 1)) > 0.5).astype(dtype)
    else:
        per_net = rng.standard_normal((g, n, k)).astype(dtype)
    shared = per_net[0]
    stacked_loss = losses.batched_loss(task, z, per_net)
    shared_loss = losses.batched_loss(task, z, shared)
    scores = losses.batched_score(task, z, shared)
    for i in range(g):
        assert stacked_loss[i] == losses.loss(task, z[i], per_net[i])
        assert shared_loss[i] == losses.loss(task, z[i], shared)
        assert float(scores[i]) == losses.score(task, z[i], shared)
        # the training step's loss, with its gradient, for this network alone
        assert stacked_loss[i] == losses.loss_and_grad(task, z[i : i + 1], per_net[i])[0][0]
        # the scores' definitions, computed directly
        if task == "regression":
            res = np.sum((shared - z[i]).astype(float) ** 2)
            expected = 1.0 - res / np.sum((shared - shared.mean(axis=0)).astype(float) ** 2)
            assert float(scores[i]) == pytest.approx(expected, rel=1e-5)
        elif task == "binary":
            hits = sum((z[i][r, 0] > 0) == (shared[r, 0] > 0.5) for r in range(n))
            assert float(scores[i]) == hits / n
        else:
            hits = sum(int(np.argmax(z[i][r])) == shared[r] for r in range(n))
            assert float(scores[i]) == hits / n
