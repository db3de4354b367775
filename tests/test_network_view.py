"""Per-unit gradients (nn_core.unitgrads) and the numbers the Network page draws
(dashboard.figures.network): checked against central finite differences, the engine's own
backward pass and the per-layer norms recorded during training; fading in vanishing-sigmoid,
glare in exploding-init, identical units under zero initialisation."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.figures import network as nw
from nn_core import ExperimentConfig, losses, run_comparison
from nn_core.network import Architecture, Layout, Network, init_params
from nn_core.unitgrads import unit_deltas, unit_gradients, unit_outputs


def _results(preset: str, epochs: int, dataset: dict | None = None, **network):
    doc = ExperimentConfig.preset(preset).to_dict()
    doc["training"]["epochs"] = epochs
    doc["network"].update(network)
    doc["dataset"].update(dataset or {})
    return run_comparison(ExperimentConfig.from_dict(doc), parallel=False)


def _problem(task: str, acts: tuple[str, ...], seed: int = 0):
    rng = np.random.default_rng(seed)
    k = {"binary": 1, "multiclass": 3, "regression": 2}[task]
    arch = Architecture((3, 5, 4, k), acts, task)
    theta = init_params(arch, rng, "xavier_normal", 1.5)
    theta += 0.1 * rng.standard_normal(theta.shape)  # non-zero biases
    X = rng.standard_normal((7, 3))
    if task == "binary":
        y = rng.integers(0, 2, (7, 1)).astype(float)
    elif task == "multiclass":
        y = rng.integers(0, 3, 7)
    else:
        y = rng.standard_normal((7, k))
    return arch, theta, X, y


def _fd_bias(arch, theta, X, y, layer: int, unit: int, h: float = 1e-6) -> float:
    """Central difference of the mean loss in bₗⱼ, through the engine's forward pass alone."""
    b = Layout.of(arch).b_slices[layer]
    out = []
    for sign in (1, -1):
        t = theta.copy()
        t[b.start + unit] += sign * h
        out.append(losses.loss(arch.task, Network(arch, t[None]).logits(X)[0], y))
    return (out[0] - out[1]) / (2 * h)


CASES = [
    ("binary", ("tanh", "sigmoid")),
    ("multiclass", ("relu", "tanh")),
    ("regression", ("sigmoid", "elu")),
    ("binary", ("prelu", "relu")),
]


