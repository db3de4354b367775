"""Per-layer gradient statistics, computed for all layers at once from the flat buffers.

For each dense layer l (hidden layers and the output layer), from the weight gradient ∂L/∂Wₗ:

- ``grad_norm``      ‖∂L/∂Wₗ‖₂ (Frobenius)
- ``grad_mean_abs``  mean |g|;  ``grad_max_abs`` max |g|
- ``weight_norm``    ‖Wₗ‖₂ after the step
- ``update_ratio``   ‖ΔWₗ‖₂ / ‖Wₗ‖₂ for the step that used this gradient
- a histogram of log10|g| on the fixed bins ``HIST_EDGES`` (shared by every run and epoch, so
  histograms are comparable); values below the first edge (including exact zeros, as dead ReLUs
  give) fall in the first bin and values above the last edge in the last bin.

Biases and PReLU slopes are trained but not part of these statistics. Everything is computed with
segmented reductions (``np.add.reduceat``) and one ``np.bincount`` with per-run and per-layer
offsets, so the cost grows neither with the number of layers nor, in lockstep, with the number of
Python-level runs: :meth:`LayerStats.compute_many` records every run of a group in one call.
"""

from __future__ import annotations

import numpy as np

from .network import Layout

HIST_LOW = -24.0
HIST_HIGH = 6.0
HIST_WIDTH = 0.5
N_BINS = round((HIST_HIGH - HIST_LOW) / HIST_WIDTH)
HIST_EDGES = np.linspace(HIST_LOW, HIST_HIGH, N_BINS + 1)


class LayerStats:
    """Precomputed segment indices for one :class:`Layout`."""

    def __init__(self, layout: Layout):
        starts, is_w = layout.segments()
        self.starts = starts
        self.w_seg = np.flatnonzero(is_w)
        self.n_layers = len(layout.w_slices)
        self.w_sizes = np.array([s.stop - s.start for s in layout.w_slices], dtype=float)
        # Histogram bucket offset of each parameter: layer·N_BINS for weights, a discard bucket
        # (n_layers·N_BINS) for biases and slopes.
        self.offset = np.full(layout.size, self.n_layers * N_BINS, dtype=np.intp)
        for layer, s in enumerate(layout.w_slices):
            self.offset[s] = layer * N_BINS

    def compute(self, grads: np.ndarray, params: np.ndarray, before: np.ndarray) -> dict:
        """Statistics per layer (arrays of length n_layers) and ``hist`` (n_layers, N_BINS)."""
        many = self.compute_many(grads[None], params[None], before[None])
        return {key: value[0] for key, value in many.items()}

    def compute_many(self, grads: np.ndarray, params: np.ndarray, before: np.ndarray) -> dict:
        """The statistics of R runs at once from (R, P) buffers: each value gains a leading run
        axis — (R, n_layers) per statistic, ``hist`` (R, n_layers, N_BINS).

        Every reduction runs along each row (``reduceat`` on axis 1), so a run's figures do not
        depend on the other rows: :meth:`compute` is this with R = 1, and a run recorded in
        lockstep gets exactly the figures it gets alone. The histograms of all runs and layers
        come from one ``np.bincount`` with per-run and per-layer offsets.
        """
        n_runs = len(grads)
        per_run = (self.n_layers + 1) * N_BINS
        with np.errstate(all="ignore"):
            absg = np.abs(grads)
            sq = np.add.reduceat(absg * absg, self.starts, axis=1)[:, self.w_seg]
            s_abs = np.add.reduceat(absg, self.starts, axis=1)[:, self.w_seg]
            mx = np.maximum.reduceat(absg, self.starts, axis=1)[:, self.w_seg]
            w2 = np.add.reduceat(params * params, self.starts, axis=1)[:, self.w_seg]
            d = params - before
            d2 = np.add.reduceat(d * d, self.starts, axis=1)[:, self.w_seg]
            weight_norm = np.sqrt(w2)
            ratio = np.sqrt(d2) / weight_norm
            np.log10(absg, out=absg)
            absg -= HIST_LOW
            absg /= HIST_WIDTH
            # fmax/fmin drop NaN: log10(0) = -inf and NaN land in the first bin, +inf in the last
            np.fmax(absg, 0, out=absg)
            np.fmin(absg, N_BINS - 1, out=absg)
            idx = absg.astype(np.intp)
        idx += self.offset
        idx += (per_run * np.arange(n_runs, dtype=np.intp))[:, None]
        counts = np.bincount(idx.ravel(), minlength=n_runs * per_run)
        hist = counts.reshape(n_runs, self.n_layers + 1, N_BINS)[:, : self.n_layers]
        return {
            "grad_norm": np.sqrt(sq),
            "grad_mean_abs": s_abs / self.w_sizes,
            "grad_max_abs": mx,
            "weight_norm": weight_norm,
            "update_ratio": ratio,
            "hist": hist,
        }
