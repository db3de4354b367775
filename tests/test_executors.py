"""Where a comparison's tasks run (nn_core.schedule): in-process, on the local process pool and
on a Dask cluster the tables are the same bit for bit; a dead worker's task is retried; cancel
keeps what finished; progress arrives per task; a bad scheduler is one clear line."""

import dataclasses
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from nn_core import data as datasets  # synthetic or bundled
from nn_core import run_comparison, schedule
from nn_core.schedule import LocalPool, SchedulerError
from nn_core.train import build_architecture, initial_params, plan_groups, train_members
from tests.conftest import small_config

TABLES = ("curves", "steps", "gradients", "histograms")
TIME_COLUMNS = {"seconds"}


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


def comparison(**training):
    """Three lockstep groups (full batch, batch 8, batch 16), two of them big enough to cut."""
    return small_config(
        training={"epochs": 6, "seeds": 3, **training},
        runs=[
            {"label": "GD", "optimizer": "sgd", "batch_size": "full", "lr": 0.1},
            {"label": "SGD", "optimizer": "sgd", "batch_size": 8, "lr": 0.05},
            {"label": "Momentum", "optimizer": "momentum", "batch_size": 8, "lr": 0.05},
            {"label": "Adam", "optimizer": "adam", "batch_size": 8, "lr": 0.01},
            {"label": "RMSprop", "optimizer": "rmsprop", "batch_size": 16, "lr": 0.01},
        ],
    )


@pytest.fixture(scope="module")
def pool():
    """The process-wide pool (``executor="local"``), shut down after these tests."""
    yield schedule.LOCAL_POOL
    schedule.LOCAL_POOL.shutdown()


@pytest.fixture
def small_tasks(monkeypatch):
    """Tasks of a few milliseconds: every group is cut into slices of about one member."""
    monkeypatch.setattr(schedule, "TASK_SECONDS", 1e-4)


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        worker_dashboard_address=None,
    ) as cluster:
        yield cluster


def test_tasks_slice_groups_into_contiguous_runs_of_members(small_tasks):
    config = comparison()
    data = datasets.make(config.dataset)
    groups = plan_groups(config, len(data.X_train))
    tasks = schedule.plan(config, groups, data, ship_data=False, workers=2)
    assert len(tasks) > len(groups)  # cut
    flat = [(config.runs[r], s) for t in tasks for r, s in t.members]
    assert flat == [m for g in groups for m in g]  # every member once, in group order
    assert [t.index for t in tasks] == list(range(len(tasks)))
    assert all(t.data is None for t in tasks)  # synthetic data is rebuilt inside the task
    shipped = schedule.plan(config, groups, data, ship_data=True)
    assert all(t.data is data for t in shipped)
    # a task is small when pickled: no arrays unless the data must travel
    assert len(pickle.dumps(tasks[0])) < 4000


def test_inline_and_the_local_pool_give_the_same_tables(pool, small_tasks):
    config = comparison()
    progress, partial = [], []
    inline = run_comparison(config, executor="inline")
    pooled = run_comparison(config, progress=progress.append, partial=partial, executor="local")
    assert pool.running()
    assert_same(inline, pooled)
    assert len(partial) == len(config.runs) * 3
    done = [p.done_steps for p in progress]
    assert done == sorted(done) and done[-1] == progress[-1].total_steps
    # any concurrent.futures executor will do: progress then comes per finished task
    seen = []
    with ThreadPoolExecutor(2) as threads:
        assert_same(inline, run_comparison(config, progress=seen.append, executor=threads))
    assert seen and seen[-1].done_steps == seen[-1].total_steps
    # in-process the groups are not cut (next test): runs one at a time give the same numbers
    assert_same(inline, run_comparison(config, executor="inline", lockstep=False))


