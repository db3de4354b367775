"""The PyTorch reference: the same training as one run of :func:`nn_core.train.train_group`.

"The same training" means, for one (run, seed):

- the same network: ``nn.Sequential`` of ``nn.Linear`` layers and the configured activations,
  with weights and biases copied from nn_core's θ₀ (nn_core stores W as (fan_in, fan_out), so a
  torch ``Linear.weight`` is ``W.T``);
- the same mini-batches: per epoch ``np.random.default_rng([seed, 1, batch]).permutation(n)``
  when the batch is smaller than the training set, the natural order for full batch, and a short
  last batch when the batch size does not divide n;
- the same loss (BCE-with-logits, softmax cross-entropy or MSE, batch means, plus ½λ‖W‖² when the
  network has an L2 penalty), the same gradient clipping, and ``torch.optim`` with the rule's
  torch name and exactly the hyperparameters nn_core resolved (its defaults are torch's);
- the same unavoidable bookkeeping as nn_core's leanest recording setting: the loss is read every
  step (nn_core checks it for divergence), and after every epoch the train and validation loss and
  score are evaluated and the parameters checked for finiteness.

What nn_core records *beyond* that (gradient statistics, histograms, snapshots, per-step losses)
has no counterpart here; its cost is measured separately as the recording overhead.

Importing this module needs torch; :mod:`benchmarks.__main__` imports it inside a ``try``.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from nn_core.config import ExperimentConfig, RunConfig
from nn_core.datasets import Dataset
from nn_core.network import Architecture, Layout
from nn_core.optimizers import RULES
from nn_core.train import batch_size_of, build_architecture, initial_params

# nn_core activation name -> torch module factory (the functional conventions match, REFERENCE.md)
ACTIVATIONS = {
    "linear": nn.Identity,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.01),
    "elu": nn.ELU,
    "swish": nn.SiLU,
    "gelu": nn.GELU,
    "gelu_tanh": lambda: nn.GELU(approximate="tanh"),
    "selu": nn.SELU,
}

DTYPES = {"float64": torch.float64, "float32": torch.float32}


def version() -> str:
    return torch.__version__


def set_threads(n: int) -> None:
    """Intra-op threads for the torch runs that follow (a process-wide torch setting)."""
    torch.set_num_threads(n)


def get_threads() -> int:
    return torch.get_num_threads()


def build_model(arch: Architecture, theta0: np.ndarray, dtype: torch.dtype) -> nn.Sequential:
    """``nn.Sequential`` with nn_core's architecture, its weights and biases copied from θ₀."""
    if arch.dropout:
        raise NotImplementedError("the torch reference does not reproduce dropout masks")
    unsupported = [a for a in arch.activations if a not in ACTIVATIONS]
    if unsupported:
        raise NotImplementedError(f"no torch reference for activations {unsupported}")
    layout = Layout.of(arch)
    layers: list[nn.Module] = []
    for layer, (fan_in, fan_out) in enumerate(layout.w_shapes):
        lin = nn.Linear(fan_in, fan_out, dtype=dtype)
        with torch.no_grad():
            w = theta0[layout.w_slices[layer]].reshape(fan_in, fan_out).T
            lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
            lin.bias.copy_(torch.from_numpy(theta0[layout.b_slices[layer]]))
        layers.append(lin)
        if layer < len(arch.activations):
            layers.append(ACTIVATIONS[arch.activations[layer]]())
    return nn.Sequential(*layers)


def flat_params(model: nn.Sequential, arch: Architecture) -> np.ndarray:
    """The model's parameters in nn_core's flat layout, as float64."""
    layout = Layout.of(arch)
    theta = np.zeros(layout.size)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    for layer, lin in enumerate(linears):
        theta[layout.w_slices[layer]] = lin.weight.detach().double().numpy().T.ravel()
        theta[layout.b_slices[layer]] = lin.bias.detach().double().numpy()
    return theta


def make_optimizer(run: RunConfig, params) -> torch.optim.Optimizer:
    """``torch.optim`` as the rule's registry entry names it; nn_core's hyperparameters carry
    torch's names, so they pass straight through with the entry's fixed arguments."""
    mapping = RULES[run.optimizer].torch
    if mapping is None:
        raise NotImplementedError(f"torch.optim has no {RULES[run.optimizer].label}")
    return getattr(torch.optim, mapping.cls)(params, **mapping.kwargs(run.hyperparameters()))


def _targets(task: str, y: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(y))
    return t.long() if task == "multiclass" else t.to(dtype)


