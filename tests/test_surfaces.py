"""2-D test functions: analytic gradients, known minima, and the theory of convergence rates."""

import numpy as np
import pytest

from nn_core.optimizers import RULES
from nn_core.surfaces import SURFACES, gd_optimal, momentum_optimal, run_surface


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_gradient_matches_finite_differences(name):
    s = SURFACES[name]
    rng = np.random.default_rng(0)
    (x0, x1), (y0, y1) = s.domain
    h = 1e-6
    for x, y in zip(rng.uniform(x0, x1, 20), rng.uniform(y0, y1, 20), strict=True):
        gx, gy = s.gradient(x, y)
        nx = (s.value(x + h, y) - s.value(x - h, y)) / (2 * h)
        ny = (s.value(x, y + h) - s.value(x, y - h)) / (2 * h)
        assert gx == pytest.approx(nx, rel=1e-6, abs=1e-4)
        assert gy == pytest.approx(ny, rel=1e-6, abs=1e-4)


@pytest.mark.parametrize("name", sorted(n for n in SURFACES if SURFACES[n].minima))
def test_minima_are_stationary_with_value_zero(name):
    s = SURFACES[name]
    for x, y in s.minima:
        assert s.value(x, y) == pytest.approx(0.0, abs=1e-9)
        assert np.hypot(*s.gradient(x, y)) < 1e-4


def test_grid_is_oriented_rows_y_columns_x():
    xs, ys, Z = SURFACES["rosenbrock"].grid(51)
    assert Z.shape == (51, 51)
    assert Z[10, 30] == SURFACES["rosenbrock"].value(xs[30], ys[10])


@pytest.mark.parametrize("rule", sorted(RULES))
def test_every_rule_walks_every_surface(rule):
    for name in SURFACES:
        df = run_surface(name, rule, steps=25)
        assert df["step"].tolist()[0] == 0
        assert (df.loc[0, ["x", "y"]].tolist()) == list(SURFACES[name].start)
        assert {"optimizer", "step", "x", "y", "loss", "grad_norm", "dx", "dy"} <= set(df)


def test_trajectory_uses_the_networks_optimizer_code():
    # One SGD step is θ − γ∇f exactly.
    df = run_surface("himmelblau", "sgd", {"lr": 0.01}, start=(1.0, 1.0), steps=1)
    gx, gy = SURFACES["himmelblau"].gradient(1.0, 1.0)
    assert df.loc[1, "x"] == 1.0 - 0.01 * gx and df.loc[1, "y"] == 1.0 - 0.01 * gy
    assert df.loc[1, "eff_lr_x"] == pytest.approx(0.01)


@pytest.mark.parametrize("kappa", [10.0, 100.0])
def test_gd_on_the_bowl_converges_at_the_theoretical_rate(kappa):
    lr, rate = gd_optimal(kappa)
    df = run_surface("bowl", "sgd", {"lr": lr}, start=(1.0, 1.0), steps=60, kappa=kappa)
    r = np.hypot(df["x"], df["y"]).to_numpy()
    np.testing.assert_allclose(r[1:] / r[:-1], rate, rtol=1e-9)


@pytest.mark.parametrize("kappa", [25.0, 100.0])
def test_momentum_on_the_bowl_converges_at_the_accelerated_rate(kappa):
    lr, mu, rate = momentum_optimal(kappa)
    df = run_surface(
        "bowl", "momentum", {"lr": lr, "momentum": mu}, start=(1.0, 1.0), steps=600, kappa=kappa
    )
    r = np.hypot(df["x"], df["y"]).to_numpy()
    measured = (r[600] / r[300]) ** (1 / 300)
    assert measured == pytest.approx(rate, rel=0.01)
    assert measured < gd_optimal(kappa)[1]  # faster than the best plain GD


def test_adam_effective_step_is_adaptive_and_state_is_recorded():
    df = run_surface("bowl", "adam", {"lr": 0.1}, steps=5, kappa=100.0)
    assert {"exp_avg_x", "exp_avg_sq_y"} <= set(df)
    # Adam's step is ~lr in both coordinates although the gradients differ by ~100×.
    assert abs(df.loc[1, "dx"]) == pytest.approx(0.1, rel=1e-3)
    assert abs(df.loc[1, "dy"]) == pytest.approx(0.1, rel=1e-3)
    assert df.loc[1, "eff_lr_y"] < df.loc[1, "eff_lr_x"] / 10


def test_divergence_ends_the_path_without_warnings():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = run_surface("beale", "momentum", {"lr": 1e-3}, steps=500)
    assert len(df) < 501
    assert bool(df["diverged"].iloc[-1]) and not df["diverged"].iloc[:-1].any()


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(KeyError, match="allowed: sgd"):
        run_surface("bowl", "lbfgs")
    with pytest.raises(ValueError, match="lr must be > 0"):
        run_surface("bowl", "sgd", {"lr": 0})
    with pytest.raises(ValueError, match="steps must be between"):
        run_surface("bowl", "sgd", steps=0)


@pytest.mark.parametrize("rule", list(RULES))
def test_default_lr_follows_the_registry_entry(rule):
    from nn_core.surfaces import default_lr

    for name, surf in SURFACES.items():
        choice = RULES[rule].surface_lr
        expected = {"gradient": surf.default_lr, "distance": surf.distance_lr}.get(choice, choice)
        assert default_lr(name, rule) == expected
    if RULES[rule].family == "sgd-family":
        assert RULES[rule].surface_lr == "gradient"  # a step γ·g needs the gradient's scale
    if RULES[rule].family in ("adaptive", "sign") and rule != "adadelta":
        assert RULES[rule].surface_lr == "distance"


def test_run_surface_without_lr_starts_at_the_test_function_rate():
    from nn_core.surfaces import default_lr

    implicit = run_surface("beale", "lion", {"betas": [0.9, 0.99]}, steps=20)
    explicit = run_surface("beale", "lion", {"lr": default_lr("beale", "lion")}, steps=20)
    assert implicit.equals(explicit)
    assert abs(implicit.loc[1, "dx"]) == pytest.approx(SURFACES["beale"].distance_lr)
