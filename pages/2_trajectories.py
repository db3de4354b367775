"""Descent trajectories: the network's own update rules racing on a classic 2-D test function.

Everything below the sidebar is one fragment: a change of this page's own controls reruns only
the race, not the sidebar. Walks are cached on their settings and figures on theirs, so a visit
or a change back to settings seen before only sends the cached figures again."""

import functools
import json

import streamlit as st

from dashboard.figures import run_colors
from dashboard.figures import trajectories as tr
from dashboard.page import download, keep, lazy_tabs, setup, sticky
from dashboard.sidebar import parse_options
from nn_core.optimizers import RULES
from nn_core.surfaces import SURFACES, gd_optimal, run_surface

_, _, _, big = setup("Descent trajectories")

# The learning-rate factor: powers of √2 from 1/16 to 16, so each notch is a fair nudge.
LR_SCALES = [2.0 ** (k / 2) for k in range(-8, 9)]
VIEWS = ["Loss along the way", "3-D view"]


@st.cache_data(max_entries=64, show_spinner=False)
def walk(surface: str, rule: str, hyper_json: str, start, steps: int, kappa):
    label = RULES[rule].label
    return run_surface(surface, rule, json.loads(hyper_json), start, steps, kappa, label)


def race(name: str, hyper_json: str, start, steps: int, kappa):
    """({label: path}, messages) for the rules and hyperparameters in ``hyper_json``."""
    return tr.walk_all(walk, name, json.loads(hyper_json), start, steps, kappa)


# Figures are cached whole, keyed on what defines them (plain values), and shared read-only:
# a visit, or a setting changed back, costs no rebuild.
@st.cache_resource(max_entries=24, show_spinner=False)
def contour_chart(name, hyper_json, start, steps, kappa, arrows, big):
    paths, _ = race(name, hyper_json, start, steps, kappa)
    return tr.contour_figure(name, paths, colours(paths), kappa, start, arrows, big=big)


@st.cache_resource(max_entries=8, show_spinner=False)
def surface_chart(name, hyper_json, start, steps, kappa, big):
    paths, _ = race(name, hyper_json, start, steps, kappa)
    return tr.surface_figure(name, paths, colours(paths), kappa, big)


@st.cache_resource(max_entries=24, show_spinner=False)
def loss_chart(name, hyper_json, start, steps, kappa, big):
    paths, _ = race(name, hyper_json, start, steps, kappa)
    return tr.loss_figure(paths, colours(paths), True, big)


def colours(paths) -> dict[str, str]:
    """One colour per rule, the same on every page (paths are keyed by the rule's label)."""
    return run_colors((label, p["optimizer"].iloc[0]) for label, p in paths.items())


def start_clicked(name: str) -> None:
    """A click on the contour sets the start point (before the rerun draws the inputs)."""
    point = tr.start_from_selection(st.session_state.get("tr_contour"), name)
    if point is None:
        return
    for axis, value in zip("xy", point, strict=True):
        st.session_state[f"tr_{axis}_{name}"] = value
        keep(f"tr_{axis}_{name}", value)


def reset_learning_rates(name: str, editor: str, scale_key: str) -> None:
    """Back to each rule's own learning rate on this function, at the factor ×1 (a callback:
    it runs before the rerun draws the widgets it resets)."""
    st.session_state["tr_hyper"][name] = {}
    st.session_state.pop(editor, None)
    st.session_state[scale_key] = 1.0
    keep(scale_key, 1.0)


