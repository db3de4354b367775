"""The network on screen: every layer and unit, edges drawn by weight, units coloured by the
gradient reaching them, animated over the recorded epochs; and, for 2-D data, every unit's output
over the input plane as a small heat map (as TensorFlow Playground shows them).

:func:`network_view` computes every number the diagram draws (tested); :func:`network_figure`
only lays them out. Wide layers are summarised: the first ``max_units − 1`` units are drawn and
one square "+N more" node stands for the rest, coloured by their RMS gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from nn_core import unitgrads
from nn_core.losses import predict_proba

from .style import apply_style, play_buttons

MAX_UNITS = 16  # units drawn per layer; a wider layer shows MAX_UNITS − 1 and "+N more"
MAX_FRAMES = 20  # animation frames (evenly spaced snapshot epochs, first and last included)
DECADES = 10  # the colour range spans at most this many decades below the largest value
N_EDGE_TRACES = 9  # zero weights, then 4 widths of positive and of negative weights
POSITIVE, NEGATIVE = "#0072B2", "#D55E00"  # edge colours by the weight's sign
EDGE_BINS = (0.35, 0.65, 0.9)  # |w| / scale thresholds between the four edge widths
EDGE_WIDTHS = (0.4, 0.9, 1.8, 3.2)
EDGE_OPACITY = (0.12, 0.3, 0.55, 0.85)
# Faint for a vanishing gradient, deep red for an exploding one: fading and glare read at once.
GRAD_SCALE = [
    [0.0, "#f4f4f4"],
    [0.35, "#fdd49e"],
    [0.6, "#fc8d59"],
    [0.8, "#d7301f"],
    [1.0, "#5f0000"],
]
UNIT_SCALE = "RdBu"


@dataclass(frozen=True)
class LayerView:
    """One layer of the diagram. ``shown`` are the unit indices drawn; ``more`` how many are
    summarised; ``values`` (F, len(shown)) the gradient magnitudes gₗⱼ (NaN for the inputs) and
    ``more_values`` (F,) the RMS of the summarised units' gₗⱼ (None when nothing is)."""

    name: str
    width: int
    shown: np.ndarray
    more: int
    values: np.ndarray
    more_values: np.ndarray | None
    labels: tuple[str, ...]


@dataclass(frozen=True)
class NetworkView:
    """What the diagram draws for one run and seed: frames at ``epochs`` (F,), ``layers``
    (input, hidden…, output), ``weights[l]`` (F, shown in, shown out) between layers l and l+1,
    the fixed log10 colour range ``log_range`` and the edge scale ``w_scale`` (shared by every
    frame, so a fading gradient or a growing weight is seen as such), and the mean training loss
    per frame."""

    epochs: np.ndarray
    layers: list[LayerView]
    weights: list[np.ndarray]
    log_range: tuple[float, float]
    w_scale: float
    loss: np.ndarray
    rows: int


def frame_indices(n: int, max_frames: int = MAX_FRAMES) -> np.ndarray:
    """At most ``max_frames`` indices into n snapshots, evenly spaced, first and last kept."""
    if n <= max_frames:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_frames).round().astype(int))


def shown_units(width: int, max_units: int = MAX_UNITS) -> np.ndarray:
    """Indices of the units drawn for a layer of ``width`` units."""
    return np.arange(width if width <= max_units else max_units - 1)


def log_range(values: list[np.ndarray], decades: int = DECADES) -> tuple[float, float]:
    """(lo, hi) of log10 over the positive finite values, whole decades, at most ``decades``
    apart; (−1, 0) when there are none (all-zero gradients)."""
    flat = np.concatenate([np.ravel(v) for v in values]) if values else np.array([])
    pos = flat[np.isfinite(flat) & (flat > 0)]
    if not pos.size:
        return -1.0, 0.0
    hi = int(np.ceil(np.log10(pos.max())))
    lo = max(int(np.floor(np.log10(pos.min()))), hi - decades)
    return float(lo), float(max(hi, lo + 1))


