"""The GEMM-only floor: how long a workload's matrix products alone take on this machine.

Training an MLP is mostly matrix products; everything else (activations, the loss, the optimizer
update, Python) comes on top. The floor of a workload is the time its products would take if
nothing else ran: the FLOPs of every product divided by the rate this machine achieves on
products of exactly those sizes, measured here in the same process.

The products are the ones :class:`nn_core.network.Network` calls, on operands laid out as it
lays them out (parameter views into the (R, P) buffer, the shared input batch broadcast over the
runs), for

- one training step of the whole group: per layer the forward product Hₗ₋₁Wₗ, the weight
  gradient Hₗ₋₁ᵀΔₗ and, above the first layer, the backward product ΔₗWₗᵀ;
- one evaluation: the forward products of every run on the training and validation sets, which
  nn_core (and the torch reference) does after each epoch.

A single run is the case R = 1. ``floor = steps × step + evaluations × evaluation`` seconds.

With ``activations=True`` the element-wise work that every engine must do as well is timed the
same way, alone and at the same sizes: each hidden layer's activation f(z) on (R, B, nₗ) and its
derivative f'(z) as the backward pass computes it (from the output h where the activation allows,
tanh: 1 − h²), and f(z) of every evaluation forward pass. The loss, the optimizer update and
Python come on top of that floor.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass

import numpy as np

from nn_core.activations import ACTIVATIONS, PRELU_INIT
from nn_core.network import Architecture, Layout, Network
from nn_core.train import batch_size_of, build_architecture, plan_groups

# Each timing repeats the products until at least this long, and the median of ROUNDS is kept.
MIN_SECONDS = 0.02
ROUNDS = 5


@dataclass(frozen=True)
class Product:
    a: np.ndarray
    b: np.ndarray
    out: np.ndarray | None = None

    @property
    def flops(self) -> int:
        *_, m, k = self.a.shape
        n = self.b.shape[-1]
        batch = np.broadcast_shapes(self.a.shape[:-2], self.b.shape[:-2])  # a shared input
        return 2 * int(np.prod(batch, dtype=np.int64)) * m * k * n

    def __call__(self) -> None:
        np.matmul(self.a, self.b, out=self.out)


@dataclass(frozen=True)
class Elementwise:
    """One activation call, f(z) or f'(z), on an operand of the workload's size."""

    fn: object
    args: tuple  # (z,), (z, PReLU slope) or (h,) for a derivative taken from the output

    def __call__(self) -> None:
        self.fn(*self.args)


@dataclass(frozen=True)
class Floor:
    step_s: float  # the products of one training step of every run of the group
    eval_s: float  # the products of one evaluation (train and validation sets) of every run
    step_flops: int
    eval_flops: int
    step_act_s: float = 0.0  # activations and derivatives of one step (``activations=True``)
    eval_act_s: float = 0.0  # activations of one evaluation

    def seconds(self, steps: int, evaluations: int) -> float:
        return steps * self.step_s + evaluations * self.eval_s

    def act_seconds(self, steps: int, evaluations: int) -> float:
        return steps * self.step_act_s + evaluations * self.eval_act_s

    def gflops(self, steps: int, evaluations: int) -> float:
        """The measured product rate over the whole workload, in GFLOP/s."""
        flops = steps * self.step_flops + evaluations * self.eval_flops
        return flops / self.seconds(steps, evaluations) / 1e9


def step_products(
    arch: Architecture, runs: int, batch: int, shared_input: bool, rng
) -> list[Product]:
    """The products of one training step of ``runs`` networks: on one batch shared by all (the
    runs of one seed) or on a batch per run (several seeds draw different batches)."""
    params = rng.standard_normal((runs, Layout.of(arch).size)) * 0.1
    net = Network(arch, params, np.zeros_like(params))
    shape = (batch, arch.sizes[0]) if shared_input else (runs, batch, arch.sizes[0])
    cache = net.forward(rng.standard_normal(shape))
    out = []
    for layer in range(arch.n_layers):
        h = cache.inputs[layer]
        out.append(Product(h, net.W[layer]))
        delta = rng.standard_normal((runs, batch, arch.sizes[layer + 1]))
        if h.ndim == 2:
            h = np.broadcast_to(h, (runs, *h.shape))
        out.append(Product(h.transpose(0, 2, 1), delta, net.gW[layer]))
        if layer > 0:
            out.append(Product(delta, net.W[layer].transpose(0, 2, 1)))
    return out


def eval_products(arch: Architecture, runs: int, rows: list[int], rng) -> list[Product]:
    """The forward products of ``runs`` networks on data sets of ``rows`` rows each."""
    params = rng.standard_normal((runs, Layout.of(arch).size)) * 0.1
    net = Network(arch, params)
    out = []
    for n in rows:
        if n == 0:
            continue
        cache = net.forward(rng.standard_normal((n, arch.sizes[0])))
        out += [Product(h, w) for h, w in zip(cache.inputs, net.W, strict=True)]
    return out


def step_activations(arch: Architecture, runs: int, batch: int, rng) -> list[Elementwise]:
    """f(z) and f'(z) of every hidden layer for one training step of ``runs`` networks:
    operands (R, B, nₗ), the derivative as :meth:`nn_core.network.Network.backward` takes it."""
    out = []
    for layer, name in enumerate(arch.activations):
        act = ACTIVATIONS[name]
        z = rng.standard_normal((runs, batch, arch.sizes[layer + 1]))
        zs = (z, _slope(act, runs))
        out.append(Elementwise(act.forward, zs))
        if act.from_output is not None:
            out.append(Elementwise(act.from_output, (act.forward(*zs),)))
        else:
            out.append(Elementwise(act.derivative, zs))
    return out


def _slope(act, runs: int):
    """PReLU's slope per run, shaped as the network passes it (R, 1, 1); None for the others."""
    return np.full((runs, 1, 1), PRELU_INIT) if act.learnable else None