def _loss_fn(task: str):
    if task == "binary":
        return F.binary_cross_entropy_with_logits
    if task == "multiclass":
        return F.cross_entropy
    return F.mse_loss


def _score(task: str, z: torch.Tensor, y: torch.Tensor) -> float:
    if task == "binary":
        return ((z[:, 0] > 0) == (y[:, 0] > 0.5)).double().mean().item()
    if task == "multiclass":
        return (z.argmax(dim=1) == y).double().mean().item()
    ss_res = ((y - z) ** 2).sum().item()
    ss_tot = ((y - y.mean(dim=0)) ** 2).sum().item()
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else math.nan


def train(
    config: ExperimentConfig,
    run: RunConfig,
    seed: int,
    data: Dataset,
    arch: Architecture,
    theta0: np.ndarray,
    dtype: str = "float64",
) -> tuple[np.ndarray, float, int]:
    """Train one run like ``train_group`` does; return (final θ in nn_core's layout, seconds,
    steps).

    The clock covers what ``train_group``'s does: building the model and optimizer, the loop and
    the per-epoch evaluation; converting the data to tensors happens before it starts.
    """
    tdt = DTYPES[dtype]
    task = arch.task
    X = torch.from_numpy(np.ascontiguousarray(data.X_train)).to(tdt)
    y = _targets(task, data.y_train, tdt)
    Xv = torch.from_numpy(np.ascontiguousarray(data.X_val)).to(tdt)
    yv = _targets(task, data.y_val, tdt)
    theta = theta0.astype(np.float64)

    # torch keeps some optimizer state in its default dtype (NAdam's μ product, the step
    # counts): float32 unless told, which moved a float64 NAdam run by 1e-10 in ten steps. The
    # golden files are made the same way (tests/golden/make_golden.py).
    before = torch.get_default_dtype()
    torch.set_default_dtype(tdt)
    try:
        return _train(config, run, data, arch, theta, tdt, X, y, Xv, yv, seed)
    finally:
        torch.set_default_dtype(before)


def _train(config, run, data, arch, theta, tdt, X, y, Xv, yv, seed):
    task = arch.task
    n = len(X)
    bsize = batch_size_of(run, n)
    n_steps = math.ceil(n / bsize)
    order_rng = np.random.default_rng([seed, 1, bsize])
    loss_fn = _loss_fn(task)
    l2 = arch.l2
    clip = config.training.clip_norm
    start = time.perf_counter()
    model = build_model(arch, theta, tdt)
    params = list(model.parameters())
    weights = [m.weight for m in model if isinstance(m, nn.Linear)]
    opt = make_optimizer(run, params)

    def evaluate(Xs: torch.Tensor, ys: torch.Tensor) -> tuple[float, float]:
        z = model(Xs)
        return loss_fn(z, ys).item(), _score(task, z, ys)

    step = 0
    with torch.no_grad():
        evaluate(X, y)
        if len(Xv):
            evaluate(Xv, yv)
    for _epoch in range(config.training.epochs):
        if bsize < n:
            perm = torch.from_numpy(order_rng.permutation(n))
            Xe, ye = X[perm], y[perm]
        else:
            Xe, ye = X, y
        diverged = False
        for k in range(n_steps):
            lo = k * bsize
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xe[lo : lo + bsize]), ye[lo : lo + bsize])
            if l2:
                loss = loss + 0.5 * l2 * sum((w * w).sum() for w in weights)
            loss.backward()
            step += 1
            if not math.isfinite(loss.item()):
                diverged = True
                break
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(params, clip)
            opt.step()
        if diverged:
            break
        with torch.no_grad():
            train_loss, _ = evaluate(X, y)
            if len(Xv):
                evaluate(Xv, yv)
            finite = all(bool(torch.isfinite(p).all()) for p in params)
        if not (math.isfinite(train_loss) and finite):
            break
    seconds = time.perf_counter() - start
    return flat_params(model, arch), seconds, step


def train_comparison(
    config: ExperimentConfig, data: Dataset, dtype: str = "float64"
) -> tuple[list[np.ndarray], float, int]:
    """Every run of ``config`` for every seed on ``data``, like ``run_comparison``: the clock
    covers each seed's θ₀ too. Returns (final θ per (seed, run) in ``run_comparison``'s order,
    seconds, total steps)."""
    start = time.perf_counter()
    arch = build_architecture(config, data)
    thetas, steps = [], 0
    for seed in config.seeds:
        theta0 = initial_params(config, arch, seed)
        for run in config.runs:
            theta, _, n = train(config, run, seed, data, arch, theta0, dtype)
            thetas.append(theta)
            steps += n
    return thetas, time.perf_counter() - start, steps
