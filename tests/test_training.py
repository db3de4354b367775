"""Training: reproducibility, paired comparisons, recording, divergence, progress and cancel."""

import itertools
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from nn_core import ExperimentConfig, run_comparison
from nn_core.recording import HIST_EDGES
from nn_core.results import CURVE_COLUMNS, GRADIENT_COLUMNS, HISTOGRAM_COLUMNS
from nn_core.train import plan_groups
from tests.conftest import small_config


def test_same_config_same_numbers_in_one_process():
    a, b = run_comparison(small_config()), run_comparison(small_config())
    for table in ("curves", "gradients", "histograms", "steps"):
        x, y = getattr(a, table).drop(columns="seconds", errors="ignore"), getattr(b, table)
        pd.testing.assert_frame_equal(x, y.drop(columns="seconds", errors="ignore"))


SCRIPT = """
import sys
from tests.conftest import small_config
from nn_core import run_comparison
r = run_comparison(small_config())
sys.stdout.write(r.curves.drop(columns="seconds").to_csv(index=False, float_format="%.17g"))
"""


def test_same_config_same_numbers_across_processes():
    outs = [
        subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    assert outs[0].stdout == outs[1].stdout
    assert len(outs[0].stdout.splitlines()) > 50


def test_global_random_state_is_not_used():
    np.random.seed(1)  # noqa: NPY002 - proves global state is not read
    a = run_comparison(small_config())
    np.random.seed(2)  # noqa: NPY002
    b = run_comparison(small_config())
    pd.testing.assert_frame_equal(
        a.curves.drop(columns="seconds"), b.curves.drop(columns="seconds")
    )


def test_runs_of_one_seed_start_from_the_same_weights_and_seeds_differ():
    r = run_comparison(small_config())
    starts = {key: snaps[1][0] for key, snaps in r.snapshots.items()}
    for seed in (0, 1):
        first = [v for (run, s), v in starts.items() if s == seed]
        assert all(np.array_equal(first[0], other) for other in first[1:])
    assert not np.array_equal(starts[("GD", 0)], starts[("GD", 1)])


def test_equal_batch_sizes_see_the_same_batch_order():
    # Two SGD runs with the same lr but different labels must be bit-identical; a third with a
    # different batch size must not be.
    r = run_comparison(
        small_config(
            runs=[
                {"label": "a", "optimizer": "sgd", "batch_size": 8, "lr": 0.05},
                {"label": "b", "optimizer": "sgd", "batch_size": 8, "lr": 0.05},
                {"label": "c", "optimizer": "sgd", "batch_size": 9, "lr": 0.05},
            ]
        )
    )
    c = r.curves.set_index(["run", "seed", "epoch", "split"])["loss"]
    np.testing.assert_array_equal(c.loc["a"].to_numpy(), c.loc["b"].to_numpy())
    assert not np.array_equal(c.loc["a"].to_numpy(), c.loc["c"].to_numpy())


def test_tables_have_the_documented_columns_and_sizes():
    config = small_config()
    r = run_comparison(config)
    n_runs, n_seeds, epochs = len(config.runs), 2, config.training.epochs
    assert list(r.curves.columns) == CURVE_COLUMNS
    assert list(r.gradients.columns) == GRADIENT_COLUMNS
    assert list(r.histograms.columns) == HISTOGRAM_COLUMNS
    assert len(r.curves) == n_runs * n_seeds * (epochs + 1) * 2
    assert len(r.summary) == n_runs * n_seeds
    layers = r.arch.n_layers
    assert len(r.gradients) == n_runs * n_seeds * (epochs + 1) * layers
    # every histogram holds all the weights of its layer
    totals = r.histograms.groupby(["run", "seed", "epoch", "layer"])["count"].sum()
    sizes = {i + 1: a * b for i, (a, b) in enumerate(itertools.pairwise(r.arch.sizes))}
    assert all(totals.loc[idx] == sizes[idx[3]] for idx in totals.index)
    assert set(r.histograms["bin_left"]) <= set(HIST_EDGES[:-1])
    # samples and steps
    gd = r.curves[(r.curves.run == "GD") & (r.curves.split == "train")]
    assert gd["step"].tolist() == list(range(epochs + 1)) * n_seeds
    n_train = len(r.data.X_train)
    assert gd["samples"].tolist() == [e * n_train for e in range(epochs + 1)] * n_seeds


def test_gradient_statistics_match_a_direct_computation():
    config = small_config(training={"epochs": 1, "seeds": 1, "step_epochs": 1})
    config = ExperimentConfig.from_dict(
        {**config.to_dict(), "runs": [{"label": "GD", "optimizer": "sgd", "batch_size": "full",
                                       "lr": 0.1}]}
    )  # fmt: skip
    r = run_comparison(config)
    from nn_core.network import Network

    theta0 = r.snapshots[("GD", 0)][1][:1].copy()  # (1, P): the one run
    net = Network(r.arch, theta0, np.zeros_like(theta0))
    net.loss_and_grad(r.data.X_train, r.data.y_train)
    g0 = r.gradients[r.gradients.epoch == 0].set_index("layer")
    for layer, (gw,) in enumerate(net.gW, start=1):
        assert g0.loc[layer, "grad_norm"] == pytest.approx(np.linalg.norm(gw), rel=1e-12)
        assert g0.loc[layer, "grad_max_abs"] == pytest.approx(np.abs(gw).max(), rel=1e-12)
        w_after = net.W[layer - 1][0] - 0.1 * gw
        assert g0.loc[layer, "update_ratio"] == pytest.approx(
            np.linalg.norm(0.1 * gw) / np.linalg.norm(w_after), rel=1e-9
        )


def test_per_step_losses_cover_the_first_epochs():
    config = small_config(training={"epochs": 3, "seeds": 1, "step_epochs": 2})
    r = run_comparison(config)
    sgd = r.steps[r.steps.run == "SGD"]
    steps_per_epoch = -(-len(r.data.X_train) // 8)
    assert sgd["step"].tolist() == list(range(1, 2 * steps_per_epoch + 1))
    assert set(sgd["epoch"]) == {1, 2}


def test_divergence_is_a_result_not_a_crash():
    config = small_config(
        runs=[
            {"label": "boom", "optimizer": "sgd", "batch_size": 8, "lr": 50.0},
            {"label": "fine", "optimizer": "sgd", "batch_size": 8, "lr": 0.01},
        ],
        dataset={"name": "sine", "n_samples": 120},
        network={"hidden_layers": [8, 8], "activation": "linear"},
        training={"epochs": 30, "seeds": 1},
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any floating-point warning would fail the test
        r = run_comparison(config)
    s = r.summary.set_index("run")
    assert bool(s.loc["boom", "diverged"]) and s.loc["boom", "diverged_step"] >= 1
    assert not bool(s.loc["fine", "diverged"])
    assert s.loc["fine", "epochs"] == 30
    assert (r.curves.run == "boom").sum() >= 2  # what was recorded before the blow-up is kept


def test_progress_reports_every_epoch_of_every_group_and_reaches_the_total():
    seen = []
    config = small_config()
    run_comparison(config, progress=seen.append)
    groups = plan_groups(config, 90)  # GD alone, then the three batch-8 runs in lockstep
    assert [len(g) for g in groups] == [2, 6]
    # one report at the end of every epoch of every group (and, on a machine slow enough for an
    # epoch to last over train.CHECK_SECONDS, reports within it too)
    epochs = config.training.epochs
    assert len({(p.run, p.epoch) for p in seen}) == len(groups) * epochs <= len(seen)
    assert seen[-1].done_steps == seen[-1].total_steps
    assert all(a.done_steps < b.done_steps for a, b in itertools.pairwise(seen))
    named = ", ".join(p.run for p in seen)
    assert all(r.label in named for r in config.runs)
    assert seen[-1].seeds == (0, 1)
    one_by_one = []
    run_comparison(config, progress=one_by_one.append, lockstep=False)
    ends = {(p.run, p.seed, p.epoch) for p in one_by_one}
    assert len(ends) == len(config.runs) * 2 * epochs <= len(one_by_one)
    assert one_by_one[-1].done_steps == one_by_one[-1].total_steps == seen[-1].total_steps


def cancel_after(n_checks: int):
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > n_checks

    return cancel


def test_cancel_keeps_what_finished_in_lockstep():
    # checks: before GD's group, after its 4 epochs, before the batch-8 group, after its epoch 1
    r = run_comparison(small_config(), cancel=cancel_after(6))
    assert r.cancelled
    s = r.summary.set_index(["run", "seed"])
    assert s.loc["GD", "completed"].all() and (s.loc["GD", "epochs"] == 4).all()
    for run in ("SGD", "Momentum", "Adam"):
        assert not s.loc[run, "completed"].any() and (s.loc[run, "epochs"] == 1).all()


def test_cancel_keeps_what_finished_one_by_one():
    r = run_comparison(small_config(), cancel=cancel_after(6), lockstep=False)
    assert r.cancelled
    assert 1 <= len(r.summary) < 8
    assert not r.summary["completed"].iloc[-1]
    assert r.summary["completed"].iloc[:-1].all()


def test_float32_runs_and_stays_float32():
    r = run_comparison(small_config(training={"dtype": "float32", "seeds": 1}))
    assert r.snapshots[("Adam", 0)][1].dtype == np.float32
    assert np.isfinite(r.summary["final_train_loss"]).all()


def test_clip_norm_bounds_the_step():
    config = small_config(
        runs=[{"label": "GD", "optimizer": "sgd", "batch_size": "full", "lr": 1.0}],
        training={"epochs": 1, "seeds": 1, "clip_norm": 1e-3},
    )
    r = run_comparison(config)
    _, theta = r.snapshots[("GD", 0)]
    assert np.linalg.norm(theta[1] - theta[0]) <= 1e-3 * (1 + 1e-9)


def test_dropout_training_is_reproducible_and_differs_from_no_dropout():
    with_drop = small_config(network={"dropout": 0.3}, training={"seeds": 1})
    a, b = run_comparison(with_drop), run_comparison(with_drop)
    pd.testing.assert_frame_equal(
        a.curves.drop(columns="seconds"), b.curves.drop(columns="seconds")
    )
    c = run_comparison(small_config(training={"seeds": 1}))
    assert not np.allclose(a.summary["final_train_loss"], c.summary["final_train_loss"])


def test_to_csv_writes_every_table(tmp_path):
    r = run_comparison(small_config(training={"seeds": 1}))
    paths = r.to_csv(tmp_path)
    names = {p.name for p in paths}
    assert names == {"config.json", "curves.csv", "steps.csv", "gradients.csv",
                     "histograms.csv", "summary.csv"}  # fmt: skip
    assert ExperimentConfig.from_json((tmp_path / "config.json").read_text()) == r.config
    back = pd.read_csv(tmp_path / "curves.csv")
    assert len(back) == len(r.curves)


def test_regression_reports_r2():
    r = run_comparison(
        small_config(
            dataset={"name": "sine", "n_samples": 200}, training={"epochs": 40, "seeds": 1}
        )
    )
    assert r.metric == "r2"
    adam = r.summary.set_index("run").loc["Adam"]
    assert 0.5 < adam["final_val_accuracy"] <= 1.0
