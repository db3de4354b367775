"""Learning-rate sweeps: the protocol's statistics against independent routes, pairing,
reproducibility on every executor, resume, and bad input refused naming the key."""

from __future__ import annotations

import json
import math
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nn_core import ConfigError, ExperimentConfig, run_comparison
from nn_core.cli import main
from nn_core.optimizers import RULES
from nn_core.sweep import (
    MAX_SWEEP_RUNS,
    Store,
    SweepConfig,
    best_setting,
    bootstrap_median,
    load_document,
    rank_rules,
    run_sweep,
    summarise_settings,
    tunability,
)


def small_config(epochs: int = 8) -> ExperimentConfig:
    doc = ExperimentConfig.preset("default").to_dict()
    doc["dataset"]["n_samples"] = 120
    doc["training"]["epochs"] = epochs
    return ExperimentConfig.from_dict(doc)


SMALL = SweepConfig(rules=("sgd", "adam"), lr_points=5, lr_min=1e-3, lr_max=10.0, seeds=2,
                    confirm_seeds=3)  # fmt: skip


def without_time(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=["seconds"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def small():
    return run_sweep(small_config(), SMALL)


# --- configuration ------------------------------------------------------------------------------


def test_the_default_grid_is_the_protocols():
    grid = SweepConfig().grid
    assert len(grid) == 25 and grid[0] == 1e-5 and grid[-1] == 10.0
    np.testing.assert_allclose(np.log10(grid), -5 + np.arange(25) / 4, atol=1e-12)
    assert SweepConfig().rules == tuple(RULES)


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"rules": ["adam", "nope"]}, "sweep.rules"),
        ({"lr_points": 0}, "sweep.lr_points"),
        ({"lr_min": 1.0, "lr_max": 0.1}, "sweep.lr_max"),
        ({"lr_min": float("nan")}, "sweep.lr_min"),
        ({"seeds": 0}, "sweep.seeds"),
        ({"select_on": "accuracy"}, "sweep.select_on"),
        ({"colour": "red"}, "sweep.colour"),
        ({"axis": "momentum", "axis_values": [0.5, 1.5], "rules": ["momentum"]},
         "sweep.axis_values"),
        ({"axis": "betas", "axis_values": [0.9], "rules": ["sgd"]}, "sweep.axis"),
    ],
)  # fmt: skip
def test_bad_sections_are_refused_naming_the_key(section, key):
    doc = {**ExperimentConfig.preset("default").to_dict(), "sweep": section}
    with pytest.raises(ConfigError) as err:
        load_document(doc)
    assert err.value.path == key


def test_the_sweeps_own_limit_admits_5000_runs_and_refuses_more_than_its_limit():
    big = {"lr_points": 100, "seeds": 6, "confirm_seeds": 10}  # every rule x (600 + 20) runs
    _, sweep = load_document({"runs": [{"optimizer": "adam"}], "sweep": big})
    assert sweep.n_runs() >= 5000
    too_big = {"lr_points": 200, "seeds": 50}
    with pytest.raises(ConfigError, match=str(MAX_SWEEP_RUNS)):
        load_document({"runs": [{"optimizer": "adam"}], "sweep": too_big})


# --- the statistics ----------------------------------------------------------------------------


def test_bootstrap_interval_agrees_with_scipy():
    values = np.random.default_rng(5).normal(1.0, 0.3, size=10)
    median, low, high = bootstrap_median(values, samples=4000)
    ref = stats.bootstrap((values,), np.median, method="percentile", n_resamples=4000,
                          random_state=np.random.default_rng(1)).confidence_interval  # fmt: skip
    assert median == np.median(values)
    assert low <= median <= high
    spread = values.std()
    assert abs(low - ref.low) < 0.1 * spread and abs(high - ref.high) < 0.1 * spread


def test_bootstrap_of_constant_values_and_diverged_scores():
    assert bootstrap_median(np.full(7, 0.25)) == (0.25, 0.25, 0.25)
    median, low, high = bootstrap_median(np.array([0.1, 0.2, math.inf, math.inf, math.inf]))
    assert median == math.inf and high == math.inf  # most seeds diverged: the worst score
    assert low >= 0.1


