"""The benchmark suite's own arithmetic and a smoke run (speed itself is never asserted)."""

import time

import numpy as np

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