def network_view(
    results, run: str, seed: int, max_units: int = MAX_UNITS, max_frames: int = MAX_FRAMES
) -> NetworkView:
    """The diagram's numbers for ``run`` and ``seed``: per-unit gradient magnitudes recomputed
    from the weight snapshots on the training data (:mod:`nn_core.unitgrads`)."""
    epochs, thetas = results.snapshots[(run, seed)]
    idx = frame_indices(len(epochs), max_frames)
    data, arch = results.data, results.arch
    ug = unitgrads.unit_gradients(arch, epochs[idx], thetas[idx], data.X_train, data.y_train)
    acts = unitgrads.activation_names(arch)
    n_frames = len(idx)
    layers = []
    for layer, width in enumerate(arch.sizes):
        shown = shown_units(width, max_units)
        more = width - len(shown)
        if layer == 0:
            values = np.full((n_frames, len(shown)), np.nan)
            more_values = None
            labels = tuple(data.feature_names[i] for i in shown)
            name = f"input · {width}"
        else:
            g = ug.grads[layer - 1]
            values = g[:, shown]
            more_values = np.sqrt(np.mean(g[:, len(shown) :] ** 2, axis=1)) if more else None
            if layer == len(arch.sizes) - 1:
                name = f"output · {width}"
                names = data.class_names or tuple(str(i) for i in range(data.n_classes))
                if data.task == "multiclass":
                    labels = tuple(f"class {names[i]}" for i in shown)
                elif data.task == "binary":
                    labels = (f"P(class {names[1] if len(names) > 1 else 1})",)
                else:
                    labels = ("prediction",)
            else:
                name = f"{acts[layer - 1]} · {width}"
                labels = tuple(f"unit {i + 1}" for i in shown)
        layers.append(LayerView(name, width, shown, more, values, more_values, labels))
    weights = [w[:, layers[i].shown][:, :, layers[i + 1].shown] for i, w in enumerate(ug.weights)]
    drawn = [lv.values for lv in layers[1:]] + [
        lv.more_values for lv in layers if lv.more_values is not None
    ]
    absw = np.concatenate([np.abs(w).ravel() for w in weights])
    absw = absw[np.isfinite(absw)]
    scale = float(np.percentile(absw, 99)) if absw.size else 0.0
    return NetworkView(
        epochs=np.asarray(epochs)[idx],
        layers=layers,
        weights=weights,
        log_range=log_range(drawn),
        w_scale=scale,
        loss=ug.loss,
        rows=ug.rows,
    )


def layer_rms(lv: LayerView) -> np.ndarray:
    """RMS over all the layer's units of gₗⱼ per frame (F,), the summarised units included."""
    total = np.sum(lv.values**2, axis=1)
    if lv.more:
        total = total + lv.more * lv.more_values**2
    return np.sqrt(total / lv.width)


def depth_ratio(view: NetworkView, frame: int = -1) -> float | None:
    """First hidden layer's RMS unit gradient over the last hidden layer's at ``frame``: ≪ 1
    when gradients vanish toward the input, ≫ 1 when they explode; None with < 2 hidden layers."""
    hidden = view.layers[1:-1]
    if len(hidden) < 2:
        return None
    first, last = layer_rms(hidden[0])[frame], layer_rms(hidden[-1])[frame]
    with np.errstate(all="ignore"):
        return float(first / last) if last > 0 else (0.0 if first == 0 else float("inf"))


def _slots(n: int) -> np.ndarray:
    """Vertical positions of n nodes, centred on 0, one unit apart (first unit on top)."""
    return (n - 1) / 2 - np.arange(n, dtype=float)


def _positions(view: NetworkView) -> list[np.ndarray]:
    return [_slots(len(lv.shown) + (1 if lv.more else 0)) for lv in view.layers]


def edge_bins(w: np.ndarray, scale: float) -> np.ndarray:
    """Bin of each weight: −1 for exactly zero, 0..3 by |w| / scale (EDGE_BINS), and −2 (not
    drawn) for a non-finite weight of a diverged run."""
    with np.errstate(invalid="ignore"):
        rel = np.abs(w) / scale if scale > 0 else np.zeros_like(w)
    out = np.digitize(rel, EDGE_BINS)
    return np.where(~np.isfinite(w), -2, np.where(w == 0, -1, out))