def eval_activations(arch: Architecture, runs: int, rows: list[int], rng) -> list[Elementwise]:
    """f(z) of every hidden layer of ``runs`` networks on data sets of ``rows`` rows each."""
    return [
        Elementwise(
            ACTIVATIONS[name].forward,
            (rng.standard_normal((runs, n, arch.sizes[i + 1])), _slope(ACTIVATIONS[name], runs)),
        )
        for n in rows
        if n
        for i, name in enumerate(arch.activations)
    ]


def time_products(products: list) -> float:
    """Median seconds for one pass over ``products`` (any calls: products or activations)."""
    for p in products:  # warm-up: first-touch of outputs, BLAS buffers
        p()
    reps, t = 1, 0.0
    while True:
        t0 = time.perf_counter()
        for _ in range(reps):
            for p in products:
                p()
        t = time.perf_counter() - t0
        if t >= MIN_SECONDS:
            break
        reps *= 2 if t == 0 else max(2, int(1.2 * MIN_SECONDS / t))
    times = [t / reps]
    for _ in range(ROUNDS - 1):
        t0 = time.perf_counter()
        for _ in range(reps):
            for p in products:
                p()
        times.append((time.perf_counter() - t0) / reps)
    return statistics.median(times)


def measure(
    arch: Architecture,
    runs: int,
    batch: int,
    shared_input: bool,
    n_train: int,
    n_val: int,
    activations: bool = False,
) -> Floor:
    rng = np.random.default_rng(0)
    step = step_products(arch, runs, batch, shared_input, rng)
    evaluation = eval_products(arch, runs, [n_train, n_val], rng)
    acts = {}
    if activations:
        acts = {
            "step_act_s": time_products(step_activations(arch, runs, batch, rng)),
            "eval_act_s": time_products(eval_activations(arch, runs, [n_train, n_val], rng)),
        }
    return Floor(
        step_s=time_products(step),
        eval_s=time_products(evaluation),
        step_flops=sum(p.flops for p in step),
        eval_flops=sum(p.flops for p in evaluation),
        **acts,
    )


@dataclass(frozen=True)
class WorkloadFloor:
    """The floor of a whole workload: the sum over its lockstep groups."""

    seconds: float
    gflops: float  # the product rate measured at the workload's sizes
    groups: str  # runs@batch per lockstep group, e.g. "1@320 + 1@1 + 5@32"


def of_workload(config, data) -> WorkloadFloor:
    """The GEMM-only floor of training ``config`` on ``data`` as ``run_comparison`` groups it
    (a one-run config is one group of one)."""
    arch = build_architecture(config, data)
    n_train, n_val = len(data.X_train), len(data.X_val)
    epochs = config.training.epochs
    seconds = flops = 0.0
    parts = []
    for members in plan_groups(config, n_train):
        batch = batch_size_of(members[0][0], n_train)
        shared = len({seed for _, seed in members}) == 1
        f = measure(arch, len(members), batch, shared, n_train, n_val)
        steps = epochs * math.ceil(n_train / batch)
        seconds += f.seconds(steps, epochs + 1)
        flops += steps * f.step_flops + (epochs + 1) * f.eval_flops
        parts.append(f"{len(members)}@{batch}")
    return WorkloadFloor(seconds, flops / seconds / 1e9, " + ".join(parts))
