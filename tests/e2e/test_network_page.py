"""The Network page in a real browser: it draws the animated diagram and the unit maps after the
default comparison, its switch time is measured, and screenshots at 1600×1000 and 1280×720 go to
artifacts/screenshots/ (network-*.png) to judge readability."""

from __future__ import annotations

import pytest

from .conftest import TIMINGS
from .test_browser import CHARTS, go_to, main_text, open_app, run_comparison, settle, shoot

pytestmark = pytest.mark.browser

SIZES = {"1600x1000": (1600, 1000), "1280x720": (1280, 720)}


def _check(page) -> None:
    text = main_text(page)
    assert "Traceback" not in text and "No results yet" not in text
    assert not page.locator('[data-testid="stException"]').count()
    assert page.locator(CHARTS).count() >= 4  # the diagram and the unit maps
    assert page.locator(".updatemenu-button").count() >= 2  # play / pause of the animation
    assert page.locator(".slider-container").count() >= 1  # the epoch slider


@pytest.mark.parametrize("size", list(SIZES))
def test_network_page_after_the_default_preset(browser, server, size):
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        open_app(page, server)
        run_comparison(page)
        go_to(page, "Data")
        TIMINGS[f"network_page_switch_{size}_s"] = go_to(page, "Network")
        _check(page)
        shoot(page, f"network-default-{size}")
        page.screenshot(path=str(_folder() / f"network-default-{size}-viewport.png"))
    finally:
        context.close()


def test_network_page_shows_vanishing_gradients(browser, server):
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    try:
        page = context.new_page()
        open_app(page, server, "?preset=vanishing-sigmoid")
        run_comparison(page)
        TIMINGS["network_page_switch_vanishing_sigmoid_s"] = go_to(page, "Network")
        _check(page)
        assert "fades" in main_text(page)
        settle(page)
        shoot(page, "network-vanishing-sigmoid-1600x1000")
    finally:
        context.close()


def _folder():
    from .conftest import ARTIFACTS

    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
