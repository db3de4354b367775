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


def raw_points(data):
    """The generator's points before standardisation, train and validation rows together."""
    X = np.vstack([data.X_train, data.X_val]) * data.std + data.mean
    y = np.concatenate([data.y_train.ravel(), data.y_val.ravel()]).astype(int)
    return X, y


@pytest.mark.parametrize("factor", [0.8, 0.3, 0.95])
def test_circles_factor_is_the_inner_over_outer_radius(factor):
    """scikit-learn's definition: class 0 on the unit circle, class 1 on radius ``factor``."""
    cfg = DatasetConfig(name="circles", n_samples=301, noise=0.0, val_fraction=0.2, factor=factor)
    X, y = raw_points(make(cfg))
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(radius[y == 1], factor, rtol=0, atol=1e-12)
    assert np.bincount(y).tolist() == [150, 151]


def test_circles_default_factor_keeps_the_presets_data():
    """factor=None is the lab's inner radius 0.5, and gives the very points it gave before."""
    base = DatasetConfig(name="circles", n_samples=400, noise=0.1)
    a, b = make(base), make(DatasetConfig(name="circles", n_samples=400, noise=0.1, factor=0.5))
    np.testing.assert_array_equal(a.X_train, b.X_train)
    X, y = raw_points(make(DatasetConfig(name="circles", noise=0.0)))
    np.testing.assert_allclose(np.hypot(*X[y == 1].T), 0.5, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"name": "circles", "factor": 1.0}, "dataset.factor: must be in (0, 1), got 1.0"),
        ({"name": "circles", "factor": 0}, "dataset.factor: must be in (0, 1), got 0"),
        ({"name": "circles", "factor": True}, "dataset.factor: must be in (0, 1), got True"),
        ({"name": "circles", "factor": "0.8"}, "dataset.factor: must be in (0, 1), got '0.8'"),
        ({"name": "moons", "factor": 0.8}, "dataset.factor: applies to circles only, not 'moons'"),
        ({"name": "iris", "factor": 0.8}, "dataset.factor: applies to circles only, not 'iris'"),
    ],
)
def test_factor_is_validated_in_the_configuration(doc, message):
    from nn_core.config import ConfigError, ExperimentConfig

    with pytest.raises(ConfigError) as exc:
        ExperimentConfig.from_dict({"dataset": doc, "runs": [{"optimizer": "sgd"}]})
    assert str(exc.value) == message


def test_factor_round_trips_through_json():
    from nn_core.config import ExperimentConfig

    doc = {"dataset": {"name": "circles", "factor": 0.8}, "runs": [{"optimizer": "adam"}]}
    config = ExperimentConfig.from_dict(doc)
    assert config.dataset.factor == 0.8
    assert ExperimentConfig.from_json(config.to_json()) == config
    assert ExperimentConfig.from_dict({"runs": [{"optimizer": "adam"}]}).dataset.factor is None
