"""The Network page in a real browser: it draws the animated diagram and the unit maps after the
default comparison (and the pictures after a run on the digits), its switch time is measured,
and screenshots at 1600×1000 and 1280×720 go to artifacts/screenshots/network-*.png, with one
image per chart, to judge readability."""

from __future__ import annotations

import pytest

from .conftest import ARTIFACTS, TIMINGS
from .test_browser import CHARTS, go_to, main_text, open_app, run_comparison, settle

pytestmark = pytest.mark.browser

SIZES = {"1600x1000": (1600, 1000), "1280x720": (1280, 720)}
PLOTS = '[data-testid="stMain"] [data-testid="stPlotlyChart"]'


def shoot_charts(page, name: str) -> None:
    """The viewport, then every chart on its own (Streamlit scrolls inside its main block, so a
    full-page screenshot would show the viewport only)."""
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"))
    charts = page.locator(PLOTS)
    for i in range(charts.count()):
        charts.nth(i).screenshot(path=str(folder / f"{name}-chart{i + 1}.png"))


def _check(page, charts: int = 2) -> None:
    text = main_text(page)
    assert "Traceback" not in text and "No results yet" not in text
    assert not page.locator('[data-testid="stException"]').count()
    assert page.locator(CHARTS).count() >= 2 * charts  # each chart draws two svg layers
    assert page.locator(".updatemenu-button").count() >= 2  # play / pause of the animation
    assert page.locator(".slider-container").count() >= 1  # the epoch slider


def _context(browser, size: str):
    width, height = SIZES[size]
    return browser.new_context(viewport={"width": width, "height": height})


@pytest.mark.parametrize("size", list(SIZES))
def test_network_page_after_the_default_preset(browser, server, size):
    context = _context(browser, size)
    try:
        page = context.new_page()
        open_app(page, server)
        run_comparison(page)
        go_to(page, "Data")
        TIMINGS[f"network_page_first_visit_{size}_s"] = go_to(page, "Network")
        _check(page)
        go_to(page, "Data")
        TIMINGS[f"network_page_switch_cached_{size}_s"] = go_to(page, "Network")
        shoot_charts(page, f"network-default-{size}")
        # the animation plays without errors
        page.locator(".updatemenu-button").first.click()
        page.wait_for_timeout(1200)
        assert not page.locator('[data-testid="stException"]').count()
    finally:
        context.close()


def test_network_page_shows_vanishing_gradients(browser, server):
    context = _context(browser, "1600x1000")
    try:
        page = context.new_page()
        open_app(page, server, "?preset=vanishing-sigmoid")
        run_comparison(page)
        TIMINGS["network_page_first_visit_vanishing_sigmoid_s"] = go_to(page, "Network")
        _check(page)
        assert "fades" in main_text(page)
        settle(page)
        shoot_charts(page, "network-vanishing-sigmoid-1600x1000")
    finally:
        context.close()


def test_network_page_pictures_of_the_digits(browser, server):
    from dashboard.state import encode_config
    from nn_core import ExperimentConfig

    config = ExperimentConfig.from_dict(
        {
            "dataset": {"name": "digits"},
            "network": {"hidden_layers": [32], "activation": "relu", "initializer": "he_normal"},
            "training": {"epochs": 10},
            "runs": [{"label": "Adam", "optimizer": "adam", "batch_size": 32, "lr": 0.005}],
        }
    )
    context = _context(browser, "1600x1000")
    try:
        page = context.new_page()
        open_app(page, server, "?config=" + encode_config(config))
        run_comparison(page)
        TIMINGS["network_page_first_visit_digits_s"] = go_to(page, "Network")
        _check(page, charts=3)  # diagram, PCA, digit images
        shoot_charts(page, "network-digits-1600x1000")
    finally:
        context.close()
