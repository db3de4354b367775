"""The command line, run as a user runs it: files written, bad input refused in one line."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from nn_core import PRESETS


def cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "nn_core", *map(str, args)], capture_output=True, text=True, cwd=cwd
    )


def test_presets_lists_every_preset():
    out = cli("presets")
    assert out.returncode == 0
    assert [line.split()[0] for line in out.stdout.splitlines()] == list(PRESETS)


def test_compare_writes_the_documented_files(tmp_path):
    out = cli("compare", "--preset", "default", "--out", tmp_path, "--epochs", 2, "--seeds", 2)
    assert out.returncode == 0, out.stderr
    curves = pd.read_csv(tmp_path / "curves.csv")
    assert {"run", "optimizer", "seed", "epoch", "split", "loss", "accuracy"} <= set(curves)
    assert set(curves["seed"]) == {0, 1} and curves["epoch"].max() == 2
    grads = pd.read_csv(tmp_path / "gradients.csv")
    expected = {"run", "optimizer", "seed", "epoch", "layer", "grad_norm", "grad_mean_abs",
                "grad_max_abs", "weight_norm", "update_ratio", "dead_fraction"}  # fmt: skip
    assert expected <= set(grads)
    hist = pd.read_csv(tmp_path / "histograms.csv")
    assert list(hist.columns) == ["run", "optimizer", "seed", "epoch", "layer", "bin_left",
                                  "bin_right", "count"]  # fmt: skip
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert len(summary) == 7 * 2
    assert {"final_train_loss", "best_val_loss", "final_val_accuracy", "diverged",
            "diverged_step", "seconds"} <= set(summary)  # fmt: skip
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["training"]["epochs"] == 2


def test_compare_from_a_config_file(tmp_path):
    doc = {"training": {"epochs": 2}, "runs": [{"optimizer": "nadam", "batch_size": 16}]}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(doc))
    out = cli("compare", "--config", path, "--out", tmp_path / "o")
    assert out.returncode == 0, out.stderr
    assert pd.read_csv(tmp_path / "o" / "summary.csv")["optimizer"].tolist() == ["nadam"]


@pytest.mark.parametrize(
    ("config_text", "args", "words"),
    [
        (None, ["--preset", "nope"], "unknown 'nope'"),
        ('{"runs": [', [], "not valid JSON"),
        ('{"runs": [{"optimizer": "adam", "lr": -1}]}', [], "runs[0].lr"),
        ('{"network": {"hidden_layers": [8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, '
         '8, 8]}, "runs": [{"optimizer": "sgd"}]}', [], "1 to 20"),
        ("\x00\x01binary", [], "error"),
        (None, ["--preset", "default", "--epochs", "0"], "training.epochs"),
        (None, ["--preset", "default", "--epochs", "many"], "invalid int"),
        (None, [], "one of the arguments"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_with_one_line(tmp_path, config_text, args, words):
    if config_text is not None:
        (tmp_path / "c.json").write_text(config_text)
        args = ["--config", tmp_path / "c.json", *args]
    out = cli("compare", *args, "--out", tmp_path / "o")
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert words in out.stderr
    assert "Traceback" not in out.stderr


def test_missing_config_file_and_unwritable_out(tmp_path):
    out = cli("compare", "--config", tmp_path / "missing.json", "--out", tmp_path / "o")
    assert out.returncode == 2 and "cannot read config" in out.stderr
    blocker = tmp_path / "file"
    blocker.write_text("x")
    out = cli("compare", "--preset", "default", "--out", blocker / "sub")
    assert out.returncode == 2 and "cannot create output folder" in out.stderr
