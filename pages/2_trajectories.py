"""Descent trajectories: the network's own update rules walking a classic 2-D test function."""

import functools
import json

import streamlit as st

from dashboard.figures import run_colors
from dashboard.figures import trajectories as tr
from dashboard.page import download, keep, setup, sticky
from dashboard.sidebar import parse_options
from nn_core.optimizers import RULES
from nn_core.surfaces import SURFACES, gd_optimal, run_surface

_, _, _, big = setup("Descent trajectories")


@st.cache_data(max_entries=32, show_spinner=False)
def walk(surface: str, rule: str, hyper_json: str, start, steps: int, kappa):
    label = RULES[rule].label
    return run_surface(surface, rule, json.loads(hyper_json), start, steps, kappa, label)


st.caption(
    "Each rule runs the very code that trains the network, here on a function of two "
    "variables, so you can watch where its steps go."
)
c1, c2, c3, c4 = st.columns([2, 1, 1, 2])
# Every setting here is sticky: it survives a visit to another page (dashboard.page.sticky).
name = keep(
    "tr_surface",
    c1.selectbox(
        "Test function",
        list(SURFACES),
        key=sticky("tr_surface", next(iter(SURFACES))),
        format_func=lambda n: f"{SURFACES[n].label}: {SURFACES[n].formula}",
    ),
)
surface = SURFACES[name]
x0 = keep(
    f"tr_x_{name}",
    c2.number_input("Start x", format="%g", key=sticky(f"tr_x_{name}", float(surface.start[0]))),
)
y0 = keep(
    f"tr_y_{name}",
    c3.number_input("Start y", format="%g", key=sticky(f"tr_y_{name}", float(surface.start[1]))),
)
steps = keep("tr_steps", c4.slider("Steps", 10, 2000, step=10, key=sticky("tr_steps", 200)))
st.caption(f"**{surface.label}**: {surface.notes}.")
kappa = None
if name == "bowl":
    kappa = keep(
        "tr_kappa",
        st.slider("Condition number κ", 1.0, 100.0, step=1.0, key=sticky("tr_kappa", 10.0)),
    )
    best, rate = gd_optimal(kappa)
    st.caption(
        f"Plain GD is stable for lr < 2/κ = {2 / kappa:.3g}; its best lr is 2/(1+κ) = "
        f"{best:.3g}, which shrinks the error by {rate:.3f} per step."
    )
if tr.outside(name, (x0, y0)):
    st.warning("The start lies outside the plotted square; paths appear once they enter it.")

chosen = keep(
    "tr_rules",
    st.multiselect(
        "Rules",
        list(RULES),
        key=sticky("tr_rules", [r for r in tr.DEFAULT_RULES if r in RULES]),
        format_func=lambda r: RULES[r].label,
    ),
)
rules = [r for r in RULES if r in chosen]  # registry order, so a rule keeps its colour
saved = st.session_state.setdefault("tr_hyper", {}).setdefault(name, {})
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
hyper, cells, problems = tr.read_hyper_frame(edited, rules, parse_options)
saved.update(cells)
if right.button("Reset learning rates", key="tr_reset"):
    st.session_state["tr_hyper"][name] = {}
    st.session_state.pop(tr.editor_key(name, rules), None)
    st.rerun()
right.caption(
    "SGD-like rules start at this function's own learning rate; adaptive rules, "
    "whose first steps are about γ long, at a larger one."
)

paths, errors = tr.walk_all(walk, name, hyper, (x0, y0), int(steps), kappa)
for message in problems + errors:
    st.error(message, icon="⚠️")
if not paths:
    st.info("Choose at least one rule with a valid learning rate to draw its path.")
    st.stop()
colors = run_colors((RULES[r].label, r) for r in rules)  # one colour per rule, every page

a1, a2 = st.columns([1, 3])
arrows = keep("tr_arrows", a1.toggle("Show step directions", key=sticky("tr_arrows", False)))
arrow_step = None
if arrows:
    sticky("tr_arrow_step", 0)
    if (st.session_state["tr_arrow_step"] or 0) > steps - 1:  # fewer steps than before
        st.session_state["tr_arrow_step"] = int(steps) - 1
    arrow_step = keep("tr_arrow_step", a2.slider("at step", 0, int(steps) - 1, key="tr_arrow_step"))
if arrows:
    st.caption(
        "Arrows, all one length: solid, the step taken next; dashed, minus the momentum "
        "buffer (or the Adam family's first moment m); grey dotted, minus the gradient."
    )
g1, g2 = st.columns(2) if not big else (st.container(), st.container())
g1.plotly_chart(
    tr.contour_figure(name, paths, colors, kappa, (x0, y0), arrow_step, big=big), key="tr_contour"
)
g2.plotly_chart(tr.surface_figure(name, paths, colors, kappa, big), key="tr_surface3d")

st.subheader("Loss along the way")
st.plotly_chart(tr.loss_figure(paths, colors, True, big), key="tr_loss")
st.dataframe(
    tr.final_table(name, paths, kappa),
    hide_index=True,
    width="stretch",
    column_config={
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
