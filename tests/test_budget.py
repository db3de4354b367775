"""Memory and work bounds: estimated before training, snapshots thinned to fit, refusals that
name what to reduce, and result stores bounded by size (issue 14, item 1)."""

import pytest

from dashboard import runner, state
from nn_core import ExperimentConfig, budget, run_comparison
from nn_core.budget import BudgetError, Shape, estimate, plan, results_bytes, shape_of
from nn_core.datasets import make


def config(runs=2, epochs=30, widths=(32, 32), seeds=1, n=300, **training):
    return ExperimentConfig.from_dict(
        {
            "dataset": {"name": "moons", "n_samples": n},
            "network": {"hidden_layers": list(widths)},
            "training": {"epochs": epochs, "seeds": seeds, **training},
            "runs": [
                {"label": f"r{i}", "optimizer": "adam", "lr": 0.01, "batch_size": 32}
                for i in range(runs)
            ],
        }
    )


def test_shape_without_data_matches_the_generated_data():
    c = config(n=301)
    data = make(c.dataset)
    assert shape_of(c) == shape_of(c, data)
    assert shape_of(c).params == sum((a + 1) * b for a, b in [(2, 32), (32, 32), (32, 1)])


def test_the_estimate_brackets_what_a_comparison_really_holds():
    c = config(runs=3, epochs=40, seeds=2)
    res = run_comparison(c, parallel=False)
    est = estimate(c, shape_of(c))
    snaps = sum(theta.nbytes for _, theta in res.snapshots.values())
    assert est.snapshots == snaps  # exact: members × (E/S + 1) × P × 8
    held = results_bytes(res)
    assert est.snapshots + est.statistics >= 0.5 * (held - res.data.X_train.nbytes)
    assert est.snapshots + est.statistics <= 4 * held


def test_snapshots_are_thinned_to_the_budget_and_the_first_and_last_kept(monkeypatch):
    c = config(runs=2, epochs=60)
    per = 2 * shape_of(c).params * 8
    monkeypatch.setattr(budget, "SNAPSHOT_BUDGET", 11 * per)  # room for 11 snapshots a member
    p = plan(c, shape_of(c))
    every = p.config.training.snapshot_every
    assert every == 6 and "every 6 epochs" in p.note
    res = run_comparison(p.config, parallel=False)
    epochs, _ = res.snapshots[("r0", 0)]
    assert epochs[0] == 0 and epochs[-1] == 60 and len(epochs) == 11
    assert sum(t.nbytes for _, t in res.snapshots.values()) <= budget.SNAPSHOT_BUDGET
    assert plan(p.config, shape_of(p.config)).config == p.config  # idempotent


def test_refusals_name_the_setting_to_reduce():
    wide = config(runs=32, widths=(512,) * 20, epochs=1)
    with pytest.raises(BudgetError) as info:
        plan(wide, shape_of(wide))
    assert info.value.path == "network.hidden_layers" and "fewer runs" in str(info.value)
    big = config(runs=2, widths=(512,) * 20, epochs=5000)
    with pytest.raises(BudgetError) as info:
        plan(big, shape_of(big))
    assert info.value.path == "training.epochs" and "multiply-adds" in str(info.value)
    many = config(runs=32, seeds=50, epochs=3000, widths=(4,), snapshot_every=3000)
    with pytest.raises(BudgetError) as info:
        plan(many, Shape(100, 20, (2, 4, 1)))
    assert "hold about" in str(info.value)


def test_every_preset_fits_untouched():
    from nn_core import PRESETS

    for name in PRESETS:
        c = ExperimentConfig.preset(name)
        assert plan(c, shape_of(c)).config == c, name


def test_the_runner_trains_the_thinned_configuration(monkeypatch):
    c = config(runs=1, epochs=40)
    monkeypatch.setattr(budget, "SNAPSHOT_BUDGET", 5 * shape_of(c).params * 8)
    _, res, _ = runner.run(c, cache=runner.ResultCache())
    assert res.config.training.snapshot_every == 10
    assert len(res.snapshots[("r0", 0)][0]) == 5


def test_four_large_comparisons_are_not_all_held_by_the_cache():
    results = [run_comparison(config(runs=2, epochs=20 + i), parallel=False) for i in range(4)]
    size = max(results_bytes(r) for r in results)
    cache = runner.ResultCache(max_entries=8, max_bytes=int(2.5 * size))
    for i, r in enumerate(results):
        cache.put(f"k{i}", r)
    assert len(cache) == 2 and cache.nbytes <= 2.5 * size
    assert cache.get("k0") is None and cache.get("k3") is results[3]
    tiny = runner.ResultCache(max_bytes=size // 2)
    tiny.put("x", results[0])  # larger than the whole cache: not kept at all
    assert len(tiny) == 0


def test_a_sessions_history_is_bounded_by_size(monkeypatch):
    results = [run_comparison(config(runs=2, epochs=20 + i), parallel=False) for i in range(4)]
    size = max(results_bytes(r) for r in results)
    monkeypatch.setattr(budget, "SESSION_BUDGET", int(2.5 * size))
    session: dict = {}
    for i, r in enumerate(results):
        state.remember(session, r, f"p{i}")
    kept = [r for _, r in state.history(session)]
    assert kept == results[2:] and session[state.RESULTS_KEY] is results[3]
    assert sum(results_bytes(r) for r in kept) <= budget.SESSION_BUDGET


def test_the_figure_cache_is_bounded_by_bytes_and_returns_copies():
    import numpy as np

    cache = state.PickledLRU(max_bytes=3 * 8_200)
    built = []

    def make(i):
        def build():
            built.append(i)
            return {"z": np.full(1000, float(i))}  # ~8 KB pickled

        return build

    for i in range(5):
        cache.get_or_build(i, make(i))
    assert len(cache) == 3 and cache.nbytes <= cache.max_bytes  # not five
    first = cache.get_or_build(4, make(4))
    first["z"][:] = -1  # a caller changing its figure does not change the cached one
    assert cache.get_or_build(4, make(4))["z"][0] == 4.0 and built == [0, 1, 2, 3, 4]
    cache.get_or_build("huge", lambda: np.zeros(10_000))  # larger than the budget: not kept
    assert "huge" not in cache._items
