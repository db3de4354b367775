"""Learning-rate schedules, per epoch, with torch.optim.lr_scheduler's conventions.

A schedule is a small JSON object on a run (``runs[i].schedule``); the learning rate the rule
uses during epoch e (e = 0 for the first epoch, as torch counts ``scheduler.step()`` calls made
at the end of each epoch) is, for the run's configured rate γ₀:

==========  ===========================================  ====================================
kind        γₑ                                           torch equivalent
==========  ===========================================  ====================================
step        γ₀ · gamma^⌊e / step_size⌋                   ``StepLR(step_size, gamma)``
cosine      η + (γ₀ − η)(1 + cos(π e / t_max)) / 2       ``CosineAnnealingLR(t_max, eta_min=η)``
warmup      γ₀ · (s + (1 − s) · min(e, epochs) / epochs)  ``LinearLR(start_factor=s,
                                                         end_factor=1, total_iters=epochs)``
==========  ===========================================  ====================================

(closed forms; torch's schedulers compute the same values recursively, equal to ~1e-16). The
warm-up starts at ``start_factor`` s (torch's default 1/3) and holds γ₀ from epoch ``epochs`` on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Param:
    """One key of a schedule: a number in [low, high] (``integer``: a whole number)."""

    name: str
    low: float
    high: float
    integer: bool = False
    default: float | None = None  # None: required


KINDS: dict[str, tuple[Param, ...]] = {
    "step": (Param("step_size", 1, 10**6, integer=True), Param("gamma", 0.0, 10.0, default=0.1)),
    "cosine": (Param("t_max", 1, 10**6, integer=True), Param("eta_min", 0.0, 100.0, default=0.0)),
    "warmup": (
        Param("epochs", 1, 10**6, integer=True),
        Param("start_factor", 1e-8, 1.0, default=1.0 / 3.0),
    ),
}


def check(doc: Any) -> dict[str, Any]:
    """Validate a schedule and fill its defaults. Raises ``ValueError("key: message")`` naming
    the offending key relative to the schedule (``kind``, ``gamma``, …)."""
    if not isinstance(doc, dict):
        raise ValueError(f": must be an object with a kind ({', '.join(KINDS)}) or null")
    kind = doc.get("kind")
    if kind not in KINDS:
        raise ValueError(f"kind: must be one of {', '.join(KINDS)}, got {kind!r}")
    params = {p.name: p for p in KINDS[kind]}
    for key in doc:
        if key != "kind" and key not in params:
            raise ValueError(f"{key}: unknown key; allowed: kind, {', '.join(params)}")
    out: dict[str, Any] = {"kind": kind}
    for p in params.values():
        if p.name not in doc:
            if p.default is None:
                raise ValueError(f"{p.name}: is required for a {kind} schedule")
            out[p.name] = p.default
            continue
        v = doc[p.name]
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ValueError(f"{p.name}: must be a number, got {v!r}")
        if p.integer and int(v) != v:
            raise ValueError(f"{p.name}: must be an integer, got {v!r}")
        if not p.low <= v <= p.high:
            raise ValueError(f"{p.name}: must be between {p.low:g} and {p.high:g}, got {v!r}")
        out[p.name] = int(v) if p.integer else float(v)
    return out


def lr_at(schedule: dict[str, Any] | None, lr: float, epoch: int) -> float:
    """The learning rate during epoch ``epoch`` (0-based) of a run configured with ``lr``."""
    if schedule is None:
        return lr
    kind = schedule["kind"]
    if kind == "step":
        return lr * schedule["gamma"] ** (epoch // schedule["step_size"])
    if kind == "cosine":
        eta = schedule["eta_min"]
        return eta + (lr - eta) * (1.0 + math.cos(math.pi * epoch / schedule["t_max"])) / 2.0
    s, total = schedule["start_factor"], schedule["epochs"]
    return lr * (s + (1.0 - s) * min(epoch, total) / total)
