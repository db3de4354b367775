"""Runs trained together (one group, one update call per rule) must be bit-identical to each
run trained alone: the same loop with R = 1."""

import numpy as np
import pytest

from nn_core import ExperimentConfig
from nn_core.datasets import make
from nn_core.optimizers import RULES
from nn_core.train import build_architecture, initial_params, start_group, train_group

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


def setup(doc, seeds):
    config = ExperimentConfig.from_dict(doc)
    data = make(config.dataset, dtype=np.dtype(config.training.dtype))
    arch = build_architecture(config, data)
    theta0 = {s: initial_params(config, arch, s) for s in seeds}
    return config, data, arch, theta0


def compare(doc, seeds=(0, 1), by_rule=False):
    """Train every (run, seed) as one group and each alone; ``by_rule`` orders the rows rule by
    rule (as plan_groups does), so each rule's rows share one update call."""
    config, data, arch, theta0 = setup(doc, seeds)
    members = [(run, s) for s in seeds for run in config.runs]
    if by_rule:
        rules = list(dict.fromkeys(run.optimizer for run in config.runs))
        members.sort(key=lambda m: rules.index(m[0].optimizer))
    together = train_group(config, members, data, arch, theta0)
    for (run, seed), rec in zip(members, together, strict=True):
        [alone] = train_group(config, [(run, seed)], data, arch, theta0)
        assert (rec.run, rec.seed) == (run.label, seed)
        assert_identical(alone, rec)
    return together


def update_calls(doc, seeds=(0,)):
    """Number of update calls per step of the group plan_groups forms from ``doc``'s runs."""
    from nn_core.train import plan_groups

    config, data, arch, theta0 = setup(doc, seeds)
    [members] = plan_groups(config, len(data.X_train))
    return len(start_group(config, members, data, arch, theta0).blocks)


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


# --- per-run hyperparameters: one update call per rule ----------------------------------------

LRS = (0.3, 0.01, 0.05)


@pytest.mark.parametrize("batch", [1, 8, "full"])
def test_mixed_learning_rates_share_one_call_and_equal_alone(batch):
    runs = [
        {"label": f"{rule}-{lr}", "optimizer": rule, "lr": lr}
        for rule in ("sgd", "momentum", "adam")
        for lr in LRS
    ]
    runs += [
        {"label": "sgd-wd", "optimizer": "sgd", "lr": 0.1, "weight_decay": 0.01},
        {"label": "mom-wd", "optimizer": "momentum", "lr": 0.02, "weight_decay": 0.1},
        {"label": "adam-wd", "optimizer": "adam", "lr": 0.003, "weight_decay": 0.001},
    ]
    d = doc(runs, batch=batch)
    assert update_calls(d) == 3  # sgd, momentum and adam: each rule's rows in one call
    compare(d, by_rule=True)


@pytest.mark.parametrize("rule", list(RULES))
def test_every_rule_with_mixed_learning_rates_is_one_call_and_equals_alone(rule):
    d = doc([{"label": f"{rule}-{lr}", "optimizer": rule, "lr": lr} for lr in LRS])
    assert update_calls(d, seeds=(0, 1)) == 1
    compare(d, seeds=(0, 1))


# Every float hyperparameter of the rule at two values (besides lr), all held per row in one call.
FLOAT_VARIANTS = {
    "sgd": [{"weight_decay": 0.0}, {"weight_decay": 0.01}],
    "momentum": [{"momentum": 0.9, "dampening": 0.0}, {"momentum": 0.5, "dampening": 0.3}],
    "nesterov": [{"momentum": 0.9}, {"momentum": 0.7, "weight_decay": 0.01}],
    "adagrad": [
        {"lr_decay": 0.0, "eps": 1e-10},
        {"lr_decay": 0.01, "eps": 1e-6, "initial_accumulator_value": 0.1},
    ],
    "adadelta": [{"rho": 0.9}, {"rho": 0.8, "eps": 1e-5}],
    "rmsprop": [{"alpha": 0.99}, {"alpha": 0.9, "eps": 1e-6, "momentum": 0.5}],
    "adam": [{"betas": [0.9, 0.999]}, {"betas": [0.8, 0.99], "eps": 1e-6}],
    "adamw": [{"betas": [0.9, 0.999]}, {"betas": [0.85, 0.995], "weight_decay": 0.1}],
    "nadam": [{"momentum_decay": 4e-3}, {"momentum_decay": 1e-2, "betas": [0.8, 0.99]}],
}


@pytest.mark.parametrize("rule", list(RULES))
def test_every_rule_with_every_float_hyperparameter_mixed_is_one_call(rule):
    variants = FLOAT_VARIANTS.get(rule, [{}, {}])
    runs = [
        {"label": f"{rule}-{i}", "optimizer": rule, "lr": lr, **v}
        for i, (lr, v) in enumerate((lr, v) for lr in (0.01, 0.003) for v in variants)
    ]
    d = doc(runs)
    compare(d, seeds=(0, 1))  # exact in any case
    assert update_calls(d) == 1


