"""Learn: the math behind every rule, activation and initializer in the lab."""

import streamlit as st

from dashboard.figures import learn
from dashboard.page import lazy_tabs, setup, static_figure
from dashboard.text import md
from nn_core.activations import ACTIVATIONS
from nn_core.initializers import INITIALIZERS
from nn_core.optimizers import RULES

config, results, _, big = setup("Learn")
used = learn.in_use(results.config if results is not None else None)
USED = " :green-badge[used in this comparison]"
if results is None:
    st.caption("Run a comparison from the sidebar and this page marks what it uses.")

# Only the open tab is built and sent (eleven rules' formulas and tables, or a chart): all four
# at once made every visit to this page cost about a second.
TABS = ["Update rules", "Activations", "Initializers", "Batch size and gradients"]
rules_tab, act_tab, init_tab, notes_tab = lazy_tabs(TABS, "learn_tab")
if rules_tab.open is not False:
    with rules_tab:
        st.markdown(
            "g is the gradient, θ a parameter, γ the learning rate, t the step (from 1). "
            "Defaults and conventions are PyTorch's unless a rule's caption says otherwise; "
            "the lab's rules are tested against torch.optim (Lion, which torch lacks, against "
            "its paper)."
        )
        keras = learn.keras_differences()
        for name, rule in RULES.items():
            with st.container(border=True):
                st.markdown(f"#### {rule.label}" + (USED if name in used.rules else ""))
                st.caption(learn.rule_caption(name))
                st.latex(rule.math)
                with st.expander("The algorithm, step by step"):
                    st.code(rule.doc, language=None)
                left, right = st.columns([3, 2])
                # a static table, not an interactive grid: eleven grids made this page slow to draw;
                # its cells are Markdown, so each is escaped ("> 0" is a bound, not a quote)
                left.table(learn.hyper_table(name).map(md), hide_index=True)
                if name in keras:
                    right.info(f"**In Keras:** {keras[name]}")

if act_tab.open is not False:
    with act_tab:
        st.markdown(
            "Solid: the activation f(z). Dashed: its derivative f′(z), the factor each "
            "unit multiplies the gradient by on its way back."
        )
        st.plotly_chart(
            static_figure(learn.activations_figure, None, used.activations, big), key="learn_act"
        )
        st.dataframe(learn.activations_table(used.activations), hide_index=True, width="stretch")

if init_tab.open is not False:
    with init_tab:
        c1, c2, c3 = st.columns(3)
        fan_in = c1.number_input("fan_in (inputs of the layer)", 1, 100_000, 256, key="learn_in")
        fan_out = c2.number_input("fan_out (outputs)", 1, 100_000, 256, key="learn_out")
        acts = list(ACTIVATIONS)
        first = next(iter(sorted(used.activations)), "tanh")
        act = c3.selectbox(
            "Gain for activation",
            acts,
            index=acts.index(first),
            key="learn_gain",
            format_func=lambda n: f"{ACTIVATIONS[n].label} ({ACTIVATIONS[n].gain:.4g})",
        )
        if used.initializer:
            st.markdown(f"This comparison uses **{INITIALIZERS[used.initializer].label}**." + USED)
        table = learn.initializers_table(
            int(fan_in), int(fan_out), ACTIVATIONS[act].gain, used.initializer
        )
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            column_config={
                "std of a weight": st.column_config.NumberColumn(format="%.4g"),
                "fan_in · Var(W)": st.column_config.NumberColumn(format="%.3g"),
            },
        )
        st.caption(
            "fan_in · Var(W) = 1 keeps a linear layer's output variance equal to its input's "
            "(LeCun); 2 makes up for ReLU zeroing half the signal (He). " + learn.INITIALIZER_NOTE
        )

if notes_tab.open is not False:
    with notes_tab:
        st.markdown(learn.batch_note())
        st.markdown(learn.vanishing_note(10))
        st.plotly_chart(static_figure(learn.depth_figure, 20, big), key="learn_depth")
