"""The outcome of a comparison as tidy tables (one row per observation).

=============  ===============================================================================
table          columns
=============  ===============================================================================
curves         run, optimizer, seed, epoch, step, samples, seconds, split, loss, accuracy
steps          run, optimizer, seed, step, epoch, loss           (first ``step_epochs`` epochs)
gradients      run, optimizer, seed, epoch, layer, grad_norm, grad_mean_abs, grad_max_abs,
               weight_norm, update_ratio, dead_fraction, unit_state
histograms     run, optimizer, seed, epoch, layer, bin_left, bin_right, count  (non-zero bins)
summary        one row per (run, seed): final/best losses and accuracies, diverged,
               diverged_step, diverged_reason, completed, steps, seconds
=============  ===============================================================================

``accuracy`` is R² for regression (``Results.metric`` says which). ``split`` is "train" or "val".
``layer`` counts dense layers from 1 (the input side) to L+1 (the output layer);
A run **diverged** (``DIVERGENCE_RULE``) when its loss or weights became non-finite, or when a
recorded training loss rose above ``GROWTH_FACTOR`` (1000) times its initial loss and above 1:
a run whose loss climbed to 1e5 while staying finite failed as surely as one that overflowed.
``diverged_step`` is the first step where either was seen, ``diverged_reason`` says which; a
diverged run is never ``completed``.
``dead_fraction`` is the fraction of dead (ReLU family) or saturated (sigmoid/tanh) units, named by
``unit_state``, and empty for the output layer and activations with neither notion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .activations import ACTIVATIONS
from .config import ExperimentConfig
from .datasets import Dataset
from .network import Architecture
from .recording import HIST_EDGES, N_BINS

CURVE_COLUMNS = [
    "run", "optimizer", "seed", "epoch", "step", "samples", "seconds", "split", "loss", "accuracy",
]  # fmt: skip
GRADIENT_COLUMNS = [
    "run", "optimizer", "seed", "epoch", "layer", "grad_norm", "grad_mean_abs", "grad_max_abs",
    "weight_norm", "update_ratio", "dead_fraction", "unit_state",
]  # fmt: skip
HISTOGRAM_COLUMNS = ["run", "optimizer", "seed", "epoch", "layer", "bin_left", "bin_right", "count"]
STEP_COLUMNS = ["run", "optimizer", "seed", "step", "epoch", "loss"]


@dataclass
class Results:
    config: ExperimentConfig
    data: Dataset
    arch: Architecture
    curves: pd.DataFrame
    steps: pd.DataFrame
    gradients: pd.DataFrame
    histograms: pd.DataFrame
    summary: pd.DataFrame
    snapshots: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]]  # (run, seed) -> (epochs, θ)
    cancelled: bool = False
    data_report: dict | None = None  # what the CSV loader read, encoded and dropped, if any

    @property
    def metric(self) -> str:
        return "r2" if self.data.task == "regression" else "accuracy"

    @classmethod
    def from_records(cls, config, data, arch, records, cancelled: bool) -> Results:
        curves, steps = _Columns(CURVE_COLUMNS), _Columns(STEP_COLUMNS)
        grads, hists = _Columns(GRADIENT_COLUMNS), _Columns(HISTOGRAM_COLUMNS)
        summary, snapshots = [], {}
        n_layers = arch.n_layers
        states = (*(ACTIVATIONS[a].health or "" for a in arch.activations), "")
        for r in records:
            key = {"run": r.run, "optimizer": r.optimizer, "seed": r.seed}
            for split, loss, score in (
                ("train", r.train_loss, r.train_score),
                ("val", r.val_loss, r.val_score),
            ):
                curves.add(
                    len(r.epochs),
                    **key,
                    epoch=r.epochs,
                    step=r.steps_at,
                    samples=r.samples,
                    seconds=r.seconds,
                    split=split,
                    loss=loss,
                    accuracy=score,
                )
            if r.step_loss:
                s = np.array(r.step_loss)
                steps.add(
                    len(s),
                    **key,
                    step=s[:, 0].astype(int),
                    epoch=s[:, 1].astype(int),
                    loss=s[:, 2],
                )
            if r.grad_stats:
                g = len(r.grad_stats)
                stats = {
                    c: np.concatenate([st[c] for st in r.grad_stats])
                    for c in ("grad_norm", "grad_mean_abs", "grad_max_abs", "weight_norm")
                }
                stats["update_ratio"] = np.concatenate([st["update_ratio"] for st in r.grad_stats])
                grads.add(
                    g * n_layers,
                    **key,
                    epoch=np.repeat(r.grad_epochs, n_layers),
                    layer=np.tile(np.arange(1, n_layers + 1), g),
                    **stats,
                    dead_fraction=np.array([[*h, np.nan] for h in r.health], dtype=float).ravel(),
                    unit_state=Coded(states, np.tile(np.arange(len(states)), g)),
                )
                counts = np.stack([st["hist"] for st in r.grad_stats])  # (g, layers, bins)
                e_idx, l_idx, b_idx = np.nonzero(counts)
                hists.add(
                    len(e_idx),
                    **key,
                    epoch=np.asarray(r.grad_epochs)[e_idx],
                    layer=l_idx + 1,
                    bin_left=HIST_EDGES[b_idx],
                    bin_right=HIST_EDGES[b_idx + 1],
                    count=counts[e_idx, l_idx, b_idx],
                )
            snapshots[(r.run, r.seed)] = (np.array(r.snapshot_epochs), np.stack(r.snapshots))
            summary.append(_summary_row(r, key))
        return cls(
            config=config,
            data=data,
            arch=arch,
            curves=curves.frame(),
            steps=steps.frame(),
            gradients=grads.frame(),
            histograms=hists.frame(),
            summary=pd.DataFrame(summary),
            snapshots=snapshots,
            cancelled=cancelled,
        )

    def to_csv(self, folder: str | Path) -> list[Path]:
        """Write config.json and every table as CSV into ``folder``; return the paths.

        Text cells that a spreadsheet would run as a formula are neutralised
        (:func:`neutralised`); config.json is written as is, so it reproduces the comparison."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written = [folder / "config.json"]
        written[0].write_text(self.config.to_json())
        for name in ("curves", "steps", "gradients", "histograms", "summary"):
            path = folder / f"{name}.csv"
            write_csv(getattr(self, name), path)
            written.append(path)
        return written


