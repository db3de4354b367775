"""Configuration: JSON round trip, presets, and bad input refused naming the key."""

import json

import pytest

from nn_core import PRESETS, ConfigError, ExperimentConfig
from nn_core.optimizers import RULES


def base_doc():
    return {"runs": [{"label": "A", "optimizer": "adam", "batch_size": 16, "lr": 0.01}]}


def test_defaults_fill_in_and_round_trip():
    config = ExperimentConfig.from_dict(base_doc())
    again = ExperimentConfig.from_json(config.to_json())
    assert again == config
    assert json.loads(config.to_json())["runs"][0] == {
        "label": "A",
        "optimizer": "adam",
        "batch_size": 16,
        "lr": 0.01,
    }


def test_hyperparameters_resolve_to_torch_defaults():
    config = ExperimentConfig.from_dict(base_doc())
    hp = config.runs[0].hyperparameters()
    assert hp == {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0,
                  "amsgrad": False}  # fmt: skip


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_is_valid_and_explained(name):
    config = ExperimentConfig.preset(name)
    assert len(PRESETS[name].explanation) > 150
    assert ExperimentConfig.from_json(config.to_json()) == config


def test_required_presets_exist():
    required = {
        "default", "vanishing-sigmoid", "exploding-init", "zero-init-symmetry", "relu-he-fix",
        "selu-self-normalizing", "adagrad-stall", "adadelta-lr",
    }  # fmt: skip
    assert required <= set(PRESETS)
    default = ExperimentConfig.preset("default")
    assert [r.optimizer for r in default.runs] == [
        "sgd", "sgd", "sgd", "momentum", "adagrad", "rmsprop", "adam",
    ]  # fmt: skip
    assert [r.batch_size for r in default.runs][:3] == ["full", 1, 32]


def test_configs_are_hashable_for_caching():
    a = ExperimentConfig.preset("default")
    b = ExperimentConfig.from_json(a.to_json())
    assert hash(a) == hash(b)
    assert hash(a) != hash(a.with_training(epochs=3))


BAD = [
    ({"dataset": {"name": "mnist"}}, "dataset.name", "allowed: moons"),
    ({"dataset": {"n_samples": 5}}, "dataset.n_samples", "between 20"),
    ({"dataset": {"colour": 1}}, "dataset.colour", "unknown key"),
    ({"network": {"hidden_layers": [8] * 21}}, "network.hidden_layers", "1 to 20"),
    ({"network": {"hidden_layers": []}}, "network.hidden_layers", "1 to 20"),
    ({"network": {"hidden_layers": [8, 1000]}}, "network.hidden_layers[1]", "between 1 and 512"),
    ({"network": {"hidden_layers": [8, 2.5]}}, "network.hidden_layers[1]", "integer"),
    ({"network": {"activation": "softmax"}}, "network.activation", "allowed: linear"),
    ({"network": {"hidden_layers": [4, 4], "activation": ["relu"]}}, "network.activation",
     "needs 2 names"),
    ({"network": {"initializer": "glorot"}}, "network.initializer", "allowed: zeros"),
    ({"network": {"dropout": 1.0}}, "network.dropout", "[0, 0.9]"),
    ({"training": {"epochs": 0}}, "training.epochs", "between 1"),
    ({"training": {"seeds": 51}}, "training.seeds", "between 1 and 50"),
    ({"training": {"dtype": "float16"}}, "training.dtype", "float64"),
    ({"training": {"lr": 0.1}}, "training.lr", "unknown key"),
    ({"runs": []}, "runs", "1 to 32"),
    ({"runs": [{"optimizer": "adamm"}]}, "runs[0].optimizer", "allowed: sgd"),
    ({"runs": [{"label": "x"}]}, "runs[0].optimizer", "required"),
    ({"runs": [{"optimizer": "sgd", "lr": -1}]}, "runs[0].lr", "> 0"),
    ({"runs": [{"optimizer": "sgd", "lr": "fast"}]}, "runs[0].lr", "number"),
    ({"runs": [{"optimizer": "sgd", "momentum": 0.9}]}, "runs[0].momentum", "sgd has no such"),
    ({"runs": [{"optimizer": "adam", "betas": [0.9, 1.0]}]}, "runs[0].betas", "< 1"),
    ({"runs": [{"optimizer": "adam", "betas": 0.9}]}, "runs[0].betas", "pair"),
    ({"runs": [{"optimizer": "rmsprop", "centered": "yes"}]}, "runs[0].centered", "true or false"),
    ({"runs": [{"optimizer": "sgd", "batch_size": 0}]}, "runs[0].batch_size", "between 1"),
    ({"runs": [{"optimizer": "sgd", "batch_size": "half"}]}, "runs[0].batch_size", "full"),
    ({"runs": [{"optimizer": "sgd", "label": "a"}, {"optimizer": "adam", "label": "a"}]},
     "runs[1].label", "used by another run"),
    ({"runs": [{"optimizer": "sgd", "lr": float("nan")}]}, "runs[0].lr", "finite"),
]  # fmt: skip


@pytest.mark.parametrize(("patch", "path", "words"), BAD)
def test_bad_values_are_refused_with_the_key_and_allowed_values(patch, path, words):
    doc = {**base_doc(), **patch}
    with pytest.raises(ConfigError) as info:
        ExperimentConfig.from_dict(doc)
    assert info.value.path == path
    assert words in str(info.value)


@pytest.mark.parametrize("text", ["", "{", "[1, 2]", '"runs"', "null"])
def test_malformed_documents_are_refused(text):
    with pytest.raises(ConfigError):
        ExperimentConfig.from_json(text)


def test_unknown_preset():
    with pytest.raises(ConfigError, match="allowed: default"):
        ExperimentConfig.preset("nope")


@pytest.mark.parametrize("rule", sorted(RULES))
def test_every_rule_accepts_its_own_defaults_explicitly(rule):
    hyper = {k: list(v) if isinstance(v, tuple) else v for k, v in RULES[rule].defaults.items()}
    doc = {"runs": [{"optimizer": rule, **hyper}]}
    assert ExperimentConfig.from_dict(doc).runs[0].hyperparameters() == RULES[rule].defaults
