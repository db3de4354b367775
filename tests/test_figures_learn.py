"""The Learn page's builders: one panel per activation with f and f′ from the registry, tables
that follow the registries, and notes whose numbers are the math."""

import numpy as np
import pytest

from dashboard.figures import learn
from nn_core.activations import ACTIVATIONS, PRELU_INIT
from nn_core.initializers import INITIALIZERS
from nn_core.optimizers import RULES
from tests.conftest import small_config


def test_activation_figure_has_f_and_f_prime_for_every_activation():
    fig = learn.activations_figure()
    assert len(fig.data) == 2 * len(ACTIVATIONS)
    assert [t.meta for t in fig.data[::2]] == [f"f:{n}" for n in ACTIVATIONS]
    assert [t.meta for t in fig.data[1::2]] == [f"df:{n}" for n in ACTIVATIONS]
    assert {t.line.dash for t in fig.data[::2]} == {"solid"}
    assert {t.line.dash for t in fig.data[1::2]} == {"dash"}
    assert sum(bool(t.showlegend) for t in fig.data) == 2  # one legend entry per line style
    assert len(fig.layout.annotations) == len(ACTIVATIONS)  # a titled panel each


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_plotted_derivative_is_the_registry_derivative_on_the_grid(name):
    fig = learn.activations_figure()
    f = next(t for t in fig.data if t.meta == f"f:{name}")
    df = next(t for t in fig.data if t.meta == f"df:{name}")
    z = np.linspace(-5, 5, learn.Z_POINTS)
    np.testing.assert_array_equal(df.x, z)
    assert 0.0 in z  # ReLU's f′(0) = 0 convention is on the plot
    a = PRELU_INIT if name == "prelu" else None
    np.testing.assert_array_equal(df.y, ACTIVATIONS[name].derivative(z, a))
    np.testing.assert_array_equal(f.y, ACTIVATIONS[name].forward(z, a))


def test_used_activations_are_marked_and_a_subset_can_be_drawn():
    fig = learn.activations_figure(["relu", "tanh"], used=frozenset({"tanh"}), big=True)
    assert len(fig.data) == 4
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["ReLU", "<b>tanh · used here</b>"]


def test_activation_table_holds_formula_gain_and_max_derivative():
    table = learn.activations_table(frozenset({"sigmoid"})).set_index("activation")
    assert len(table) == len(ACTIVATIONS)
    assert table.loc["Sigmoid", "max |f′| on [−5, 5]"] == 0.25
    assert table.loc["ReLU", "gain (calculate_gain)"] == pytest.approx(np.sqrt(2), abs=1e-4)
    assert table.loc["tanh", "gain (calculate_gain)"] == pytest.approx(5 / 3, abs=1e-4)
    assert bool(table.loc["Sigmoid", "used here"]) and not table.loc["ReLU", "used here"]
    assert "0.01" in table.loc["Leaky ReLU", "note"]


@pytest.mark.parametrize("rule", list(RULES))
def test_hyper_table_lists_every_hyperparameter_with_torch_defaults(rule):
    table = learn.hyper_table(rule)
    assert table["hyperparameter"].tolist() == [h.name for h in RULES[rule].hyper]
    lr = table.set_index("hyperparameter").loc["lr", "default"]
    assert float(lr) == RULES[rule].defaults["lr"]


def test_sgd_family_captions_state_their_learning_rate_against_torchs():
    for rule in RULES:
        caption = learn.rule_caption(rule)
        if RULES[rule].family == "sgd-family":
            assert "0.01" in caption and "1e-3" in caption
            assert RULES[rule].defaults["lr"] == 0.01
        torch = RULES[rule].torch
        assert (f"torch.optim.{torch.cls}" if torch else "not in torch.optim") in caption
    assert "ignored" in learn.rule_caption("momentum")  # τ at μ = 0


@pytest.mark.parametrize("rule", list(RULES))
def test_every_rule_documents_its_algorithm_in_torchs_style(rule):
    doc = RULES[rule].doc
    assert doc.splitlines()[0].startswith(RULES[rule].label)
    assert "input:" in doc and "for t = 1 to" in doc and "return θₜ" in doc


def test_keras_differences_name_the_documented_ones():
    k = learn.keras_differences()
    assert set(k) <= set(RULES)
    assert k == {n: r.keras for n, r in RULES.items() if r.keras}  # the registry's text
    assert "0.9" in k["rmsprop"] and "inside" in k["rmsprop"]
    assert "0.1" in k["adagrad"] and "inside" in k["adagrad"]
    assert "1e-3" in k["adadelta"] and "1.0" in k["adadelta"]
    assert "√(1 − β₂ᵗ)" in k["adam"]
    assert "v ← μv − γg" in k["momentum"]
    assert "1e-7" in k["adamax"] and "1e-3" in k["lion"]


def test_initializer_table_gives_each_theoretical_std():
    table = learn.initializers_table(200, 100, gain=5 / 3, used="he_normal")
    table = table.set_index("initializer")
    assert len(table) == len(INITIALIZERS)
    std = table["std of a weight"]
    assert std["He/Kaiming normal"] == pytest.approx(np.sqrt(2 / 200))
    assert std["Xavier/Glorot normal"] == pytest.approx(5 / 3 * np.sqrt(2 / 300))
    assert std["Xavier/Glorot uniform"] == pytest.approx(5 / 3 * np.sqrt(6 / 300) / np.sqrt(3))
    assert std["LeCun normal"] == pytest.approx(np.sqrt(1 / 200))
    assert std["Zeros"] == 0
    assert table.loc["He/Kaiming normal", "fan_in · Var(W)"] == pytest.approx(2.0)
    assert table.loc["LeCun normal", "fan_in · Var(W)"] == pytest.approx(1.0)
    assert table["used here"].sum() == 1 and table.loc["He/Kaiming normal", "used here"]


def test_in_use_reads_rules_activations_and_initializer_from_a_config():
    config = small_config(network={"activation": "relu", "initializer": "he_normal"})
    used = learn.in_use(config)
    assert used.rules == {"sgd", "momentum", "adam"}
    assert used.activations == {"relu"} and used.initializer == "he_normal"
    assert learn.in_use(None) == learn.InUse()


def test_vanishing_note_has_the_reference_numbers():
    top, product = learn.sigmoid_bound(10)
    assert top == 0.25 and product == pytest.approx(9.5367e-7, rel=1e-4)
    note = learn.vanishing_note(10)
    assert "0.25¹⁰ ≈ 9.5e-7" in note
    assert "batch = 1" in learn.batch_note() and "full" in learn.batch_note()


def test_depth_figure_shows_the_sigmoid_bound_vanishing():
    fig = learn.depth_figure(20)
    assert len(fig.data) == 3 and fig.layout.yaxis.type == "log"
    np.testing.assert_allclose(fig.data[0].y, 0.25 ** np.arange(1, 21))
    np.testing.assert_allclose(fig.data[2].y, np.ones(20))  # ReLU: max f′ = 1
