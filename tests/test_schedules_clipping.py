"""Per-run gradient clipping and learning-rate schedules: configuration, torch's conventions
(torch.nn.utils.clip_grad_norm_, torch.optim.lr_scheduler), and their effect on training."""

import math

import numpy as np
import pytest

from nn_core import ConfigError, ExperimentConfig
from nn_core.lr_schedules import lr_at
from nn_core.train import clip_gradients
from tests.conftest import small_config

SCHEDULES = [
    {"kind": "step", "step_size": 3, "gamma": 0.5},
    {"kind": "step", "step_size": 1, "gamma": 0.9},
    {"kind": "cosine", "t_max": 7, "eta_min": 0.001},
    {"kind": "cosine", "t_max": 4, "eta_min": 0.0},
    {"kind": "warmup", "epochs": 5},
    {"kind": "warmup", "epochs": 3, "start_factor": 0.1},
]
EPOCHS = 12


def one_run(**extra):
    return {"label": "a", "optimizer": "sgd", "batch_size": 8, "lr": 0.1, **extra}


# --- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run", "path"),
    [
        ({"schedule": {"kind": "step", "step_size": 2, "gamma": -1}}, "runs[1].schedule.gamma"),
        ({"schedule": {"kind": "step"}}, "runs[1].schedule.step_size"),
        ({"schedule": {"kind": "exp"}}, "runs[1].schedule.kind"),
        ({"schedule": {"kind": "cosine", "t_max": 2.5}}, "runs[1].schedule.t_max"),
        ({"schedule": {"kind": "warmup", "epochs": 2, "x": 1}}, "runs[1].schedule.x"),
        ({"schedule": "cosine"}, "runs[1].schedule"),
        ({"clip_norm": 0}, "runs[1].clip_norm"),
        ({"clip_norm": "big"}, "runs[1].clip_norm"),
    ],
)
def test_invalid_clip_and_schedule_name_their_key(run, path):
    doc = small_config().to_dict()
    doc["runs"][1].update(run)
    with pytest.raises(ConfigError) as err:
        ExperimentConfig.from_dict(doc)
    assert err.value.path == path and str(err.value).startswith(path + ": ")


def test_clip_and_schedule_round_trip_through_json_and_default_to_absent():
    doc = small_config().to_dict()
    assert all("clip_norm" not in r and "schedule" not in r for r in doc["runs"])
    doc["runs"][1].update(clip_norm=0.5, schedule={"kind": "step", "step_size": 4})
    config = ExperimentConfig.from_dict(doc)
    run = config.runs[1]
    assert run.clip_norm == 0.5
    assert run.schedule == {"kind": "step", "step_size": 4, "gamma": 0.1}  # torch's default
    assert ExperimentConfig.from_json(config.to_json()) == config
    assert hash(ExperimentConfig.from_json(config.to_json())) == hash(config)
    assert config.to_dict()["runs"][1]["schedule"]["gamma"] == 0.1


def test_a_runs_clip_norm_overrides_the_training_one():
    config = small_config(
        runs=[one_run(), one_run(label="b", clip_norm=2.0)], training={"clip_norm": 0.5}
    )
    assert [r.clip(config.training) for r in config.runs] == [0.5, 2.0]


# --- torch's conventions -------------------------------------------------------------------


def closed_form(schedule, lr, e):
    kind = schedule["kind"]
    if kind == "step":
        return lr * schedule["gamma"] ** (e // schedule["step_size"])
    if kind == "cosine":
        eta = schedule["eta_min"]
        return eta + (lr - eta) * (1 + math.cos(math.pi * e / schedule["t_max"])) / 2
    s = schedule.get("start_factor", 1 / 3)
    return lr * (s + (1 - s) * min(e, schedule["epochs"]) / schedule["epochs"])


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: str(sorted(s.items())))
def test_schedules_follow_their_closed_forms(schedule):
    config = small_config(runs=[one_run(schedule=schedule)])
    checked = config.runs[0].schedule
    got = [lr_at(checked, 0.1, e) for e in range(EPOCHS)]
    assert got == pytest.approx([closed_form(schedule, 0.1, e) for e in range(EPOCHS)], rel=1e-15)


def torch_lrs(schedule, lr: float) -> list[float]:
    torch = pytest.importorskip("torch", exc_type=ImportError)
    from torch.optim import lr_scheduler

    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    kind = schedule["kind"]
    if kind == "step":
        sched = lr_scheduler.StepLR(opt, schedule["step_size"], schedule["gamma"])
    elif kind == "cosine":
        sched = lr_scheduler.CosineAnnealingLR(opt, schedule["t_max"], schedule["eta_min"])
    else:
        start = schedule.get("start_factor", 1 / 3)
        sched = lr_scheduler.LinearLR(opt, start, 1.0, total_iters=schedule["epochs"])
    out = []
    for _ in range(EPOCHS):  # the rate used during each epoch, then the end-of-epoch step
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