def test_in_process_each_group_is_one_task_however_small_tasks_are(small_tasks, monkeypatch):
    """Slices run one after another in one process would repeat each step's fixed work (the
    loop, NumPy's per-call overhead) once per slice, and buy nothing: progress and cancel come
    every epoch in-process anyway."""
    config = comparison()
    data = datasets.make(config.dataset)
    groups = plan_groups(config, len(data.X_train))
    assert len(schedule.plan(config, groups, data, False, 2)) > len(groups)  # a pool cuts them
    trained = []
    real = schedule.run_task

    def counted(task, channel=None):
        trained.append(task.members)
        return real(task, channel)

    monkeypatch.setattr(schedule, "run_task", counted)
    progress = []
    res = run_comparison(config, progress=progress.append, executor="inline")
    run_of = {run.label: i for i, run in enumerate(config.runs)}
    assert trained == [tuple((run_of[run.label], seed) for run, seed in g) for g in groups]
    assert progress[-1].done_steps == progress[-1].total_steps
    assert len(res.summary) == len(config.runs) * 3


def test_the_rule_keeps_short_comparisons_in_process(monkeypatch):
    config = small_config(training={"epochs": 2, "seeds": 1})
    data = datasets.make(config.dataset)
    tasks = schedule.plan(config, plan_groups(config, len(data.X_train)), data, False, 2)
    assert sum(t.seconds for t in tasks) < schedule.INLINE_SECONDS
    idle = LocalPool(workers=2)
    assert schedule.choose(idle, tasks).name == "inline"
    assert not idle.running()  # deciding does not start it
    assert schedule.choose(LocalPool(workers=1), tasks).name == "inline"
    long = [dataclasses.replace(t, seconds=10.0) for t in tasks]
    assert schedule.choose(LocalPool(workers=1), long).name == "inline"  # one core
    assert schedule.choose(LocalPool(workers=2), long[:1]).name == "inline"  # one task
    monkeypatch.setenv(schedule.ENV_SCHEDULER, "nowhere")
    with pytest.raises(SchedulerError):
        schedule.choose(None, tasks)  # the environment names a scheduler: no silent fallback
    assert schedule.choose("inline", tasks).name == "inline"
    with pytest.raises(TypeError, match="executor"):
        schedule.choose(42, tasks)


def test_uploaded_data_travels_with_the_tasks(pool, small_tasks):
    config = comparison(epochs=3, seeds=1)
    made = datasets.make(config.dataset)
    # data that cannot be rebuilt from the config: its rows reversed
    data = dataclasses.replace(made, X_train=made.X_train[::-1].copy(), y_train=made.y_train[::-1])
    pooled = run_comparison(config, data=data, executor="local")
    assert_same(pooled, run_comparison(config, data=data, executor="inline"))
    assert not np.array_equal(
        pooled.curves["loss"], run_comparison(config, executor="inline").curves["loss"]
    )


def test_a_killed_worker_s_task_is_retried_with_the_same_result(pool):
    config = comparison(epochs=600)
    killed = []

    def progress(p):
        if not killed:
            victim = next(iter(pool.executor()._processes))
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    before = pool.executor()
    res = run_comparison(config, progress=progress, executor="local")
    assert killed and pool.executor() is not before  # a new pool replaced the broken one
    assert res.summary["completed"].all()
    assert_same(res, run_comparison(config, executor="inline"))


def test_cancel_on_the_pool_keeps_finished_tasks(pool, small_tasks):
    config = comparison(epochs=2000)
    seen = []
    res = run_comparison(config, progress=seen.append, cancel=lambda: bool(seen), executor="local")
    assert res.cancelled
    s = res.summary
    assert len(s) < len(config.runs) * 3 or not s["completed"].all()
    # runs that completed have every epoch; the others stopped after an epoch and say so
    assert (s[s["completed"]]["epochs"] == 2000).all()
    assert (s[~s["completed"]]["epochs"] < 2000).all()
    # the pool is free again and gives the same numbers afterwards
    again = run_comparison(config.with_training(epochs=3), executor="local")
    assert_same(again, run_comparison(config.with_training(epochs=3), executor="inline"))


