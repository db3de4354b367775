"""The dataset as the network sees it: standardised features, train and validation splits."""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from nn_core.datasets import Dataset

from .style import PALETTE, apply_style, class_color


def frame(data: Dataset) -> pd.DataFrame:
    """Both splits as one table: standardised features, target, split."""
    parts = []
    for split, X, y in (("train", data.X_train, data.y_train), ("val", data.X_val, data.y_val)):
        d = pd.DataFrame(X, columns=list(data.feature_names))
        if data.task == "regression":
            d["target"] = y[:, 0]
        else:
            labels = y.ravel().astype(int)
            names = data.class_names or tuple(str(i) for i in range(data.n_classes))
            d["target"] = [names[i] for i in labels]
        d["split"] = split
        parts.append(d)
    return pd.concat(parts, ignore_index=True)


def scatter(data: Dataset, big: bool = False) -> go.Figure:
    """2-D scatter coloured by class (or target value), validation points hollow."""
    d = frame(data)
    fig = go.Figure()
    fx, fy = data.feature_names[:2] if data.n_features >= 2 else (data.feature_names[0], None)
    if data.task == "regression":
        for split, symbol in (("train", "circle"), ("val", "circle-open")):
            s = d[d["split"] == split]
            x, y = (s[fx], s[fy]) if fy else (s[fx], s["target"])
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=y,
                    mode="markers",
                    name=split,
                    marker={"symbol": symbol, "color": PALETTE[0]},
                )
            )
        fig.update_layout(xaxis_title=fx, yaxis_title=fy or "target")
    else:
        # By class index, as the decision boundaries do: class k has one colour everywhere.
        names = data.class_names or tuple(str(i) for i in range(data.n_classes))
        for i, cls in enumerate(names):
            for split, symbol in (("train", "circle"), ("val", "circle-open")):
                s = d[(d["target"] == cls) & (d["split"] == split)]
                fig.add_trace(
                    go.Scatter(
                        x=s[fx],
                        y=s[fy],
                        mode="markers",
                        name=f"class {cls} ({split})",
                        legendgroup=f"class{i}",
                        marker={"symbol": symbol, "color": class_color(i), "size": 7},
                    )
                )
        fig.update_layout(xaxis_title=f"{fx} (standardised)", yaxis_title=f"{fy} (standardised)")
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return apply_style(fig, big, height=560)


# The preview draws at most this many points (an even subsample of larger sets), so the picture
# stays a few tens of kilobytes for any dataset.
PREVIEW_POINTS = 1200


def preview_points(data: Dataset) -> dict[str, np.ndarray]:
    """What the preview draws: x and y (the first two standardised features, or the first
    feature and the target when there is one feature), split (1 = validation), and the class
    index (0 for regression); an even subsample when there are more than PREVIEW_POINTS."""
    X = np.concatenate([data.X_train, data.X_val])
    y = np.concatenate([data.y_train, data.y_val])
    split = np.r_[np.zeros(len(data.X_train), int), np.ones(len(data.X_val), int)]
    second = X[:, 1] if data.n_features >= 2 else y.reshape(len(y), -1)[:, 0]
    label = np.zeros(len(X), int) if data.task == "regression" else y.ravel().astype(int)
    keep = np.unique(np.linspace(0, len(X) - 1, min(len(X), PREVIEW_POINTS)).astype(int))
    return {"x": X[keep, 0], "y": second[keep], "split": split[keep], "label": label[keep]}


def preview_svg(data: Dataset, size: int = 340) -> str:
    """The data as a small SVG picture, drawn without a charting library: the scatter's view
    (one colour per class as everywhere in the lab, validation points hollow, equal axes).
    It is what the first page shows before anything has run, where loading Plotly in the
    browser made the first load 0.7 s slower."""
    pts = preview_points(data)
    pad, top = 34, 26
    lo = np.array([pts["x"].min(), pts["y"].min()])
    hi = np.array([pts["x"].max(), pts["y"].max()])
    span = float(max((hi - lo).max(), 1e-9))
    mid = (lo + hi) / 2
    inner = size - 2 * pad

    def at(v: np.ndarray, axis: int) -> np.ndarray:
        scaled = (v - mid[axis]) / span * inner + size / 2
        return scaled if axis == 0 else size + top - scaled

    cx, cy = at(pts["x"], 0), at(pts["y"], 1)
    dots = []
    for x, y, val, k in zip(cx, cy, pts["split"], pts["label"], strict=True):
        colour = PALETTE[0] if data.task == "regression" else class_color(k)
        paint = f'fill="none" stroke="{colour}"' if val else f'fill="{colour}"'
        dots.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.6" {paint}/>')
    fx = data.feature_names[0]
    fy = data.feature_names[1] if data.n_features >= 2 else "target"
    names = data.class_names or tuple(f"class {i}" for i in range(data.n_classes))
    legend = [] if data.task == "regression" else [
        f'<circle cx="{pad + 8 + 72 * i}" cy="12" r="4" fill="{class_color(i)}"/>'
        f'<text x="{pad + 16 + 72 * i}" y="16">{escape(str(name)[:9])}</text>'
        for i, name in enumerate(names[:4])
    ] + ([f'<text x="{pad + 8 + 72 * 4}" y="16">…</text>'] if len(names) > 4 else [])  # fmt: skip
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size + top}" '
        f'viewBox="0 0 {size} {size + top}" font-family="sans-serif" font-size="11" '
        f'fill="#444" role="img" aria-label="{escape(data.name)}: {len(cx)} points">'
        f'<rect x="{pad / 2}" y="{top + pad / 2}" width="{size - pad}" height="{size - pad}" '
        f'fill="none" stroke="#ddd"/>{"".join(legend)}{"".join(dots)}'
        f'<text x="{size / 2}" y="{size + top - 4}" text-anchor="middle">{escape(fx)}</text>'
        f'<text x="10" y="{top + size / 2}" text-anchor="middle" '
        f'transform="rotate(-90 10 {top + size / 2})">{escape(fy)}</text></svg>'
    )


def class_balance(data: Dataset) -> pd.DataFrame:
    """Rows per class in each split."""
    d = frame(data)
    table = d.groupby(["target", "split"]).size().unstack(fill_value=0)
    table["share"] = table.sum(axis=1) / table.to_numpy().sum()
    return table.reset_index()


def summary_stats(data: Dataset) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "feature": list(data.feature_names),
            "train mean (raw)": np.asarray(data.mean),
            "train std (raw)": np.asarray(data.std),
        }
    )