@pytest.mark.torch
@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: str(sorted(s.items())))
def test_schedules_match_torch_live(schedule):
    config = small_config(runs=[one_run(schedule=schedule)])
    ours = [lr_at(config.runs[0].schedule, 0.1, e) for e in range(EPOCHS)]
    np.testing.assert_allclose(ours, torch_lrs(schedule, 0.1), rtol=1e-12, atol=1e-15)


@pytest.mark.torch
def test_clipping_matches_torch_clip_grad_norm_live():
    torch = pytest.importorskip("torch", exc_type=ImportError)
    rng = np.random.default_rng(5)
    grads = rng.standard_normal((5, 40)) * np.array([[0.01], [1.0], [10.0], [100.0], [3.0]])
    clip = np.array([1.0, 1.0, 2.5, np.nan, 1e6])  # NaN: this row does not clip
    ours = grads.copy()
    clip_gradients(ours, clip)
    for r in range(len(grads)):
        # two parameter tensors per row, as a network has: the norm is global over both
        params = [torch.zeros(15, dtype=torch.float64), torch.zeros(25, dtype=torch.float64)]
        params[0].grad = torch.from_numpy(grads[r, :15].copy())
        params[1].grad = torch.from_numpy(grads[r, 15:].copy())
        if not np.isnan(clip[r]):
            torch.nn.utils.clip_grad_norm_(params, float(clip[r]))
        theirs = np.concatenate([p.grad.numpy() for p in params])
        np.testing.assert_allclose(ours[r], theirs, rtol=1e-14, atol=0)
    assert np.array_equal(ours[3], grads[3])  # untouched
    norms = np.linalg.norm(ours, axis=1)
    assert norms[1] <= 1.0 and norms[2] <= 2.5 and np.isclose(norms[0], np.linalg.norm(grads[0]))


def test_clipping_closed_form():
    g = np.array([[3.0, 4.0], [0.3, 0.4]])
    clip_gradients(g, np.array([1.0, 1.0]))
    np.testing.assert_allclose(g[0], np.array([3.0, 4.0]) / (5.0 + 1e-6), rtol=1e-15)
    assert g[1].tolist() == [0.3, 0.4]  # a norm under the limit is left alone


# --- in training -----------------------------------------------------------------------------


def train(runs, **training):
    from nn_core import run_comparison

    config = small_config(runs=runs, training={"seeds": 1, "epochs": 4, **training})
    return run_comparison(config, parallel=False)


def test_a_step_schedule_with_gamma_zero_freezes_the_weights():
    frozen_after_2 = {"kind": "step", "step_size": 2, "gamma": 0.0}
    r = train([one_run(schedule=frozen_after_2), one_run(label="b")])
    frozen, moving = r.snapshots[("a", 0)][1], r.snapshots[("b", 0)][1]
    assert np.array_equal(frozen[2], frozen[4]) and not np.array_equal(frozen[1], frozen[2])
    assert np.array_equal(frozen[:3], moving[:3])  # same runs until the schedule steps in
    assert not np.array_equal(moving[2], moving[4])


def test_warmup_starts_at_its_start_factor():
    gd = {"optimizer": "sgd", "batch_size": "full"}
    warm = {"label": "warm", "lr": 0.4, "schedule": {"kind": "warmup", "epochs": 4}, **gd}
    slow = {"label": "slow", "lr": 0.4 * (1 / 3 + (1 - 1 / 3) * 0 / 4), **gd}
    full = {"label": "full", "lr": 0.4, **gd}
    r = train([warm, slow, full], epochs=6)
    w, s, f = (r.snapshots[(k, 0)][1] for k in ("warm", "slow", "full"))
    assert np.array_equal(w[1], s[1])  # epoch 1 at lr·start_factor
    assert not np.array_equal(w[1], f[1])


def test_per_run_clipping_bounds_only_that_run():
    gd = {"optimizer": "sgd", "batch_size": "full", "lr": 1.0}
    r = train([{"label": "clipped", "clip_norm": 1e-3, **gd}, {"label": "free", **gd}], epochs=1)
    clipped, free = r.snapshots[("clipped", 0)][1], r.snapshots[("free", 0)][1]
    assert np.linalg.norm(clipped[1] - clipped[0]) <= 1e-3 * (1 + 1e-9)
    assert np.linalg.norm(free[1] - free[0]) > 1e-2
