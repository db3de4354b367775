"""A lone network (R = 1) computes without the run axis (2-D products and element-wise work);
a stack of several computes with it. Both must give the same bits for the same row: the lone
run of the loop is compared with lockstep groups everywhere else in the suite, and these tests
pin the two shapes to each other directly, pass by pass, for every activation and output head,
with dropout masks, L2, PReLU's slope, shared and per-run inputs, float64 and float32."""

import numpy as np
import pytest

from nn_core import losses
from nn_core.activations import ACTIVATIONS
from nn_core.losses import TASKS
from nn_core.network import Architecture, Network, init_params

K = {"regression": 2, "binary": 1, "multiclass": 3}


def targets(task: str, rng, n: int):
    if task == "regression":
        return rng.standard_normal((n, K[task]))
    if task == "binary":
        return (rng.random((n, 1)) > 0.5).astype(float)
    return rng.integers(0, K[task], n)


def nets(activation, task, *, dropout=0.0, l2=0.0, dtype=np.float64, batch=7):
    """A stack of 3 networks with different parameters, each row as a lone network, inputs,
    targets and (with dropout) masks of the stack's shape."""
    rng = np.random.default_rng([len(activation), len(task)])
    arch = Architecture((3, 6, 5, K[task]), (activation, activation), task, dropout, l2)
    theta = np.stack(
        [init_params(arch, np.random.default_rng([7, r]), "xavier_normal") for r in range(3)]
    )
    theta += 0.1 * rng.standard_normal(theta.shape)  # biases away from ReLU's kink
    theta = theta.astype(dtype)
    stack = Network(arch, theta, np.zeros_like(theta))
    lone = [Network(arch, theta[r : r + 1].copy(), np.zeros_like(theta[:1])) for r in range(3)]
    X = rng.standard_normal((batch, 3)).astype(dtype)
    y = targets(task, rng, batch)
    if task != "multiclass":
        y = y.astype(dtype)
    masks = None
    if dropout:
        masks = [
            ((rng.random((3, batch, w)) >= dropout) / (1 - dropout)).astype(dtype) for w in (6, 5)
        ]
    return stack, lone, X, y, masks


@pytest.mark.parametrize("batch", [7, 300])  # 300: past the blocks of NumPy's pairwise sums
@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_lone_network_equals_its_row_of_a_stack(activation, task, batch):
    stack, lone, X, y, _ = nets(activation, task, batch=batch)
    values, cache = stack.loss_and_grad(X, y)
    for r, net in enumerate(lone):
        value, one = net.loss_and_grad(X, y)
        assert value.shape == (1,) and value[0] == values[r]
        assert np.array_equal(net.grads[0], stack.grads[r])
        assert np.array_equal(one.logits[0], cache.logits[r])
        for a, b in zip(one.pre + one.outputs, cache.pre + cache.outputs, strict=True):
            assert a.shape == b[r : r + 1].shape and np.array_equal(a[0], b[r])
        assert np.array_equal(net.logits(X)[0], stack.logits(X)[r])
        lone_eval, stack_eval = net.evaluate(X, y), stack.evaluate(X, y)
        assert [v[0] for v in lone_eval] == [v[r] for v in stack_eval]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    ("activation", "task"), [("prelu", "multiclass"), ("tanh", "binary"), ("gelu", "regression")]
)
def test_lone_network_with_dropout_l2_and_per_run_inputs(activation, task, dtype):
    """Masks and inputs given per run (R, B, ·), as the loop hands a lone run its batch with a
    run axis; L2 and dropout on; float32 stays float32 in both shapes."""
    stack, lone, X, y, masks = nets(activation, task, dropout=0.3, l2=0.01, dtype=dtype)
    Xr = np.stack([X, X[::-1], 2 * X])
    yr = np.stack([y, y[::-1], y])
    values, _ = stack.loss_and_grad(Xr, yr, masks)
    for r, net in enumerate(lone):
        value, _ = net.loss_and_grad(Xr[r : r + 1], yr[r : r + 1], [m[r : r + 1] for m in masks])
        assert value[0] == values[r]
        assert net.grads.dtype == dtype
        assert np.array_equal(net.grads[0], stack.grads[r])


@pytest.mark.parametrize("task", TASKS)
def test_the_loss_of_a_lone_networks_logits_without_the_run_axis(task):
    """losses.loss_and_grad on (N, k) logits equals it on (1, N, k) ones, targets given with
    or without the run axis; values (1,), gradient (N, k)."""
    rng = np.random.default_rng(3)
    z = rng.standard_normal((1, 11, K[task]))
    y = targets(task, rng, 11)
    v3, g3 = losses.loss_and_grad(task, z, y)
    for yy in (y, y[None]):
        v2, g2 = losses.loss_and_grad(task, z[0], yy)
        assert v2.shape == (1,) and g2.shape == z[0].shape
        assert v2[0] == v3[0] and np.array_equal(g2, g3[0])
    assert v3[0] == losses.batched_loss(task, z, y)[0]
