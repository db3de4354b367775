"""The benchmark suite's own arithmetic and a smoke run (speed itself is never asserted)."""

import dataclasses
import time

import numpy as np
import pytest

from benchmarks import floor, suite
from benchmarks.workloads import registry
from nn_core.network import Architecture


def test_the_floor_counts_every_product_of_a_training_step():
    arch = Architecture((3, 7, 5, 2), ("tanh", "relu"), "multiclass")
    runs, batch = 4, 6
    rng = np.random.default_rng(0)
    step = floor.step_products(arch, runs, batch, True, rng)
    pairs = list(zip(arch.sizes[:-1], arch.sizes[1:], strict=True))
    # forward and weight gradient for every layer, the backward product above the first
    assert len(step) == 3 * len(pairs) - 1
    expected = 2 * runs * batch * (3 * sum(a * b for a, b in pairs) - pairs[0][0] * pairs[0][1])
    assert sum(p.flops for p in step) == expected
    evaluation = floor.eval_products(arch, runs, [10, 0, 4], rng)
    assert sum(p.flops for p in evaluation) == 2 * runs * 14 * sum(a * b for a, b in pairs)
    for p in step:  # the products run, and into the engine's own gradient views
        p()


def test_a_workload_floor_sums_its_lockstep_groups():
    w = registry(quick=True)["preset-1seed"]
    f = floor.of_workload(w.config, w.data())
    assert f.groups == "1@320 + 1@1 + 5@32"
    assert f.seconds > 0 and f.gflops > 0


def test_quick_suite_prints_the_tables_and_every_target(capsys):
    code = suite.main(["--quick", "--only", "b32-adam,lockstep-digits-b32"])
    out = capsys.readouterr().out
    assert code == 0
    for heading in ("GEMM-only floor", "Recording overhead", "Targets"):
        assert heading in out
    assert any(line.split()[:2] == ["lockstep-digits-b32", "5@32"] for line in out.splitlines())
    for target in ("batch <= 64", "3 seeds", "GEMM-only floor:", "recording overhead <="):
        assert any(line.startswith(target) or target in line for line in out.splitlines())


def test_phases_time_the_engines_own_loop():
    from benchmarks import phases
    from nn_core.train import Timer

    w = registry(quick=True)["lockstep-b32"]
    config, data = w.config, w.data()
    start = time.perf_counter()
    timer = Timer()
    wall, steps, _ = phases.timed(config, data, timer)
    assert steps == 15 * config.training.epochs * 10  # 15 runs, 320 rows at batch 32
    assert set(timer.seconds) <= set(phases.PHASES) and timer.seconds["update"] > 0
    assert sum(timer.seconds.values()) <= time.perf_counter() - start  # laps of this run only
    parts = phases.breakdown(timer.seconds, wall, 0.0, 0.0)
    assert sum(parts.values()) >= wall * 0.99  # the categories cover the whole run


def test_the_sweep_is_one_group_with_one_update_call_per_rule():
    from nn_core.train import build_architecture, initial_params, plan_groups, start_group

    w = registry(quick=True)["sweep-375"]
    config, data = w.config, w.data()
    assert len(config.runs) == 125 and len(config.seeds) == 3
    [members] = plan_groups(config, len(data.X_train))
    arch = build_architecture(config, data)
    theta0 = {s: initial_params(config, arch, s) for s in config.seeds}
    assert len(start_group(config, members, data, arch, theta0).blocks) == 5


# --- the default sweep (benchmarks/sweeps.py) -----------------------------------------------


def test_the_default_sweep_has_the_issues_run_count_for_every_rule_the_engine_has():
    import dataclasses

    from benchmarks.workloads import DEFAULT_SWEEP, SWEEP_LRS, default_sweep
    from nn_core.optimizers import RULES

    sweep = default_sweep()
    assert sweep.rules == tuple(RULES) and sweep.batch_size == 32
    np.testing.assert_allclose(sweep.grid, SWEEP_LRS, rtol=1e-12)  # 10^(-5+k/4), k = 0..24
    # the issue's count: 9 rules x 25 rates x 3 seeds + 9 x 2 x 10 confirmation runs
    nine = dataclasses.replace(sweep, rules=tuple(RULES)[:9])
    assert nine.n_runs() == 9 * 25 * 3 + 9 * 2 * 10 == 855
    assert sweep.n_runs() == len(RULES) * (25 * 3 + 2 * 10)
    w = registry()[DEFAULT_SWEEP]
    assert w.kind == "sweep" and w.sweep == sweep and w.config.training.epochs == 60
    quick = registry(quick=True)[DEFAULT_SWEEP]
    assert quick.sweep.n_runs() < sweep.n_runs() / 10 and quick.config.training.epochs < 60


