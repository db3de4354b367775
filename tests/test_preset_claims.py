"""Every claim a preset's explanation makes, asserted on the numbers that preset produces.

Each entry pairs a phrase quoted verbatim from the explanation with a check over the preset's own
results (trained once per test session). A test also makes sure every sentence of every
explanation contains at least one checked phrase, so new text cannot land without its check.
"""

from __future__ import annotations

import functools
import math
import re

import numpy as np
import pytest

from nn_core import PRESETS, ExperimentConfig, run_comparison
from nn_core.network import Layout
from nn_core.optimizers import RULES

LN2 = math.log(2.0)


@functools.cache
def results(name: str):
    return run_comparison(ExperimentConfig.preset(name))


def train_loss(res, run: str) -> np.ndarray:
    c = res.curves
    return c[(c.run == run) & (c.split == "train")].sort_values("epoch").loss.to_numpy()


def final(res, run: str, column: str) -> float:
    s = res.summary
    return float(s.loc[s.run == run, column].iloc[0])


def grad_norms(res, run: str, epoch: int) -> np.ndarray:
    g = res.gradients
    return g[(g.run == run) & (g.epoch == epoch)].sort_values("layer").grad_norm.to_numpy()


def runs(res) -> list[str]:
    return list(dict.fromkeys(res.summary.run))


def setup(depth: int, width: int, activation: str, initializer: str, **extra):
    """A check that the preset's network is the one its text describes."""

    def check(res):
        net = res.config.network
        assert net.hidden_layers == (width,) * depth
        assert net.activations == (activation,) * depth
        assert net.initializer == initializer
        for key, value in extra.items():
            assert getattr(net, key) == value

    return check


# --- default ------------------------------------------------------------------------------------


def default_gd_one_step(res):
    assert final(res, "GD", "steps") == res.config.training.epochs


def default_sgd_many_steps(res):
    assert final(res, "SGD", "batch_size") == 1
    assert final(res, "SGD", "steps") == res.config.training.epochs * len(res.data.X_train)


def default_gd_least_progress(res):
    finals = {r: train_loss(res, r)[-1] for r in runs(res)}
    assert max(finals, key=finals.get) == "GD"


def default_sgd_noisy_but_further(res):
    s = res.steps
    jumps = {r: np.std(np.diff(s[s.run == r].loss.to_numpy())) for r in ("SGD", "Mini-batch")}
    assert jumps["SGD"] > 5 * jumps["Mini-batch"]
    assert train_loss(res, "SGD")[-1] < train_loss(res, "Mini-batch")[-1]


def default_fast_rules(res):
    target = train_loss(res, "Mini-batch")[-1]
    epochs = res.config.training.epochs
    config = {r.label: r for r in res.config.runs}
    assert config["Momentum"].hyper["lr"] == config["Mini-batch"].hyper["lr"] == 0.1
    for run in ("Momentum", "Adagrad", "RMSprop", "Adam"):
        reached = np.nonzero(train_loss(res, run) <= target)[0]
        assert len(reached) and reached[0] <= epochs / 3, run


# --- vanishing-sigmoid ------------------------------------------------------------------------


def first_to_last_ratio(res, run: str, epoch: int = 0) -> float:
    norms = grad_norms(res, run, epoch)
    return norms[0] / norms[-1]


def vanishing_orders_of_magnitude(res):
    for run in runs(res):
        assert first_to_last_ratio(res, run) < 1e-4


def vanishing_sgd_plateau(res):
    loss = train_loss(res, "SGD")
    assert len(loss) == 201
    assert np.all(np.abs(loss - LN2) < 0.01)


def vanishing_adam_escapes(res):
    loss = train_loss(res, "Adam")
    assert np.all(np.abs(loss[:101] - LN2) < 0.01)  # on the plateau for over a hundred epochs
    assert loss[-1] < LN2 - 0.08  # and then off it
    assert final(res, "Adam", "final_val_accuracy") > final(res, "SGD", "final_val_accuracy")


# --- exploding-init ------------------------------------------------------------------------------


