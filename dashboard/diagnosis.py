"""Plain-words diagnosis of gradient health, with the thresholds it used.

Inputs are the engine's tidy ``gradients`` table for one run and seed. Layers are numbered from
the input (1) to the output (L+1); "first" and "last hidden" compare layer 1 with layer L, as the
classic vanishing-gradient demonstrations do.

A run that diverged (:data:`nn_core.results.DIVERGENCE_RULE`: non-finite loss or weights, or a
training loss above 1000× its start) is said to have diverged first, and no statement that
something is healthy or reasonable is made about it: its gradients describe a failed run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

VANISHING_RATIO = 1e-3  # ‖∂L/∂W₁‖ / ‖∂L/∂W_L‖ below this: vanishing
EXPLODING_RATIO = 10.0  # above this: the gradient grows toward the input
EXPLODING_NORM = 1e3  # any layer's gradient norm above this: exploding
DEAD_FRACTION = 0.5  # more than half of a layer's units dead or saturated
UPDATE_LOW = 1e-5  # ‖ΔW‖/‖W‖ per step below this: barely moving
UPDATE_HIGH = 1e-1  # above this: steps too large for the weights


@dataclass(frozen=True)
class Finding:
    level: str  # "ok" | "warning" | "problem"
    title: str
    detail: str


def outcome(summary: pd.DataFrame, run: str, seed: int) -> pd.Series | None:
    """The summary row of one run and seed (``diverged``, ``diverged_step``,
    ``diverged_reason``), or None when it is not there."""
    rows = summary[(summary["run"] == run) & (summary["seed"] == seed)]
    return rows.iloc[0] if len(rows) else None


def diagnose(grads: pd.DataFrame, summary_row: pd.Series | None = None) -> list[Finding]:
    """Findings for one run and seed (rows of ``Results.gradients``); ``summary_row`` (from
    :func:`outcome`) tells whether the run diverged."""
    diverged = _diverged(grads, summary_row)
    if grads.empty:
        found = [Finding("warning", "No gradient records", "Nothing was recorded for this run.")]
        return [diverged, *found] if diverged else found
    findings = _diagnose(grads)
    if diverged is None:
        return findings
    return [diverged, *(f for f in findings if f.level != "ok")]


def _diverged(grads: pd.DataFrame, row: pd.Series | None) -> Finding | None:
    from nn_core.results import DIVERGENCE_RULE, REASON_NONFINITE

    if row is not None and bool(row.get("diverged", False)):
        step = row.get("diverged_step")
        at = f" at step {int(step)}" if step is not None and pd.notna(step) else ""
        reason = row.get("diverged_reason") or REASON_NONFINITE
    elif not grads.empty and not np.isfinite(grads["grad_norm"].to_numpy(float)).all():
        at, reason = "", "its gradients became non-finite"
    else:
        return None
    return Finding(
        "problem",
        "Training diverged",
        f"This run diverged{at}: {reason} (the rule: {DIVERGENCE_RULE}). The gradient "
        "statistics below describe a failed run; none of them is healthy.",
    )


def _diagnose(grads: pd.DataFrame) -> list[Finding]:
    first_epoch = grads[grads["epoch"] == grads["epoch"].min()].set_index("layer")
    last_epoch = grads[grads["epoch"] == grads["epoch"].max()].set_index("layer")
    findings: list[Finding] = []
    n_layers = int(grads["layer"].max())
    if n_layers >= 3:
        g1, gl = first_epoch.loc[1, "grad_norm"], first_epoch.loc[n_layers - 1, "grad_norm"]
        ratio = g1 / gl if gl > 0 else np.inf if g1 > 0 else np.nan
        text = (
            f"At the start, ‖∂L/∂W₁‖ / ‖∂L/∂W_{n_layers - 1}‖ = {ratio:.2g} "
            f"(vanishing below {VANISHING_RATIO:g}, exploding above {EXPLODING_RATIO:g})."
        )
        if not np.isfinite(ratio) and np.isnan(ratio):
            findings.append(
                Finding(
                    "problem",
                    "No gradient at all",
                    "Every hidden gradient "
                    "is zero: the weights cannot move (zero initialisation?).",
                )
            )
        elif ratio < VANISHING_RATIO:
            findings.append(
                Finding("problem", "Vanishing gradients", text + " The first layers barely learn.")
            )
        elif ratio > EXPLODING_RATIO:
            findings.append(
                Finding(
                    "problem",
                    "Exploding gradients",
                    text + " The gradient grows as it flows back toward the input.",
                )
            )
        else:
            findings.append(Finding("ok", "Gradient scale is healthy across depth", text))
    peak = float(grads["grad_norm"].max())
    if peak > EXPLODING_NORM:
        findings.append(
            Finding(
                "problem",
                "Very large gradients",
                f"A layer's gradient norm reached {peak:.3g} (threshold {EXPLODING_NORM:g}).",
            )
        )
    state = last_epoch["unit_state"].iloc[0] if "unit_state" in last_epoch else ""
    frac = last_epoch["dead_fraction"].dropna()
    if state and len(frac) and frac.max() > DEAD_FRACTION:
        worst = int(frac.idxmax())
        word = "dead (ReLU outputs zero for every sample)" if state == "dead" else "saturated"
        findings.append(
            Finding(
                "problem",
                f"{'Dying' if state == 'dead' else 'Saturated'} units",
                f"At the last epoch {frac.max():.0%} of layer {worst}'s units are "
                f"{word} (threshold {DEAD_FRACTION:.0%}).",
            )
        )
    ratio_now = last_epoch["update_ratio"].replace([np.inf], np.nan).dropna()
    if len(ratio_now):
        median = float(ratio_now.median())
        span = f"median ‖ΔW‖/‖W‖ per step = {median:.2g} (healthy ≈ 1e-3; "
        span += f"low below {UPDATE_LOW:g}, high above {UPDATE_HIGH:g})"
        if median < UPDATE_LOW:
            findings.append(Finding("warning", "Updates are tiny", span.capitalize() + "."))
        elif median > UPDATE_HIGH:
            findings.append(Finding("warning", "Updates are large", span.capitalize() + "."))
        else:
            findings.append(Finding("ok", "Update sizes look reasonable", span.capitalize() + "."))
    return findings


def verdict(findings: list[Finding]) -> str:
    """One word for the run: the worst finding's level."""
    levels = [f.level for f in findings]
    return "problem" if "problem" in levels else "warning" if "warning" in levels else "ok"
