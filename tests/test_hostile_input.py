"""Hostile documents, links and command lines: one-line refusals naming the key, bounded reads
and decompression, links reproduced exactly (issue 14, items 3-7)."""

import base64
import json
import re
import tracemalloc
import zlib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import state
from nn_core import ConfigError, ExperimentConfig
from nn_core.cli import main
from nn_core.config import MAX_CONFIG_BYTES, MAX_LABEL, MAX_TITLE

ROOT = Path(__file__).resolve().parents[1]
RUN = [{"label": "a", "optimizer": "sgd", "lr": 0.1, "batch_size": 16}]

# (document, the key the refusal must name)
HOSTILE = [
    ('{"training":{"epochs":NaN},"runs":[{"optimizer":"sgd"}]}', "training.epochs"),
    ('{"training":{"epochs":1e309},"runs":[{"optimizer":"sgd"}]}', "training.epochs"),
    ('{"runs":[{"optimizer":"sgd","batch_size":1e309}]}', "runs[0].batch_size"),
    ('{"runs":[{"optimizer":"sgd","lr":Infinity}]}', "runs[0].lr"),
    ('{"runs":[{"optimizer":"adam","betas":[-Infinity,0.9]}]}', "runs[0].betas"),
    ('{"network":{"gain":NaN},"runs":[{"optimizer":"sgd"}]}', "network.gain"),
    ("[" * 100_000 + "]" * 100_000, "nested"),
    ('{"a":' * 100_000, "limit"),
    ('{"runs":[{"optimizer":["sgd"]}]}', "runs[0].optimizer"),
    ('{"runs":[{"optimizer":"sgd","lr":[1,2]}]}', "runs[0].lr"),
    (json.dumps({"runs": [{"optimizer": "sgd", "label": "x" * 100_000}]}), "runs[0].label"),
    (json.dumps({"runs": [{"optimizer": "sgd", "label": "a\nb"}]}), "runs[0].label"),
    (json.dumps({"title": "t" * 1000, "runs": RUN}), "title"),
]