def exploding_grows_toward_input(res):
    for run in runs(res):
        norms = grad_norms(res, run, 0)
        assert norms[0] > 10 * norms[-1]


def exploding_saturates(res):
    g = res.gradients
    hidden = g[(g.epoch == 0) & (g.unit_state == "saturated")]
    assert hidden.dead_fraction.max() > 0.2


def exploding_sgd_climbs(res):
    loss = train_loss(res, "SGD")
    assert loss.max() > 3 * loss[0]
    assert loss[-1] > 2 * loss[0]
    assert final(res, "SGD", "final_val_accuracy") <= 0.55


def exploding_clipping_tames(res):
    clipped, unclipped = train_loss(res, "SGD clipped"), train_loss(res, "SGD")
    assert [r.clip_norm for r in res.config.runs] == [None, 1.0, None]
    assert clipped[-1] < clipped[0]
    assert clipped[-1] < unclipped[-1] / 4


def exploding_adam_trains(res):
    loss = train_loss(res, "Adam")
    assert loss[-1] < 0.5 * loss[0]
    assert final(res, "Adam", "final_val_accuracy") > 0.75


def exploding_64_times_xavier(res):
    width = res.config.network.hidden_layers[1]
    xavier_variance = 2.0 / (width + width)
    assert res.config.network.init_scale**2 / xavier_variance == 64


# --- zero-init-symmetry ------------------------------------------------------------------------


def zero_start(res):
    for _epochs, thetas in res.snapshots.values():
        assert not thetas[0].any()


def zero_setup(res):
    assert res.arch.sizes == (2, 10, 5, 1)
    assert res.config.network.activations == ("relu", "relu")
    assert res.config.dataset.name == "circles"


def zero_units_identical(res):
    layout = Layout.of(res.arch)
    for (_run, _seed), (_epochs, thetas) in res.snapshots.items():
        theta = thetas[-1]
        for w, shape in zip(layout.w_slices[:-1], layout.w_shapes[:-1], strict=True):
            W = theta[w].reshape(shape)  # columns are units
            assert np.all(W == W[:, :1])


def zero_hidden_gradients(res):
    g = res.gradients
    hidden = g[g.layer < res.arch.n_layers]
    assert (hidden.grad_norm == 0).all()
    layout = Layout.of(res.arch)
    for (_run, _seed), (_epochs, thetas) in res.snapshots.items():
        moved = np.nonzero(thetas[-1] != thetas[0])[0]
        assert set(moved) <= set(range(layout.b_slices[-1].start, layout.b_slices[-1].stop))


def zero_bias_barely_moves(res):
    assert abs(float(np.mean(res.data.y_train)) - 0.5) < 0.02
    bias = Layout.of(res.arch).b_slices[-1]
    for _epochs, thetas in res.snapshots.values():
        assert np.abs(thetas[:, bias]).max() < 0.05


def zero_stays_at_ln2(res):
    assert {r.optimizer for r in res.config.runs} == {"sgd", "adam"}
    for run in runs(res):
        assert abs(train_loss(res, run)[-1] - LN2) < 1e-5
        assert final(res, run, "final_train_accuracy") == pytest.approx(0.5)


# --- relu-he-fix -------------------------------------------------------------------------------


def relu_setup(res):
    vanishing = ExperimentConfig.preset("vanishing-sigmoid")
    assert res.config.network.hidden_layers == vanishing.network.hidden_layers
    assert res.config.dataset == vanishing.dataset
    setup(10, 32, "relu", "he_normal")(res)


def relu_within_order(res):
    g = res.gradients
    for (_run, _epoch), d in g.groupby(["run", "epoch"]):
        norms = d.sort_values("layer").grad_norm.to_numpy()
        assert 0.1 < norms[0] / norms[-1] < 10


def sgd_trains_deep(res):
    assert len(res.arch.sizes) - 2 == 10
    assert final(res, "SGD", "final_train_accuracy") > 0.9
    assert train_loss(res, "SGD")[-1] < 0.25 * train_loss(res, "SGD")[0]


# --- selu-self-normalizing ---------------------------------------------------------------------