# --- exports safe to open in a spreadsheet ------------------------------------------------------

# OWASP "CSV injection": a cell starting with one of these is run as a formula by Excel,
# LibreOffice and Google Sheets (tab and carriage return start one too after trimming).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|nan)", re.IGNORECASE)


def neutralise_text(value):
    """A text cell that would start a spreadsheet formula, prefixed with a single quote (the
    spreadsheet then shows it as text, quote hidden); a plain number written as text (``-1``)
    and anything that is not text are returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        if not _NUMBER.fullmatch(value.strip()):
            return "'" + value
    return value


def neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell and column name passed through :func:`neutralise_text`;
    numeric columns (negative numbers included) are untouched. Returns ``frame`` itself when
    nothing needed changing."""
    out = frame
    for col in frame.columns:
        series = frame[col]
        if series.dtype.kind in "biufcmM":
            continue
        fixed = series.map(neutralise_text, na_action="ignore")
        if not fixed.equals(series):
            out = out.copy() if out is frame else out
            out[col] = fixed.astype(series.dtype) if series.dtype == "str" else fixed
    names = [neutralise_text(c) for c in frame.columns]
    if names != list(frame.columns):
        out = out.copy() if out is frame else out
        out.columns = names
    return out


def csv_text(frame: pd.DataFrame) -> str:
    """The CSV text of a table as every export writes it (no index, formulas neutralised)."""
    return neutralised(frame).to_csv(index=False)


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    neutralised(frame).to_csv(path, index=False)


def neutralised_json(doc):
    """A JSON document (e.g. a CSV loader's report) with every string key and value passed
    through :func:`neutralise_text`: its column and class names come from the user's file."""
    if isinstance(doc, dict):
        return {neutralise_text(k): neutralised_json(v) for k, v in doc.items()}
    if isinstance(doc, list | tuple):
        return [neutralised_json(v) for v in doc]
    return neutralise_text(doc)