@pytest.mark.parametrize(("doc", "key"), HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_documents_are_one_line_refusals_naming_the_key(doc, key):
    with pytest.raises(ConfigError) as info:
        ExperimentConfig.from_json(doc)
    message = str(info.value)
    assert key in message and "\n" not in message and len(message) < 600


def test_free_text_limits():
    run = {**RUN[0], "label": "x" * MAX_LABEL}
    ok = ExperimentConfig.from_dict({"title": "t" * MAX_TITLE, "runs": [run]})
    assert len(ok.runs[0].label) == MAX_LABEL
    with pytest.raises(ConfigError, match=r"runs\[0\]\.label.*limit is 60"):
        ExperimentConfig.from_dict({"runs": [{**RUN[0], "label": "x" * (MAX_LABEL + 1)}]})


# --- links -------------------------------------------------------------------------------------


def _link(raw: bytes) -> str:
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


def test_a_bomb_link_is_refused_without_inflating_it():
    bomb = _link(b" " * (40 << 20))  # 40 MiB of spaces: a ~55 KB link
    assert len(bomb) < state.MAX_LINK_CHARS
    tracemalloc.start()
    try:
        config, _, error = state.config_from_query({"config": bomb})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert config is None and "inflates to more than" in error
    assert peak < 4 * MAX_CONFIG_BYTES  # never the 40 MiB
    huge = _link(b" " * (200 << 20))  # a longer link is refused before decoding
    assert "the limit is" in state.config_from_query({"config": huge})[2]


@pytest.mark.parametrize(("doc", "key"), HOSTILE[:8], ids=range(8))
def test_hostile_links_are_refused_with_a_notice(doc, key):
    config, _, error = state.config_from_query({"config": _link(doc.encode())})
    assert config is None and error.startswith("Ignored the configuration in the link")


def test_a_markdown_preset_name_is_escaped():
    _, _, error = state.config_from_query({"preset": "![x](http://host/pixel.png)"})
    assert "![" not in error and "](" not in error and "\\!\\[x\\]" in error


def app(**query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def _config(at) -> ExperimentConfig:
    return at.session_state[state.CONFIG_KEY]


def test_a_link_is_reproduced_exactly_even_beyond_the_old_widget_ranges():
    doc = {
        "dataset": {"name": "circles", "n_samples": 30_000, "noise": 3.5, "val_fraction": 0.7,
                    "seed": 5, "task": "classification"},
        "network": {"hidden_layers": [3], "activation": "relu", "initializer": "he_normal"},
        "training": {"epochs": 6000, "seeds": 12, "step_epochs": 60, "histogram_every": 7,
                     "snapshot_every": 13, "dtype": "float32", "clip_norm": 2e6},
        "runs": [{"label": "a", "optimizer": "momentum", "lr": 0.123456789, "batch_size": "full",
                  "momentum": 0.987654321}],
        "title": "kept",
    }  # fmt: skip
    wanted = ExperimentConfig.from_dict(doc)
    at = app(config=state.encode_config(wanted))
    assert not at.exception, [e.value for e in at.exception]
    assert _config(at) == wanted
    at.run()  # a second rerun (widgets now drawn) does not rewrite it either
    assert _config(at) == wanted
    link = at.query_params["config"]
    assert state.decode_config(link[0] if isinstance(link, list) else link) == wanted


def test_editing_one_widget_keeps_the_fields_without_a_widget():
    doc = {
        "dataset": {"name": "moons", "n_samples": 200},
        "network": {"hidden_layers": [4]},
        "training": {"epochs": 5, "dtype": "float32", "snapshot_every": 2, "histogram_every": 3},
        "runs": RUN,
        "title": "mine",
    }
    at = app(config=state.encode_config(ExperimentConfig.from_dict(doc)))
    at.sidebar.number_input(key="w_tr_epochs").set_value(7).run()
    got = _config(at)
    assert got.training.epochs == 7
    assert (got.training.dtype, got.training.snapshot_every, got.training.histogram_every) == (
        "float32", 2, 3,
    )  # fmt: skip
    assert got.title == "mine"


@pytest.mark.parametrize("doc", [HOSTILE[0][0], HOSTILE[1][0], HOSTILE[6][0]])
def test_hostile_links_and_imports_in_the_app(doc):
    at = app(config=_link(doc.encode()))
    assert not at.exception, [e.value for e in at.exception]
    assert any("Ignored the configuration in the link" in w.value for w in at.warning)
    at.sidebar.file_uploader(key="w_import").upload("config.json", doc.encode()).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(e.value.startswith("Not imported") for e in at.sidebar.error)


def test_an_over_budget_link_disables_run_and_says_what_to_reduce():
    doc = {
        "network": {"hidden_layers": [512] * 20},
        "training": {"epochs": 5000},
        "runs": [{"label": "a", "optimizer": "sgd"}, {"label": "b", "optimizer": "adam"}],
    }
    at = app(config=state.encode_config(ExperimentConfig.from_dict(doc)))
    assert not at.exception
    button = next(b for b in at.sidebar.button if b.label == "Run comparison")
    assert button.disabled
    shown = [c.value.replace("\\", "") for c in at.sidebar.caption]  # markdown-escaped
    assert any("multiply-adds" in c and "fewer" in c for c in shown)


def test_snapshots_are_thinned_to_fit_and_the_sidebar_says_so():
    doc = {
        "network": {"hidden_layers": [512] * 4},
        "training": {"epochs": 2000},
        "dataset": {"n_samples": 40},
        "runs": [{"label": "a", "optimizer": "sgd", "batch_size": "full"}],
    }
    at = app(config=state.encode_config(ExperimentConfig.from_dict(doc)))
    assert not at.exception
    assert _config(at).training.snapshot_every > 1
    assert any("Weights are kept every" in c.value for c in at.sidebar.caption)


# --- command line ------------------------------------------------------------------------------


@pytest.mark.parametrize(("doc", "key"), HOSTILE, ids=range(len(HOSTILE)))
def test_compare_refuses_hostile_config_files_with_exit_2(doc, key, tmp_path, capsys):
    path = tmp_path / "c.json"
    path.write_text(doc)
    assert main(["compare", "--config", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and key in err and "Traceback" not in err


def test_compare_reads_a_config_with_a_bound(tmp_path, capsys):
    assert main(["compare", "--config", "/dev/zero", "--out", str(tmp_path / "o")]) == 2
    assert "larger than" in capsys.readouterr().err


def _fail_if_trained(monkeypatch):
    import nn_core.compare

    def boom(*a, **k):
        raise AssertionError("trained before checking the output folder")

    monkeypatch.setattr(nn_core.compare, "run_comparison", boom)


def test_an_unwritable_out_is_refused_before_training(tmp_path, capsys, monkeypatch):
    _fail_if_trained(monkeypatch)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    args = ["compare", "--preset", "default", "--out"]
    assert main([*args, str(blocker / "sub")]) == 2
    assert "cannot create output folder" in capsys.readouterr().err
    (tmp_path / "o" / "curves.csv").mkdir(parents=True)  # an earlier output cannot be replaced
    assert main([*args, str(tmp_path / "o")]) == 2
    assert "cannot write to output folder" in capsys.readouterr().err


def test_an_over_budget_config_is_refused_before_training(tmp_path, capsys, monkeypatch):
    _fail_if_trained(monkeypatch)
    doc = {"network": {"hidden_layers": [512] * 20}, "training": {"epochs": 5000},
           "runs": [{"optimizer": "sgd"}, {"optimizer": "adam"}]}  # fmt: skip
    path = tmp_path / "c.json"
    path.write_text(json.dumps(doc))
    assert main(["compare", "--config", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: training.epochs") and "fewer" in err and "\n" not in err


# --- uploads -----------------------------------------------------------------------------------


def test_streamlits_upload_limit_is_the_apps():
    import tomllib

    from nn_core import tabular

    settings = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert settings["server"]["maxUploadSize"] * 2**20 == tabular.MAX_BYTES


def test_a_refused_upload_leaves_no_bytes_in_the_session():
    from dashboard import data_source

    at = app()
    at.sidebar.radio(key="w_ds_source").set_value("upload").run()
    junk = b"\x00\xff" * 300_000 + b"<a href='x'>*name*</a>"
    at.sidebar.file_uploader(key="w_upload").upload("![x](http:h).csv", junk).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state[data_source.UPLOAD_KEY] is None  # the app's copy is gone at once
    errors = [e.value for e in at.sidebar.error]
    assert any(e.startswith("\\!\\[x\\]") for e in errors), errors  # named, as text
    at.sidebar.number_input(key="w_tr_epochs").set_value(3).run()  # any next rerun
    assert "w_upload" not in at.session_state  # the refused widget (and its copy) is gone
    assert any(e.value.startswith("\\!\\[x\\]") for e in at.sidebar.error)  # still said


MARKUP = "[Click here to log in](http://evil.example) ![p](http://evil.example/p.png)"


def _markdown_texts(at) -> list[str]:
    kinds = ("markdown", "caption", "warning", "error", "info", "success", "subheader", "title")
    return [str(e.value) for kind in kinds for e in getattr(at, kind)]


@pytest.mark.parametrize("page", ["pages/1_loss_curves.py", "pages/3_gradient_health.py",
                                  "pages/4_loss_landscape.py"])  # fmt: skip
def test_markup_in_run_labels_never_reaches_markdown_unescaped(page):
    runs = [{"label": MARKUP[:60], "optimizer": "sgd", "lr": 0.1, "batch_size": 16},
            {"label": "<a href='http://evil.example'>x</a>", "optimizer": "adam"}]  # fmt: skip
    doc = {"dataset": {"n_samples": 80}, "network": {"hidden_layers": [4]},
           "training": {"epochs": 3}, "runs": runs}  # fmt: skip
    at = AppTest.from_file(str(ROOT / page), default_timeout=120)
    at.query_params["config"] = state.encode_config(ExperimentConfig.from_dict(doc))
    at.run()
    next(b for b in at.sidebar.button if b.label == "Run comparison").click().run()
    assert not at.exception, [e.value for e in at.exception]
    texts = _markdown_texts(at)
    if page.startswith("pages/4"):  # its caveat names the runs far from the plane
        assert any("evil" in t for t in texts)
    for value in texts:  # no link, image or tag opens: each is backslash-escaped
        assert not re.search(r"(?<!\\)\]\(|(?<!\\)<a", value), value


def test_long_column_names_are_cut_and_long_class_labels_refused():
    from nn_core import tabular

    header = "a" * 5000 + ",target\n"
    _, report = tabular.load_dataset((header + "1,x\n2,y\n" * 20).encode(), "target")
    assert all(len(n) <= tabular.MAX_NAME for n in report.feature_names)
    rows = "".join(f"{i},{'z' * 100 if i % 2 else 'b'}\n" for i in range(40))
    with pytest.raises(tabular.DataError, match="class label of 100 characters"):
        tabular.load_dataset(("x,target\n" + rows).encode(), "target")
