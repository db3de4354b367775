"""What the presets promise holds: vanishing, exploding, healthy and symmetric gradients."""

import numpy as np
import pytest

from nn_core import ExperimentConfig, run_comparison
from nn_core.network import Network


def first_to_last_hidden_ratio(name: str, seeds: int = 3) -> float:
    """Median over seeds of ‖∂L/∂W₁‖ / ‖∂L/∂W_L‖ at the initial weights (L = last hidden)."""
    config = ExperimentConfig.preset(name).with_training(epochs=1, seeds=seeds)
    config = ExperimentConfig.from_dict({**config.to_dict(), "runs": config.to_dict()["runs"][:1]})
    g = run_comparison(config).gradients
    g = g[g.epoch == 0].pivot(index="seed", columns="layer", values="grad_norm")
    last_hidden = g.columns.max() - 1
    return float(np.median(g[1] / g[last_hidden]))


def test_vanishing_sigmoid_first_layer_gradient_is_tiny():
    assert first_to_last_hidden_ratio("vanishing-sigmoid") < 1e-4


def test_relu_he_gradients_stay_comparable_across_depth():
    assert 0.05 <= first_to_last_hidden_ratio("relu-he-fix") <= 20


def test_selu_lecun_gradients_stay_comparable_across_depth():
    assert 0.05 <= first_to_last_hidden_ratio("selu-self-normalizing") <= 20


def test_exploding_init_gradient_grows_toward_the_input():
    assert first_to_last_hidden_ratio("exploding-init") > 10


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_zero_init_keeps_every_hidden_unit_identical(activation):
    doc = ExperimentConfig.preset("zero-init-symmetry").to_dict()
    doc["network"]["activation"] = activation
    doc["training"]["epochs"] = 20
    config = ExperimentConfig.from_dict(doc)
    r = run_comparison(config)
    moved = 0.0
    for (run, _), (_, thetas) in r.snapshots.items():
        net = Network(r.arch, thetas[-1:].copy())
        W, b = [w[0] for w in net.W], [v[0] for v in net.b]  # the one run's layers
        # Identical up to floating-point rounding (BLAS may sum columns in different orders; on
        # balanced data the gradients themselves are rounding noise of order 1e-16). A broken
        # symmetry would show differences of the order of the weights, ≥ 1e-3 here.
        tol = 1e-12 * max(1.0, np.abs(thetas[-1]).max())
        for w, bias in zip(W[:-1], b[:-1], strict=True):
            assert np.ptp(w, axis=1).max() <= tol, f"{run}: units of a layer differ"
            assert np.ptp(bias) <= tol
        assert np.ptp(W[-1]) <= tol
        moved = max(moved, np.abs(W[0]).max(), np.abs(W[-1]).max())
        if activation != "sigmoid":  # relu(0) = tanh(0) = 0: every hidden gradient is 0
            assert all(np.all(W == 0) for W in net.W)
    if activation == "sigmoid":  # σ(0) = 0.5 ≠ 0: the weights move, yet stay symmetric
        assert moved > 1e-3
    if activation == "relu":
        s = r.summary
        assert np.allclose(s["final_train_loss"], np.log(2), atol=1e-3)
        assert np.allclose(s["final_val_accuracy"], 0.5)


def test_adadelta_default_lr_learns_faster_than_keras_default():
    r = run_comparison(ExperimentConfig.preset("adadelta-lr").with_training(epochs=15))
    s = r.summary.set_index("run")["final_train_loss"]
    assert s["Adadelta lr=1.0"] < s["Adadelta lr=0.001"] - 0.1


def test_adagrad_falls_behind_adam_on_spirals():
    r = run_comparison(ExperimentConfig.preset("adagrad-stall").with_training(epochs=40))
    s = r.summary.set_index("run")["final_train_loss"]
    assert s["Adagrad"] > s["Adam"]