def tune_table(scores: dict[float, list[float]], rule: str = "sgd") -> pd.DataFrame:
    rows = [
        {"rule": rule, "lr": lr, "axis_value": np.nan, "seed": s, "phase": "tune",
         "score": v, "diverged": not math.isfinite(v)}
        for lr, vals in scores.items() for s, v in enumerate(vals)
    ]  # fmt: skip
    return pd.DataFrame(rows)


def test_selection_uses_the_median_not_a_lucky_seed_and_diverged_scores_worst():
    settings = summarise_settings(
        tune_table(
            {
                0.01: [0.50, 0.52, 0.51],
                0.1: [0.30, 0.31, 0.29],  # best median
                1.0: [0.05, 0.90, 0.95],  # one lucky seed
                10.0: [math.inf, 0.01, math.inf],  # diverges twice
            }
        )
    )
    assert best_setting(settings, "sgd") == (0.1, None)
    row = settings[settings.lr == 10.0].iloc[0]
    assert row["median"] == math.inf and row["diverged"] == 2


def test_tunability_counts_decades_within_ten_percent():
    settings = summarise_settings(
        tune_table({1e-3: [1.0], 1e-2: [0.21], 1e-1: [0.2], 1.0: [0.219], 10.0: [0.3]})
    )
    assert tunability(settings, "sgd", decade_step=1.0) == 3.0
    assert tunability(settings, "sgd", decade_step=0.25) == 0.75


def test_overlapping_intervals_share_a_rank():
    best = pd.DataFrame(
        {
            "rule": ["a", "b", "c"],
            "tuned_low": [0.10, 0.12, 0.30],
            "tuned_high": [0.15, 0.20, 0.40],
        }
    )
    ranks, ties = rank_rules(best)
    assert ranks == [1, 1, 3]
    assert ties == ["b", "a", ""]


# --- a real sweep ------------------------------------------------------------------------------


def test_tables_have_every_run_and_every_rule(small):
    tune = small.runs[small.runs.phase == "tune"]
    assert len(tune) == 2 * 5 * 2
    confirm = small.runs[small.runs.phase == "confirm"]
    assert len(confirm) == 2 * 2 * 3
    assert set(confirm.seed) == {2, 3, 4}  # fresh: disjoint from the tuning seeds 0, 1
    assert list(small.best.rule) and set(small.best.rule) == {"sgd", "adam"}
    for _, row in small.best.iterrows():
        assert row["default_lr"] == RULES[row["rule"]].defaults["lr"]
        assert row["tuned_low"] <= row["tuned_median"] <= row["tuned_high"]
    assert set(small.curves.split) == {"train", "val"}


def test_runs_are_paired_and_equal_a_comparison_of_the_same_run(small):
    tune = small.runs[small.runs.phase == "tune"]
    for seed, d in tune.groupby("seed"):
        assert d.start_loss.nunique() == 1, f"seed {seed} does not share its start"
    row = tune[(tune.rule == "adam") & (tune.seed == 1)].iloc[2]
    doc = small_config().to_dict()
    doc["training"].update(seeds=1, base_seed=1)
    doc["runs"] = [{"label": "A", "optimizer": "adam", "batch_size": 32, "lr": row["lr"]}]
    alone = run_comparison(ExperimentConfig.from_dict(doc), parallel=False).summary.iloc[0]
    assert alone["final_val_loss"] == row["final_val_loss"]
    assert alone["final_train_loss"] == row["final_train_loss"]


def test_a_run_above_its_start_is_scored_as_diverged(small):
    runs = small.runs
    up = runs[runs.final_val_loss > runs.start_loss]
    assert up.diverged.all() and np.isinf(up.score).all()
    assert (runs[~runs.diverged].score == runs[~runs.diverged].final_val_loss).all()


def test_same_numbers_in_a_process_pool(small):
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        again = run_sweep(small_config(), SMALL, executor=pool)
    pd.testing.assert_frame_equal(without_time(again.runs), without_time(small.runs))
    pd.testing.assert_frame_equal(again.best, small.best)


