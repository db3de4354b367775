"""Streamlit pieces of the Network page and of the pictures of data with more than two features
(also called from the Data page). Figures are built in :mod:`dashboard.figures.network` and
:mod:`dashboard.figures.pictures` and cached on the results' identity and their options."""

from __future__ import annotations

import numpy as np
import streamlit as st

from .figures import network as net_figs
from .figures import pictures
from .page import figure


def pick_run(results, key: str, default: str | None = None) -> tuple[str, int]:
    """Run and seed select boxes (a seed box only when there are several seeds)."""
    runs = [r.label for r in results.config.runs]
    runs = [r for r in runs if any(k[0] == r for k in results.snapshots)] or runs
    seeds = sorted(int(s) for s in results.summary["seed"].unique())
    c1, c2, _ = st.columns([2, 1, 3])
    run = c1.selectbox(
        "Run", runs, index=runs.index(default) if default in runs else 0, key=f"{key}_run"
    )
    seed = c2.selectbox("Seed", seeds, key=f"{key}_seed") if len(seeds) > 1 else seeds[0]
    return run, int(seed)


def first_run(results) -> tuple[str | None, int]:
    """(first run, lowest seed) of ``results``, or (None, 0) before any run."""
    if results is None or results.summary.empty:
        return None, 0
    return str(results.summary["run"].iloc[0]), int(results.summary["seed"].min())


def view(results, run: str, seed: int, max_units: int) -> net_figs.NetworkView:
    return figure(
        "network_view",
        results,
        lambda: net_figs.network_view(results, run, seed, max_units),
        run,
        seed,
        max_units,
    )


def depth_sentence(v: net_figs.NetworkView) -> str:
    """'At epoch 0 the first hidden layer's units receive 10^2.9 times the gradient of the last
    hidden layer's: the signal glares toward the input.' (RMS over units) for the first frame
    shown, and for the last one too when it tells a different story; '' for fewer than two
    hidden layers."""
    frames = [0, len(v.epochs) - 1] if len(v.epochs) > 1 else [0]
    parts, words = [], []
    for frame in frames:
        ratio = net_figs.depth_ratio(v, frame)
        if ratio is None:
            return ""
        epoch = int(v.epochs[frame])
        if ratio == 0 or not np.isfinite(ratio):
            word = "gets no gradient"
            parts.append(f"At epoch {epoch} the first hidden layer receives no gradient at all.")
        else:
            exp = np.log10(ratio)
            word = "fades" if exp < -1 else "glares" if exp > 1 else "stays within a decade"
            parts.append(
                f"At epoch {epoch} the first hidden layer's units receive **10^{exp:.1f}** "
                f"times the gradient of the last hidden layer's: the signal {word} toward the "
                "input."
            )
        words.append(word)
    if len(parts) == 2 and words[0] == words[1]:
        parts = parts[1:]
    return " ".join(parts)


def pictures_section(data, results, run: str | None, seed: int, big: bool, key: str) -> None:
    """PCA scatter (more than two features), digits with predictions, regression fit."""
    have_run = results is not None and run is not None and (run, seed) in results.snapshots
    if data.n_features > 2:
        scores_note = (
            "Principal components of the standardised training inputs (numpy SVD); "
            "validation points hollow."
        )
        if have_run and data.task != "regression":
            scores_note += (
                f" Shading: the class {run} predicts on the plane of PC1 and PC2 through the "
                "training mean (the other components held at their mean)."
            )

        def build():
            return pictures.pca_figure(data, results if have_run else None, run, seed, big=big)

        fig = figure("pca", results, build, run, seed, big) if have_run else build()
        st.plotly_chart(fig, key=f"{key}_pca")
        st.caption(scores_note)
    if pictures.is_digits(data):

        def digits():
            predicted = None
            if have_run:
                predicted = pictures.predict(results, run, seed, data.X_val[: pictures.MAX_DIGITS])
            return pictures.digits_figure(data, predicted, big=big)

        fig = figure("digits", results, digits, run, seed, big) if have_run else digits()
        st.plotly_chart(fig, key=f"{key}_digits")
        st.caption(
            "Validation digits as 8×8 images"
            + (
                f", labelled ✓ when {run} (final weights) is right, true→predicted when wrong."
                if have_run
                else "."
            )
        )
    if data.task == "regression" and have_run:
        fig = figure(
            "fit",
            results,
            lambda: pictures.fit_figure(data, results, run, seed, big),
            run,
            seed,
            big,
        )
        st.plotly_chart(fig, key=f"{key}_fit")
        st.caption(
            f"{run}'s final weights: "
            + (
                "the fitted curve over the data."
                if data.n_features == 1
                else "predicted against actual target; points on the dashed line are exact."
            )
        )
