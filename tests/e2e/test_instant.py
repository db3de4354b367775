"""How fast the dashboard answers in a real browser (printed, not asserted: the figures go in
the notes against the targets of < 3 s for a first load and < 1 s per page switch and control
change with cached results): a first load, every page's first and cached visit, and a change of
each page's own controls. Every answer is also checked to be a page without an error."""

from __future__ import annotations

import time

import pytest

from .conftest import TIMINGS
from .test_browser import PAGES, TIMEOUT, go_to, main_text, open_app, run_comparison, settle
from .test_trajectories_page import slider_keys

pytestmark = pytest.mark.browser
ALL = [*PAGES, "Network", "Sweeps"]


def slug(name: str) -> str:
    return name.lower().replace(" ", "_")


def clean(page, where: str) -> None:
    assert "Traceback" not in main_text(page), where
    assert not page.locator('[data-testid="stException"]').count(), where


def timed(page, action) -> float:
    start = time.perf_counter()
    action()
    settle(page)
    return time.perf_counter() - start


def test_first_load_page_visits_and_control_changes(context_factory, server):
    page = context_factory(1600, 1000).new_page()
    start = time.perf_counter()
    open_app(page, server)
    TIMINGS["first_load_s"] = time.perf_counter() - start
    run_comparison(page)
    for visit in ("first", "cached"):
        for name in ALL[1:] + ALL[:1]:
            TIMINGS[f"visit_{visit}_{slug(name)}_s"] = go_to(page, name)
            clean(page, name)

    main = page.locator('[data-testid="stMain"]')
    go_to(page, "Loss curves")
    TIMINGS["control_loss_curves_log_axis_s"] = timed(
        page, lambda: main.get_by_text("Log loss axis").click()
    )
    TIMINGS["control_loss_curves_boundaries_s"] = timed(
        page, lambda: main.get_by_text("Decision boundaries", exact=False).click()
    )
    page.get_by_text("Decision boundaries", exact=False).wait_for(timeout=TIMEOUT)
    clean(page, "boundaries")
    TIMINGS["control_loss_curves_x_updates_s"] = timed(
        page, lambda: main.get_by_text("Updates", exact=True).click()
    )
    clean(page, "x axis")

    go_to(page, "Gradient health")
    TIMINGS["control_gradient_health_side_by_side_s"] = timed(
        page, lambda: main.get_by_text("Two runs side by side").click()
    )
    clean(page, "side by side")

    go_to(page, "Loss landscape")
    TIMINGS["control_loss_landscape_random_directions_s"] = timed(
        page, lambda: main.get_by_text("Random (filter-normalised)", exact=True).click()
    )
    clean(page, "random directions")
    TIMINGS["control_loss_landscape_back_to_pca_s"] = timed(
        page, lambda: main.get_by_text("PCA of the paths", exact=True).click()
    )
    clean(page, "pca directions")
    # the grid: 41 → 61 → 81 points a side (each evaluated once), then back to 41 (cached)
    for key, grid in (("ArrowRight", 61), ("ArrowRight", 81), ("ArrowLeft", 61), ("ArrowLeft", 41)):
        TIMINGS[f"control_loss_landscape_grid_{grid}_s"] = timed(
            page, lambda key=key: slider_keys(page, "Grid", key)
        )
        clean(page, f"grid {grid}")
    assert (
        page.locator('[data-testid="stMain"] input[aria-label="Grid"]').input_value() == "1"
    )  # 41 of 21, 41, 61, 81
