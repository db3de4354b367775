"""Lockstep training must be bit-identical to training each run alone."""

import numpy as np
import pytest

from nn_core import ExperimentConfig
from nn_core.datasets import make
from nn_core.lockstep import train_group
from nn_core.optimizers import RULES
from nn_core.training import build_architecture, initial_params, train_run

FIELDS = [
    "epochs",
    "steps_at",
    "samples",
    "train_loss",
    "train_score",
    "val_loss",
    "val_score",
    "step_loss",
    "grad_epochs",
    "snapshot_epochs",
    "diverged",
    "diverged_step",
    "completed",
    "steps",
]


def assert_identical(alone, together):
    for field in FIELDS:
        a, b = getattr(alone, field), getattr(together, field)
        assert np.array_equal(np.asarray(a, dtype=object), np.asarray(b, dtype=object)), field
    for s1, s2 in zip(alone.snapshots, together.snapshots, strict=True):
        assert np.array_equal(s1, s2)
    for g1, g2 in zip(alone.grad_stats, together.grad_stats, strict=True):
        for key in g1:
            assert np.array_equal(g1[key], g2[key], equal_nan=True), key
    assert np.array_equal(np.array(alone.health), np.array(together.health), equal_nan=True)


def compare(doc, seeds=(0, 1)):
    config = ExperimentConfig.from_dict(doc)
    data = make(config.dataset, dtype=np.dtype(config.training.dtype))
    arch = build_architecture(config, data)
    theta0 = {s: initial_params(config, arch, s) for s in seeds}
    members = [(run, s) for s in seeds for run in config.runs]
    together = train_group(config, members, data, arch, theta0)
    for (run, seed), rec in zip(members, together, strict=True):
        alone = train_run(config, run, seed, data, arch, theta0[seed])
        assert (rec.run, rec.seed) == (run.label, seed)
        assert_identical(alone, rec)
    return together


def doc(runs, dataset=None, network=None, training=None, batch=8):
    return {
        "dataset": {"name": "moons", "n_samples": 90, "val_fraction": 0.2, **(dataset or {})},
        "network": {"hidden_layers": [5, 4], "activation": "tanh", **(network or {})},
        "training": {"epochs": 3, "step_epochs": 2, **(training or {})},
        "runs": [{"batch_size": batch, **r} for r in runs],
    }


EVERY_RULE = [{"label": name, "optimizer": name} for name in RULES]
VARIANTS = [
    {"label": "sgd-wd", "optimizer": "sgd", "lr": 0.1, "weight_decay": 0.01},
    {"label": "mom-damp", "optimizer": "momentum", "dampening": 0.3},
    {"label": "rms-c", "optimizer": "rmsprop", "centered": True, "momentum": 0.5},
    {"label": "ams", "optimizer": "adam", "amsgrad": True},
    {
        "label": "ada-decay",
        "optimizer": "adagrad",
        "lr_decay": 0.01,
        "initial_accumulator_value": 0.1,
    },
]


@pytest.mark.parametrize("batch", [1, 8, "full"])
def test_every_rule_in_lockstep_equals_alone(batch):
    compare(doc(EVERY_RULE + VARIANTS, batch=batch))


@pytest.mark.parametrize(
    ("dataset", "network"),
    [
        ({"name": "blobs", "classes": 3}, {"activation": ["relu", "prelu"]}),
        ({"name": "sine"}, {"activation": "gelu", "l2": 0.01}),
        ({"name": "xor"}, {"activation": "sigmoid", "dropout": 0.3}),
        (
            {"name": "spirals", "classes": 4},
            {"activation": "selu", "initializer": "lecun_normal", "dropout": 0.2, "l2": 0.001},
        ),
    ],
)
def test_heads_activations_and_regularisers_in_lockstep(dataset, network):
    runs = [{"label": "m", "optimizer": "momentum"}, {"label": "a", "optimizer": "adam"}]
    compare(doc(runs, dataset, network), seeds=(0, 3))


def test_clipping_and_float32_in_lockstep():
    runs = [{"label": "s", "optimizer": "sgd", "lr": 1.0}, {"label": "n", "optimizer": "nadam"}]
    compare(doc(runs, training={"clip_norm": 0.05, "dtype": "float32"}))


def test_a_diverging_run_stops_alone_and_the_others_go_on():
    runs = [
        {"label": "boom", "optimizer": "sgd", "lr": 50.0},
        {"label": "fine", "optimizer": "sgd", "lr": 0.01},
    ]
    records = compare(
        doc(runs, {"name": "sine"}, {"activation": "linear"}, {"epochs": 6}), seeds=(0,)
    )
    assert records[0].diverged and not records[1].diverged and records[1].epochs[-1] == 6


def test_cancel_stops_the_whole_group():
    config = ExperimentConfig.from_dict(doc(EVERY_RULE[:3], training={"epochs": 5}))
    data = make(config.dataset)
    arch = build_architecture(config, data)
    theta0 = {0: initial_params(config, arch, 0)}
    seen = []
    records = train_group(
        config,
        [(r, 0) for r in config.runs],
        data,
        arch,
        theta0,
        lambda epoch, steps: seen.append(steps) or epoch < 2,
    )
    assert all(r.epochs[-1] == 2 and not r.completed for r in records)
    assert seen[0] == 3 * 9  # every run's steps are counted
