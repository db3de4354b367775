"""Named comparisons for teaching and talks, each with what it shows.

Every preset is a plain configuration document (the same JSON the command line reads), so a
preset is data: the dashboard, the CLI and the tests all pick new entries up from ``PRESETS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    explanation: str
    config: dict[str, Any]


def _deep(depth: int, width: int, activation: str, initializer: str, **net) -> dict[str, Any]:
    return {
        "hidden_layers": [width] * depth,
        "activation": activation,
        "initializer": initializer,
        **net,
    }


_MOONS = {"name": "moons", "n_samples": 400, "noise": 0.2, "val_fraction": 0.2}
_XORISH = {"name": "xor", "n_samples": 400, "noise": 0.05, "val_fraction": 0.2}

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset(
            "default",
            "Seven optimizers on two moons",
            "The same 2-16-16-1 tanh network, from the same initial weights, trained seven ways: "
            "full-batch gradient descent (one smooth step per epoch), stochastic gradient "
            "descent (batch 1: many noisy steps), mini-batch SGD (batch 32), momentum, Adagrad, "
            "RMSprop and Adam. Per epoch, GD makes the least progress because it takes one "
            "step. SGD's per-step loss is noisy, but per epoch it gets further than mini-batch "
            "SGD. Momentum (at mini-batch SGD's learning rate, 0.1) and the adaptive rules (each "
            "at its own rate) reach mini-batch SGD's final loss in at most a third of its 60 "
            "epochs.",
            {
                "title": "Seven optimizers on two moons",
                "dataset": _MOONS,
                "network": _deep(2, 16, "tanh", "xavier_uniform"),
                "training": {"epochs": 60, "seeds": 1},
                "runs": [
                    {"label": "GD", "optimizer": "sgd", "batch_size": "full", "lr": 0.1},
                    {"label": "SGD", "optimizer": "sgd", "batch_size": 1, "lr": 0.01},
                    {"label": "Mini-batch", "optimizer": "sgd", "batch_size": 32, "lr": 0.1},
                    {
                        "label": "Momentum",
                        "optimizer": "momentum",
                        "batch_size": 32,
                        "lr": 0.1,
                        "momentum": 0.9,
                    },
                    {"label": "Adagrad", "optimizer": "adagrad", "batch_size": 32, "lr": 0.05},
                    {"label": "RMSprop", "optimizer": "rmsprop", "batch_size": 32, "lr": 0.005},
                    {"label": "Adam", "optimizer": "adam", "batch_size": 32, "lr": 0.01},
                ],
            },
        ),
        Preset(
            "vanishing-sigmoid",
            "Vanishing gradients: 10 sigmoid layers",
            "Ten hidden sigmoid layers of 32 units with Xavier-normal weights. The sigmoid's "
            "derivative is at most 0.25, so every layer shrinks the backpropagated gradient: the "
            "first layer's gradient norm is orders of magnitude smaller than the last's (watch "
            "the gradient-health heat map). With plain SGD the loss stays on the plateau at "
            "ln 2 = 0.69 for all 200 epochs. Adam, which rescales each parameter's step, sits "
            "on the same plateau for over a hundred epochs and then escapes it; its validation "
            "accuracy ends above SGD's. Rescaling the step only helps slowly: relu-he-fix "
            "removes the cause.",
            {
                "title": "Vanishing gradients: 10 sigmoid layers",
                "dataset": _XORISH,
                "network": _deep(10, 32, "sigmoid", "xavier_normal"),
                "training": {"epochs": 200, "seeds": 1},
                "runs": [
                    {"label": "SGD", "optimizer": "sgd", "batch_size": 32, "lr": 0.1},
                    {"label": "Adam", "optimizer": "adam", "batch_size": 32, "lr": 0.001},
                ],
            },
        ),
        Preset(
            "exploding-init",
            "Exploding gradients: N(0, 1) weights in a deep tanh net",
            "Eight hidden tanh layers of 64 units initialised from N(0, 1), whose variance is "
            "64 times what Xavier would choose. Each layer amplifies the backpropagated signal, "
            "so the gradient grows toward the input, and units saturate. Plain SGD at learning "
            "rate 1 takes huge steps: its loss climbs far above where it started and ends no "
            "better than a coin toss. The same SGD with its gradient clipped to global norm 1 "
            "(torch's clip_grad_norm_) keeps every step short: its loss ends below its start and "
            "far below the unclipped run's. Adam, whose step does not grow with the gradient, "
            "trains without clipping.",
            {
                "title": "Exploding gradients: N(0, 1) weights",
                "dataset": _MOONS,
                "network": _deep(8, 64, "tanh", "normal", init_scale=1.0),
                "training": {"epochs": 20, "seeds": 1},
                "runs": [
                    {"label": "SGD", "optimizer": "sgd", "batch_size": 32, "lr": 1.0},
                    {
                        "label": "SGD clipped",
                        "optimizer": "sgd",
                        "batch_size": 32,
                        "lr": 1.0,
                        "clip_norm": 1.0,
                    },
                    {"label": "Adam", "optimizer": "adam", "batch_size": 32, "lr": 0.001},
                ],
            },
        ),
        Preset(
            "zero-init-symmetry",
            "Zero initialisation: the symmetry problem",
            "All weights start at zero (the 2-10-5-1 ReLU network on circles of the classic "
            "initialisation exercise). Every hidden unit of a layer computes the same function "
            "and receives the same gradient, so the units stay identical forever; with ReLU the "
            "hidden gradients are exactly zero: only the output bias can move, and with balanced "
            "classes it has almost nothing to learn. The cost stays "
            "at ln 2 = 0.693 and accuracy at 50 %, whatever the optimizer: no rule can break a "
            "symmetry the initialisation created. Load relu-he-fix to see random init solve it.",
            {
                "title": "Zero initialisation: the symmetry problem",
                "dataset": {"name": "circles", "n_samples": 400, "noise": 0.1, "val_fraction": 0.2},
                "network": {"hidden_layers": [10, 5], "activation": "relu", "initializer": "zeros"},
                "training": {"epochs": 100, "seeds": 1},
                "runs": [
                    {"label": "GD", "optimizer": "sgd", "batch_size": "full", "lr": 0.5},
                    {"label": "Adam", "optimizer": "adam", "batch_size": 32, "lr": 0.01},
                ],
            },
        ),
        Preset(
            "relu-he-fix",
            "The fix: ReLU with He initialisation",
            "The deep network of the vanishing-gradient demo, with ReLU units and He-normal "
            "weights (variance 2/fan_in, which keeps the signal's scale through ReLU layers). "
            "The first and last layers' gradient norms now stay within an order of magnitude "
            "of each other, and plain SGD trains the 10-layer net.",
            {
                "title": "The fix: ReLU with He initialisation",
                "dataset": _XORISH,
                "network": _deep(10, 32, "relu", "he_normal"),
                "training": {"epochs": 30, "seeds": 1},
                "runs": [
                    {"label": "SGD", "optimizer": "sgd", "batch_size": 32, "lr": 0.05},
                    {"label": "Adam", "optimizer": "adam", "batch_size": 32, "lr": 0.001},
                ],
            },
        ),
        Preset(
            "selu-self-normalizing",
            "SELU: a self-normalizing deep network",
            "Ten hidden SELU layers with LeCun-normal weights (variance 1/fan_in). SELU's "
            "constants are chosen so that activations keep zero mean and unit variance layer "
            "after layer, so gradients neither vanish nor explode without batch normalisation, "
            "and plain SGD trains the 10-layer net. To compare, set the activation to tanh.",
            {
                "title": "SELU: a self-normalizing deep network",
                "dataset": _XORISH,
                "network": _deep(10, 32, "selu", "lecun_normal"),
                "training": {"epochs": 30, "seeds": 1},
                "runs": [
                    {"label": "SGD", "optimizer": "sgd", "batch_size": 32, "lr": 0.02},
                    {"label": "Adam", "optimizer": "adam", "batch_size": 32, "lr": 0.001},
                ],
            },
        ),
        Preset(
            "adagrad-stall",
            "Adagrad stalls: the ever-growing accumulator",
            "Adagrad divides by the square root of the sum of all past squared gradients. The "
            "sum only grows, so the effective learning rate decays like 1/√t and training "
            "slows to a crawl. RMSprop and Adam replace the sum with a moving average and keep "
            "going at the same nominal learning rate: after 150 epochs their loss is over a "
            "hundred times lower than Adagrad's.",
            {
                "title": "Adagrad stalls",
                "dataset": {
                    "name": "spirals",
                    "n_samples": 600,
                    "noise": 0.2,
                    "classes": 3,
                    "val_fraction": 0.2,
                },
                "network": _deep(2, 32, "tanh", "xavier_uniform"),
                "training": {"epochs": 150, "seeds": 1},
                "runs": [
                    {"label": "Adagrad", "optimizer": "adagrad", "batch_size": 32, "lr": 0.01},
                    {"label": "RMSprop", "optimizer": "rmsprop", "batch_size": 32, "lr": 0.01},
                    {"label": "Adam", "optimizer": "adam", "batch_size": 32, "lr": 0.01},
                ],
            },
        ),
        Preset(
            "adadelta-lr",
            "Adadelta's learning rate: 1.0 (paper, PyTorch) versus 0.001 (Keras)",
            "Adadelta was designed to need no learning rate: its step is the ratio of two "
            "running RMS values. PyTorch keeps a multiplier with default 1.0, which recovers the "
            "paper; Keras defaults it to 0.001, which makes every step a thousand times shorter: "
            "after 60 epochs the Keras default has barely left the starting loss while the "
            "paper's has more than halved it. Same rule, same data, two defaults.",
            {
                "title": "Adadelta's learning rate",
                "dataset": _MOONS,
                "network": _deep(2, 16, "tanh", "xavier_uniform"),
                "training": {"epochs": 60, "seeds": 1},
                "runs": [
                    {
                        "label": "Adadelta lr=1.0",
                        "optimizer": "adadelta",
                        "batch_size": 32,
                        "lr": 1.0,
                    },
                    {
                        "label": "Adadelta lr=0.001",
                        "optimizer": "adadelta",
                        "batch_size": 32,
                        "lr": 0.001,
                    },
                ],
            },
        ),
    ]
}