@pytest.mark.parametrize(("task", "acts"), CASES)
def test_unit_deltas_match_finite_differences_per_sample_and_per_batch(task, acts):
    arch, theta, X, y = _problem(task, acts)
    deltas, _ = unit_deltas(arch, theta[None], X, y)
    for layer, d in enumerate(deltas):
        for unit in range(d.shape[2]):
            # batch: Σᵢ δᵢⱼ is ∂L/∂bⱼ
            fd = _fd_bias(arch, theta, X, y, layer, unit)
            assert d[0, :, unit].sum() == pytest.approx(fd, rel=1e-6, abs=1e-9)
    # one sample: its own loss's gradient is N·δᵢ (what the page's RMS is taken over)
    n = len(X)
    for i in (0, 4):
        Xi, yi = X[i : i + 1], y[i : i + 1]
        for layer, d in enumerate(deltas):
            for unit in range(d.shape[2]):
                fd = _fd_bias(arch, theta, Xi, yi, layer, unit)
                assert n * d[0, i, unit] == pytest.approx(fd, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize(("task", "acts"), CASES)
def test_weight_gradients_from_unit_deltas_equal_the_engines_backward(task, acts):
    arch, theta, X, y = _problem(task, acts, seed=3)
    deltas, loss = unit_deltas(arch, theta[None], X, y)
    net = Network(arch, theta.copy()[None], np.zeros((1, theta.size)))
    value, cache = net.loss_and_grad(X, y)
    assert loss[0] == pytest.approx(value[0], rel=1e-12)
    for layer, d in enumerate(deltas):
        h = np.broadcast_to(cache.inputs[layer], (1, *cache.inputs[layer].shape[-2:]))[0]
        np.testing.assert_allclose(h.T @ d[0], net.gW[layer][0], rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(d[0].sum(axis=0), net.gb[layer][0], rtol=1e-10, atol=1e-14)


def test_unit_gradients_reproduce_the_recorded_layer_norms_of_a_full_batch_run():
    """The training loop records ‖∂L/∂Wₗ‖ of its first step; for gradient descent (full batch,
    no dropout) that step's parameters are snapshot 0 and its batch is the training set."""
    results = _results("default", 1)
    arch, data = results.arch, results.data
    _epochs, thetas = results.snapshots[("GD", 0)]
    deltas, _ = unit_deltas(arch, thetas[:1], data.X_train, data.y_train)
    cache = Network(arch, thetas[:1].copy()).forward(data.X_train)
    g = results.gradients
    recorded = g[(g["run"] == "GD") & (g["epoch"] == 0)].sort_values("layer")["grad_norm"]
    inputs = [np.broadcast_to(h, (1, *h.shape[-2:]))[0] for h in cache.inputs]
    mine = [np.linalg.norm(inputs[l].T @ d[0]) for l, d in enumerate(deltas)]  # noqa: E741
    np.testing.assert_allclose(mine, recorded.to_numpy(), rtol=1e-10)


def test_rms_and_the_summarised_units():
    results = _results("vanishing-sigmoid", 2)
    data = results.data
    epochs, thetas = results.snapshots[("SGD", 0)]
    ug = unit_gradients(results.arch, epochs, thetas, data.X_train, data.y_train)
    deltas, _ = unit_deltas(results.arch, thetas, data.X_train, data.y_train)
    n = len(data.X_train)
    for layer, d in enumerate(deltas):
        expect = np.sqrt(((n * d) ** 2).mean(axis=1))
        np.testing.assert_allclose(ug.grads[layer], expect, rtol=1e-12)
    view = nw.network_view(results, "SGD", 0, max_units=8)
    first = view.layers[1]
    assert len(first.shown) == 7 and first.more == 25
    rest = ug.grads[0][:, 7:]
    np.testing.assert_allclose(first.more_values, np.sqrt((rest**2).mean(axis=1)), rtol=1e-12)
    np.testing.assert_allclose(nw.layer_rms(first), np.sqrt((ug.grads[0] ** 2).mean(axis=1)))


def _node_colours(view):
    """The colour values the diagram draws per layer and frame: {layer: (F, units)}."""
    fig = nw.network_figure(view)
    nodes = next(t for t in fig.data if t.mode == "markers" and t.marker.colorscale is not None)
    assert {f.data[-1].marker.color is not None for f in fig.frames} == {True}
    per_frame = [np.asarray(f.data[-1].marker.color, dtype=float) for f in fig.frames]
    xs = np.asarray(nodes.x)
    return {layer: np.stack([c[xs == layer] for c in per_frame]) for layer in set(xs.astype(int))}


@pytest.mark.parametrize("run", ["SGD", "Adam"])
def test_vanishing_sigmoid_fades_toward_the_input(run):
    results = _results("vanishing-sigmoid", 3)
    view = nw.network_view(results, run, 0)
    hidden = [nw.layer_rms(lv) for lv in view.layers[1:-1]]
    # orders of magnitude smaller at the input end, at every frame
    assert np.all(hidden[0] < 1e-4 * hidden[-1])
    assert nw.depth_ratio(view) < 1e-4
    # ... and it is what is drawn: log10 colours at least 4 decades apart, and within the range
    colours = _node_colours(view)
    lo, hi = view.log_range
    assert np.all(colours[1].mean(axis=1) < colours[len(hidden)].mean(axis=1) - 4)
    assert all(np.all((c >= lo) & (c <= hi)) for c in colours.values())
    assert hi - lo >= 5


def test_exploding_init_glares_toward_the_input():
    results = _results("exploding-init", 3)
    for run in ("SGD", "SGD clipped", "Adam"):  # every run glares at the start
        view = nw.network_view(results, run, 0)
        hidden = [nw.layer_rms(lv) for lv in view.layers[1:-1]]
        assert hidden[0][0] > 10 * hidden[-1][0], run
    view = nw.network_view(results, "Adam", 0)  # and Adam's small steps keep it glaring
    hidden = [nw.layer_rms(lv) for lv in view.layers[1:-1]]
    assert np.all(hidden[0] > 10 * hidden[-1])
    assert nw.depth_ratio(view) > 10
    colours = _node_colours(view)
    assert np.all(colours[1].mean(axis=1) > colours[len(hidden)].mean(axis=1) + 1)


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_zero_init_gives_identical_units_in_every_hidden_layer(activation):
    # xor's classes are not exactly balanced, so with sigmoid units the output weights move
    # away from zero and the hidden units receive a real (and still identical) gradient
    results = _results("zero-init-symmetry", 20, {"name": "xor"}, activation=activation)
    for run in ("GD", "Adam"):
        view = nw.network_view(results, run, 0)
        scale = max(np.nanmax(lv.values) for lv in view.layers[1:])
        for lv in view.layers[1:-1]:
            # identical up to floating-point rounding (summation order differs between units)
            assert np.ptp(lv.values, axis=1).max() <= 1e-9 * lv.values.max(axis=1).max() + (
                1e-14 * scale
            )
        if activation == "sigmoid":  # not trivially zero
            assert view.layers[1].values[-1].max() > 1e-6
        else:  # ReLU at zero: no gradient reaches a hidden unit at all
            assert all(np.all(lv.values == 0) for lv in view.layers[1:-1])
        colours = _node_colours(view)
        for layer in range(1, len(view.layers) - 1):
            assert np.ptp(colours[layer], axis=1).max() < 1e-6  # drawn in one colour
        maps = nw.unit_maps(results, run, 0)
        for m in maps.maps[:-1]:
            np.testing.assert_allclose(m, np.broadcast_to(m[0], m.shape), atol=1e-12)


def test_the_drawn_edges_are_every_shown_weight_and_the_frames_share_one_scale():
    results = _results("default", 6)
    view = nw.network_view(results, "Adam", 0, max_units=6)
    assert [len(lv.shown) for lv in view.layers] == [2, 5, 5, 1]
    fig = nw.network_figure(view)
    assert len(fig.frames) == len(view.epochs) == 7
    expected = sum(w.shape[1] * w.shape[2] for w in view.weights)
    for f in fig.frames:
        edges = f.data[: nw.N_EDGE_TRACES]
        ys = np.concatenate([np.asarray(t.y, dtype=float) for t in edges])
        assert int(np.isfinite(ys).sum()) == 2 * expected  # two ends per edge
    nodes = fig.data[len(fig.frames[0].data) - 1]
    assert (nodes.marker.cmin, nodes.marker.cmax) == view.log_range
    # the layer figures under the diagram are each layer's RMS over all its units
    rms = fig.frames[-1].data[nw.N_EDGE_TRACES].text
    assert list(rms) == [f"{nw.layer_rms(lv)[-1]:.1e}" for lv in view.layers[1:]]
    # the weights drawn are the snapshot's: edge between input 1 and hidden unit 2, last frame
    theta = results.snapshots[("Adam", 0)][1][-1]
    W1 = theta[Layout.of(results.arch).w_slices[0]].reshape(2, 16)
    assert view.weights[0][-1][0, 1] == W1[0, 1]


def test_edge_bins_and_log_range():
    w = np.array([0.0, 0.1, -0.5, 0.8, -1.0, 2.0])
    np.testing.assert_array_equal(nw.edge_bins(w, 1.0), [-1, 0, 1, 2, 3, 3])
    assert nw.log_range([np.array([3e-7, 0.0, 40.0])]) == (-7.0, 2.0)
    assert nw.log_range([np.array([1e-30, 1.0])], decades=10) == (-10.0, 0.0)
    assert nw.log_range([np.zeros(3)]) == (-1.0, 0.0)
    np.testing.assert_array_equal(nw.frame_indices(5, 20), np.arange(5))
    idx = nw.frame_indices(61, 20)
    assert idx[0] == 0 and idx[-1] == 60 and len(idx) == 20


def test_unit_maps_are_the_first_layer_computed_by_hand():
    results = _results("default", 2)
    maps = nw.unit_maps(results, "GD", 0, grid=9)
    theta = results.snapshots[("GD", 0)][1][-1]
    lay = Layout.of(results.arch)
    W, b = theta[lay.w_slices[0]].reshape(2, 16), theta[lay.b_slices[0]]
    x0, x1, y0, y1 = maps.extent
    gx, gy = np.meshgrid(np.linspace(x0, x1, 9), np.linspace(y0, y1, 9))
    h = np.tanh(np.column_stack([gx.ravel(), gy.ravel()]) @ W + b)
    expect = (h / np.abs(h).max()).T.reshape(16, 9, 9)
    np.testing.assert_allclose(maps.maps[0], expect, rtol=1e-10, atol=1e-12)
    assert maps.more == [0, 0, 0]
    assert nw.unit_maps(results, "GD", 0, grid=9, max_units=5).more == [11, 11, 0]
    out = maps.maps[-1]
    assert out.shape == (1, 9, 9) and out.min() >= -1 and out.max() <= 1
    # the output row is 2p − 1 of the engine's own prediction
    z = unit_outputs(results.arch, theta, np.column_stack([gx.ravel(), gy.ravel()]))[-1]
    p = 1 / (1 + np.exp(-z[:, 0]))
    np.testing.assert_allclose(out[0].ravel(), 2 * p - 1, rtol=1e-10, atol=1e-12)


def test_a_diverged_run_is_drawn_without_non_finite_edges_or_colours():
    doc = {
        "dataset": {"name": "sine"},
        "network": {"hidden_layers": [8, 8], "activation": "relu"},
        "training": {"epochs": 5},
        "runs": [{"label": "Boom", "optimizer": "sgd", "batch_size": 8, "lr": 5.0}],
    }
    results = run_comparison(ExperimentConfig.from_dict(doc), parallel=False)
    assert bool(results.summary["diverged"].iloc[0])
    # a snapshot that went non-finite (as one taken at the very step of divergence would)
    epochs, thetas = results.snapshots[("Boom", 0)]
    broken = thetas.copy()
    broken[-1, ::3] = np.nan
    broken[-1, 1::3] = np.inf
    results.snapshots[("Boom", 0)] = (epochs, broken)
    view = nw.network_view(results, "Boom", 0)
    lo, hi = view.log_range
    assert np.isfinite(lo) and np.isfinite(hi)
    fig = nw.network_figure(view)
    last = fig.frames[-1]
    drawn = 0
    for t in last.data[: nw.N_EDGE_TRACES]:
        y = np.asarray(t.y, dtype=float)
        if len(y) == 1:  # an empty bin's placeholder
            continue
        y = y.reshape(-1, 3)
        assert np.isfinite(y[:, :2]).all() and np.isnan(y[:, 2]).all()
        drawn += len(y)
    finite = sum(int(np.isfinite(w[-1]).sum()) for w in view.weights)
    assert drawn == finite
    colours = np.asarray(last.data[-1].marker.color, dtype=float)
    assert np.all(np.isnan(colours) | ((colours >= lo) & (colours <= hi)))


def test_presentation_mode_keeps_the_edge_widths():
    results = _results("default", 2)
    fig = nw.network_figure(nw.network_view(results, "GD", 0), big=True)
    widths = [t.line.width for t in fig.data[: nw.N_EDGE_TRACES]]
    assert widths == [0.6, *nw.EDGE_WIDTHS, *nw.EDGE_WIDTHS]
    assert fig.layout.font.size == 20


def test_unit_maps_of_a_non_finite_snapshot_do_not_warn():
    results = _results("default", 1)
    epochs, thetas = results.snapshots[("GD", 0)]
    broken = thetas.copy()
    broken[-1, :5] = np.inf
    results.snapshots[("GD", 0)] = (epochs, broken)
    maps = nw.unit_maps(results, "GD", 0, grid=5)  # warnings are errors in this suite
    assert len(maps.maps) == 3