SELU_A, SELU_L = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def selu_moments(res):
    """Forward pass of the initial weights, written here from the definition (not the engine)."""
    layout = Layout.of(res.arch)
    theta = res.snapshots[(runs(res)[0], res.config.seeds[0])][1][0]
    h = res.data.X_train
    means, variances = [], []
    for w, b, shape in zip(layout.w_slices[:-1], layout.b_slices[:-1], layout.w_shapes[:-1],
                           strict=True):  # fmt: skip
        z = h @ theta[w].reshape(shape) + theta[b]
        h = SELU_L * np.where(z > 0, z, SELU_A * np.expm1(np.minimum(z, 0)))
        means.append(h.mean())
        variances.append(h.var())
    assert np.all(np.abs(means) < 0.25), means
    assert np.all((np.array(variances) > 0.5) & (np.array(variances) < 1.5)), variances


def selu_no_vanish_no_explode(res):
    for run in runs(res):
        for epoch in (0, res.config.training.epochs):
            assert 0.1 < first_to_last_ratio(res, run, epoch) < 10


def selu_sgd_trains(res):
    sgd_trains_deep(res)


# --- adagrad-stall -----------------------------------------------------------------------------


def adagrad_one_over_sqrt_t(res):
    """The rule itself: with a constant gradient the step is γ/√t (plus ε)."""
    rule = RULES["adagrad"]
    hp = {**rule.defaults, "lr": 0.01, "eps": 0.0}
    params = np.zeros(1)
    state = rule.init(params, hp)
    steps = []
    for _ in range(100):
        before = params.copy()
        rule.update(params, np.array([3.0]), state, hp)
        steps.append(float(before[0] - params[0]))
    t = np.arange(1, 101)
    np.testing.assert_allclose(steps, 0.01 / np.sqrt(t), rtol=1e-12)


def adagrad_crawls(res):
    loss = train_loss(res, "Adagrad")
    assert {r.hyper["lr"] for r in res.config.runs} == {0.01}
    assert len(loss) == 151
    for run in ("RMSprop", "Adam"):
        assert train_loss(res, run)[-1] * 100 < loss[-1]


# --- adadelta-lr -------------------------------------------------------------------------------


def adadelta_thousand_times_shorter(res):
    g = res.gradients
    first = g[g.epoch == 0].pivot_table(index="layer", columns="run", values="update_ratio")
    ratio = first["Adadelta lr=1.0"] / first["Adadelta lr=0.001"]
    # the same first gradient, so the steps differ by exactly 1000x; the ratio is taken to each
    # run's own (slightly different) weight norm, hence the tolerance
    np.testing.assert_allclose(ratio, 1000.0, rtol=5e-3)


def adadelta_defaults(res):
    assert RULES["adadelta"].defaults["lr"] == 1.0
    assert [r.hyper["lr"] for r in res.config.runs] == [1.0, 0.001]


def adadelta_barely_left(res):
    keras, paper = train_loss(res, "Adadelta lr=0.001"), train_loss(res, "Adadelta lr=1.0")
    assert len(keras) == 61
    assert keras[-1] > 0.9 * keras[0]
    assert paper[-1] < 0.5 * paper[0]