@st.fragment
def page() -> None:
    st.caption(
        "Each rule runs the very code that trains the network, here on a function of two "
        "variables: press ▶ Play under the contour to watch the race."
    )
    # The race in view at once: the controls in a narrow column beside the contour (stacked
    # above it in presentation mode, where type is large).
    ctrl, race_area = st.columns([1, 2.2], gap="medium") if not big else (st.container(),) * 2
    # Below the race, at full width: the rules (a narrow column would hide their chips).
    settings = st.container()
    # Every setting here is sticky: it survives a visit to another page (dashboard.page.sticky).
    name = keep(
        "tr_surface",
        ctrl.selectbox(
            "Test function",
            list(SURFACES),
            key=sticky("tr_surface", next(iter(SURFACES))),
            format_func=lambda n: f"{SURFACES[n].label}: {SURFACES[n].formula}",
        ),
    )
    surface = SURFACES[name]
    ctrl.caption(f"**{surface.label}**: {surface.notes}.")
    c2, c3 = ctrl.columns(2)
    x_key, y_key = f"tr_x_{name}", f"tr_y_{name}"
    x0 = keep(
        x_key, c2.number_input("Start x", format="%g", key=sticky(x_key, float(surface.start[0])))
    )
    y0 = keep(
        y_key, c3.number_input("Start y", format="%g", key=sticky(y_key, float(surface.start[1])))
    )
    steps = keep("tr_steps", ctrl.slider("Steps", 10, 2000, step=10, key=sticky("tr_steps", 200)))
    scale_key = f"tr_lr_scale_{name}"
    scale = keep(
        scale_key,
        ctrl.select_slider(
            "Learning rates ×",
            LR_SCALES,
            key=sticky(scale_key, 1.0),
            format_func=lambda v: f"×{v:.3g}",
            help="Every rule runs at its learning rate (in the table below) times this factor.",
        ),
    )
    kappa = None
    if name == "bowl":
        kappa = keep(
            "tr_kappa",
            ctrl.slider("Condition number κ", 1.0, 100.0, step=1.0, key=sticky("tr_kappa", 10.0)),
        )
        best, rate = gd_optimal(kappa)
        ctrl.caption(
            f"Plain GD is stable for lr < 2/κ = {2 / kappa:.3g}; its best lr is 2/(1+κ) = "
            f"{best:.3g}, which shrinks the error by {rate:.3f} per step."
        )
    if tr.outside(name, (x0, y0)):
        ctrl.warning("The start lies outside the plotted square; paths appear once they enter it.")
    chosen = keep(
        "tr_rules",
        settings.multiselect(
            "Rules",
            list(RULES),
            key=sticky("tr_rules", [r for r in tr.DEFAULT_RULES if r in RULES]),
            format_func=lambda r: RULES[r].label,
        ),
    )
    arrows = keep("tr_arrows", ctrl.toggle("Show step directions", key=sticky("tr_arrows", False)))
    rules = [r for r in RULES if r in chosen]  # registry order, so a rule keeps its colour
    saved = st.session_state.setdefault("tr_hyper", {}).setdefault(name, {})
    with settings.expander("Learning rates and options, rule by rule"):
        left, right = st.columns([3, 2])
        edited = left.data_editor(
            tr.hyper_frame(name, rules, saved),
            key=tr.editor_key(name, rules),
            hide_index=True,
            disabled=["rule"],
            width="stretch",
            column_config={
                "lr": st.column_config.NumberColumn("learning rate γ", format="%g"),
                "options": st.column_config.TextColumn(
                    "other hyperparameters",
                    help="name=value pairs, e.g. momentum=0.5, "
                    "betas=0.9/0.99; PyTorch's defaults otherwise (see the Learn page)",
                ),
            },
        )
        right.button(
            "Reset learning rates",
            key="tr_reset",
            on_click=reset_learning_rates,
            args=(name, tr.editor_key(name, rules), scale_key),
        )
        right.caption(
            "SGD-like rules start at this function's own learning rate; adaptive rules, "
            "whose first steps are about γ long, at a larger one. Each rule runs at its γ "
            "times the **Learning rates ×** factor."
        )
    hyper, cells, problems = tr.read_hyper_frame(edited, rules, parse_options)
    saved.update(cells)
    hyper = {rule: {**hp, "lr": hp["lr"] * scale} for rule, hp in hyper.items()}
    key = (name, json.dumps(hyper), (float(x0), float(y0)), int(steps), kappa)
    paths, errors = race(*key)
    for message in problems + errors:
        ctrl.error(message, icon="⚠️")
    if not paths:
        race_area.info("Choose at least one rule with a valid learning rate to draw its path.")
        return

    with race_area:
        st.plotly_chart(
            contour_chart(*key, arrows, big),
            key="tr_contour",
            on_select=functools.partial(start_clicked, name),
            selection_mode="points",
        )
        st.caption(
            "Click the contour to start there. "
            + (
                "Arrows at the step the slider shows, all one length: solid, the step taken "
                "next; dashed, minus the momentum buffer (or the Adam family's first moment "
                "m); grey dotted, minus the gradient (the last step has no next step)."
                if arrows
                else ""
            )
        )
    view = lazy_tabs(VIEWS, "tr_view")
    if view[0].open is not False:  # only the open tab is drawn: a 3-D scene is costly
        view[0].plotly_chart(loss_chart(*key, big), key="tr_loss")
    if view[1].open is not False:
        view[1].plotly_chart(surface_chart(*key, big), key="tr_surface3d")
        view[1].caption(
            "Paths float a little above the surface so it does not hide them; "
            "▶ Play runs the race here too."
        )

    lrs = {RULES[rule].label: hp["lr"] for rule, hp in hyper.items()}
    st.dataframe(
        tr.final_table(name, paths, kappa, lrs),
        hide_index=True,
        width="stretch",
        column_config={
            "learning rate γ": st.column_config.NumberColumn(format="%.4g"),
            "final f": st.column_config.NumberColumn(format="%.4g"),
            "distance to it": st.column_config.NumberColumn(format="%.4g"),
        },
    )
    download(
        st,
        "Trajectories CSV",
        functools.partial(tr.trajectories_csv, paths),
        f"trajectories-{name}.csv",
        "tr_csv",
    )


page()