def test_torch_time_is_extrapolated_by_the_samples_time_per_step():
    from benchmarks import sweeps

    assert sweeps.extrapolate(2.0, 400, 10_000) == 2.0 / 400 * 10_000
    assert sweeps.extrapolate(3.0, 600, 600) == 3.0
    try:
        sweeps.extrapolate(1.0, 0, 10)
    except ValueError:
        pass
    else:
        raise AssertionError("a sample without steps must be refused")


def test_spread_takes_evenly_spaced_items_with_both_ends():
    from benchmarks import sweeps

    items = list(range(11))
    assert sweeps.spread(items, 3) == [0, 5, 10]
    assert sweeps.spread(items, 1) == [0]
    assert sweeps.spread(items, 20) == items
    picked = sweeps.spread(list(range(100)), 7)
    assert len(set(picked)) == 7 and picked[0] == 0 and picked[-1] == 99


def test_the_split_covers_the_whole_time_in_the_replays_proportions():
    from benchmarks import sweeps

    phases = {"forward": 2.0, "loss": 1.0, "backward": 2.0, "update": 1.0, "evaluation": 2.0}
    parts = sweeps.split(phases, replay_wall=10.0, train=5.0, total=8.0)
    values = list(parts.values())
    assert abs(sum(values) - 8.0) < 1e-12  # every second of the sweep is in one part
    arith, update, record, overhead = values
    assert overhead == 3.0  # outside the training loop
    # 7 of the replay's 10 s were arithmetic (5 lapped + 2 unlapped loop), 1 update, 2 recording
    assert abs(arith - 3.5) < 1e-12 and abs(update - 0.5) < 1e-12 and abs(record - 1.0) < 1e-12


def test_the_floor_times_every_hidden_activation_and_its_derivative():
    arch = Architecture((2, 16, 8, 1), ("tanh", "relu"), "binary")
    rng = np.random.default_rng(0)
    step = floor.step_activations(arch, 5, 32, rng)
    assert len(step) == 2 * 2  # f and f' per hidden layer
    assert [op.args[0].shape for op in step][::2] == [(5, 32, 16), (5, 32, 8)]
    evaluation = floor.eval_activations(arch, 5, [320, 0, 80], rng)
    assert [op.args[0].shape[1] for op in evaluation] == [320, 320, 80, 80]
    for op in step + evaluation:
        op()
    f = floor.measure(arch, 5, 32, False, 320, 80, activations=True)
    assert f.step_act_s > 0 and f.eval_act_s > 0
    assert f.act_seconds(10, 2) == 10 * f.step_act_s + 2 * f.eval_act_s


