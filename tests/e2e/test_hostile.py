"""Hostile text in a real browser: run labels holding Markdown and an HTML link, and a preset
name holding a Markdown image, are shown as text; no link opens and no image is fetched."""

from __future__ import annotations

import pytest

from dashboard import state
from nn_core import ExperimentConfig

from .test_browser import TIMEOUT, go_to, legend, open_app, run_comparison, settle

pytestmark = pytest.mark.browser

PIXEL = "http://127.0.0.1:9/pixel.png"  # loopback and closed: nothing leaves the machine
LINK_LABEL = "<a href='http://127.0.0.1:9/login'>Log in</a>"
MD_LABEL = "[Click here](http://127.0.0.1:9/x) **b**"


def _anchors_to_bait(page) -> int:
    return page.eval_on_selector_all('a[href*="127.0.0.1:9"]', "els => els.length")


def test_hostile_labels_and_preset_render_as_text(page, server):
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    open_app(page, server, "?preset=" + f"![x]({PIXEL})")
    warning = page.locator('[data-testid="stAlert"]', has_text="unknown preset").first
    warning.wait_for(timeout=TIMEOUT)
    shown = warning.inner_text().replace("\u2060", "")  # invisible joiners break autolinks
    assert f"![x]({PIXEL})" in shown  # the name, as typed
    assert page.eval_on_selector_all(f'img[src="{PIXEL}"]', "els => els.length") == 0

    runs = [
        {"label": LINK_LABEL, "optimizer": "sgd", "lr": 0.1, "batch_size": 16},
        {"label": MD_LABEL, "optimizer": "adam", "lr": 0.01, "batch_size": 16},
    ]
    doc = {"dataset": {"n_samples": 80}, "network": {"hidden_layers": [4]},
           "training": {"epochs": 3}, "runs": runs}  # fmt: skip
    open_app(page, server, "?config=" + state.encode_config(ExperimentConfig.from_dict(doc)))
    run_comparison(page)
    shown = legend(page)
    assert any(LINK_LABEL in t for t in shown) and any(MD_LABEL in t for t in shown), shown
    assert _anchors_to_bait(page) == 0
    go_to(page, "Loss landscape")
    settle(page)
    assert _anchors_to_bait(page) == 0
    assert not [u for u in requested if u.startswith("http://127.0.0.1:9/")], requested


def test_a_link_beyond_the_old_widget_ranges_is_kept_exactly(page, server):
    doc = {"dataset": {"n_samples": 30_000, "noise": 3.5, "val_fraction": 0.7},
           "network": {"hidden_layers": [3]},
           "training": {"epochs": 6000, "seeds": 12, "step_epochs": 60, "dtype": "float32",
                        "snapshot_every": 13},
           "runs": [{"label": "a", "optimizer": "sgd", "lr": 0.1}]}  # fmt: skip
    wanted = ExperimentConfig.from_dict(doc)
    open_app(page, server, "?config=" + state.encode_config(wanted))
    sidebar = page.get_by_test_id("stSidebarUserContent")
    for section in ("Data", "Training"):  # open the two settings sections
        sidebar.get_by_text(section, exact=True).first.click()
        settle(page)
    for label, value in (("Samples", "30000"), ("Epochs", "6000"), ("Seeds", "12")):
        assert sidebar.get_by_label(label, exact=True).input_value() == value, label
    assert "config=" in page.url, page.url
    link = page.url.split("config=", 1)[1].split("&", 1)[0]
    assert state.decode_config(link) == wanted
