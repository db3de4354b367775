"""Pictures of data with more than two features: a PCA scatter coloured by class (with the
learned decision regions on the plane of the first two components), the 8×8 digits as images
with their predicted labels, and for regression the fitted curve (one feature) or predicted
against actual values (more).

Predictions come from a run's final snapshot through the engine's own forward pass
(:func:`nn_core.unitgrads.unit_outputs`). Class colours are the shared palette of
:mod:`dashboard.figures.style` indexed by class number, as on the Data page.
"""

from __future__ import annotations

import re

import numpy as np
import plotly.graph_objects as go

from nn_core import unitgrads

from .style import PALETTE, apply_style, class_color

Array = np.ndarray
MAX_POINTS = 3000  # points drawn in a scatter (a fixed stride beyond)
MAX_DIGITS = 40  # digit images drawn
WRONG, RIGHT = "#D55E00", "#009E73"


def pca(X: Array, k: int = 2) -> tuple[Array, Array, Array, Array]:
    """Principal components by SVD of the centred data.

    With Xc = X − mean = U S Vᵀ, the components are the first k rows of Vᵀ (k, d), the scores
    Xc V (N, k), and the explained-variance fractions S²ᵢ / Σ S². Each component's sign is fixed
    so that its largest-magnitude loading is positive (an SVD's signs are arbitrary).
    Returns (scores, components, explained fraction (k,), mean (d,))."""
    X = np.asarray(X, dtype=np.float64)
    mean = X.mean(axis=0)
    Xc = X - mean
    _, s, vt = np.linalg.svd(Xc, full_matrices=False)
    comps = vt[:k]
    flip = np.sign(comps[np.arange(len(comps)), np.argmax(np.abs(comps), axis=1)])
    comps = comps * np.where(flip == 0, 1.0, flip)[:, None]
    var = s**2
    total = var.sum()
    frac = var[:k] / total if total > 0 else np.zeros(len(comps))
    return Xc @ comps.T, comps, frac, mean


def final_theta(results, run: str, seed: int) -> Array:
    return results.snapshots[(run, seed)][1][-1]


def predict(results, run: str, seed: int, X: Array) -> Array:
    """The run's final-snapshot output at the rows of X: class labels (N,) for classification,
    predictions in the target's original units (N,) for regression."""
    logits = unitgrads.unit_outputs(results.arch, final_theta(results, run, seed), X)[-1]
    task = results.data.task
    if task == "binary":
        return (logits[:, 0] > 0).astype(int)
    if task == "multiclass":
        return np.argmax(logits, axis=1)
    return logits[:, 0] * results.data.y_std + results.data.y_mean


def _labels(y: Array) -> Array:
    return np.asarray(y).reshape(len(y), -1)[:, 0].astype(int)


def _stride(n: int, m: int = MAX_POINTS) -> Array:
    return np.arange(n) if n <= m else np.linspace(0, n - 1, m).round().astype(int)