def test_the_sweep_benchmark_times_the_engines_sweep_path_and_reports_it(tmp_path):
    import dataclasses

    from benchmarks import sweeps
    from nn_core.sweep import SweepConfig

    w = registry(quick=True)["sweep-default"]
    small = SweepConfig(rules=("sgd", "lion"), lr_points=2, seeds=2, confirm_seeds=1)
    w = dataclasses.replace(w, sweep=small)
    m = sweeps.measure(w, torch=None, quick=True, pool=False)
    # every task run_sweep submitted was captured and replayed: 2 rules x 2 rates x 2 seeds,
    # then the best and the default rate on one fresh seed (one run when they coincide)
    runs = [r for t in m.captured for r in t.runs]
    assert 2 * 2 * 2 + 2 <= len(runs) <= small.n_runs()
    assert [g[0] for g in m.replay.groups] == [len(t.runs) for t in m.captured]
    steps_per_run = w.config.training.epochs * 10  # 320 rows at batch 32
    assert 0 < m.replay.run_steps <= len(runs) * steps_per_run
    assert 0 < m.train_seconds < m.one_proc and m.floor.seconds > 0
    sample = sweeps.torch_sample(m.captured)
    assert [r[0] for r in sample.runs] == ["sgd"]  # one run a rule; lion has no torch.optim
    text = "\n".join(sweeps.report(m, quick=True))
    for needle in ("1 process", "floor", "lockstep arithmetic", "task overhead", "SKIP"):
        assert needle in text
    # --csv: the sweep's rows in the suite's columns (no torch here: ours and the floor)
    import csv

    path = tmp_path / "bench.csv"
    suite.write_csv(str(path), [], sweeps.csv_rows(m))
    written = list(csv.DictReader(path.open()))
    assert [(r["workload"], r["engine"]) for r in written] == [
        ("sweep-default", "ours"),
        ("sweep-default", "floor"),
    ]
    assert float(written[0]["median_s"]) == pytest.approx(m.one_proc, abs=1e-6)
    assert float(written[1]["median_s"]) == pytest.approx(m.floor.seconds, abs=1e-6)
    assert int(written[0]["steps"]) == m.replay.run_steps and written[0]["kind"] == "sweep"
    m.torch_sample_seconds, m.torch_sample_steps, m.torch_sampled = 2.0, 100, 3
    torch_row = next(r for r in sweeps.csv_rows(m) if r[5] == "torch")
    expected = 2.0 / 100 * m.replay.run_steps
    assert float(torch_row[11]) == pytest.approx(expected, rel=1e-6)
    assert float(torch_row[16]) == pytest.approx(expected / m.one_proc, rel=1e-3)
    assert "extrapolated from 3 runs" in torch_row[6]


def test_the_torch_sample_is_checked_against_our_steps_and_final_parameters():
    from benchmarks import sweeps

    theta = np.array([0.5, -1.0, 2.0])
    rep = sweeps.Replay(finals={("sgd", 0.1, 0): (600, theta), ("adam", 10.0, 1): (3, theta)})
    sample = sweeps.TorchSample("{}", 32, (("sgd", 0.1, 0), ("adam", 10.0, 1)))
    diverged = np.array([np.nan, 1.0, 2.0])
    same = sweeps.check(sample, [(600, theta + 1e-12), (3, diverged)], rep)
    assert same.endswith("same") and "over the 1 finite runs" in same  # NaN runs left out
    assert "steps equal: NO" in sweeps.check(sample, [(599, theta), (3, diverged)], rep)
    off = sweeps.check(sample, [(600, theta + 1e-6), (3, diverged)], rep)
    assert off.endswith("DIFFERENT") and "1.0e-06" in off
    # a run whose own end moves as far when θ₀ moves by one ulp is chaotic, not different
    calm = sweeps.Replay(finals={k: (n, t + 1e-17) for k, (n, t) in rep.finals.items()})
    wild = sweeps.Replay(finals={k: (n, t + 1e-6) for k, (n, t) in rep.finals.items()})
    assert sweeps.check(sample, [(600, theta + 1e-6), (3, diverged)], rep, calm).endswith(
        "DIFFERENT"
    )
    chaotic = sweeps.check(sample, [(600, theta + 1e-6), (3, diverged)], rep, wild)
    assert chaotic.endswith("same") and "1 chaotic: sgd at lr 0.1" in chaotic


def test_a_nudged_replay_starts_one_ulp_away_and_a_sample_trains_alone():
    from benchmarks import sweeps
    from benchmarks.workloads import registry, with_training

    w = registry(quick=True)["sweep-default"]
    cap = sweeps.CapturingExecutor()
    small = with_training(w.config, epochs=1)
    sweeps.run_engine(dataclasses.replace(w, config=small), cap)
    sample = sweeps.torch_sample(cap.tasks)
    alone = sweeps.sample_tasks(cap.tasks, sample)
    assert sorted((t.runs[0].rule, t.runs[0].lr, t.runs[0].seed) for t in alone) == sorted(
        sample.runs
    )
    base, nudged = sweeps.replay(alone), sweeps.replay(alone, nudge=True)
    full = sweeps.replay(cap.tasks)
    for key in sample.runs:
        assert np.array_equal(base.finals[key][1], full.finals[key][1])  # alone = in its group
        moved = np.abs(nudged.finals[key][1] - base.finals[key][1])
        assert moved.max() > 0  # a different start, trained the same way
