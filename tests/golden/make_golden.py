"""Write the PyTorch golden files that the oracle tests hold nn_core to.

Run from anywhere, with torch 2.13 installed (``make golden``)::

    .venv/bin/python tests/golden/make_golden.py

It writes, next to this script:

- ``optimizers.json``: for every rule in ``nn_core.optimizers.RULES`` (defaults and variants), a
  small float64 MLP trained with ``torch.optim`` from a given flat parameter vector: the data, the
  batch index of every step and the flat parameters (nn_core layout) after every step. The torch
  class and its fixed arguments come from the rule's registry entry (``Rule.torch``); a rule
  torch lacks (Lion) is trained by an independent torch-tensor implementation of its paper's
  pseudo-code (``INDEPENDENT_ORACLES``), and each case names its ``oracle``.
- ``activations.json``: f(z), f'(z) (autograd) of every activation on a grid including extremes,
  PReLU's ∂/∂a, torch's ``calculate_gain`` and the softmax cross-entropy of (1000, 0, −5).
- ``initializers.json``: sample statistics of ``torch.nn.init`` draws with the formula's std.
- ``surfaces.json``: every rule on every 2-D test function, at the trajectory page's learning rate.

The oracle is independent of nn_core: the flat layout, the data and the initial parameters are
built here with NumPy; only the registries (which names exist, the torch class of a rule, its
learning rate on a test function) and ``resolve`` (the default hyperparameters, passed to torch
explicitly) come from nn_core. Case building is pure NumPy and
every function that needs torch imports it when called, so the tests import this module without
torch (to rebuild cases) and with torch (to rerun the training live).

Layout of a flat vector θ (as nn_core.network): [W₁ (fan_in×fan_out, row-major), b₁, W₂, b₂, …,
one PReLU slope per PReLU hidden layer]; torch's ``nn.Linear.weight`` is Wᵀ. Floats are written
with Python's repr, which round-trips float64 exactly.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # nn_core, when run as a script

from nn_core.activations import ACTIVATIONS
from nn_core.initializers import INITIALIZERS
from nn_core.optimizers import RULES, resolve

GOLDEN_DIR = Path(__file__).resolve().parent
TORCH_SERIES = "2.13"

# --- optimizers -----------------------------------------------------------------------------

N_STEPS = 50
N_FEATURES = 3

# Extra (rule, overrides) cases where a hyperparameter changes the code path or a convention is
# at stake; every rule of the registry also gets its defaults and a weight-decay case on its own
# (rule_variants), so a new rule needs no line here unless it has a path of its own to cover.
CODE_PATH_VARIANTS: dict[str, tuple[dict, ...]] = {
    "sgd": ({"lr": 0.1, "weight_decay": 0.01},),
    "momentum": (
        {"momentum": 0.8, "dampening": 0.5, "weight_decay": 0.05},
        {"momentum": 0.0, "dampening": 0.5},  # torch ignores τ at μ = 0
    ),
    "nesterov": ({"lr": 0.05, "momentum": 0.95, "weight_decay": 0.01},),
    "adagrad": (
        {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1},
        {"weight_decay": 0.1},
    ),
    "adadelta": ({"rho": 0.8, "eps": 1e-5, "weight_decay": 0.01},),
    "rmsprop": (
        {"centered": True},
        {"lr": 0.001, "momentum": 0.9},
        {"alpha": 0.9, "centered": True, "momentum": 0.5, "weight_decay": 0.01},
    ),
    "adam": (
        {"lr": 0.01, "amsgrad": True},
        {"betas": [0.8, 0.99], "eps": 1e-6, "weight_decay": 0.1},
    ),
    "adamw": ({"lr": 0.01, "weight_decay": 0.1, "amsgrad": True},),
    "nadam": (
        {"lr": 0.01, "weight_decay": 0.05, "momentum_decay": 0.01},
        {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True},  # NAdamW
    ),
    "adamax": ({"lr": 0.01, "betas": [0.8, 0.99], "eps": 1e-6},),
    "lion": ({"lr": 1e-3, "betas": [0.95, 0.98], "weight_decay": 0.1},),
}
AUTO_WEIGHT_DECAY = 0.05


def rule_variants() -> tuple[tuple[str, dict], ...]:
    """(rule, overrides) in registry order: each rule's defaults, its code-path variants, and a
    weight-decay case when neither the defaults nor a variant decay the weights."""
    out: list[tuple[str, dict]] = []
    for name, rule in RULES.items():
        extra = list(CODE_PATH_VARIANTS.get(name, ()))
        decays = rule.defaults.get("weight_decay", 0) or any(
            o.get("weight_decay", 0) for o in extra
        )
        if "weight_decay" in rule.defaults and not decays:
            extra.append({"weight_decay": AUTO_WEIGHT_DECAY})
        out += [(name, {})] + [(name, o) for o in extra]
    return tuple(out)


OPTIMIZER_VARIANTS: tuple[tuple[str, dict], ...] = rule_variants()

# Cases trained on a fixed sequence of shuffled mini-batches instead of the full batch.
MINIBATCH_VARIANTS: tuple[tuple[str, dict], ...] = (
    ("momentum", {"lr": 0.05}),
    ("adam", {"lr": 0.01}),
    ("rmsprop", {"centered": True, "momentum": 0.5}),
)

# (hidden activations, task, n_out): the cases cycle through these networks 3-4-3-k.
NETWORKS: tuple[tuple[tuple[str, str], str, int], ...] = (
    (("tanh", "tanh"), "regression", 1),
    (("tanh", "sigmoid"), "binary", 1),
    (("relu", "elu"), "multiclass", 3),
    (("gelu", "swish"), "regression", 2),
    (("selu", "leaky_relu"), "binary", 1),
    (("prelu", "tanh"), "multiclass", 3),
    (("gelu_tanh", "prelu"), "regression", 1),
)


def case_id(rule: str, overrides: dict, batch_size: int | None = None) -> str:
    """A readable case name: rule,key=value,…[,batch=k]."""
    parts = [rule] + [f"{k}={v}" for k, v in overrides.items()]
    if batch_size is not None:
        parts.append(f"batch={batch_size}")
    return ",".join(parts)


def optimizer_case_specs() -> list[dict]:
    """The optimizer cases as small specs (no data yet): id, rule, overrides, arch, data seed,
    sample count, batch size (None = full batch) and number of steps."""
    variants = [(r, o, None) for r, o in OPTIMIZER_VARIANTS]
    variants += [(r, o, 5) for r, o in MINIBATCH_VARIANTS]
    specs = []
    for i, (rule, overrides, batch_size) in enumerate(variants):
        acts, task, n_out = NETWORKS[i % len(NETWORKS)]
        specs.append(
            {
                "id": case_id(rule, overrides, batch_size),
                "rule": rule,
                "overrides": overrides,
                "arch": {
                    "sizes": [N_FEATURES, 4, 3, n_out],
                    "activations": list(acts),
                    "task": task,
                    "l2": 1e-3 if i % 5 == 4 else 0.0,
                },
                "seed": 1000 + i,
                "n_samples": 20 if batch_size else 16,
                "batch_size": batch_size,
                "steps": N_STEPS,
            }
        )
    return specs


def layer_shapes(sizes) -> list[tuple[int, int]]:
    return list(itertools.pairwise(sizes))


def unflatten(arch: dict, theta: np.ndarray) -> tuple[list, list, list]:
    """Split θ into ([W₁ (fan_in, fan_out), …], [b₁, …], [slope per PReLU hidden layer])."""
    Ws, bs, pos = [], [], 0
    for fan_in, fan_out in layer_shapes(arch["sizes"]):
        Ws.append(theta[pos : pos + fan_in * fan_out].reshape(fan_in, fan_out))
        pos += fan_in * fan_out
        bs.append(theta[pos : pos + fan_out])
        pos += fan_out
    n_slopes = sum(ACTIVATIONS[a].learnable for a in arch["activations"])
    slopes = list(theta[pos : pos + n_slopes])
    if pos + n_slopes != theta.size:
        raise ValueError(f"θ has {theta.size} entries, the layout {pos + n_slopes}")
    return Ws, bs, slopes


def build_case(spec: dict) -> dict:
    """Add the data to a spec: initial θ (torch's nn.Linear default distribution, PReLU slopes
    0.25), X, y and the batch index of every step, all drawn from ``default_rng(seed)``."""
    rng = np.random.default_rng(spec["seed"])
    arch = spec["arch"]
    pieces = []
    for fan_in, fan_out in layer_shapes(arch["sizes"]):
        bound = 1.0 / math.sqrt(fan_in)
        pieces.append(rng.uniform(-bound, bound, fan_in * fan_out))
        pieces.append(rng.uniform(-bound, bound, fan_out))
    pieces.append(np.full(sum(ACTIVATIONS[a].learnable for a in arch["activations"]), 0.25))
    theta = np.concatenate(pieces)

    n, n_out = spec["n_samples"], arch["sizes"][-1]
    X = rng.standard_normal((n, N_FEATURES))
    mix = rng.standard_normal((N_FEATURES, max(n_out, 2)))
    if arch["task"] == "regression":
        y = np.tanh(X @ mix[:, :n_out]) + 0.1 * rng.standard_normal((n, n_out))
    elif arch["task"] == "binary":
        y = (X[:, :1] * X[:, 1:2] + 0.3 * X[:, 2:3] > 0).astype(np.float64)
    else:
        y = np.argmax(X @ mix + 0.3 * rng.standard_normal((n, n_out)), axis=1)

    if spec["batch_size"] is None:
        batches = [list(range(n))] * spec["steps"]
    else:
        order: list[int] = []
        while len(order) < spec["steps"] * spec["batch_size"]:
            order += rng.permutation(n).tolist()
        k = spec["batch_size"]
        batches = [order[s * k : (s + 1) * k] for s in range(spec["steps"])]
    return {**spec, "params0": theta.tolist(), "X": X.tolist(), "y": y.tolist(), "batches": batches}


@contextlib.contextmanager
def torch_float64(torch):
    """Make float64 torch's default dtype, on one thread, for the block.

    torch keeps optimizer scalars (the step, NAdam's μ-product) in the default dtype: in float32
    NAdam's step size would carry float32 rounding (1.8e-10 off after 50 steps here) while the
    parameters are float64. One thread: these tensors are tiny, and a busy machine makes torch's
    thread pool wait ~20 ms per operation."""
    old_dtype, old_threads = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_default_dtype(old_dtype)
        torch.set_num_threads(old_threads)


def paper_lion(torch):
    """Lion as a ``torch.optim.Optimizer``, written from the paper, not from nn_core.

    Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms", Algorithm 2 (Lion), line
    by line, with the paper's names::

        c_t   ← β₁ m_{t−1} + (1 − β₁) g_t                  (update interpolation)
        θ_t   ← θ_{t−1} − η_t (sign(c_t) + λ θ_{t−1})       (update model parameters)
        m_t   ← β₂ m_{t−1} + (1 − β₂) g_t                  (update EMA of g_t)

    The weight decay is written as in the paper, θ − η(sign(c) + λθ), where nn_core writes
    θ(1 − γλ) − γ sign(c): equal in exact arithmetic, so the oracle also checks that the two
    forms agree to rounding. torch has no Lion, so this is the oracle for the golden files."""

    class PaperLion(torch.optim.Optimizer):
        def __init__(self, params, lr: float, betas, weight_decay: float):
            defaults = {"lr": lr, "betas": tuple(betas), "weight_decay": weight_decay}
            super().__init__(params, defaults)

        @torch.no_grad()
        def step(self):
            for group in self.param_groups:
                eta, lam = group["lr"], group["weight_decay"]
                beta1, beta2 = group["betas"]
                for theta in group["params"]:
                    if theta.grad is None:
                        continue
                    g = theta.grad
                    state = self.state[theta]
                    if "m" not in state:
                        state["m"] = torch.zeros_like(theta)  # m₀ = 0
                    m = state["m"]
                    c = beta1 * m + (1 - beta1) * g
                    theta.copy_(theta - eta * (torch.sign(c) + lam * theta))
                    m.copy_(beta2 * m + (1 - beta2) * g)

    return PaperLion


# Rules torch.optim lacks (their registry entry has torch=None) -> an independent oracle.
INDEPENDENT_ORACLES: dict[str, Callable] = {"lion": paper_lion}


def oracle_name(rule: str) -> str:
    """Where a rule's expected numbers come from, stored with each golden case."""
    mapping = RULES[rule].torch
    if mapping is not None:
        return f"torch.optim.{mapping.cls}"
    return f"make_golden.{INDEPENDENT_ORACLES[rule].__name__} (torch tensors, from the paper)"


def torch_optimizer(torch, params: list, rule: str, overrides: dict):
    """The oracle optimizer for a rule: ``torch.optim.<cls>`` named by the registry entry, every
    hyperparameter passed explicitly from nn_core's ``resolve`` (torch.optim.SGD's own default
    lr differs from the lab's) with the entry's fixed arguments, single-tensor loop; for a rule
    torch lacks, its independent implementation from ``INDEPENDENT_ORACLES``."""
    hp = resolve(rule, overrides)
    mapping = RULES[rule].torch
    if mapping is None:
        return INDEPENDENT_ORACLES[rule](torch)(params, **hp)
    return getattr(torch.optim, mapping.cls)(params, **mapping.kwargs(hp), foreach=False)


def torch_activation(torch, name: str, z, a=None):
    """torch.nn.functional's version of an nn_core activation (``a``: PReLU's slope tensor)."""
    F = torch.nn.functional
    table = {
        "linear": lambda z: z,
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": F.relu,
        "leaky_relu": lambda z: F.leaky_relu(z, 0.01),
        "prelu": lambda z: F.prelu(z, a),
        "elu": F.elu,
        "swish": F.silu,
        "gelu": lambda z: F.gelu(z, approximate="none"),
        "gelu_tanh": lambda z: F.gelu(z, approximate="tanh"),
        "selu": F.selu,
    }
    return table[name](z)


def torch_trajectory(case: dict) -> np.ndarray:
    """Train the case's network with torch.optim; θ (nn_core layout) after every step, shape
    (steps, P)."""
    import torch

    arch = case["arch"]
    with torch_float64(torch):
        Ws, bs, slopes = unflatten(arch, np.asarray(case["params0"], dtype=np.float64))
        layers = []
        for W, b in zip(Ws, bs, strict=True):
            with torch.random.fork_rng(devices=[]):  # its throw-away init must not move the RNG
                lin = torch.nn.Linear(*W.shape, dtype=torch.float64)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(W.T.copy()))
                lin.bias.copy_(torch.from_numpy(b.copy()))
            layers.append(lin)
        slope_params = [torch.nn.Parameter(torch.tensor([s], dtype=torch.float64)) for s in slopes]
        slope_of, k = {}, 0
        for layer, name in enumerate(arch["activations"]):
            if ACTIVATIONS[name].learnable:
                slope_of[layer], k = slope_params[k], k + 1

        def forward(X):
            h = X
            for layer, name in enumerate(arch["activations"]):
                h = torch_activation(torch, name, layers[layer](h), slope_of.get(layer))
            return layers[-1](h)

        def flat() -> list[float]:
            parts = []
            for lin in layers:
                parts += [lin.weight.detach().T.reshape(-1), lin.bias.detach()]
            parts += [s.detach() for s in slope_params]
            return torch.cat(parts).tolist()

        F = torch.nn.functional
        X = torch.tensor(case["X"], dtype=torch.float64)
        if arch["task"] == "multiclass":
            y = torch.tensor(case["y"], dtype=torch.int64)
            loss_fn = F.cross_entropy
        else:
            y = torch.tensor(case["y"], dtype=torch.float64)
            loss_fn = (
                F.mse_loss if arch["task"] == "regression" else F.binary_cross_entropy_with_logits
            )
        params = [p for lin in layers for p in lin.parameters()] + slope_params
        opt = torch_optimizer(torch, params, case["rule"], case["overrides"])
        out = []
        for idx in case["batches"]:
            opt.zero_grad()
            index = torch.tensor(idx, dtype=torch.int64)
            loss = loss_fn(forward(X[index]), y[index])
            if arch["l2"]:
                loss = loss + 0.5 * arch["l2"] * sum((lin.weight**2).sum() for lin in layers)
            loss.backward()
            opt.step()
            out.append(flat())
    return np.asarray(out)