CLAIMS = {
    "default": [
        ("full-batch gradient descent (one smooth step per epoch)", default_gd_one_step),
        ("stochastic gradient descent (batch 1: many noisy steps)", default_sgd_many_steps),
        ("GD makes the least progress because it takes one step", default_gd_least_progress),
        (
            "SGD's per-step loss is noisy, but per epoch it gets further",
            default_sgd_noisy_but_further,
        ),
        ("reach mini-batch SGD's final loss in at most a third of its 60", default_fast_rules),
    ],
    "vanishing-sigmoid": [
        (
            "Ten hidden sigmoid layers of 32 units with Xavier-normal",
            setup(10, 32, "sigmoid", "xavier_normal"),
        ),
        ("orders of magnitude smaller than the last's", vanishing_orders_of_magnitude),
        ("stays on the plateau at ln 2 = 0.69 for all 200 epochs", vanishing_sgd_plateau),
        ("for over a hundred epochs and then escapes it", vanishing_adam_escapes),
        ("validation accuracy ends above SGD's", vanishing_adam_escapes),
        ("Rescaling the step only helps slowly", vanishing_adam_escapes),
    ],
    "exploding-init": [
        (
            "Eight hidden tanh layers of 64 units initialised from N(0, 1)",
            setup(8, 64, "tanh", "normal", init_scale=1.0),
        ),
        ("whose variance is 64 times what Xavier would choose", exploding_64_times_xavier),
        ("Each layer amplifies the backpropagated signal", exploding_grows_toward_input),
        ("the gradient grows toward the input, and units saturate", exploding_saturates),
        ("its loss climbs far above where it started", exploding_sgd_climbs),
        ("ends no better than a coin toss", exploding_sgd_climbs),
        ("keeps every step short: its loss ends below its start", exploding_clipping_tames),
        ("Adam, whose step does not grow with the gradient", exploding_adam_trains),
    ],
    "zero-init-symmetry": [
        ("All weights start at zero", zero_start),
        ("the 2-10-5-1 ReLU network on circles", zero_setup),
        ("the units stay identical forever", zero_units_identical),
        (
            "the hidden gradients are exactly zero: only the output bias can move",
            zero_hidden_gradients,
        ),
        ("with balanced classes it has almost nothing to learn", zero_bias_barely_moves),
        ("The cost stays at ln 2 = 0.693 and accuracy at 50 %", zero_stays_at_ln2),
        ("no rule can break a symmetry", zero_stays_at_ln2),
        ("Load relu-he-fix", lambda res: PRESETS["relu-he-fix"]),
    ],
    "relu-he-fix": [
        ("The deep network of the vanishing-gradient demo", relu_setup),
        ("which keeps the signal's scale through ReLU layers", relu_within_order),
        ("stay within an order of magnitude", relu_within_order),
        ("plain SGD trains the 10-layer net", sgd_trains_deep),
    ],
    "selu-self-normalizing": [
        ("Ten hidden SELU layers with LeCun-normal weights", setup(10, 32, "selu", "lecun_normal")),
        ("and plain SGD trains the 10-layer net", selu_sgd_trains),
        ("activations keep zero mean and unit variance", selu_moments),
        ("gradients neither vanish nor explode", selu_no_vanish_no_explode),
        ("To compare, set the activation to tanh", lambda res: None),
    ],
    "adagrad-stall": [
        ("divides by the square root of the sum", adagrad_one_over_sqrt_t),
        ("decays like 1/√t", adagrad_one_over_sqrt_t),
        ("their loss is over a hundred times lower than Adagrad's", adagrad_crawls),
    ],
    "adadelta-lr": [
        ("its step is the ratio of two running RMS values", adadelta_thousand_times_shorter),
        ("a thousand times shorter", adadelta_thousand_times_shorter),
        ("barely left the starting loss while the paper's has more", adadelta_barely_left),
        ("PyTorch keeps a multiplier with default 1.0", adadelta_defaults),
        ("Same rule, same data, two defaults", adadelta_barely_left),
    ],
}

CASES = [(name, phrase, check) for name, items in CLAIMS.items() for phrase, check in items]


def test_every_preset_has_its_claims_listed():
    assert set(CLAIMS) == set(PRESETS)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_sentence_carries_a_checked_phrase(name):
    explanation = " ".join(PRESETS[name].explanation.split())
    sentences = [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", explanation) if s]
    phrases = [phrase for phrase, _ in CLAIMS[name]]
    for phrase in phrases:
        assert phrase in explanation, f"{name}: {phrase!r} is not in the explanation"
    for sentence in sentences:
        # a sentence that only describes the setup is checked against the config by its phrase
        assert any(p in sentence for p in phrases), f"{name}: unchecked sentence {sentence!r}"


@pytest.mark.parametrize(("name", "phrase", "check"), CASES, ids=[f"{n}: {p}" for n, p, _ in CASES])
def test_claim_holds_on_the_presets_numbers(name, phrase, check):
    check(results(name))
