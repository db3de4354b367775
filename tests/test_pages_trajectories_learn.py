"""The Descent trajectories and Learn pages through Streamlit's AppTest: standalone on a fresh
session, through the app's navigation, after widget changes, and with bad input."""

import base64
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import state
from dashboard.figures import learn
from dashboard.figures import trajectories as tr
from nn_core import run_comparison
from nn_core.activations import ACTIVATIONS
from nn_core.optimizers import RULES
from nn_core.surfaces import SURFACES
from tests.conftest import small_config

TRAJECTORIES = "../pages/2_trajectories.py"
LEARN = "../pages/6_learn.py"
TIMEOUT = 60


def page(path: str) -> AppTest:
    return AppTest.from_file(path, default_timeout=TIMEOUT)


def no_exception(at: AppTest, where: str = "") -> None:
    assert not at.exception, f"{where}: {[e.value for e in at.exception]}"


def charts(at: AppTest) -> list:
    return at.get("plotly_chart")


def spec(at: AppTest, key: str) -> dict:
    """The Plotly figure a chart sends to the browser."""
    return json.loads(next(c for c in charts(at) if c.key == key).proto.spec)


def values(array) -> np.ndarray:
    if isinstance(array, dict):  # Plotly's typed array: {"dtype": "f8", "bdata": base64}
        dtype = np.dtype(array["dtype"]).newbyteorder("<")
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=dtype).astype(float)
    return np.asarray(array, dtype=float)


def path_ends(at: AppTest) -> dict[str, tuple[float, float]]:
    """Each rule's last drawn point on the contour, by rule label."""
    return {
        t["legendgroup"]: (values(t["x"])[-1], values(t["y"])[-1])
        for t in spec(at, "tr_contour")["data"]
        if t.get("meta") == "path"
    }


def results_table(at: AppTest):
    """The per-rule table of final points (not the editors)."""
    return next(d.value for d in at.main.dataframe if "final f" in d.value.columns)


# --- Descent trajectories --------------------------------------------------------------------


def test_trajectories_renders_on_a_fresh_session():
    at = page(TRAJECTORIES).run()
    no_exception(at, "fresh")
    assert at.title[0].value == "Descent trajectories"
    assert not at.error
    assert at.selectbox(key="tr_surface").value == "rosenbrock"
    assert at.multiselect(key="tr_rules").value == list(tr.DEFAULT_RULES)
    # contour and loss; the 3-D view is drawn only when its tab is open (a costly scene)
    assert [c.key for c in charts(at)] == ["tr_contour", "tr_loss"]
    assert at.get("download_button")
    table = results_table(at)
    assert table["rule"].tolist() == [RULES[r].label for r in tr.DEFAULT_RULES]
    figure = spec(at, "tr_contour")
    assert len(figure["frames"]) <= tr.MAX_FRAMES
    assert any(t.get("meta") == "grid" for t in figure["data"])  # clickable for a start


def test_the_3d_view_is_drawn_in_its_tab_and_races_too():
    at = page(TRAJECTORIES)
    at.session_state["tr_view"] = "3-D view"
    at.run()
    no_exception(at, "3-D")
    assert [c.key for c in charts(at)] == ["tr_contour", "tr_surface3d"]
    figure = spec(at, "tr_surface3d")
    assert figure["data"][0]["type"] == "surface"
    assert 2 <= len(figure["frames"]) <= tr.SURFACE_FRAMES
    assert any("float a little above" in c.value for c in at.caption)


@pytest.mark.parametrize("name", list(SURFACES))
def test_every_test_function_renders(name):
    at = page(TRAJECTORIES).run()
    at.selectbox(key="tr_surface").set_value(name).run()
    no_exception(at, name)
    assert not at.error
    start = SURFACES[name].start
    assert at.number_input(key=f"tr_x_{name}").value == start[0]
    assert at.number_input(key=f"tr_y_{name}").value == start[1]
    assert len(charts(at)) == 2
    assert any(SURFACES[name].notes in c.value for c in at.caption)