def _edge_traces(view: NetworkView, frame: int, ys: list[np.ndarray]) -> list[dict]:
    """Nine line traces: zero weights, then positive and negative weights in four widths."""
    segs: dict[tuple[int, int], list[np.ndarray]] = {}
    for layer, w in enumerate(view.weights):
        wf = w[frame]
        bins = edge_bins(wf, view.w_scale)
        sign = np.where(wf < 0, 1, 0)
        y0, y1 = ys[layer][: wf.shape[0]], ys[layer + 1][: wf.shape[1]]
        i, j = np.indices(wf.shape)
        for key in {(int(b), int(s)) for b, s in zip(bins.ravel(), sign.ravel(), strict=True)}:
            if key[0] == -2:
                continue
            m = (bins == key[0]) & (sign == key[1])
            k = int(m.sum())
            # Each edge is (x0, x1, gap). The gap is a NaN in y alone, so x can travel as one
            # byte per point: the frames of a deep net's edges are most of the page's payload.
            x = np.empty((k, 3), dtype=np.uint16 if layer > 250 else np.uint8)
            x[:, 0], x[:, 1], x[:, 2] = layer, layer + 1, layer + 1
            y = np.empty((k, 3), dtype=np.float32)
            y[:, 0], y[:, 1], y[:, 2] = y0[i[m]], y1[j[m]], np.nan
            segs.setdefault(key, []).append((x.ravel(), y.ravel()))
    out = []
    keys = [(-1, 0)] + [(b, s) for s in (0, 1) for b in range(len(EDGE_WIDTHS))]
    for b, s in keys:
        parts = segs.get((b, s))
        if parts:
            x = np.concatenate([p[0] for p in parts])
            y = np.concatenate([p[1] for p in parts])
        else:
            x, y = np.zeros(1, np.uint8), np.full(1, np.nan, np.float32)
        zero = b < 0
        out.append(
            {
                "type": "scatter",
                "x": x,
                "y": y,
                "mode": "lines",
                "line": {
                    "color": "#9a9a9a" if zero else (NEGATIVE if s else POSITIVE),
                    "width": 0.6 if zero else EDGE_WIDTHS[b],
                    "dash": "dot" if zero else "solid",
                },
                "opacity": 0.5 if zero else EDGE_OPACITY[b],
                "hoverinfo": "skip",
                "showlegend": False,
            }
        )
    return out


def _node_trace(view: NetworkView, frame: int, ys: list[np.ndarray]) -> dict:
    """Every non-input unit (and "+N more" node) coloured by log10 of its gradient magnitude."""
    x, y, value, text, symbol = [], [], [], [], []
    for layer, lv in enumerate(view.layers[1:], start=1):
        vals = lv.values[frame]
        x += [layer] * len(vals)
        y += list(ys[layer][: len(vals)])
        value += list(vals)
        text += [f"{lv.name}, {label}" for label in lv.labels]
        symbol += ["circle"] * len(vals)
        if lv.more:
            x.append(layer)
            y.append(ys[layer][-1])
            value.append(lv.more_values[frame])
            text.append(f"{lv.name}, RMS of {lv.more} more units")
            symbol.append("square")
    v = np.asarray(value, dtype=float)
    lo, hi = view.log_range
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.clip(np.log10(v), lo, hi)  # zero → the bottom of the range (drawn faint)
    c = np.where(np.isnan(v), np.nan, np.where(v == 0, lo, c)).astype(np.float32)
    return {
        "type": "scatter",
        "x": np.asarray(x, dtype=np.float32),
        "y": np.asarray(y, dtype=np.float32),
        "mode": "markers",
        "marker": {
            "size": 17,
            "color": c,
            "cmin": lo,
            "cmax": hi,
            "colorscale": GRAD_SCALE,
            "symbol": symbol,
            "line": {"width": 1, "color": "#555"},
            "colorbar": {
                "title": {"text": "RMS |∂ℓ/∂z|", "side": "right"},
                "tickvals": list(range(int(lo), int(hi) + 1)),
                "ticktext": [f"1e{t}" for t in range(int(lo), int(hi) + 1)],
                "len": 0.8,
            },
        },
        "customdata": v,  # float64: a diverged run's gradients overflow float32
        "text": text,
        "hovertemplate": "%{text}<br>RMS |∂ℓ/∂z| = %{customdata:.3g}<extra></extra>",
        "showlegend": False,
    }


def _rms_trace(view: NetworkView, frame: int, y: float) -> dict:
    """Each layer's RMS unit gradient (all its units) as text under the layer."""
    x = list(range(1, len(view.layers)))
    text = [f"{layer_rms(lv)[frame]:.1e}" for lv in view.layers[1:]]
    return {
        "type": "scatter",
        "x": x,
        "y": [y] * len(x),
        "mode": "text",
        "text": text,
        "textfont": {"color": "#444"},
        "hoverinfo": "skip",
        "showlegend": False,
        "cliponaxis": False,
    }


def _title(view: NetworkView, frame: int) -> str:
    return f"epoch {int(view.epochs[frame])} · training loss {view.loss[frame]:.4g}"