def rule_gradients(seed: int, steps: int = 30, size: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """(θ₀, a fixed (steps, size) gradient sequence) for a network-free test of a rule.

    Coordinates have scales from 1e-4 to 10; one is always 0 and one is 0 on every third step,
    so the ε paths are exercised."""
    rng = np.random.default_rng(seed)
    theta0 = rng.standard_normal(size)
    scales = np.geomspace(1e-4, 10.0, size)
    grads = scales * rng.standard_normal((steps, size))
    grads[:, 0] = 0.0
    grads[::3, 1] = 0.0
    return theta0, grads


def torch_rule_trajectory(rule: str, overrides: dict, theta0, grads) -> np.ndarray:
    """θ after every step of torch.optim fed the gradients ``grads`` (steps, P)."""
    import torch

    with torch_float64(torch):
        p = torch.nn.Parameter(torch.tensor(theta0, dtype=torch.float64))
        opt = torch_optimizer(torch, [p], rule, overrides)
        out = []
        for g in grads:
            p.grad = torch.tensor(g, dtype=torch.float64)
            opt.step()
            out.append(p.detach().tolist())
    return np.asarray(out)


def optimizer_golden() -> dict:
    import torch

    cases = []
    for spec in optimizer_case_specs():
        case = build_case(spec)
        case["oracle"] = oracle_name(case["rule"])
        case["trajectory"] = torch_trajectory(case).tolist()
        cases.append(case)
    return {"torch": torch.__version__, "n_steps": N_STEPS, "cases": cases}


# --- activations ----------------------------------------------------------------------------

ACTIVATION_POINTS: tuple[float, ...] = (
    *(-z for z in (700.0, 50.0, 20.0, 5.0, 3.0, 1.5, 1.0, 0.5, 0.1, 1e-8)),
    0.0,
    *(1e-8, 0.1, 0.5, 1.0, 1.5, 3.0, 5.0, 20.0, 50.0, 700.0),
)
# (activation, PReLU slope or None): every activation, PReLU with its initial and another slope.
ACTIVATION_CASES: tuple[tuple[str, float | None], ...] = (
    *((name, None) for name in ACTIVATIONS if not ACTIVATIONS[name].learnable),
    ("prelu", 0.25),
    ("prelu", -0.3),
)
# nn_core activation -> torch.nn.init.calculate_gain arguments (where torch defines a gain).
TORCH_GAINS: dict[str, tuple[str, float | None]] = {
    "linear": ("linear", None),
    "sigmoid": ("sigmoid", None),
    "tanh": ("tanh", None),
    "relu": ("relu", None),
    "leaky_relu": ("leaky_relu", 0.01),
    "prelu": ("leaky_relu", 0.25),
    "selu": ("selu", None),
}


def activation_upstream(n: int) -> np.ndarray:
    """Fixed upstream gradients ∂L/∂f for the PReLU slope-gradient check."""
    return np.cos(np.arange(n) + 0.5)


def torch_activation_values(name: str, a: float | None, points) -> dict:
    """f(z), f'(z) (autograd) and, for PReLU, ∂/∂a of Σ upstream·f(z)."""
    import torch

    with torch_float64(torch):
        z = torch.tensor(points, dtype=torch.float64, requires_grad=True)
        slope = None if a is None else torch.tensor([a], dtype=torch.float64, requires_grad=True)
        f = torch_activation(torch, name, z, slope)
        (df,) = torch.autograd.grad(f.sum(), z, retain_graph=True)
        out = {"f": f.detach().tolist(), "df": df.tolist()}
        if slope is not None:
            up = torch.from_numpy(activation_upstream(len(points)))
            (da,) = torch.autograd.grad((up * f).sum(), slope)
            out["da"] = da.item()
    return out


def activation_golden() -> dict:
    import torch

    cases = []
    for name, a in ACTIVATION_CASES:
        values = torch_activation_values(name, a, ACTIVATION_POINTS)
        cases.append({"name": name, "a": a, "z": list(ACTIVATION_POINTS), **values})
    gains = {
        name: torch.nn.init.calculate_gain(*(arg for arg in args if arg is not None))
        for name, args in TORCH_GAINS.items()
    }
    logits = torch.tensor([[1000.0, 0.0, -5.0]], dtype=torch.float64)
    ce = torch.nn.functional.cross_entropy(logits, torch.tensor([1])).item()
    return {
        "torch": torch.__version__,
        "cases": cases,
        "gains": gains,
        "softmax_ce": {"logits": [1000.0, 0.0, -5.0], "target": 1, "loss": ce},
    }


# --- initializers ---------------------------------------------------------------------------

FAN_IN, FAN_OUT = 400, 300

# (nn_core initializer, gain, scale, torch call, theoretical std, uniform half-width or None),
# the formulas written out here rather than taken from nn_core.
INIT_CASES: tuple[tuple[str, float, float | None, str, float, float | None], ...] = (
    ("zeros", 1.0, None, "zeros_", 0.0, None),
    ("uniform", 1.0, 0.5, "uniform_(a=-0.5, b=0.5)", 0.5 / math.sqrt(3.0), 0.5),
    ("normal", 1.0, 1.0, "normal_(0, 1)", 1.0, None),
    *(
        (
            "xavier_uniform",
            g,
            None,
            f"xavier_uniform_(gain={g!r})",
            g * math.sqrt(2.0 / (FAN_IN + FAN_OUT)),
            g * math.sqrt(6.0 / (FAN_IN + FAN_OUT)),
        )
        for g in (1.0, 5.0 / 3.0)
    ),
    *(
        (
            "xavier_normal",
            g,
            None,
            f"xavier_normal_(gain={g!r})",
            g * math.sqrt(2.0 / (FAN_IN + FAN_OUT)),
            None,
        )
        for g in (1.0, 5.0 / 3.0)
    ),
    (
        "he_uniform",
        1.0,
        None,
        "kaiming_uniform_(nonlinearity='relu')",
        math.sqrt(2.0 / FAN_IN),
        math.sqrt(6.0 / FAN_IN),
    ),
    ("he_normal", 1.0, None, "kaiming_normal_(nonlinearity='relu')", math.sqrt(2.0 / FAN_IN), None),
    (
        "lecun_normal",
        1.0,
        None,
        "kaiming_normal_(nonlinearity='linear')",
        math.sqrt(1.0 / FAN_IN),
        None,
    ),
    (
        "torch_default",
        1.0,
        None,
        "nn.Linear.reset_parameters",
        1.0 / math.sqrt(3.0 * FAN_IN),
        1.0 / math.sqrt(FAN_IN),
    ),
)


def _stats(t) -> dict:
    x = t.detach().double()
    return {
        "n": x.numel(),
        "mean": x.mean().item(),
        "std": x.std().item(),
        "min": x.min().item(),
        "max": x.max().item(),
    }


def torch_init_stats(name: str, gain: float, scale: float | None, seed: int) -> dict:
    """Sample statistics of torch's draw of a (fan_out, fan_in) weight (and nn.Linear's bias)."""
    import torch

    init = torch.nn.init
    gen = torch.Generator().manual_seed(seed)
    w = torch.empty(FAN_OUT, FAN_IN, dtype=torch.float64)  # torch's weight is (out, in)
    out = {}
    if name == "zeros":
        init.zeros_(w)
    elif name == "uniform":
        init.uniform_(w, -scale, scale, generator=gen)
    elif name == "normal":
        init.normal_(w, 0.0, scale, generator=gen)
    elif name == "xavier_uniform":
        init.xavier_uniform_(w, gain=gain, generator=gen)
    elif name == "xavier_normal":
        init.xavier_normal_(w, gain=gain, generator=gen)
    elif name == "he_uniform":
        init.kaiming_uniform_(w, nonlinearity="relu", generator=gen)
    elif name == "he_normal":
        init.kaiming_normal_(w, nonlinearity="relu", generator=gen)
    elif name == "lecun_normal":
        init.kaiming_normal_(w, nonlinearity="linear", generator=gen)
    elif name == "torch_default":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            lin = torch.nn.Linear(FAN_IN, FAN_OUT, dtype=torch.float64)  # reset_parameters
        w = lin.weight
        out["bias"] = _stats(lin.bias)
    else:
        raise KeyError(f"no torch initializer for {name!r}")
    return {"weight": _stats(w), **out}


def initializer_golden(seed: int = 0) -> dict:
    import torch

    cases = []
    for i, (name, gain, scale, call, std, bound) in enumerate(INIT_CASES):
        cases.append(
            {
                "name": name,
                "gain": gain,
                "scale": scale,
                "torch_call": call,
                "fan_in": FAN_IN,
                "fan_out": FAN_OUT,
                "theory_std": std,
                "bound": bound,
                **torch_init_stats(name, gain, scale, seed + i),
            }
        )
    return {"torch": torch.__version__, "cases": cases}


# --- files ----------------------------------------------------------------------------------


def write_json(path: Path, data: dict) -> None:
    """Compact JSON, one list entry of ``cases`` per line (reviewable diffs, small files)."""
    head = {k: v for k, v in data.items() if k != "cases"}
    lines = [json.dumps(c, allow_nan=False, separators=(",", ":")) for c in data["cases"]]
    text = json.dumps(head, allow_nan=False)[:-1] + ', "cases": [\n' + ",\n".join(lines) + "\n]}\n"
    json.loads(text)  # well-formed
    path.write_text(text)


# --- 2-D test functions -------------------------------------------------------------------------

SURFACE_STEPS = 60


def surface_case_specs() -> list[dict]:
    """Every rule on every test function from its customary start (the bowl at κ = 10), at the
    learning rate the trajectory page starts it with."""
    from nn_core.surfaces import SURFACES, default_lr

    specs = []
    for sname, surf in SURFACES.items():
        for rule in RULES:
            lr = default_lr(surf, rule)  # the trajectory page's starting value
            specs.append(
                {
                    "surface": sname,
                    "rule": rule,
                    "overrides": {"lr": lr},
                    "start": list(surf.start),
                    "kappa": 10.0,
                    "steps": SURFACE_STEPS,
                }
            )
    return specs


def torch_surface(torch, name: str, kappa: float):
    """f(p) for p = (x, y) with torch operations (gradients by autograd, not by formula)."""
    pi = torch.pi

    def f(p):
        x, y = p[0], p[1]
        if name == "rosenbrock":
            return (1 - x) ** 2 + 100 * (y - x**2) ** 2
        if name == "beale":
            return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2
        if name == "himmelblau":
            return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2
        if name == "rastrigin":
            return 20 + x**2 + y**2 - 10 * (torch.cos(2 * pi * x) + torch.cos(2 * pi * y))
        if name == "saddle":
            return x**2 - y**2
        if name == "bowl":
            return 0.5 * (x**2 + kappa * y**2)
        raise KeyError(name)

    return f


def torch_surface_trajectory(spec: dict) -> np.ndarray:
    """(steps + 1, 2): the start, then θ after every torch.optim step."""
    import torch

    with torch_float64(torch):
        p = torch.nn.Parameter(torch.tensor(spec["start"], dtype=torch.float64))
        opt = torch_optimizer(torch, [p], spec["rule"], spec["overrides"])
        f = torch_surface(torch, spec["surface"], spec["kappa"])
        out = [p.detach().tolist()]
        for _ in range(spec["steps"]):
            opt.zero_grad()
            f(p).backward()
            opt.step()
            out.append(p.detach().tolist())
    return np.asarray(out)


def surface_golden() -> dict:
    import torch

    cases = []
    for spec in surface_case_specs():
        traj = torch_surface_trajectory(spec)
        if not np.isfinite(traj).all():
            sys.exit(f"surface case {spec} diverged in torch; choose a smaller lr")
        cases.append({**spec, "oracle": oracle_name(spec["rule"]), "trajectory": traj.tolist()})
    return {"torch": torch.__version__, "cases": cases}


def main() -> None:
    import torch

    if not torch.__version__.startswith(TORCH_SERIES):
        sys.exit(f"the golden files are made with torch {TORCH_SERIES}, found {torch.__version__}")
    no_oracle = {r for r, rule in RULES.items() if rule.torch is None} - set(INDEPENDENT_ORACLES)
    missing = no_oracle | (set(INITIALIZERS) - {case[0] for case in INIT_CASES})
    if missing:
        sys.exit(f"no oracle (torch or independent) for {sorted(missing)}")
    for name, data in (
        ("optimizers.json", optimizer_golden()),
        ("activations.json", activation_golden()),
        ("initializers.json", initializer_golden()),
        ("surfaces.json", surface_golden()),
    ):
        path = GOLDEN_DIR / name
        write_json(path, data)
        print(
            f"{path.relative_to(GOLDEN_DIR.parents[1])}: {len(data['cases'])} cases, "
            f"{path.stat().st_size / 1024:.0f} KiB"
        )


if __name__ == "__main__":
    main()
