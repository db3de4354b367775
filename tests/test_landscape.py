"""The network's loss landscape: exact projection, batched losses, honest fidelity."""

import numpy as np
import pytest

from nn_core import run_comparison
from nn_core.landscape import Plane, batched_loss, compute, pca_plane
from nn_core.network import Architecture, Network, init_params
from tests.conftest import small_config


@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
@pytest.mark.parametrize("activation", ["tanh", "prelu", "gelu"])
def test_batched_loss_equals_the_network_loss(task, activation):
    rng = np.random.default_rng(0)
    k = 3 if task == "multiclass" else 1
    arch = Architecture((2, 5, 4, k), (activation, "relu"), task)
    thetas = np.stack([init_params(arch, rng, "he_normal") for _ in range(6)])
    X = rng.standard_normal((11, 2))
    y = {
        "regression": rng.standard_normal((11, 1)),
        "binary": (rng.random((11, 1)) > 0.5).astype(float),
        "multiclass": rng.integers(0, 3, 11),
    }[task]
    expected = [Network(arch, t[None].copy()).evaluate(X, y)[0][0] for t in thetas]
    np.testing.assert_allclose(batched_loss(arch, thetas, X, y), expected, rtol=1e-12)


def test_a_trajectory_in_a_plane_is_recovered_exactly():
    rng = np.random.default_rng(1)
    origin = rng.standard_normal(40)
    u, v = rng.standard_normal(40), rng.standard_normal(40)
    a = np.cumsum(rng.standard_normal(30))
    b = np.cumsum(rng.standard_normal(30))
    path = origin + np.outer(a, u) + np.outer(b, v)
    plane = pca_plane(origin, [path[:15], path[15:]])
    assert plane.explained == pytest.approx(1.0, abs=1e-12)
    pa, pb, dist, rel = plane.project(path)
    np.testing.assert_allclose(plane.points(pa, pb), path, atol=1e-10)
    assert dist.max() < 1e-10 and rel.max() < 1e-10
    # the same plane given by its original (non-orthogonal) directions recovers a, b exactly
    given = Plane(origin, u, v, "given", 1.0)
    ga, gb, _, _ = given.project(path)
    np.testing.assert_allclose(ga, a, atol=1e-9)
    np.testing.assert_allclose(gb, b, atol=1e-9)


def test_off_plane_points_report_their_distance():
    origin = np.zeros(3)
    plane = Plane(origin, np.array([1.0, 0, 0]), np.array([0, 1.0, 0]), "given", 1.0)
    a, b, dist, rel = plane.project(np.array([[1.0, 2.0, 2.0]]))
    assert (a[0], b[0], dist[0]) == pytest.approx((1.0, 2.0, 2.0))
    assert rel[0] == pytest.approx(2.0 / 3.0)


@pytest.mark.parametrize("method", ["pca", "random"])
def test_landscape_of_a_comparison(method):
    r = run_comparison(small_config(training={"epochs": 6, "seeds": 2}))
    land = compute(r, seed=1, method=method, resolution=21)
    assert land.loss.shape == (21, 21)
    assert np.isfinite(land.loss).all()
    paths = land.paths
    assert set(paths["run"]) == {run.label for run in r.config.runs}
    assert (paths["seed"] == 1).all()
    start = paths[paths["epoch"] == 0]
    # the plane's origin is the shared starting point: its loss is the network's initial loss
    initial = r.curves.query("seed == 1 and epoch == 0 and split == 'train'")["loss"]
    np.testing.assert_allclose(start["loss_plane"], initial.iloc[0], rtol=1e-12)
    np.testing.assert_allclose(start[["a", "b", "distance"]].to_numpy(), 0.0, atol=1e-12)
    # the true loss column is the training curve
    curve = r.curves.query("seed == 1 and split == 'train'").set_index(["run", "epoch"])["loss"]
    merged = paths.set_index(["run", "epoch"])["loss"]
    np.testing.assert_allclose(merged, curve.loc[merged.index], rtol=1e-10)
    if method == "pca":
        assert 0.5 < land.plane.explained <= 1.0
    grid = land.grid_frame()
    assert list(grid.columns) == ["a", "b", "loss"] and len(grid) == 21 * 21


def test_landscape_refuses_bad_arguments():
    r = run_comparison(small_config(training={"epochs": 2, "seeds": 1}))
    with pytest.raises(ValueError, match="allowed: pca, random"):
        compute(r, method="tsne")
    with pytest.raises(ValueError, match="no runs for seed 7"):
        compute(r, seed=7)
    with pytest.raises(ValueError, match="resolution"):
        compute(r, resolution=1000)