def network_figure(view: NetworkView, big: bool = False, height: int | None = None) -> go.Figure:
    """The animated diagram: one frame per epoch of ``view``, play/pause and an epoch slider."""
    ys = _positions(view)
    last = len(view.epochs) - 1

    rms_y = (max(len(y) for y in ys) - 1) / 2 + 1.0  # a row above the top units

    def traces(frame: int) -> list[dict]:
        return [
            *_edge_traces(view, frame, ys),
            _rms_trace(view, frame, rms_y),
            _node_trace(view, frame, ys),
        ]

    def changes(frame: int) -> list[dict]:
        # A frame is merged into the traces it animates: send only what changes per epoch
        # (positions of the binned edges, layer figures, node colours), not styles again.
        edges = [{"x": t["x"], "y": t["y"]} for t in _edge_traces(view, frame, ys)]
        rms = {"text": _rms_trace(view, frame, rms_y)["text"]}
        node = _node_trace(view, frame, ys)
        colours = {"marker": {"color": node["marker"]["color"]}, "customdata": node["customdata"]}
        return [*edges, rms, colours]

    static = []
    inputs = view.layers[0]
    static.append(
        {
            "type": "scatter",
            "x": np.zeros(len(inputs.shown)),
            "y": ys[0][: len(inputs.shown)],
            "mode": "markers+text",
            "marker": {"size": 15, "color": "#dddddd", "line": {"width": 1, "color": "#555"}},
            "text": list(inputs.labels),
            "textposition": "middle left",
            "hoverinfo": "text",
            "showlegend": False,
            "cliponaxis": False,
        }
    )
    more_x, more_y, more_t = [0], [rms_y], ["layer RMS"]
    for layer, lv in enumerate(view.layers):
        if lv.more:
            more_x.append(layer)
            more_y.append(ys[layer][-1] - 0.55)
            more_t.append(f"+{lv.more} more")
    out_layer = view.layers[-1]
    static.append(
        {
            "type": "scatter",
            "x": [*more_x, *[len(view.layers) - 1] * len(out_layer.shown)],
            "y": [*more_y, *ys[-1][: len(out_layer.shown)]],
            "mode": "text",
            "text": [*more_t, *[f"     {t}" for t in out_layer.labels]],
            "textposition": ["middle center"]
            + ["bottom center"] * (len(more_t) - 1)
            + ["middle right"] * len(out_layer.shown),
            "hoverinfo": "skip",
            "showlegend": False,
            "cliponaxis": False,
        }
    )
    frames = [
        {"data": changes(f), "name": str(int(e)), "layout": {"title": {"text": _title(view, f)}}}
        for f, e in enumerate(view.epochs)
    ]
    fig = go.Figure(data=[*traces(last), *static], frames=frames, _validate=False)
    n_slots = max(len(y) for y in ys)
    n_layers = len(view.layers)
    fig.update_layout(
        title={"text": _title(view, last)},
        xaxis={
            "tickvals": list(range(n_layers)),
            "ticktext": [lv.name for lv in view.layers],
            "range": [-0.9, n_layers - 0.1],
            "showgrid": False,
            "zeroline": False,
            "side": "top",
        },
        yaxis={
            "range": [-(n_slots + 1) / 2 - 0.5, (n_slots + 1) / 2 + 0.9],
            "visible": False,
        },
        updatemenus=[play_buttons(-0.02, 350, "top")],
        sliders=[_slider(view.epochs, last)],
        hovermode="closest",
    )
    # Not apply_style's big mode: it thickens every line, which would erase the edge widths.
    apply_style(fig, False, height=height or int(min(600, max(380, 24 * n_slots + 170))))
    fig.update_layout(margin={"l": 10, "r": 10, "t": 90, "b": 10})
    if big:
        fig.update_layout(font={"size": 20})
    return fig


def _slider(epochs: np.ndarray, active: int) -> dict:
    return {
        "active": active,
        "x": 0.16,
        "len": 0.84,
        "y": -0.02,
        "yanchor": "top",
        "currentvalue": {"prefix": "epoch "},
        "steps": [
            {
                "label": str(int(e)),
                "method": "animate",
                "args": [
                    [str(int(e))],
                    {"frame": {"duration": 0, "redraw": True}, "mode": "immediate"},
                ],
            }
            for e in epochs
        ],
    }


# --- unit outputs over the input plane (2-D data) ------------------------------------------------


@dataclass(frozen=True)
class UnitMaps:
    """Every drawn unit's output over the input plane, as one mosaic image.

    ``mosaic`` is (rows·(grid+gap), cols·(grid+gap)) with NaN gaps; row r holds layer r's units
    (hidden layers, then the output), each scaled to [−1, 1] (hidden: by the layer's largest
    |h| on the plane, so units of a layer compare; output: 2p − 1 for class probabilities p, so
    white is the decision boundary). ``maps[r]`` (units, grid, grid) are the same values
    unpadded; ``names``/``more`` label the rows."""

    mosaic: np.ndarray
    maps: list[np.ndarray]
    names: list[str]
    more: list[int]
    grid: int
    gap: int
    extent: tuple[float, float, float, float]