def test_float32_groups_stay_exact_with_mixed_learning_rates():
    # Per-row values are cast to the parameters' dtype before they meet them, as a Python float
    # is: one call in float32 too, and the group still equals every run alone.
    runs = [{"label": f"a{lr}", "optimizer": "adamw", "lr": lr} for lr in LRS]
    d = doc(runs, training={"dtype": "float32"})
    assert update_calls(d) == 1
    compare(d)


def test_the_plan_puts_each_rules_rows_side_by_side():
    from nn_core.train import plan_groups

    runs = [
        {"label": "a1", "optimizer": "adam", "lr": 0.01},
        {"label": "s1", "optimizer": "sgd", "lr": 0.1},
        {"label": "a2", "optimizer": "adam", "lr": 0.001},
        {"label": "ams", "optimizer": "adam", "amsgrad": True},
        {"label": "s2", "optimizer": "sgd", "lr": 0.2},
        {"label": "full", "optimizer": "sgd", "batch_size": "full"},
    ]
    config = ExperimentConfig.from_dict(doc(runs, training={"seeds": 2}))
    groups = plan_groups(config, 72)
    order = [(run.label, seed) for run, seed in groups[0]]
    assert order == [(label, s) for label in ("a1", "a2", "s1", "s2", "ams") for s in (0, 1)]
    assert [(run.label, seed) for run, seed in groups[1]] == [("full", 0), ("full", 1)]


# --- per-run clipping and schedules in one group ----------------------------------------------


@pytest.mark.parametrize("batch", [1, 8, "full"])
def test_mixed_clipping_and_schedules_in_one_group_equal_alone(batch):
    runs = [
        {"label": "plain", "optimizer": "sgd", "lr": 0.2},
        {"label": "clip", "optimizer": "sgd", "lr": 0.2, "clip_norm": 0.05},
        {"label": "step", "optimizer": "sgd", "lr": 0.3,
         "schedule": {"kind": "step", "step_size": 1, "gamma": 0.5}},
        {"label": "m-cos", "optimizer": "momentum", "lr": 0.05, "clip_norm": 0.1,
         "schedule": {"kind": "cosine", "t_max": 3}},
        {"label": "m", "optimizer": "momentum", "lr": 0.02},
        {"label": "a-warm", "optimizer": "adamw", "lr": 0.01,
         "schedule": {"kind": "warmup", "epochs": 2}},
        {"label": "a", "optimizer": "adamw", "lr": 0.003, "clip_norm": 1.0},
    ]  # fmt: skip
    d = doc(runs, batch=batch, training={"clip_norm": 0.5})  # "plain" and "m" clip at 0.5
    assert update_calls(d) == 3
    compare(d, by_rule=True)


# --- stopping within an epoch -----------------------------------------------------------------


def test_cancel_within_an_epoch_stops_after_the_step_it_is_asked():
    config, data, arch, theta0 = setup(doc(EVERY_RULE[:3], training={"epochs": 5}), (0,))
    members = [(r, 0) for r in config.runs]
    calls = []

    def on_epoch(epoch, steps):
        calls.append((epoch, steps))
        return len(calls) < 4  # the 4th check says stop

    records = train_group(config, members, data, arch, theta0, on_epoch, check_seconds=0.0)
    # checked after every step (9 a epoch): the 4th check comes after step 4 of epoch 1
    assert calls == [(1, 3)] * 4
    for rec in records:
        assert rec.steps == 4 and not rec.completed and rec.epochs == [0]
    # what it did before the stop equals the first 4 steps of an uninterrupted run
    [full] = train_group(config, members[:1], data, arch, theta0)
    assert records[0].step_loss == full.step_loss[:4]


def test_cancel_takes_effect_within_a_long_epoch():
    # One batch-1 epoch of 4800 steps of a wide network takes well over the time between checks
    # (the default is 0.2 s; 0.02 s here so that a fast machine cannot finish the epoch first).
    d = doc(
        [{"label": "s", "optimizer": "sgd", "lr": 0.001}],
        dataset={"n_samples": 6000},
        network={"hidden_layers": [128, 128]},
        training={"epochs": 2},
        batch=1,
    )
    config, data, arch, theta0 = setup(d, (0,))
    seen = []

    def on_epoch(epoch, steps):
        seen.append(steps)
        return False

    [rec] = train_group(
        config, [(config.runs[0], 0)], data, arch, theta0, on_epoch, check_seconds=0.02
    )
    assert rec.epochs == [0] and not rec.completed and seen == [rec.steps]
    assert 0 < rec.steps < len(data.X_train) // 2  # stopped early in the first epoch
