"""The Learn page's content: the math of each rule, activation and initializer, from the registries.

Nothing here is written twice: formulas, algorithms (each update function's docstring), defaults,
Keras differences, gains and standard deviations come from ``nn_core``'s registries, so a new
entry there appears on the page without an edit here. The only text kept here is what the
registries do not hold: the activation notes and the plain-words notes, whose numbers are
computed, not typed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from nn_core.activations import ACTIVATIONS, PRELU_INIT
from nn_core.initializers import INITIALIZERS
from nn_core.optimizers import RULES

from .style import PALETTE, apply_style

Z_RANGE = (-5.0, 5.0)
Z_POINTS = 401  # includes z = 0 exactly, where ReLU's derivative convention matters
F_COLOR, D_COLOR = PALETTE[0], PALETTE[3]

# What a rule family's step looks like, for the rule cards' captions.
FAMILY_TEXT: dict[str, str] = {
    "sgd-family": "SGD family: the step is γ times the (averaged) gradient",
    "adaptive": "adaptive: each coordinate's step is scaled by its own gradient history",
    "sign": "sign-based: every coordinate moves by ±γ",
}


def keras_differences() -> dict[str, str]:
    """{rule: where Keras differs from the PyTorch conventions the engine follows}, from the
    registry (``Rule.keras``), for the rules that have such a note."""
    return {name: rule.keras for name, rule in RULES.items() if rule.keras}


def rule_caption(rule: str) -> str:
    """The family of a rule, its torch counterpart, and the conventions its entry states."""
    r = RULES[rule]
    torch_text = f"torch.optim.{r.torch.cls}" if r.torch is not None else "not in torch.optim"
    parts = [FAMILY_TEXT.get(r.family, r.family), torch_text]
    return " · ".join(parts) + (f". {r.conventions}" if r.conventions else ".")


# Conventions from REFERENCE.md that the registry's formula does not show.
ACTIVATION_NOTES: dict[str, str] = {
    "sigmoid": "f′ ≤ 0.25",
    "relu": "f′(0) = 0 (PyTorch's convention)",
    "leaky_relu": "slope 0.01 (PyTorch); Keras: 0.3 for the layer, 0.2 in keras.activations",
    "prelu": "slope a learnable, one per layer, initial 0.25; plotted at 0.25",
    "elu": "α = 1",
    "gelu": "exact (erf); the tanh approximation differs by at most 4.73e-4",
    "selu": "α ≈ 1.6733, λ ≈ 1.0507; self-normalising with LeCun-normal init",
}
INITIALIZER_NOTE = (
    "Keras's normal variants (Glorot, He, LeCun) are truncated at ±2σ, with the σ before "
    "truncation divided by 0.8796 so the std stays as in the formula."
)


@dataclass(frozen=True)
class InUse:
    """What the comparison on screen uses (empty sets when nothing has been run)."""

    rules: frozenset[str] = frozenset()
    activations: frozenset[str] = frozenset()
    initializer: str | None = None


def in_use(config) -> InUse:
    """The rules, activations and initializer of an ``ExperimentConfig`` (or nothing for None)."""
    if config is None:
        return InUse()
    return InUse(
        frozenset(r.optimizer for r in config.runs),
        frozenset(config.network.activations),
        config.network.initializer,
    )


# --- update rules -----------------------------------------------------------------------------


def _fmt(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple | list):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    return f"{value:g}" if isinstance(value, float) else str(value)


def hyper_table(rule: str) -> pd.DataFrame:
    """One row per hyperparameter of a rule: PyTorch's name, the lab's default (PyTorch's unless
    the rule's caption says otherwise), the allowed range and its meaning, from the registry."""
    rows = [
        {
            "hyperparameter": h.name,
            "default": _fmt(h.default),
            "allowed": h.describe_range(),
            "meaning": h.help,
        }
        for h in RULES[rule].hyper
    ]
    return pd.DataFrame(rows, columns=["hyperparameter", "default", "allowed", "meaning"])


# --- activations ------------------------------------------------------------------------------


def z_grid() -> np.ndarray:
    return np.linspace(*Z_RANGE, Z_POINTS)


def activation_curves(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(z, f(z), f'(z)) on the plotting grid; PReLU at its initial slope a = 0.25."""
    act = ACTIVATIONS[name]
    z = z_grid()
    a = PRELU_INIT if act.learnable else None
    return z, act.forward(z, a), act.derivative(z, a)


def activations_figure(
    names: list[str] | None = None, used: frozenset[str] = frozenset(), big: bool = False
) -> go.Figure:
    """Small multiples, one panel per activation: f solid, f' dashed, over z ∈ [−5, 5].

    Two traces per panel, in registry order (``meta`` is ``"f:<name>"`` / ``"df:<name>"``);
    panels of activations in ``used`` are titled "… · used here"."""
    names = list(ACTIVATIONS) if names is None else names
    cols = 3 if big else 4
    rows = -(-len(names) // cols)
    titles = [
        f"<b>{ACTIVATIONS[n].label} · used here</b>" if n in used else ACTIVATIONS[n].label
        for n in names
    ]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.05,
                        vertical_spacing=0.12 if big else 0.09)  # fmt: skip
    width = 4 if big else 2.5
    for i, name in enumerate(names):
        r, c = i // cols + 1, i % cols + 1
        z, f, d = activation_curves(name)
        for kind, y, colour, dash, legend in (
            ("f", f, F_COLOR, "solid", "f(z)"),
            ("df", d, D_COLOR, "dash", "f′(z)"),
        ):
            fig.add_trace(
                go.Scatter(
                    x=z, y=y, mode="lines", name=legend, legendgroup=kind, showlegend=i == 0,
                    meta=f"{kind}:{name}", line={"color": colour, "dash": dash, "width": width},
                    hovertemplate=f"{ACTIVATIONS[name].label} {legend}: %{{y:.4g}} at "
                    "z=%{x:.3g}<extra></extra>",
                ),
                row=r, col=c,
            )  # fmt: skip
    fig.update_xaxes(range=list(Z_RANGE), zeroline=True, zerolinecolor="#bbbbbb")
    fig.update_yaxes(zeroline=True, zerolinecolor="#bbbbbb")
    apply_style(fig, big, height=(300 if big else 230) * rows)
    fig.update_layout(legend={"orientation": "h", "x": 0, "y": 1.06, "yanchor": "bottom"},
                      margin={"t": 110})  # fmt: skip
    return fig


def activations_table(used: frozenset[str] = frozenset()) -> pd.DataFrame:
    """Formula, torch's gain, and the largest |f'| on the plotted range, per activation."""
    rows = []
    for name, act in ACTIVATIONS.items():
        _, _, d = activation_curves(name)
        rows.append(
            {
                "activation": act.label,
                "f(z)": act.formula,
                "gain (calculate_gain)": round(float(act.gain), 4),
                "max |f′| on [−5, 5]": round(float(np.max(np.abs(d))), 4),
                "note": ACTIVATION_NOTES.get(name, ""),
                "used here": name in used,
            }
        )
    return pd.DataFrame(rows)


# --- initializers -----------------------------------------------------------------------------


def initializers_table(
    fan_in: int, fan_out: int, gain: float = 1.0, used: str | None = None
) -> pd.DataFrame:
    """Per initializer: distribution, formula, the std of one weight for this layer, and
    fan_in·Var(W), the factor by which a linear layer scales the variance of its input."""
    rows = []
    for name, init in INITIALIZERS.items():
        std = float(init.std(fan_in, fan_out, gain))
        note = f" (default {init.default_scale:g})" if init.uses_scale else ""
        rows.append(
            {
                "initializer": init.label,
                "distribution": init.dist,
                "formula": init.formula + note,
                "uses gain": init.uses_gain,
                "std of a weight": std,
                "fan_in · Var(W)": fan_in * std * std,
                "used here": name == used,
            }
        )
    return pd.DataFrame(rows)


# --- plain-words notes ------------------------------------------------------------------------


def sigmoid_bound(depth: int = 10) -> tuple[float, float]:
    """(max of sigmoid′ on the grid, that maximum to the power ``depth``): the most a chain of
    ``depth`` sigmoid derivatives can pass back, before any weights."""
    _, _, d = activation_curves("sigmoid")
    top = float(np.max(d))
    return top, top**depth


def depth_figure(max_depth: int = 20, big: bool = False) -> go.Figure:
    """Upper bound on the product of activation derivatives through L layers (log y):
    sigmoid 0.25ᴸ vanishes; tanh's and ReLU's maximum is 1, so the bound stays at 1 and the
    weights decide (the initializer's job)."""
    depth = np.arange(1, max_depth + 1)
    fig = go.Figure()
    for name, colour in (("sigmoid", PALETTE[3]), ("tanh", PALETTE[0]), ("relu", PALETTE[2])):
        _, _, d = activation_curves(name)
        top = float(np.max(np.abs(d)))
        fig.add_trace(
            go.Scatter(
                x=depth, y=top**depth, mode="lines+markers", name=f"{ACTIVATIONS[name].label}: "
                f"(max f′ = {top:g})ᴸ", line={"color": colour},
                hovertemplate="L=%{x}: %{y:.3g}<extra></extra>",
            )
        )  # fmt: skip
    fig.update_yaxes(type="log", exponentformat="power", title="largest product of f′")
    fig.update_xaxes(title="layers L")
    fig.update_layout(hovermode="x unified")
    return apply_style(fig, big, height=420 if big else 340)


def batch_note() -> str:
    return (
        "**GD, SGD and mini-batch are batch sizes, not rules.** Every rule above takes a "
        "gradient g and updates θ; what changes is how many examples g averages over: all of "
        "them (*gradient descent*, batch = full), one (*stochastic* gradient descent, batch = 1), "
        "or k (*mini-batch*, batch = k). Smaller batches give more updates per epoch and noisier "
        "gradients. In the sidebar each run has its own batch size, so 'Adam with batch 1' and "
        "'SGD with the full batch' are both one row."
    )


def vanishing_note(depth: int = 10) -> str:
    top, product = sigmoid_bound(depth)
    shown = f"{product:.1e}".replace("e-0", "e-")
    power = str(depth).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return (
        f"**Vanishing gradients.** The sigmoid's derivative is at most {top:g} (at z = 0). "
        f"Backpropagation multiplies one such factor per layer, so through {depth} sigmoid "
        f"layers the activations alone scale the gradient by at most {top:g}{power} ≈ {shown} "
        "on its way to the first layer: the early layers barely learn. tanh's derivative is "
        "at most 1 and ReLU's is exactly 1 for z > 0, so these activations need not shrink the "
        "gradient; whether it survives then depends on the weights, which is the initializer's "
        "job (Xavier for tanh, He for ReLU)."
        "\n\n**Exploding gradients** are the mirror image: weights too large (e.g. N(0, 1) in a "
        "wide layer, fan_in · Var(W) ≫ 1) multiply the gradient by more than one per layer. "
        "The Gradient health page shows both, layer by layer, on the comparison you run."
    )