def test_resume_loses_no_finished_run_and_gives_the_same_tables(small, tmp_path):
    store = Store(tmp_path / "runs.jsonl")
    calls = {"n": 0}

    def cancel_after_one_task():
        calls["n"] += 1
        return calls["n"] > 2

    cut = run_sweep(small_config(), SMALL, store=store, cancel=cancel_after_one_task)
    assert cut.cancelled
    finished = len(Store(tmp_path / "runs.jsonl").rows)
    assert 0 < finished < len(small.runs)
    with open(tmp_path / "runs.jsonl", "a") as fh:
        fh.write('{"key": "torn')  # a line cut short by a kill
    seen = []
    resumed = run_sweep(
        small_config(), SMALL, store=Store(tmp_path / "runs.jsonl"), progress=seen.append
    )
    assert seen[0].done >= finished  # what finished is reused, not trained again
    pd.testing.assert_frame_equal(without_time(resumed.runs), without_time(small.runs))
    pd.testing.assert_frame_equal(resumed.best, small.best)


# --- command line ------------------------------------------------------------------------------


def test_cli_writes_the_four_tables_and_resumes(tmp_path, capsys):
    args = ["sweep", "--preset", "default", "--out", str(tmp_path), "--rules", "sgd,adam",
            "--lr-points", "3", "--seeds", "1", "--confirm-seeds", "2", "--epochs", "3",
            "--workers", "1"]  # fmt: skip
    assert main(args) == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert {"config.json", "sweep.csv", "curves.csv", "best.csv"} <= names
    doc = json.loads((tmp_path / "config.json").read_text())
    assert doc["sweep"]["rules"] == ["sgd", "adam"] and doc["versions"]["numpy"] == np.__version__
    first = pd.read_csv(tmp_path / "sweep.csv")
    assert len(first) == 2 * 3 * 1 + 2 * 2 * 2
    capsys.readouterr()
    assert main([*args, "--resume"]) == 0
    assert "resumed: " in capsys.readouterr().out
    again = pd.read_csv(tmp_path / "sweep.csv")
    pd.testing.assert_frame_equal(without_time(again), without_time(first))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--rules", "adam,nope"], "sweep.rules"),
        (["--lr-points", "0"], "sweep.lr_points"),
        (["--seeds", "-1"], "sweep.seeds"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys, extra, message):
    code = main(["sweep", "--preset", "default", "--out", str(tmp_path), *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_cli_refuses_a_malformed_config_file(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["sweep", "--config", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "not valid JSON" in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_same_sweep_csv_on_a_dask_cluster(small, tmp_path):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):  # fmt: skip
        on_cluster = run_sweep(small_config(), SMALL, executor=client.get_executor())
    local = tmp_path / "local.csv"
    remote = tmp_path / "remote.csv"
    without_time(small.runs).to_csv(local, index=False)
    without_time(on_cluster.runs).to_csv(remote, index=False)
    assert local.read_bytes() == remote.read_bytes()


def test_the_talk_preset_shows_what_its_text_says():
    from nn_core.sweep import SWEEP_PRESETS

    p = SWEEP_PRESETS["lr-too-small-too-large"]
    text = " ".join(p.explanation.split())
    config = ExperimentConfig.preset(p.comparison).with_training(epochs=p.epochs)
    res = run_sweep(config, p.sweep)
    tune = res.runs[res.runs.phase == "tune"]
    assert "eleven learning rates from 0.0001 to 10" in text
    assert len(p.sweep.grid) == 11 and p.sweep.grid[0] == 1e-4 and p.sweep.grid[-1] == 10
    assert "SGD's loss hardly moves in 30 epochs" in text and p.epochs == 30
    small = tune[(tune.rule == "sgd") & (tune.lr == 1e-4)]
    assert (small.final_val_loss > 0.9 * small.start_loss).all()
    assert "too large and both rules end above where they started" in text
    large = tune[tune.lr == 10.0]
    assert set(large.rule) == {"sgd", "adam"} and large.diverged.all()
    assert "a different one for each rule" in text
    assert res.best.best_lr.nunique() == 2
    assert not res.best.edge.any()