def test_changing_rules_steps_start_kappa_and_arrows_rerenders():
    at = page(TRAJECTORIES).run()
    at.selectbox(key="tr_surface").set_value("bowl").run()
    at.slider(key="tr_kappa").set_value(50.0).run()
    no_exception(at, "kappa")
    assert any("2/κ = 0.04" in c.value for c in at.caption)
    at.multiselect(key="tr_rules").set_value(["adam", "sgd", "adadelta", "nadam"]).run()
    no_exception(at, "rules")
    table = results_table(at)
    assert table["rule"].tolist() == ["SGD", "Adadelta", "Adam", "NAdam"]  # registry order
    # lr 0.1 on κ = 50 is above plain GD's limit 2/κ: y grows 4× per step, a result, not a crash
    assert table.set_index("rule").loc["SGD", "final f"] > 1e100
    at.slider(key="tr_steps").set_value(2000).run()
    assert results_table(at).set_index("rule").loc["SGD", "diverged"]  # overflowed to inf
    at.number_input(key="tr_x_bowl").set_value(1.5).run()
    starts = [t for t in spec(at, "tr_contour")["data"] if t.get("meta") == "start"]
    assert starts[0]["x"] == [1.5]
    at.toggle(key="tr_arrows").set_value(True).run()
    no_exception(at, "arrows")
    figure = spec(at, "tr_contour")
    arrows = [i for i, t in enumerate(figure["data"]) if str(t.get("meta")).startswith("arrow:")]
    assert arrows and set(arrows) <= set(figure["frames"][0]["traces"])  # they move with it
    assert any("Arrows at the step the slider shows" in c.value for c in at.caption)
    at.slider(key="tr_steps").set_value(100).run()
    no_exception(at, "fewer steps")
    assert spec(at, "tr_contour")["frames"][-1]["name"] == "100"
    assert len(charts(at)) == 2


def test_the_learning_rate_factor_moves_every_path_at_once():
    at = page(TRAJECTORIES).run()
    before = path_ends(at)
    table = results_table(at).set_index("rule")
    assert table.loc["Adam", "learning rate γ"] == tr.default_lr("rosenbrock", "adam")
    at.select_slider(key="tr_lr_scale_rosenbrock").set_value(2.0).run()
    no_exception(at, "lr ×2")
    after = path_ends(at)
    assert set(after) == set(before)
    assert all(after[label] != before[label] for label in before)  # every path moved
    table = results_table(at).set_index("rule")
    for rule in tr.DEFAULT_RULES:
        label = RULES[rule].label
        assert table.loc[label, "learning rate γ"] == 2 * tr.default_lr("rosenbrock", rule)
    # the factor belongs to the function: another one starts at ×1
    at.selectbox(key="tr_surface").set_value("beale").run()
    assert at.select_slider(key="tr_lr_scale_beale").value == 1.0


