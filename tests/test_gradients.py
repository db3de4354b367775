"""Centred finite-difference checks of the network's backward pass, in float64.

Every activation × every output head, PReLU's learnable slope, dropout with a fixed mask, and the
L2 penalty: the analytic gradient must match the numerical one to a relative error < 1e-6. The
network is the batched one; each check drives R = 2 different networks at once, so a row's
gradient must also be independent of the other rows.
"""

import numpy as np
import pytest

from nn_core.activations import ACTIVATIONS
from nn_core.losses import TASKS
from nn_core.network import Architecture, Layout, Network, init_params

H = 1e-6


def numerical_gradient(net: Network, X, y, masks=None) -> np.ndarray:
    """∂L/∂θ of every row (R, P), one parameter at a time (each row's loss is its own)."""
    theta = net.params
    num = np.empty_like(theta)
    for i in range(theta.shape[1]):
        old = theta[:, i].copy()
        theta[:, i] = old + H
        plus = net.loss(X, y, masks)
        theta[:, i] = old - H
        minus = net.loss(X, y, masks)
        theta[:, i] = old
        num[:, i] = (plus - minus) / (2 * H)
    return num


def rel_error(a, b) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300))


def targets(task: str, rng, n: int, k: int):
    if task == "regression":
        return rng.standard_normal((n, k))
    if task == "binary":
        return (rng.random((n, 1)) > 0.5).astype(float)
    return rng.integers(0, k, n)


R = 2  # networks per check, with different parameters


def make_net(activations, task, *, dropout=0.0, l2=0.0, seed=0):
    rng = np.random.default_rng(seed)
    k = {"regression": 2, "binary": 1, "multiclass": 3}[task]
    arch = Architecture((3, 5, 4, k), activations, task, dropout=dropout, l2=l2)
    theta = np.stack(
        [init_params(arch, np.random.default_rng([seed + 1, r]), "xavier_normal") for r in range(R)]
    )
    # Random biases keep every pre-activation away from the kinks of ReLU-like functions.
    theta += 0.1 * rng.standard_normal(theta.shape)
    X = rng.standard_normal((9, 3))
    return Network(arch, theta, np.zeros_like(theta)), X, targets(task, rng, 9, k), rng


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_backprop_matches_finite_differences(activation, task):
    net, X, y, _ = make_net((activation, activation), task)
    net.loss_and_grad(X, y)
    assert rel_error(net.grads, numerical_gradient(net, X, y)) < 1e-6


def test_prelu_slope_gradient_is_trained_and_correct():
    net, X, y, _ = make_net(("prelu", "relu"), "binary")
    i = net.layout.slope_index[0]
    net.params[:, i] = (0.1, -0.2)  # away from the default, still slopes, one per network
    net.loss_and_grad(X, y)
    num = numerical_gradient(net, X, y)
    assert np.all(net.grads[:, i] != 0.0)
    assert np.all(np.abs(net.grads[:, i] - num[:, i]) / np.abs(num[:, i]) < 1e-6)


def test_dropout_with_fixed_mask():
    net, X, y, rng = make_net(("tanh", "relu"), "multiclass", dropout=0.4)
    masks = [(rng.random((R, 9, w)) >= 0.4) / 0.6 for w in (5, 4)]
    net.loss_and_grad(X, y, masks=masks)
    assert rel_error(net.grads, numerical_gradient(net, X, y, masks)) < 1e-6


def test_dropout_mask_changes_the_gradient():
    net, X, y, rng = make_net(("tanh", "tanh"), "binary", dropout=0.5)
    net.loss_and_grad(X, y, masks=[np.ones((R, 9, 5)), np.ones((R, 9, 4))])
    full = net.grads.copy()
    masks = [(rng.random((R, 9, w)) >= 0.5) / 0.5 for w in (5, 4)]
    net.loss_and_grad(X, y, masks=masks)
    assert not np.allclose(full, net.grads)


def test_l2_penalty_gradient_on_weights_only():
    net, X, y, _ = make_net(("swish", "elu"), "regression", l2=0.3)
    net.loss_and_grad(X, y)
    assert rel_error(net.grads, numerical_gradient(net, X, y)) < 1e-6
    plain, *_ = make_net(("swish", "elu"), "regression", l2=0.0)
    plain.loss_and_grad(X, y)
    diff = net.grads - plain.grads
    lay = Layout.of(net.arch)
    for w, b in zip(lay.w_slices, lay.b_slices, strict=True):
        np.testing.assert_allclose(diff[:, w], 0.3 * net.params[:, w], rtol=1e-12, atol=1e-15)
        assert np.all(diff[:, b] == 0)


def test_per_layer_activations_differ_from_uniform_ones():
    net_mixed, X, y, _ = make_net(("gelu", "selu"), "binary")
    net_same, *_ = make_net(("gelu", "gelu"), "binary")
    assert np.all(net_mixed.loss(X, y) != net_same.loss(X, y))


def test_each_row_is_the_network_alone():
    net, X, y, _ = make_net(("tanh", "prelu"), "multiclass", l2=0.1)
    values, _ = net.loss_and_grad(X, y)
    for r in range(R):
        one = Network(net.arch, net.params[r : r + 1].copy(), np.zeros((1, net.layout.size)))
        value, _ = one.loss_and_grad(X, y)
        assert value[0] == values[r]
        assert np.array_equal(one.grads[0], net.grads[r])
