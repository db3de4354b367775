"""Command line for issue 4: `surface` trajectories and `compare --landscape`."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from nn_core import ExperimentConfig
from nn_core.surfaces import run_surface


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "nn_core", *map(str, args)], capture_output=True, text=True
    )


def test_surface_writes_the_trajectory(tmp_path):
    out = tmp_path / "t.csv"
    res = cli(
        "surface",
        "--function",
        "rosenbrock",
        "--optimizer",
        "adam",
        "--lr",
        0.05,
        "--betas",
        0.8,
        0.99,
        "--start",
        -1,
        1.5,
        "--steps",
        30,
        "--out",
        out,
    )
    assert res.returncode == 0, res.stderr
    df = pd.read_csv(out)
    assert {"optimizer", "step", "x", "y", "loss"} <= set(df)
    assert df["step"].tolist() == list(range(31))
    assert (df.loc[0, "x"], df.loc[0, "y"]) == (-1.0, 1.5)
    expected = run_surface(
        "rosenbrock", "adam", {"lr": 0.05, "betas": (0.8, 0.99)}, (-1.0, 1.5), 30
    )
    np.testing.assert_allclose(df[["x", "y", "loss"]], expected[["x", "y", "loss"]], rtol=1e-12)


def test_surface_accepts_dashed_names_and_booleans(tmp_path):
    res = cli(
        "surface",
        "--function",
        "bowl",
        "--optimizer",
        "rmsprop",
        "--centered",
        "true",
        "--weight-decay",
        0.1,
        "--kappa",
        50,
        "--out",
        tmp_path / "r.csv",
    )
    assert res.returncode == 0, res.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--function", "nope", "--optimizer", "sgd"], "invalid choice"),
        (["--function", "bowl", "--optimizer", "lbfgs"], "invalid choice"),
        (["--function", "bowl", "--optimizer", "sgd", "--lr", "-1"], "lr must be > 0"),
        (["--function", "bowl", "--optimizer", "sgd", "--momentum", "0.9"], "no hyperparameter"),
        (["--function", "bowl", "--optimizer", "adam", "--betas", "0.9"], "expected 2"),
        (["--function", "bowl", "--optimizer", "sgd", "--steps", "0"], "steps must be"),
        (["--function", "bowl", "--optimizer", "rmsprop", "--centered", "maybe"], "true or false"),
    ],
)
def test_surface_bad_input_exits_2_with_one_line(tmp_path, args, words):
    res = cli("surface", *args, "--out", tmp_path / "x.csv")
    assert res.returncode == 2
    assert len(res.stderr.strip().splitlines()) == 1 and words in res.stderr
    assert "Traceback" not in res.stderr


def test_compare_with_landscape_writes_the_plane(tmp_path):
    res = cli(
        "compare",
        "--preset",
        "default",
        "--epochs",
        4,
        "--seeds",
        2,
        "--out",
        tmp_path,
        "--landscape",
        "--landscape-resolution",
        15,
        "--landscape-seed",
        1,
    )
    assert res.returncode == 0, res.stderr
    grid = pd.read_csv(tmp_path / "landscape.csv")
    assert list(grid.columns) == ["a", "b", "loss"] and len(grid) == 15 * 15
    path = pd.read_csv(tmp_path / "path.csv")
    assert {
        "run",
        "optimizer",
        "seed",
        "epoch",
        "a",
        "b",
        "loss",
        "distance",
        "relative_distance",
    } <= set(path)
    assert set(path["seed"]) == {1} and path["run"].nunique() == 7
    curves = pd.read_csv(tmp_path / "curves.csv").query("split == 'train' and seed == 1")
    merged = path.merge(curves, on=["run", "epoch"], suffixes=("", "_curve"))
    np.testing.assert_allclose(merged["loss"], merged["loss_curve"], rtol=1e-9)


def test_landscape_of_weights_that_never_moved_is_refused(tmp_path):
    # tanh(0) = 0 and full batches of balanced classes: every gradient, the output bias's
    # included, is exactly 0, so the weights never leave the start
    doc = ExperimentConfig.preset("zero-init-symmetry").to_dict()
    doc["network"]["activation"] = "tanh"
    doc["training"]["epochs"] = 2
    doc["runs"] = doc["runs"][:1]
    assert doc["runs"][0]["batch_size"] == "full"
    (tmp_path / "c.json").write_text(json.dumps(doc))
    res = cli("compare", "--config", tmp_path / "c.json", "--out", tmp_path / "o", "--landscape")
    assert res.returncode == 2 and "never moved" in res.stderr