def pca_figure(
    data, results=None, run: str | None = None, seed: int = 0, grid: int = 60, big: bool = False
) -> go.Figure:
    """Train (filled) and validation (hollow) points on the first two principal components of
    the training inputs, coloured by class. With a classification run, its predicted class over
    the PC1–PC2 plane through the training mean is drawn underneath (a slice of the decision
    regions: the other components are held at their mean)."""
    scores, comps, frac, mean = pca(data.X_train, 2)
    if comps.shape[0] < 2:  # one feature: pad a zero component so the plane is defined
        comps = np.vstack([comps, np.zeros_like(comps)])
        frac = np.append(frac, 0.0)
        scores = np.column_stack([scores, np.zeros(len(scores))])
    val = (data.X_val - mean) @ comps.T
    fig = go.Figure()
    classify = data.task != "regression"
    names = data.class_names or tuple(str(i) for i in range(max(data.n_classes, 1)))
    if classify and results is not None and run is not None:
        lo = np.minimum(scores.min(axis=0), val.min(axis=0) if len(val) else np.inf) - 0.5
        hi = np.maximum(scores.max(axis=0), val.max(axis=0) if len(val) else -np.inf) + 0.5
        a, b = np.linspace(lo[0], hi[0], grid), np.linspace(lo[1], hi[1], grid)
        ga, gb = np.meshgrid(a, b)
        plane = mean + np.column_stack([ga.ravel(), gb.ravel()]) @ comps
        with np.errstate(all="ignore"):
            pred = predict(results, run, seed, plane).reshape(grid, grid)
        k = max(data.n_classes, 2)
        steps = []  # a stepwise colour scale: predicted class i is drawn in class i's colour
        for i in range(k):
            steps += [[i / k, class_color(i)], [(i + 1) / k, class_color(i)]]
        fig.add_trace(
            go.Heatmap(
                x=a,
                y=b,
                z=pred.astype(np.float32),
                zmin=-0.5,
                zmax=k - 0.5,
                colorscale=steps,
                opacity=0.22,
                showscale=False,
                hoverinfo="skip",
                name="predicted class",
            )
        )
    for split, pts, y, symbol in (
        ("train", scores, data.y_train, "circle"),
        ("val", val, data.y_val, "circle-open"),
    ):
        if not len(pts):
            continue
        idx = _stride(len(pts))
        pts = pts[idx]
        if classify:
            lab = _labels(y)[idx]
            for c in np.unique(lab):
                m = lab == c
                fig.add_trace(
                    go.Scattergl(
                        x=pts[m, 0],
                        y=pts[m, 1],
                        mode="markers",
                        name=str(names[c]) if split == "train" else f"{names[c]} (val)",
                        legendgroup=str(c),
                        showlegend=split == "train",
                        marker={"symbol": symbol, "color": class_color(int(c)), "size": 6},
                    )
                )
        else:
            target = np.asarray(y)[idx, 0] * data.y_std + data.y_mean
            fig.add_trace(
                go.Scattergl(
                    x=pts[:, 0],
                    y=pts[:, 1],
                    mode="markers",
                    name=split,
                    showlegend=False,  # the caption says hollow is validation; room for the bar
                    marker={
                        "symbol": symbol,
                        "color": target,
                        "colorscale": "Viridis",
                        "size": 6,
                        "colorbar": {"title": {"text": "target"}} if split == "train" else None,
                    },
                )
            )
    fig.update_layout(
        xaxis_title=f"PC1 ({frac[0]:.1%} of the variance)",
        yaxis_title=f"PC2 ({frac[1]:.1%} of the variance)",
    )
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    fig.update_xaxes(constrain="domain")  # equal scales without stretching the x range
    fig.update_layout(legend={"title": {"text": "class"} if classify else None})
    return apply_style(fig, big, height=520)


def digit_images(data, X: Array) -> Array:
    """Rows of X (standardised) back as 8×8 images of raw pixel counts (N, 8, 8), placed by the
    ``pixel_<row>_<col>`` feature names (a column the loader dropped stays 0)."""
    raw = np.asarray(X) * np.asarray(data.std) + np.asarray(data.mean)
    img = np.zeros((len(X), 8, 8))
    for j, name in enumerate(data.feature_names):
        m = re.fullmatch(r"pixel_(\d)_(\d)", name)
        if m:
            img[:, int(m[1]), int(m[2])] = raw[:, j]
    return img


def is_digits(data) -> bool:
    names = data.feature_names
    return len(names) == 64 and all(re.fullmatch(r"pixel_\d_\d", n) for n in names)