def test_two_comparisons_share_the_pool_and_a_cancel_stops_only_its_own(pool, small_tasks):
    config = comparison(epochs=150)
    results, stop = {}, threading.Event()

    def train(name, cancel):
        results[name] = run_comparison(config, cancel=cancel, executor="local")

    a = threading.Thread(target=train, args=("a", stop.is_set))
    b = threading.Thread(target=train, args=("b", lambda: False))
    a.start()
    b.start()
    time.sleep(0.3)
    stop.set()
    a.join(120)
    b.join(120)
    assert results["a"].cancelled
    assert not results["b"].cancelled and results["b"].summary["completed"].all()
    assert_same(results["b"], run_comparison(config, executor="inline"))


def test_records_travel_compactly_and_arrive_unchanged():
    config = small_config(training={"epochs": 3, "seeds": 1})
    data = datasets.make(config.dataset)
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


def test_scheduler_addresses_are_checked():
    assert schedule.scheduler_address("127.0.0.1:8786") == "tcp://127.0.0.1:8786"
    assert schedule.scheduler_address(" tcp://host:1 ") == "tcp://host:1"
    for bad in ("", "tcp://host", "http://host:80", "host:port"):
        with pytest.raises(SchedulerError, match="not a Dask scheduler address"):
            schedule.scheduler_address(bad)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "nn_core", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


@pytest.mark.slow
def test_an_unreachable_scheduler_is_one_line_and_exit_2(tmp_path):
    start = time.perf_counter()
    out = cli("compare", "--preset", "default", "--epochs", 1, "--out", tmp_path,
              "--scheduler", f"tcp://127.0.0.1:{closed_port()}")  # fmt: skip
    assert out.returncode == 2
    assert out.stderr.startswith("error: cannot reach the Dask scheduler at tcp://127.0.0.1:")
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert time.perf_counter() - start < 30
    out = cli("compare", "--preset", "default", "--epochs", 1, "--out", tmp_path,
              env={"NN_CORE_SCHEDULER": "nowhere"})  # fmt: skip
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "error: 'nowhere' is not a Dask scheduler address; expected tcp://HOST:PORT, "
        "e.g. tcp://127.0.0.1:8786"
    )


@pytest.mark.slow
def test_a_dask_cluster_gives_the_same_tables(cluster, small_tasks):
    config = comparison()
    progress, partial = [], []
    res = run_comparison(
        config, progress=progress.append, partial=partial, executor=cluster.scheduler_address
    )
    assert_same(res, run_comparison(config, executor="inline"))
    # no channel to a cluster's tasks: progress comes once per finished task
    data = datasets.make(config.dataset)
    n_tasks = len(schedule.plan(config, plan_groups(config, len(data.X_train)), data, False, 2))
    assert len(progress) == n_tasks
    done = [p.done_steps for p in progress]
    assert done == sorted(done) and done[-1] == progress[-1].total_steps
    assert len(partial) == len(config.runs) * 3


@pytest.mark.slow
def test_cancel_on_a_cluster_keeps_finished_tasks(cluster, small_tasks):
    config = comparison(epochs=30)
    seen = []
    res = run_comparison(
        config, progress=seen.append, cancel=lambda: bool(seen), executor=cluster.scheduler_address
    )
    assert res.cancelled and len(seen) >= 1
    assert 1 <= len(res.summary) < len(config.runs) * 3
    assert res.summary["completed"].all()  # on a cluster a cancel drops the unfinished tasks


@pytest.mark.slow
def test_the_cli_on_a_cluster_writes_the_same_files(cluster, tmp_path):
    here, there = tmp_path / "here", tmp_path / "there"
    args = ("compare", "--preset", "default", "--epochs", 3, "--seeds", 2)
    assert cli(*args, "--out", here).returncode == 0
    out = cli(*args, "--out", there, "--scheduler", cluster.scheduler_address)
    assert out.returncode == 0, out.stderr
    files = sorted(p.name for p in here.iterdir())
    assert files == sorted(p.name for p in there.iterdir()) and "curves.csv" in files
    for name in files:
        if name.endswith(".csv"):
            a, b = pd.read_csv(here / name), pd.read_csv(there / name)
            cols = [c for c in a.columns if c not in TIME_COLUMNS]
            pd.testing.assert_frame_equal(a[cols], b[cols], check_exact=True)
        else:
            assert (here / name).read_bytes() == (there / name).read_bytes(), name
