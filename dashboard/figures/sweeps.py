"""Charts of a learning-rate sweep: sensitivity, best against best, tuned against default, and a
rule × learning-rate heat map. Pure functions of the sweep's tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .style import apply_style, band

DIVERGED = "#D62728"  # the ✕ of a diverged setting, the same on every chart


def _y_cap(settings: pd.DataFrame) -> float:
    """The top of the chart: above every finite median and band edge, where the diverged ✕
    sit."""
    values = pd.concat([settings["median"], settings["high"]]).to_numpy(float)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 1.0
    return float(finite.max() * 1.1 + 1e-12)


def sensitivity(
    settings: pd.DataFrame,
    best: pd.DataFrame,
    colors: dict[str, str],
    big: bool = False,
) -> go.Figure:
    """Final loss against log learning rate: one line per rule (median over seeds, band from
    the best to the worst seed), diverged settings as red ✕ on the top edge, each rule's best rate
    starred and its default rate as a hollow circle."""
    fig = go.Figure()
    cap = _y_cap(settings)
    for rule, d in settings.groupby("rule", sort=False):
        d = d.sort_values("lr")
        color = colors.get(rule, "#555555")
        ok = np.isfinite(d["median"].to_numpy(float))
        lo = d["low"].where(np.isfinite(d["low"]), cap)
        hi = d["high"].where(np.isfinite(d["high"]), cap)
        fig.add_trace(band(d.lr, lo, hi, color, rule))
        fig.add_trace(
            go.Scatter(
                x=d.lr[ok],
                y=d["median"][ok],
                mode="lines+markers",
                name=rule,
                legendgroup=rule,
                line={"color": color},
                hovertemplate=f"{rule}<br>lr %{{x:.3g}}<br>median loss %{{y:.4g}}<extra></extra>",
            )
        )
        bad = d[~ok]
        if len(bad):
            fig.add_trace(
                go.Scatter(
                    x=bad.lr,
                    y=[cap] * len(bad),
                    mode="markers",
                    marker={"symbol": "x", "size": 12, "color": DIVERGED},
                    name="diverged",
                    legendgroup="diverged",
                    showlegend=False,
                    hovertemplate=f"{rule}<br>lr %{{x:.3g}}: diverged<extra></extra>",
                )
            )
    for _, row in best.iterrows():
        color = colors.get(row["rule"], "#555555")
        s = settings[(settings.rule == row["rule"]) & (settings.lr == row["best_lr"])]
        if len(s):
            fig.add_trace(
                go.Scatter(
                    x=[row["best_lr"]],
                    y=[float(s["median"].iloc[0])],
                    mode="markers",
                    marker={"symbol": "star", "size": 18, "color": color,
                            "line": {"width": 1, "color": "black"}},
                    name=f"{row['rule']} best",
                    showlegend=False,
                    hovertemplate=f"{row['rule']}: best lr %{{x:.3g}}<extra></extra>",
                )
            )  # fmt: skip
        if math.isfinite(row["default_median"]):
            fig.add_trace(
                go.Scatter(
                    x=[row["default_lr"]],
                    y=[min(row["default_median"], cap)],
                    mode="markers",
                    marker={"symbol": "circle-open", "size": 14, "color": color,
                            "line": {"width": 3}},
                    name=f"{row['rule']} default",
                    showlegend=False,
                    hovertemplate=f"{row['rule']}: default lr %{{x:.3g}}<extra></extra>",
                )
            )  # fmt: skip
    # legend entries for the marks, drawn once
    for symbol, name, color in (
        ("star", "best rate", "#777777"),
        ("circle-open", "default rate (fresh seeds)", "#777777"),
        ("x", "diverged", DIVERGED),
    ):
        fig.add_trace(
            go.Scatter(x=[None], y=[None], mode="markers", name=name,
                       marker={"symbol": symbol, "size": 12, "color": color})
        )  # fmt: skip
    fig.update_xaxes(type="log", title="learning rate", dtick=1, exponentformat="power")
    fig.update_yaxes(title="final loss (median over seeds)", range=[0, cap * 1.05])
    fig.update_layout(title="Learning-rate sensitivity")
    return apply_style(fig, big, height=460)


def best_curves(
    curves: pd.DataFrame, setting: str, colors: dict[str, str], big: bool = False
) -> go.Figure:
    """The confirmation runs' loss per epoch, each rule at its tuned (or default) rate: the
    median over the fresh seeds with a band from the lowest to the highest."""
    fig = go.Figure()
    d0 = curves[(curves.setting == setting) & (curves.split == "val")]
    if d0.empty:
        d0 = curves[(curves.setting == setting) & (curves.split == "train")]
    for rule, d in d0.groupby("rule", sort=False):
        g = d.groupby("epoch").loss
        med, lo, hi = g.median(), g.min(), g.max()
        color = colors.get(rule, "#555555")
        lr = d.lr.iloc[0]
        top = 10 * med.max()  # a diverged seed would squash the chart
        fig.add_trace(band(lo.index, lo.clip(upper=top), hi.clip(upper=top), color, rule))
        fig.add_trace(
            go.Scatter(
                x=med.index, y=med, name=f"{rule} (lr {lr:.3g})", line={"color": color},
                hovertemplate=f"{rule}<br>epoch %{{x}}<br>loss %{{y:.4g}}<extra></extra>",
            )
        )  # fmt: skip
    which = "tuned" if setting == "best" else "default"
    fig.update_layout(title=f"Every rule at its {which} learning rate (fresh seeds)")
    fig.update_xaxes(title="epoch")
    fig.update_yaxes(title="loss", rangemode="tozero")
    return apply_style(fig, big, height=420)


def tuned_vs_default(best: pd.DataFrame, colors: dict[str, str], big: bool = False) -> go.Figure:
    """Median final loss with its 95 % interval per rule, tuned (filled) and default (hollow)."""
    fig = go.Figure()
    order = list(best.rule)
    for setting, symbol, prefix in (("tuned", "circle", "tuned"), ("default", "circle-open",
                                                                   "default")):  # fmt: skip
        med = best[f"{prefix}_median"].to_numpy(float)
        lo = best[f"{prefix}_low"].to_numpy(float)
        hi = best[f"{prefix}_high"].to_numpy(float)
        finite = np.isfinite(med)
        fig.add_trace(
            go.Scatter(
                x=med[finite],
                y=np.array(order)[finite],
                mode="markers",
                name=setting,
                marker={
                    "symbol": symbol,
                    "size": 14,
                    "color": [colors.get(r, "#555555") for r in np.array(order)[finite]],
                    "line": {"width": 2},
                },
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": np.where(np.isfinite(hi), hi - med, 0)[finite],
                    "arrayminus": (med - lo)[finite],
                },
                hovertemplate="%{y}: %{x:.4g}<extra>" + setting + "</extra>",
            )
        )
    fig.update_yaxes(autorange="reversed", title=None)
    fig.update_xaxes(title="final loss, median and 95 % interval over fresh seeds", type="log")
    fig.update_layout(title="Tuned against default learning rate")
    return apply_style(fig, big, height=120 + 45 * len(order))


def heatmap(settings: pd.DataFrame, big: bool = False) -> go.Figure:
    """Median final loss for every rule × learning rate (log colour); diverged cells marked ✕."""
    table = settings.pivot_table(index="rule", columns="lr", values="median", sort=False)
    z = table.to_numpy(float)
    finite = np.isfinite(z) & (z > 0)
    logz = np.where(finite, np.log10(np.where(finite, z, 1.0)), np.nan)
    text = np.where(
        np.isfinite(z), np.vectorize(lambda v: f"{v:.3g}", otypes=[str])(np.nan_to_num(z)), "✕"
    )
    fig = go.Figure(
        go.Heatmap(
            z=logz,
            x=[f"{lr:.2g}" for lr in table.columns],
            y=list(table.index),
            text=text,
            texttemplate="%{text}" if z.size <= 120 else None,
            colorscale="Viridis_r",
            colorbar={"title": "log₁₀ loss"},
            hovertemplate="%{y} at lr %{x}: %{text}<extra></extra>",
        )
    )
    fig.update_xaxes(title="learning rate", type="category")
    fig.update_layout(title="Median final loss: rule × learning rate (✕ = diverged)")
    return apply_style(fig, big, height=140 + 40 * len(table.index))
