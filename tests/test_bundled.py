"""The bundled real datasets: documented shapes, usable from the config, trainable past chance."""

from pathlib import Path

import numpy as np
import pytest

from nn_core import ConfigError, ExperimentConfig, run_comparison
from nn_core.config import DatasetConfig
from nn_core.data import make
from nn_core.datasets import BUNDLED, DATA_DIR, DATASETS
from nn_core.tabular import DataError, load_bundled

README = (Path(__file__).parent.parent / "data" / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_loads_with_its_documented_shape(name):
    spec = BUNDLED[name]
    data, report = load_bundled(DatasetConfig(name=name, val_fraction=0.2, seed=0))
    assert len(data.X_train) + len(data.X_val) == spec.rows == report.rows_read
    assert data.n_features == spec.features and report.rows_dropped == 0
    assert report.task == spec.task and len(report.class_names) == spec.classes
    assert report.target == spec.target and report.columns[-1] == spec.target
    assert not report.dropped_columns and not report.one_hot
    expected_task = {0: "regression", 2: "binary"}.get(spec.classes, "multiclass")
    assert data.task == expected_task
    # data/README.md documents the same shape and target for every file
    assert f"`{spec.file}`" in README
    assert f"{spec.rows} × {spec.features}" in README
    assert f"`{spec.target}`" in README


def test_class_names_come_from_the_files():
    assert load_bundled(DatasetConfig(name="iris"))[0].class_names == (
        "setosa", "versicolor", "virginica",
    )  # fmt: skip
    assert load_bundled(DatasetConfig(name="breast_cancer"))[1].class_counts == (357, 212)
    assert load_bundled(DatasetConfig(name="digits"))[1].class_names == tuple("0123456789")


def test_config_accepts_bundled_names_and_a_task_override():
    config = ExperimentConfig.from_dict(
        {"dataset": {"name": "wine", "task": "classification"}, "runs": [{"optimizer": "adam"}]}
    )
    assert config.dataset.name == "wine" and config.dataset.task == "classification"
    assert ExperimentConfig.from_json(config.to_json()) == config
    with pytest.raises(ConfigError) as info:
        ExperimentConfig.from_dict({"dataset": {"name": "mnist"}, "runs": [{"optimizer": "sgd"}]})
    assert info.value.path == "dataset.name"
    for name in [*DATASETS, *BUNDLED]:
        assert name in info.value.message
    with pytest.raises(ConfigError) as info:
        ExperimentConfig.from_dict({"dataset": {"task": "ranking"}, "runs": [{"optimizer": "sgd"}]})
    assert info.value.path == "dataset.task"
    assert "allowed: auto, classification, regression" in info.value.message


def test_task_override_reaches_the_loader():
    as_regression = make(DatasetConfig(name="digits", task="regression"))
    assert as_regression.task == "regression" and as_regression.y_train.shape[1] == 1
    with pytest.raises(DataError) as info:
        make(DatasetConfig(name="iris", task="regression"))
    assert info.value.code == "target_not_numeric"
    with pytest.raises(DataError) as info:
        make(DatasetConfig(name="diabetes", task="classification"))
    assert info.value.code == "too_many_classes"


def test_split_is_seeded_stratified_and_ignores_synthetic_knobs():
    a = make(DatasetConfig(name="wine", seed=1, val_fraction=0.25))
    b = make(DatasetConfig(name="wine", seed=1, val_fraction=0.25, n_samples=50, noise=3.0))
    np.testing.assert_array_equal(a.X_train, b.X_train)
    c = make(DatasetConfig(name="wine", seed=2, val_fraction=0.25))
    assert not np.array_equal(a.X_train, c.X_train)
    share = [np.bincount(d, minlength=3) / len(d) for d in (a.y_train, a.y_val)]
    np.testing.assert_allclose(share[0], share[1], atol=0.03)
    np.testing.assert_allclose(a.X_train.mean(axis=0), 0, atol=1e-12)


def test_data_dir_is_next_to_the_package():
    assert DATA_DIR == Path(__file__).resolve().parent.parent / "data"
    assert sorted(p.name for p in DATA_DIR.glob("*.csv")) == sorted(
        b.file for b in BUNDLED.values()
    )


def _config(name: str, epochs: int) -> ExperimentConfig:
    return ExperimentConfig.from_dict(
        {
            "dataset": {"name": name, "val_fraction": 0.2, "seed": 0},
            "network": {"hidden_layers": [16], "activation": "relu", "initializer": "he_normal"},
            "training": {
                "epochs": epochs,
                "step_epochs": 0,
                "histogram_every": 1000,
                "snapshot_every": 1000,
            },
            "runs": [{"label": "Adam", "optimizer": "adam", "batch_size": 16, "lr": 0.01}],
        }
    )


# Chance: the majority class's share of the validation set; a classifier passes when it closes at
# least half of the gap between chance and perfect. Regression: chance is R² = 0 (predicting the
# mean); diabetes is noisy (linear models reach R² ≈ 0.5), so the bar is R² > 0.25.
@pytest.mark.parametrize(("name", "epochs"), [("iris", 10), ("wine", 5), ("breast_cancer", 5),
                                              ("digits", 4), ("diabetes", 5)])  # fmt: skip
def test_trains_for_a_few_epochs_to_better_than_chance(name, epochs):
    results = run_comparison(_config(name, epochs))
    data, row = results.data, results.summary.iloc[0]
    assert not row["diverged"] and row["completed"]
    if data.task == "regression":
        chance, bar = 0.0, 0.25
    else:
        chance = np.bincount(data.y_val.ravel().astype(int)).max() / len(data.y_val)
        bar = chance + 0.5 * (1 - chance)
    score = row["final_val_accuracy"]
    print(f"{name}: validation {results.metric} {score:.3f} (chance {chance:.3f}, bar {bar:.3f})")
    assert score > bar
