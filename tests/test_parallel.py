"""Both cores: groups trained by the worker process give exactly the in-process numbers."""

import pickle

import numpy as np
import pandas as pd
import pytest

from nn_core import ExperimentConfig, parallel, run_comparison
from nn_core.datasets import make
from nn_core.training import (
    build_architecture,
    initial_params,
    plan_groups,
    share,
    train_members,
)
from tests.conftest import small_config

TABLES = ("curves", "steps", "gradients", "histograms")
TIME_COLUMNS = {"seconds"}

pytestmark = pytest.mark.skipif(parallel.cores() < 2, reason="needs two cores")


@pytest.fixture(autouse=True)
def fresh_worker():
    yield
    parallel.shutdown()


def assert_same(a, b):
    """Every recorded number equal, bit for bit; only the clock columns may differ."""
    for name in TABLES:
        ta, tb = getattr(a, name), getattr(b, name)
        cols = [c for c in ta.columns if c not in TIME_COLUMNS]
        pd.testing.assert_frame_equal(ta[cols], tb[cols], check_exact=True)
    cols = [c for c in a.summary.columns if c not in TIME_COLUMNS]
    pd.testing.assert_frame_equal(a.summary[cols], b.summary[cols], check_exact=True)
    assert a.snapshots.keys() == b.snapshots.keys()
    for key, (epochs, thetas) in a.snapshots.items():
        assert np.array_equal(epochs, b.snapshots[key][0])
        assert np.array_equal(thetas, b.snapshots[key][1])
    assert a.cancelled == b.cancelled


def test_the_worker_trains_exactly_what_this_process_would():
    config = small_config(training={"epochs": 6, "seeds": 2})
    progress, partial = [], []
    split = run_comparison(config, progress=progress.append, partial=partial, parallel=True)
    alone = run_comparison(config, parallel=False)
    assert_same(split, alone)
    assert len(partial) == len(config.runs) * 2
    done = [p.done_steps for p in progress]
    assert done == sorted(done)
    assert done[-1] == progress[-1].total_steps
    assert parallel._state["worker"] is not None  # it really went to the worker


def plan(config, parallel=None):
    data = make(config.dataset)
    arch = build_architecture(config, data)
    groups = plan_groups(config, len(data.X_train))
    return groups, share(config, groups, data, arch, parallel)


def test_the_default_preset_is_split_and_small_jobs_are_not():
    config = ExperimentConfig.preset("default")
    parallel.shutdown()
    # no worker yet: its ~0.6 s start-up would cost more than the split saves, so this
    # comparison stays here and the worker is started for the next one
    assert plan(config)[1] == (plan(config)[0], [0, 1, 2], [])
    assert parallel.running()
    groups, (shared, here, there) = plan(config)
    assert shared == groups  # three groups already: none needs cutting
    assert there and sorted(here + there) == [0, 1, 2]
    # the batch-1 SGD run dominates: it stays here, alone
    assert [len(groups[i]) for i in here] == [1]
    everything_here = (groups, [0, 1, 2], [])
    assert plan(config, parallel=False)[1] == everything_here
    assert plan(config.with_training(epochs=2))[1] == everything_here  # too small to pay


def test_one_large_group_is_cut_in_two_and_trains_the_same():
    config = small_config(
        training={"epochs": 5, "seeds": 3},
        runs=[
            {"label": "SGD", "optimizer": "sgd", "batch_size": 8, "lr": 0.05},
            {"label": "Adam", "optimizer": "adam", "batch_size": 8, "lr": 0.01},
        ],
    )
    groups, (shared, here, there) = plan(config, parallel=True)
    assert len(groups) == 1 and len(shared) == 2
    assert [m for g in shared for m in g] == groups[0]
    assert here and there
    assert_same(run_comparison(config, parallel=True), run_comparison(config, parallel=False))


def test_cancel_stops_both_processes_and_keeps_what_finished():
    config = small_config(training={"epochs": 40, "seeds": 2})
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 6

    res = run_comparison(config, cancel=cancel, parallel=True)
    assert res.cancelled
    assert not res.summary["completed"].all()
    # the worker is free again and gives the same numbers afterwards
    again = run_comparison(config.with_training(epochs=3), parallel=True)
    assert_same(again, run_comparison(config.with_training(epochs=3), parallel=False))


def test_a_dead_worker_s_groups_are_trained_here():
    config = small_config(training={"epochs": 30, "seeds": 2})
    killed = []

    def progress(p):
        worker = parallel._state["worker"]
        if not killed and worker is not None:
            worker.proc.kill()
            killed.append(p.done_steps)

    res = run_comparison(config, progress=progress, parallel=True)
    assert killed
    assert_same(res, run_comparison(config, parallel=False))
    assert res.summary["completed"].all()


def test_a_second_comparison_meanwhile_trains_in_process():
    config = small_config(training={"epochs": 3})
    worker = parallel.acquire()
    assert worker is not None
    try:
        assert parallel.acquire() is None
        res = run_comparison(config, parallel=True)  # cannot get the worker: all here
    finally:
        parallel.release(worker, clean=True)
    assert_same(res, run_comparison(config, parallel=False))


def test_records_travel_compactly_and_arrive_unchanged():
    config = small_config(training={"epochs": 3, "seeds": 1})
    data = make(config.dataset)
    arch = build_architecture(config, data)
    group = plan_groups(config, len(data.X_train))[1]
    theta0 = {0: initial_params(config, arch, 0)}
    records = train_members(config, group, data, arch, theta0)
    records[0].grad_stats[0]["grad_norm"][0] = np.nan  # NaN survives too
    for sent in records:
        got = pickle.loads(pickle.dumps(sent))
        assert got.__dict__.keys() == sent.__dict__.keys()
        for key, value in sent.__dict__.items():
            if key == "grad_stats":
                assert len(got.grad_stats) == len(value)
                for a, b in zip(value, got.grad_stats, strict=True):
                    assert a.keys() == b.keys()
                    assert all(np.array_equal(a[k], b[k], equal_nan=True) for k in a)
            elif key == "snapshots":
                assert all(np.array_equal(a, b) for a, b in zip(value, got.snapshots, strict=True))
            else:
                assert getattr(got, key) == value, key
