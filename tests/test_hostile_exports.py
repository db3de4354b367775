"""Hostile text and honest failure: markup shown as text, formulas neutralised in exports,
a run whose loss exploded reported as diverged (issue 14, items 8-10)."""

import io
import json
import re
import zipfile

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboard import diagnosis, export, text
from dashboard.figures import curves, gradients
from nn_core import ExperimentConfig, run_comparison
from nn_core.cli import main
from nn_core.results import DIVERGENCE_RULE, csv_text, divergence, neutralise_text

EVIL = '=HYPERLINK("http://x")<a href="http://evil">Click here</a> ![p](http://h/p.png)'


# --- markdown and Plotly escaping --------------------------------------------------------------


def _rendered(source: str) -> str:
    """What CommonMark shows for ``source`` made of escapes only: each ``\\c`` shows ``c``."""
    return re.sub(r"\\(.)", r"\1", source)


@pytest.mark.parametrize(
    "value",
    [
        "![x](http://host/pixel.png)",
        "[Click here to log in](http://host)",
        "<a href='http://host'>x</a>",
        "*bold* _em_ `code` :red[red] :material/home: $x^2$ # head",
        "line1\n- item\n| a | b |",
    ],
)
def test_markdown_escape_leaves_no_markup_and_keeps_the_text(value):
    out = text.md(value)
    # every punctuation character is escaped, so no construct can open
    assert not re.search(r"(?<!\\)[!\[\]()<>*_`:$#|-]", out.replace("\\\\", ""))
    assert _rendered(out).replace(text.WORD_JOINER, "") == value.replace("\n", " ")


@pytest.mark.parametrize("value", ["see http://host/x", "www.host.example", "me@host.example"])
def test_markdown_escape_breaks_gfm_autolinks_invisibly(value):
    # GFM finds these in the text after parsing (escapes do not stop it): each must be split
    rendered = _rendered(text.md(value))
    assert not re.search(r"https?://|www\.|\w@\w", rendered)
    assert rendered.replace(text.WORD_JOINER, "") == value


def test_plotly_labels_show_links_as_text():
    fig = go.Figure(
        go.Scatter(
            x=[1, 2],
            y=[1, 2],
            name=EVIL,
            hovertemplate="<b>" + EVIL + "</b><br>%{y}<extra></extra>",
            customdata=np.array([[EVIL], ["b"]], dtype=object),
        )
    )
    fig.add_trace(go.Heatmap(z=[[1.0]], y=[EVIL], x=[1]))
    fig.update_layout(title=EVIL, xaxis_title=EVIL)
    text.safe_figure(fig)
    shown = json.dumps(fig.to_plotly_json(), default=str)
    assert "<a " not in shown and "<a href" not in fig.data[0].name
    assert "&lt;a href" in fig.data[0].hovertemplate
    assert fig.data[0].hovertemplate.endswith("</b><br>%{y}<extra></extra>")  # own tags kept
    assert fig.data[0].customdata[0][0] == text.plotly(EVIL)
    assert list(fig.data[0].x) == [1, 2]  # numbers untouched


def test_every_run_chart_escapes_a_hostile_run_label(small):
    label = '<a href="http://evil">Click</a> [x](http://h)'
    config = small(runs=[{"label": label, "optimizer": "sgd", "batch_size": 8, "lr": 0.05}])
    res = run_comparison(config, parallel=False)
    colors = {label: "#000000"}
    g = res.gradients[res.gradients["run"] == label]
    figs = [
        curves.loss_curves(res.curves, colors),
        curves.step_curves(res.steps, colors, False, False),
        gradients.norm_heatmap(g, False),
    ]
    for fig in figs:
        blob = json.dumps(fig.to_plotly_json(), default=str)
        assert "<a href" not in blob, blob[:300]


# --- CSV formula injection ---------------------------------------------------------------------


def test_formula_cells_are_neutralised_and_numbers_are_not():
    frame = pd.DataFrame(
        {
            "run": ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tx", "plain", "-1", "+2.5e3"],
            "value": [-1.0, 2.0, -3.5, 4.0, 5.0, 7.0, -8.0, 9.0],
        }
    )
    frame["=col"] = 1
    back = pd.read_csv(io.StringIO(csv_text(frame)), keep_default_na=False)
    assert list(back.columns) == ["run", "value", "'=col"]
    assert back["run"].tolist()[:5] == ["'=1+1", "'+cmd", "'-2+3", "'@SUM(A1)", "'\tx"]
    assert back["run"].tolist()[5:] == ["plain", "-1", "+2.5e3"]  # plain numbers stay numbers
    assert back["value"].tolist() == frame["value"].tolist()
    assert neutralise_text(-3.0) == -3.0 and neutralise_text("\rx") == "'\rx"


def _formula_comparison(small):
    runs = [
        {"label": "=HYPERLINK(1)", "optimizer": "sgd", "batch_size": 8, "lr": 0.05},
        {"label": "-2+3", "optimizer": "adam", "batch_size": 8, "lr": 0.01},
    ]
    return run_comparison(small(runs=runs, training={"epochs": 2, "seeds": 1}), parallel=False)


