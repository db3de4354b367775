"""Synthetic datasets: seeded, stratified split, standardised with training statistics only."""

import numpy as np
import pytest

from nn_core.config import DatasetConfig
from nn_core.datasets import DATASETS, make, prepare


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_shapes_tasks_and_determinism(name):
    cfg = DatasetConfig(name=name, n_samples=200, classes=4, val_fraction=0.25, seed=3)
    a, b = make(cfg), make(cfg)
    assert len(a.X_train) + len(a.X_val) == 200
    assert len(a.X_val) == pytest.approx(50, abs=4)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.y_val, b.y_val)
    other = make(DatasetConfig(name=name, n_samples=200, classes=4, val_fraction=0.25, seed=4))
    assert not np.array_equal(a.X_train, other.X_train)
    expected = {"sine": "regression", "moons": "binary", "circles": "binary", "xor": "binary"}
    assert a.task == expected.get(name, "multiclass")


@pytest.mark.parametrize("name", ["moons", "spirals", "blobs"])
def test_split_is_stratified(name):
    data = make(DatasetConfig(name=name, n_samples=300, classes=3, val_fraction=0.2))
    train_share = np.bincount(data.y_train.ravel().astype(int)) / len(data.y_train)
    val_share = np.bincount(data.y_val.ravel().astype(int)) / len(data.y_val)
    np.testing.assert_allclose(train_share, val_share, atol=0.02)


def test_standardised_with_training_statistics_only():
    data = make(DatasetConfig(name="blobs", n_samples=300, val_fraction=0.3))
    np.testing.assert_allclose(data.X_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(data.X_train.std(axis=0), 1, atol=1e-12)
    assert np.abs(data.X_val.mean(axis=0)).max() > 1e-6  # validation rows were not used


def test_noise_parameter_is_used():
    quiet = make(DatasetConfig(name="circles", noise=0.0, val_fraction=0.0))
    raw_radius = np.hypot(*(quiet.X_train * quiet.std + quiet.mean).T)
    assert set(np.round(raw_radius, 9)) == {0.5, 1.0}
    noisy = make(DatasetConfig(name="circles", noise=0.2, val_fraction=0.0))
    assert len(set(np.round(np.hypot(*(noisy.X_train * noisy.std + noisy.mean).T), 9))) > 2


def test_regression_targets_are_standardised_only_on_request():
    sine = make(DatasetConfig(name="sine", n_samples=200, noise=0.1))
    assert (sine.y_mean, sine.y_std) == (0.0, 1.0)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(100, 2)), 300 + 50 * rng.normal(size=100)
    data = prepare("r", X, y, False, 0.2, np.random.default_rng(1), standardize_target=True)
    np.testing.assert_allclose([data.y_train.mean(), data.y_train.std()], [0, 1], atol=1e-12)
    assert abs(data.y_mean - 300) < 20 and abs(data.y_std - 50) < 10
    np.testing.assert_allclose(np.sort(np.r_[data.y_train, data.y_val].ravel() * data.y_std
                                       + data.y_mean), np.sort(y))  # fmt: skip