def test_an_invalid_learning_rate_shows_an_error_and_keeps_the_other_paths():
    at = page(TRAJECTORIES).run()
    key = tr.editor_key("rosenbrock", list(tr.DEFAULT_RULES))
    at.session_state[key] = {
        "edited_rows": {0: {"lr": -1.0}, 1: {"lr": 0.0}, 3: {"options": "momentum=0.5"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    no_exception(at, "bad lr")
    messages = [e.value for e in at.error]
    assert any(m.startswith("SGD:") and "lr must be > 0" in m and "-1" in m for m in messages)
    assert any(m.startswith("Momentum:") and "got 0.0" in m for m in messages)
    assert any(m.startswith("Adagrad:") and "'momentum'" in m for m in messages)
    table = results_table(at)
    assert table["rule"].tolist() == ["Nesterov", "RMSprop", "Adam"]
    assert len(charts(at)) == 2


def test_edits_are_kept_when_rules_change_and_reset_restores_defaults():
    at = page(TRAJECTORIES).run()
    key = tr.editor_key("rosenbrock", list(tr.DEFAULT_RULES))
    edit = {"edited_rows": {5: {"lr": 0.5}}, "added_rows": [], "deleted_rows": []}
    at.session_state[key] = edit
    at.run()
    at.multiselect(key="tr_rules").set_value(["adam", "sgd"]).run()
    no_exception(at, "rules changed")
    assert at.main.data_editor[0].value.set_index("rule").loc["Adam", "lr"] == 0.5
    at.button(key="tr_reset").click().run()
    no_exception(at, "reset")
    lr = at.main.data_editor[0].value.set_index("rule").loc["Adam", "lr"]
    assert lr == tr.default_lr("rosenbrock", "adam")


def test_no_rules_gives_a_hint_not_an_exception():
    at = page(TRAJECTORIES).run()
    at.multiselect(key="tr_rules").set_value([]).run()
    no_exception(at, "no rules")
    assert any("at least one rule" in i.value for i in at.info)
    assert not charts(at)


def test_trajectories_in_presentation_mode():
    at = page(TRAJECTORIES)
    at.session_state[state.PRESENTATION_KEY] = True
    at.run()
    no_exception(at, "big")
    assert len(charts(at)) == 2


# --- Learn ------------------------------------------------------------------------------------


def test_learn_renders_on_a_fresh_session():
    at = page(LEARN).run()
    no_exception(at, "fresh")
    assert at.title[0].value == "Learn"
    assert len(at.latex) == len(RULES)
    assert [lx.value.strip("$\n") for lx in at.latex] == [r.math for r in RULES.values()]
    assert not charts(at)  # only the open tab (the rules) is built
    assert not any("used in this comparison" in m.value for m in at.markdown)
    keras = [i.value for i in at.info if i.value.startswith("**In Keras:**")]
    assert keras == [f"**In Keras:** {text}" for text in learn.keras_differences().values()]
    assert len(keras) >= 5
    algorithms = [c.value for c in at.code]
    assert algorithms == [r.doc for r in RULES.values()]  # each update's docstring
    assert [c.value for c in at.caption if "torch.optim" in c.value] == [
        learn.rule_caption(r) for r in RULES
    ]


def open_tab(at: AppTest, tab: str) -> AppTest:
    at.session_state["learn_tab"] = tab
    return at.run()


def test_learn_draws_each_tab_when_it_is_opened():
    at = page(LEARN).run()
    open_tab(at, "Activations")
    no_exception(at, "activations")
    assert [c.key for c in charts(at)] == ["learn_act"] and not at.latex
    metas = [t["meta"] for t in spec(at, "learn_act")["data"]]
    assert metas == [f"{kind}:{n}" for n in ACTIVATIONS for kind in ("f", "df")]
    open_tab(at, "Batch size and gradients")
    assert [c.key for c in charts(at)] == ["learn_depth"]
    assert any("0.25¹⁰ ≈ 9.5e-7" in m.value for m in at.markdown)
    open_tab(at, "Initializers")
    assert not charts(at) and at.number_input(key="learn_in").value == 256
    # the figures are built once per server and handed out as copies
    first = page_module().static_figure(learn.depth_figure, 20, False)
    first.update_layout(title="changed")
    assert page_module().static_figure(learn.depth_figure, 20, False).layout.title.text != "changed"


def page_module():
    from dashboard import page as page_mod

    return page_mod


def test_learn_marks_what_the_current_comparison_uses():
    config = small_config(
        network={"activation": "relu", "initializer": "he_normal"}, training={"epochs": 1}
    )
    at = page(LEARN)
    at.session_state[state.CONFIG_KEY] = config
    at.session_state[state.RESULTS_KEY] = run_comparison(config)
    at.run()
    no_exception(at, "with results")
    badges = [m.value for m in at.markdown if "used in this comparison" in m.value]
    assert [b.split("\n")[0] for b in badges[:3]] == [
        "#### SGD :green-badge[used in this comparison]",
        "#### Momentum :green-badge[used in this comparison]",
        "#### Adam :green-badge[used in this comparison]",
    ]
    open_tab(at, "Initializers")
    badges = [m.value for m in at.markdown if "used in this comparison" in m.value]
    assert any("He/Kaiming normal" in b for b in badges)
    assert at.selectbox(key="learn_gain").value == "relu"
    table = next(d.value for d in at.dataframe if "fan_in · Var(W)" in d.value.columns)
    assert table.set_index("initializer").loc["He/Kaiming normal", "used here"]


def test_learn_fan_in_changes_the_stds():
    at = open_tab(page(LEARN).run(), "Initializers")
    at.number_input(key="learn_in").set_value(64).run()
    no_exception(at, "fan_in")
    table = next(d.value for d in at.dataframe if "fan_in · Var(W)" in d.value.columns)
    assert table.set_index("initializer").loc["He/Kaiming normal", "std of a weight"] == (
        pytest.approx((2 / 64) ** 0.5)
    )


# --- through the app's navigation --------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "title"),
    [("pages/2_trajectories.py", "Descent trajectories"), ("pages/6_learn.py", "Learn")],
)
def test_pages_through_app_navigation(path, title):
    at = page("../app.py").run()
    no_exception(at, "entry")
    at.switch_page(path).run()
    no_exception(at, path)
    assert at.title[0].value == title
    assert charts(at) if title != "Learn" else len(at.latex) == len(RULES)


def test_learn_tables_show_their_bounds_as_text_not_markdown():
    """The hyperparameter tables are static (Markdown) tables: "> 0" must read as a bound, not
    open a quote, so every cell is escaped."""
    from dashboard.text import md

    at = page(LEARN).run()
    no_exception(at, "learn")
    raw = learn.hyper_table("sgd")
    assert raw["allowed"].str.startswith(">").any()  # the case this guards against
    shown = [t.value for t in at.table]
    assert len(shown) == len(RULES)  # one table per rule
    assert any(t.reset_index(drop=True).equals(raw.map(md)) for t in shown)
    assert not any(str(v).startswith(">") for t in shown for v in t.to_numpy().ravel())


# --- Loss landscape ---------------------------------------------------------------------------


def test_the_landscape_draws_only_its_open_tab():
    at = page("../pages/4_loss_landscape.py")
    at.session_state[state.RESULTS_KEY] = run_comparison(small_config(training={"epochs": 3}))
    at.run()
    no_exception(at, "landscape")
    assert [c.key for c in charts(at)] == ["chart_land_contour"]
    assert spec(at, "chart_land_contour")["data"][0]["type"] == "contour"
    at.session_state["ll_view"] = "3-D surface"
    at.run()
    no_exception(at, "landscape 3-D")
    assert [c.key for c in charts(at)] == ["chart_land_3d"]
    assert spec(at, "chart_land_3d")["data"][0]["type"] == "surface"
