"""The dataset as the network sees it: standardised features, train and validation splits."""

from __future__ import annotations

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
