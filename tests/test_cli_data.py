"""Real data on the command line: `datasets`, bundled data from a config, and `--csv` files, good
and bad, run as a user runs them (a subprocess)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from nn_core.datasets import BUNDLED, DATASETS

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
TINY = {
    "network": {"hidden_layers": [8]},
    "training": {"epochs": 2},
    "runs": [{"label": "Adam", "optimizer": "adam", "batch_size": 16, "lr": 0.01}],
}


def cli(*args, cwd=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # importable from any working directory
    return subprocess.run(
        [sys.executable, "-m", "nn_core", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
    )


def test_datasets_lists_synthetic_and_bundled_with_shape_and_task():
    out = cli("datasets")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()[1:]  # after the header line
    assert [ln.split()[0] for ln in lines] == [*DATASETS, *BUNDLED]
    rows = {ln.split()[0]: ln for ln in lines}
    for b in BUNDLED.values():
        assert f"bundled    {b.rows} x {b.features} " in rows[b.name]
        assert b.task in rows[b.name]
    assert "synthetic  n_samples x 1" in rows["sine"] and "regression" in rows["sine"]


def test_compare_on_a_csv_writes_a_data_report(tmp_path):
    out = cli("compare", "--preset", "default", "--csv", DATA / "missing_values.csv",
              "--target", "species", "--out", tmp_path, "--epochs", 2)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "data: dropped 4 row(s) with missing values" in out.stdout
    report = json.loads((tmp_path / "data_report.json").read_text())
    assert report["rows_used"] == 20 and report["rows_dropped"] == 4
    assert report["class_names"] == ["setosa", "versicolor", "virginica"]
    assert report["task"] == "classification" and report["source"] == "missing_values.csv"
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert len(summary) == 7 and summary["completed"].all()
    assert f"wrote 7 files to {tmp_path}" in out.stdout


def test_csv_task_override_from_the_command_line(tmp_path):
    out = cli("compare", "--preset", "default", "--csv", DATA / "integer_labels.csv", "--target",
              "grade", "--task", "regression", "--out", tmp_path, "--epochs", 1)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads((tmp_path / "data_report.json").read_text())["task"] == "regression"
    assert json.loads((tmp_path / "config.json").read_text())["dataset"]["task"] == "regression"
    assert "data: task: regression (as configured)" in out.stdout


def test_bundled_dataset_from_a_config_in_another_directory(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps({**TINY, "dataset": {"name": "breast_cancer"}}))
    out = cli("compare", "--config", "c.json", "--out", "o", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    report = json.loads((tmp_path / "o" / "data_report.json").read_text())
    assert report["rows_used"] == 569 and len(report["feature_names"]) == 30
    assert report["class_names"] == ["benign", "malignant"]


@pytest.mark.parametrize(
    ("file", "target", "extra", "words"),
    [
        ("empty.csv", "species", [], "the file is empty"),
        ("header_only.csv", "species", [], "no data rows"),
        ("binary.bin", "species", [], "not a CSV text file"),
        ("comma.csv", "colour", [], "'colour' not found; columns: length, width, species"),
        ("single_class.csv", "species", [], "only one class"),
        ("too_few_rows.csv", "species", [], "at least 10 are needed"),
        ("no_features.csv", "species", [], "no usable feature column"),
        ("ragged.csv", "species", [], "line 6 has 4 fields"),
        ("comma.csv", "species", ["--task", "regression"], "cannot be a regression target"),
        ("does_not_exist.csv", "species", [], "cannot read"),
    ],
)
def test_refused_csv_exits_2_with_one_line(tmp_path, file, target, extra, words):
    out = cli("compare", "--preset", "default", "--csv", DATA / file, "--target", target,
              *extra, "--out", tmp_path / "o")  # fmt: skip
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert words in out.stderr and file in out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""
    assert not (tmp_path / "o").exists()  # refused before anything is written


def test_oversize_csv_is_refused(tmp_path):
    big = tmp_path / "big.csv"
    with big.open("wb") as f:
        f.write(b"a,y\n" + b"1,0\n" * (21 * 2**20 // 4))
    out = cli("compare", "--preset", "default", "--csv", big, "--target", "y", "--out", tmp_path)
    assert out.returncode == 2 and "larger than 20 MiB" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--csv", DATA / "comma.csv"], "--csv FILE and --target COLUMN go together"),
        (["--target", "species"], "--csv FILE and --target COLUMN go together"),
        (["--task", "ranking"], "invalid choice"),
    ],
)
def test_bad_data_arguments(tmp_path, args, words):
    out = cli("compare", "--preset", "default", *args, "--out", tmp_path / "o")
    assert out.returncode == 2 and words in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