class _Columns:
    """A table built column by column from every run's pieces, made a DataFrame once (one
    DataFrame per run and a concat cost more than the recording they show).

    Text columns (run, optimizer, unit state) are kept as codes into a few distinct labels and
    become pandas strings with one ``take``: converting tens of thousands of NumPy strings one
    by one was the slowest part of building the tables."""

    def __init__(self, columns: list[str]):
        self.columns = columns
        self.parts: dict[str, list] = {c: [] for c in columns}

    def add(self, n: int, **values) -> None:
        """n rows; a scalar value fills its column for all of them; ``Coded`` is text."""
        for c in self.columns:
            v = values[c]
            if isinstance(v, str):
                v = Coded((v,), np.zeros(n, dtype=np.intp))
            elif np.isscalar(v):
                v = np.full(n, v)
            self.parts[c].append(v if isinstance(v, Coded) else np.asarray(v))

    def frame(self) -> pd.DataFrame:
        if not self.parts[self.columns[0]]:
            return pd.DataFrame(columns=self.columns)
        return pd.DataFrame({c: _column(p) for c, p in self.parts.items()})


@dataclass(frozen=True)
class Coded:
    """Text as codes into ``labels``: row i reads ``labels[codes[i]]``."""

    labels: tuple[str, ...]
    codes: np.ndarray


def _column(parts: list):
    if not isinstance(parts[0], Coded):
        return np.concatenate(parts)
    index: dict[str, int] = {}
    codes = []
    for part in parts:
        remap = np.array([index.setdefault(label, len(index)) for label in part.labels])
        codes.append(remap[part.codes])
    return pd.array(list(index), dtype="str").take(np.concatenate(codes))


GROWTH_FACTOR = 1e3
DIVERGENCE_RULE = (
    "a run diverged when its loss or weights became non-finite (NaN or infinite), or when a "
    f"recorded training loss rose above {GROWTH_FACTOR:g}× its initial loss (and above 1)"
)
REASON_NONFINITE = "loss or weights became non-finite"
REASON_GROWTH = f"training loss rose above {GROWTH_FACTOR:g}× its initial value"


def divergence(train_loss, steps_at, diverged: bool, diverged_step) -> tuple[bool, int | None, str]:
    """(diverged, first step, reason) of one run by :data:`DIVERGENCE_RULE`.

    ``train_loss[i]`` is the training loss recorded at step ``steps_at[i]`` (index 0 = the
    initial weights); ``diverged``/``diverged_step`` are what training saw (a non-finite loss
    or weights stop the run there). Loss growth counts from the first recorded epoch whose loss
    exceeds ``max(GROWTH_FACTOR · L₀, 1)``."""
    loss = np.asarray(train_loss, dtype=float)
    grew = None
    if loss.size > 1 and np.isfinite(loss[0]):
        limit = max(GROWTH_FACTOR * abs(float(loss[0])), 1.0)
        over = np.nonzero(~(loss[1:] <= limit))[0]  # NaN counts as over
        if over.size:
            grew = int(steps_at[over[0] + 1])
    if diverged and (grew is None or diverged_step is None or diverged_step <= grew):
        return True, diverged_step, REASON_NONFINITE
    if grew is not None:
        return True, grew, REASON_GROWTH
    return False, None, ""


def _summary_row(r, key: dict) -> dict:
    val_loss = np.array(r.val_loss, dtype=float)
    val_acc = np.array(r.val_score, dtype=float)
    diverged, step, reason = divergence(r.train_loss, r.steps_at, r.diverged, r.diverged_step)

    def best(values, fn):
        finite = values[np.isfinite(values)]
        return float(fn(finite)) if finite.size else float("nan")

    return {
        **key,
        "batch_size": r.batch_size,
        "epochs": r.epochs[-1] if r.epochs else 0,
        "steps": r.steps,
        "final_train_loss": r.train_loss[-1],
        "final_val_loss": r.val_loss[-1],
        "best_val_loss": best(val_loss, np.min),
        "final_train_accuracy": r.train_score[-1],
        "final_val_accuracy": r.val_score[-1],
        "best_val_accuracy": best(val_acc, np.max),
        "diverged": diverged,
        "diverged_step": step,
        "diverged_reason": reason,
        "completed": bool(r.completed and not diverged),
        "seconds": r.wall,
    }


__all__ = ["N_BINS", "Results"]