def digits_figure(
    data, predicted: Array | None = None, n: int = MAX_DIGITS, cols: int = 10, big: bool = False
) -> go.Figure:
    """The first ``n`` validation digits as 8×8 images (dark ink on white), each titled with its
    true label and, when ``predicted`` (labels for the validation rows) is given, the predicted
    one: green when right, orange-red when wrong."""
    X, y = (data.X_val, data.y_val) if len(data.X_val) else (data.X_train, data.y_train)
    n = min(n, len(X))
    imgs = digit_images(data, X[:n])
    truth = _labels(y[:n])
    rows = -(-n // cols)
    cell, gap, head = 8, 1, 3  # pixels per image, gap, room for the label above each image
    h, w = rows * (cell + head), cols * (cell + gap)
    canvas = np.full((h, w), np.nan, dtype=np.float32)
    notes = []
    for i in range(n):
        r, c = divmod(i, cols)
        top, left = r * (cell + head) + head, c * (cell + gap)
        canvas[top : top + cell, left : left + cell] = imgs[i]
        text = f"{data.class_names[truth[i]] if data.class_names else truth[i]}"
        color = "#333"
        if predicted is not None:
            ok = predicted[i] == truth[i]
            text = f"{text}→{predicted[i]}" if not ok else f"✓ {predicted[i]}"
            color = RIGHT if ok else WRONG
        notes.append(
            {
                "x": left + cell / 2 - 0.5,
                "y": top - 1.6,
                "text": text,
                "showarrow": False,
                "font": {"color": color, "size": 18 if big else 14},
            }
        )
    # One figure from plain dicts: forty validated add_annotation calls took a quarter second.
    heat = {
        "type": "heatmap",
        "z": canvas,
        "colorscale": "Greys",
        "zmin": 0,
        "zmax": 16,
        "showscale": False,
        "hovertemplate": "pixel value %{z:.0f}<extra></extra>",
    }
    fig = go.Figure(data=[heat], layout={"annotations": notes}, _validate=False)
    fig.update_xaxes(visible=False, range=[-0.5, w - 0.5])
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    apply_style(fig, big, height=int(60 + rows * (150 if big else 110)))
    fig.update_layout(margin={"l": 5, "r": 5, "t": 10, "b": 5})
    return fig


def fit_figure(data, results, run: str, seed: int, big: bool = False) -> go.Figure:
    """Regression: with one feature, the data and the run's fitted curve over the input range;
    with more, predicted against actual target (original units) with the y = x line."""
    y_tr = np.asarray(data.y_train)[:, 0] * data.y_std + data.y_mean
    y_va = np.asarray(data.y_val)[:, 0] * data.y_std + data.y_mean if len(data.y_val) else []
    fig = go.Figure()
    with np.errstate(all="ignore"):
        if data.n_features == 1:
            x_tr = data.X_train[:, 0] * data.std[0] + data.mean[0]
            x_va = data.X_val[:, 0] * data.std[0] + data.mean[0] if len(data.X_val) else []
            X = np.concatenate([data.X_train, data.X_val])
            xs = np.linspace(X.min(), X.max(), 200)[:, None]
            curve = predict(results, run, seed, xs)
            fig.add_trace(_points(x_tr, y_tr, "train", "circle"))
            if len(x_va):
                fig.add_trace(_points(x_va, y_va, "val", "circle-open"))
            fig.add_trace(
                go.Scatter(
                    x=xs[:, 0] * data.std[0] + data.mean[0],
                    y=curve,
                    mode="lines",
                    name=f"{run} (final weights)",
                    line={"color": PALETTE[3], "width": 3},
                )
            )
            fig.update_layout(xaxis_title=data.feature_names[0], yaxis_title="target")
        else:
            p_tr = predict(results, run, seed, data.X_train)
            fig.add_trace(_points(y_tr, p_tr, "train", "circle"))
            if len(y_va):
                p_va = predict(results, run, seed, data.X_val)
                fig.add_trace(_points(y_va, p_va, "val", "circle-open"))
            ends = np.concatenate([y_tr, np.asarray(y_va, dtype=float)])
            lo, hi = float(np.nanmin(ends)), float(np.nanmax(ends))
            fig.add_trace(
                go.Scatter(
                    x=[lo, hi],
                    y=[lo, hi],
                    mode="lines",
                    name="y = x (perfect)",
                    line={"color": "#555", "dash": "dash"},
                )
            )
            fig.update_layout(xaxis_title="actual target", yaxis_title="predicted")
    return apply_style(fig, big, height=460)


def _points(x, y, name: str, symbol: str) -> go.Scattergl:
    color = PALETTE[0] if name == "train" else PALETTE[1]
    return go.Scattergl(
        x=x, y=y, mode="markers", name=name, marker={"symbol": symbol, "color": color, "size": 6}
    )