def _cells(csv: str) -> list[str]:
    return [c for line in csv.splitlines() for c in line.split(",")]


def test_dashboard_csv_and_zip_exports_neutralise_formulas(small):
    res = _formula_comparison(small)
    res.data_report = {"source": "=evil.csv", "columns": ["@x", "y"], "notes": ["+n"]}
    for name in export.TABLES:
        cells = _cells(export.table_csv(res, name).decode())
        assert not any(c.startswith(("=", "+", "@")) for c in cells), name
        assert "'=HYPERLINK(1)" in cells and "'-2+3" in cells
    with zipfile.ZipFile(io.BytesIO(export.zip_bytes(res))) as zf:
        for name in zf.namelist():
            if name.endswith(".csv"):
                cells = _cells(zf.read(name).decode())
                assert not any(c.startswith(("=", "+", "@")) for c in cells), name
        report = json.loads(zf.read("data_report.json"))
    assert report == {"source": "'=evil.csv", "columns": ["'@x", "y"], "notes": ["'+n"]}
    assert (
        json.loads(zipfile.ZipFile(io.BytesIO(export.zip_bytes(res))).read("config.json"))["runs"][
            0
        ]["label"]
        == "=HYPERLINK(1)"
    )  # the configuration itself is kept exactly


def test_command_line_csv_files_neutralise_formulas(tmp_path):
    doc = {
        "dataset": {"name": "moons", "n_samples": 60},
        "network": {"hidden_layers": [4]},
        "training": {"epochs": 2},
        "runs": [{"label": "=1+2", "optimizer": "sgd", "lr": 0.1, "batch_size": 16}],
    }
    path = tmp_path / "c.json"
    path.write_text(json.dumps(doc))
    assert main(["compare", "--config", str(path), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    for csv in (tmp_path / "o").glob("*.csv"):
        cells = _cells(csv.read_text())
        assert "=1+2" not in cells and "'=1+2" in cells, csv.name
        assert not any(c.startswith("=") for c in cells)
    losses = pd.read_csv(tmp_path / "o" / "curves.csv")["loss"]
    assert np.isfinite(losses).all()  # numbers are still numbers


# --- honest divergence -------------------------------------------------------------------------


def exploding() -> ExperimentConfig:
    """Adam at lr 50 on the sine regression: the loss climbs to ~1e8 but stays finite."""
    return ExperimentConfig.from_dict(
        {
            "dataset": {"name": "sine", "n_samples": 100},
            "network": {"hidden_layers": [8], "activation": "relu"},
            "training": {"epochs": 20},
            "runs": [
                {"label": "boom", "optimizer": "adam", "lr": 50, "batch_size": "full"},
                {"label": "fine", "optimizer": "adam", "lr": 0.01, "batch_size": "full"},
            ],
        }
    )


def test_a_finite_loss_explosion_is_diverged_and_not_completed():
    res = run_comparison(exploding(), parallel=False)
    s = res.summary.set_index("run")
    train = res.curves[(res.curves["split"] == "train") & (res.curves["run"] == "boom")]
    assert np.isfinite(train["loss"]).all()  # the premise: it never overflowed
    assert train["loss"].max() > 1e3 * train["loss"].iloc[0]
    assert bool(s.loc["boom", "diverged"]) and not bool(s.loc["boom", "completed"])
    first = train[train["loss"] > 1e3 * train["loss"].iloc[0]]["step"].iloc[0]
    assert s.loc["boom", "diverged_step"] == first
    assert "1000" in s.loc["boom", "diverged_reason"]
    assert not bool(s.loc["fine", "diverged"]) and bool(s.loc["fine", "completed"])


def test_divergence_rule_by_hand():
    assert divergence([0.5, 0.4, 0.3], [0, 1, 2], False, None) == (False, None, "")
    assert divergence([0.5, 400.0, 600.0], [0, 1, 2], False, None)[:2] == (True, 2)
    # a tiny start does not make ordinary noise a divergence: the bar is at least 1
    assert divergence([1e-6, 0.5], [0, 5], False, None)[0] is False
    assert divergence([0.5, np.nan], [0, 3], True, 3)[:2] == (True, 3)
    assert "1000" in DIVERGENCE_RULE


def test_gradient_health_says_a_diverged_run_diverged():
    res = run_comparison(exploding(), parallel=False)
    g = res.gradients[res.gradients["run"] == "boom"]
    findings = diagnosis.diagnose(g, diagnosis.outcome(res.summary, "boom", 0))
    assert findings[0].level == "problem" and "diverged" in findings[0].title.lower()
    assert not any(f.level == "ok" for f in findings)
    assert all("healthy across depth" not in f.title for f in findings)
    ok = diagnosis.diagnose(
        res.gradients[res.gradients["run"] == "fine"], diagnosis.outcome(res.summary, "fine", 0)
    )
    assert not any("diverged" in f.title.lower() for f in ok)