def unit_maps(
    results,
    run: str,
    seed: int,
    frame: int = -1,
    grid: int = 24,
    max_units: int | None = None,
    gap: int = 4,
) -> UnitMaps:
    """Unit outputs of ``run``/``seed`` at snapshot ``frame`` (an index into its snapshots) over
    a grid×grid patch of the standardised input plane covering the data; at most ``max_units``
    per layer (default: 16 for up to three hidden layers, else 8)."""
    data, arch = results.data, results.arch
    theta = results.snapshots[(run, seed)][1][frame]
    X = np.concatenate([data.X_train, data.X_val])
    lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    xs, ys = np.linspace(lo[0], hi[0], grid), np.linspace(lo[1], hi[1], grid)
    gx, gy = np.meshgrid(xs, ys)
    outs = unitgrads.unit_outputs(arch, theta, np.column_stack([gx.ravel(), gy.ravel()]))
    if max_units is None:  # a shallow net shows as many maps as the diagram shows units
        max_units = MAX_UNITS if len(outs) <= 4 else 8
    acts = unitgrads.activation_names(arch)
    maps, names, more = [], [], []
    for layer, h in enumerate(outs):
        output = layer == len(outs) - 1
        with np.errstate(all="ignore"):  # a diverged run's outputs are drawn as they are
            if output and data.task != "regression":
                p = predict_proba(data.task, h)
                p = p[:, None] if p.ndim == 1 else p
                v = 2 * p - 1
            else:
                finite = np.abs(h[np.isfinite(h)])
                m = float(finite.max()) if finite.size else 0.0
                v = h / m if m > 0 else np.zeros_like(h)
        n_show = min(v.shape[1], max_units)
        maps.append(v[:, :n_show].T.reshape(n_show, grid, grid))
        names.append("output" if output else f"layer {layer + 1} · {acts[layer]}")
        more.append(v.shape[1] - n_show)
    cols = max(m.shape[0] for m in maps)
    cell = grid + gap
    mosaic = np.full((len(maps) * cell - gap, cols * cell - gap), np.nan, dtype=np.float32)
    for r, m in enumerate(maps):
        for c in range(m.shape[0]):
            mosaic[r * cell : r * cell + grid, c * cell : c * cell + grid] = m[c]
    return UnitMaps(mosaic, maps, names, more, grid, gap, (lo[0], hi[0], lo[1], hi[1]))


def unit_maps_figure(um: UnitMaps, big: bool = False) -> go.Figure:
    """The mosaic: one small heat map per unit, one row per layer (first hidden layer on top)."""
    cell = um.grid + um.gap
    rows = len(um.maps)
    # Image rows are drawn bottom-up: flip each patch so the input plane's y axis points up,
    # and put the first layer in the top row.
    z = np.full_like(um.mosaic, np.nan)
    for r, m in enumerate(um.maps):
        top = (rows - 1 - r) * cell
        for c in range(m.shape[0]):
            z[top : top + um.grid, c * cell : c * cell + um.grid] = m[c]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            zmin=-1,
            zmax=1,
            colorscale=UNIT_SCALE,
            colorbar={"title": {"text": "output (scaled)", "side": "right"}, "len": 0.9},
            hoverinfo="skip",
        )
    )
    for r, name in enumerate(um.names):
        label = name + (f" (+{um.more[r]} more)" if um.more[r] else "")
        fig.add_annotation(
            x=-1,
            y=(rows - 1 - r) * cell + um.grid / 2,
            text=label,
            xanchor="right",
            showarrow=False,
        )
    fig.update_xaxes(visible=False, range=[-0.5, z.shape[1] - 0.5])
    fig.update_yaxes(visible=False, scaleanchor="x", range=[-0.5, z.shape[0] - 0.5])
    height = int(min(900, 70 + rows * 62)) if not big else int(min(1000, 90 + rows * 80))
    apply_style(fig, big, height=height)
    fig.update_layout(margin={"l": 170, "r": 10, "t": 10, "b": 10})
    return fig


__all__ = [
    "MAX_UNITS",
    "NetworkView",
    "UnitMaps",
    "network_figure",
    "network_view",
    "unit_maps",
    "unit_maps_figure",
]
