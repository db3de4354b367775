"""The Sweeps page in a real browser: the talk demo trains in the background while the page
stays usable, then draws the sensitivity chart, the best-vs-best curves, the tuned-vs-default
intervals and the heat map; the time from click to the finished charts is printed, and
screenshots at 1600×1000 and 1280×720 go to artifacts/screenshots/sweeps-*.png."""

from __future__ import annotations

import time

import pytest

from .conftest import TIMINGS
from .test_browser import TIMEOUT, go_to, main_text, open_app, settle
from .test_network_page import PLOTS, shoot_charts

pytestmark = pytest.mark.browser

SIZES = {"1600x1000": (1600, 1000), "1280x720": (1280, 720)}


@pytest.mark.parametrize("size", list(SIZES))
def test_the_talk_demo_sweep_draws_every_chart(context_factory, server, size):
    width, height = SIZES[size]
    context = context_factory(width, height)
    page = context.new_page()
    open_app(page, server)
    go_to(page, "Sweeps")
    start = time.perf_counter()
    page.get_by_role("button", name="Talk demo").click()
    page.get_by_text("Learning-rate sensitivity").first.wait_for(timeout=TIMEOUT)
    page.get_by_role("button", name="Use these learning rates in the comparison").wait_for(
        timeout=TIMEOUT
    )
    TIMINGS[f"sweep_talk_demo_click_to_results_{size}_s"] = time.perf_counter() - start
    # the live part (progress, Cancel, the growing chart) is gone once the finished page is up
    page.get_by_role("button", name="Cancel sweep").wait_for(state="detached", timeout=TIMEOUT)
    settle(page)
    text = main_text(page)
    assert "Traceback" not in text
    assert not page.locator('[data-testid="stException"]').count()
    assert page.locator(PLOTS).count() >= 4
    shoot_charts(page, f"sweeps-{size}")


def test_the_sweep_settings_travel_in_the_url_and_reopen_the_page(context_factory, server):
    from urllib.parse import parse_qs, urlparse

    from dashboard.sweep_job import decode_settings

    context = context_factory(1500, 1000)
    page = context.new_page()
    open_app(page, server)
    go_to(page, "Sweeps")
    page.get_by_role("button", name="Talk demo").click()
    page.get_by_role("button", name="Use these learning rates in the comparison").wait_for(
        timeout=TIMEOUT
    )
    settle(page)
    query = parse_qs(urlparse(page.url).query)
    settings = decode_settings(query["sweep"][0])
    assert settings["rules"] == ["sgd", "adam"] and settings["points"] == 11
    link = page.url
    # a page switch drops the parameter; coming back puts it back
    go_to(page, "Data")
    go_to(page, "Sweeps")
    assert parse_qs(urlparse(page.url).query).get("sweep") == query["sweep"]
    # the link opens the Sweeps page in a new session with the talk demo's settings
    fresh = context.new_page()
    fresh.goto(link)
    fresh.get_by_role("heading", name="Sweeps", exact=True).first.wait_for(timeout=TIMEOUT)
    settle(fresh)
    main = fresh.locator('[data-testid="stMain"]')  # the sidebar has an Epochs field too
    assert main.get_by_label("Points", exact=True).input_value() == "11"
    assert main.get_by_label("Fresh seeds", exact=True).input_value() == "3"
    assert main.get_by_label("Epochs", exact=True).input_value() == "30"
    assert "Ignored" not in main_text(fresh)
    # a damaged link: one warning, the form's defaults, no traceback
    fresh.goto(link.split("?")[0] + "?sweep=damaged-link")
    fresh.get_by_text("Ignored the sweep settings in the link").wait_for(timeout=TIMEOUT)
    assert "Traceback" not in main_text(fresh)
    assert main.get_by_label("Points", exact=True).input_value() == "25"
