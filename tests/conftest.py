"""Shared fixtures: small configurations that train in milliseconds."""

import pytest

from nn_core import ExperimentConfig


def small_config(**overrides) -> ExperimentConfig:
    doc = {
        "dataset": {"name": "moons", "n_samples": 120, "noise": 0.2, "val_fraction": 0.25},
        "network": {"hidden_layers": [6, 5], "activation": "tanh", "initializer": "xavier_uniform"},
        "training": {"epochs": 4, "seeds": 2},
        "runs": [
            {"label": "GD", "optimizer": "sgd", "batch_size": "full", "lr": 0.1},
            {"label": "SGD", "optimizer": "sgd", "batch_size": 8, "lr": 0.05},
            {"label": "Momentum", "optimizer": "momentum", "batch_size": 8, "lr": 0.05},
            {"label": "Adam", "optimizer": "adam", "batch_size": 8, "lr": 0.01},
        ],
    }
    for section, values in overrides.items():
        if isinstance(values, dict):
            doc[section] = {**doc.get(section, {}), **values}
        else:
            doc[section] = values
    return ExperimentConfig.from_dict(doc)


@pytest.fixture
def small():
    return small_config
