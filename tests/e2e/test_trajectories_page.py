"""The Descent trajectories page in a real browser: how long a visit and each of the page's own
controls take to answer (test function, start point, step count, learning rate), with cached
results, measured from the action until the changed chart is drawn and the script is idle; the
race plays without errors; screenshots at 1600×1000 and 1280×720 go to
artifacts/screenshots/trajectories-*.png, one image per chart too, to judge readability.

The timings are printed (``pytest -s``) as one line the report can quote, and stored with the
suite's other timings in artifacts/browser_timings.json."""

from __future__ import annotations

import time

import pytest

from .conftest import ARTIFACTS, TIMINGS
from .test_browser import IDLE, TIMEOUT, go_to, main_text, open_app, settle

pytestmark = pytest.mark.browser

SIZES = {"1600x1000": (1600, 1000), "1280x720": (1280, 720)}
PLOTS = '[data-testid="stMain"] [data-testid="stPlotlyChart"]'
PAGE = "Descent trajectories"
# What the charts hold now: every trace's length and last point, and the contour's background,
# so any change of data (a new path, start or function) changes it.
FINGERPRINT = """() => Array.from(document.querySelectorAll(
  '[data-testid="stMain"] [data-testid="stPlotlyChart"] .js-plotly-plot')).map(gd =>
  JSON.stringify([(gd.layout.images || []).map(i => (i.source || '').length),
    (gd._fullData || []).map(t => [t.x && t.x.length, t.x && t.x[t.x.length - 1],
                                  t.y && t.y[t.y.length - 1], t.z && t.z.length])])).join('|')"""
PAINTED = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def fingerprint(page) -> str:
    return page.evaluate(FINGERPRINT)


def answered(page, before: str, charts: int = 2) -> None:
    """Wait until the charts differ from ``before``, all are drawn, the script is idle and the
    browser has painted."""
    page.wait_for_function(
        """([before, n]) => {
          const app = document.querySelector('[data-testid="stApp"]');
          const plots = document.querySelectorAll(
            '[data-testid="stMain"] [data-testid="stPlotlyChart"] .js-plotly-plot');
          return app && app.getAttribute('data-test-script-state') === 'notRunning'
            && plots.length >= n && (FP)() !== before;
        }""".replace("(FP)", f"({FINGERPRINT})"),
        arg=[before, charts],
        timeout=TIMEOUT,
        polling=20,
    )
    page.evaluate(PAINTED)


def timed(page, action) -> float:
    """Seconds from ``action()`` until the page has answered with changed charts."""
    before = fingerprint(page)
    start = time.perf_counter()
    action()
    answered(page, before)
    return time.perf_counter() - start


def visit(page) -> float:
    """Seconds from clicking the page's link until its charts are drawn and the script is idle."""
    start = time.perf_counter()
    page.locator('[data-testid="stSidebarNav"] a', has_text=PAGE).first.click()
    page.get_by_role("heading", name=PAGE, exact=True).first.wait_for(timeout=TIMEOUT)
    page.wait_for_function(
        f"() => document.querySelectorAll('{PLOTS} .js-plotly-plot').length >= 2 && ({IDLE})()",
        timeout=TIMEOUT,
        polling=20,
    )
    page.evaluate(PAINTED)
    return time.perf_counter() - start


def choose_function(page, label: str) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = page.get_by_role("combobox", name="Test function")
    option = page.get_by_role("option").filter(has_text=label).first
    for _ in range(3):  # a click that lands while the page scrolls leaves the list closed
        box.click()
        try:
            option.wait_for(timeout=3000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    option.click()


def type_number(page, label: str, value: float) -> None:
    box = page.locator('[data-testid="stMain"]').get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")


def slider_keys(page, label: str, key: str, presses: int = 1) -> None:
    """Move a slider by keyboard: its thumb is a focusable range input."""
    thumb = page.locator(f'[data-testid="stMain"] input[type="range"][aria-label="{label}"]')
    thumb.focus()
    for _ in range(presses):
        thumb.press(key)


def click_contour(page, fx: float, fy: float) -> None:
    """Click the contour's plot area at fractions (fx, fy) of its width and height."""
    area = page.locator(f"{PLOTS} .nsewdrag").first.bounding_box()
    assert area is not None, "the contour is not drawn"
    page.mouse.click(area["x"] + fx * area["width"], area["y"] + fy * area["height"])


def start_x(page) -> str:
    return page.locator('[data-testid="stMain"]').get_by_label("Start x", exact=True).input_value()


def check(page) -> None:
    text = main_text(page)
    assert "Traceback" not in text
    assert not page.locator('[data-testid="stException"]').count()


def shoot(page, name: str) -> None:
    """The viewport, then every chart on its own (Streamlit scrolls inside its main block, so
    a full-page screenshot would show the viewport only)."""
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.mouse.move(2, 2)  # no tooltip in the picture
    page.wait_for_timeout(200)
    page.screenshot(path=str(folder / f"{name}.png"))
    charts = page.locator(PLOTS)
    for i in range(charts.count()):
        charts.nth(i).scroll_into_view_if_needed()
        charts.nth(i).screenshot(path=str(folder / f"{name}-chart{i + 1}.png"))
    page.get_by_role("heading", name=PAGE, exact=True).first.scroll_into_view_if_needed()


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


@pytest.mark.parametrize("size", list(SIZES))
def test_trajectories_page_answers_and_races(context_factory, server, size):
    width, height = SIZES[size]
    page = context_factory(width, height).new_page()
    open_app(page, server)
    first = visit(page)
    check(page)
    # visits with everything cached: from another page and back, three times; the switches to
    # the light Setup page are the floor this machine and browser set for any page
    visits, floor = [], []
    for _ in range(3):
        floor.append(go_to(page, "Setup"))
        visits.append(visit(page))
    check(page)
    shoot(page, f"trajectories-{size}")
    # the page's own controls, each timed from the action to the redrawn charts
    functions = []
    for label in ("Himmelblau", "Rosenbrock", "Himmelblau", "Rosenbrock"):
        functions.append(timed(page, lambda label=label: choose_function(page, label)))
    check(page)
    starts = [timed(page, lambda v=v: type_number(page, "Start x", v)) for v in (-1.2, 0.5, -1.5)]
    check(page)
    steps = [timed(page, lambda k=k: slider_keys(page, "Steps", k)) for k in ("ArrowLeft",) * 2]
    check(page)
    # a click on the contour sets the start point (Rosenbrock's square is x ∈ [−2, 2])
    clicks = []
    for fx, fy in ((0.2, 0.8), (0.75, 0.3)):
        before = start_x(page)
        clicks.append(timed(page, lambda fx=fx, fy=fy: click_contour(page, fx, fy)))
        after = float(start_x(page))
        assert start_x(page) != before
        assert after == pytest.approx(-2 + 4 * fx, abs=0.25)  # where the click was
    check(page)
    lrs = []
    if page.locator('[data-testid="stMain"] input[aria-label="Learning rates ×"]').count():
        for key in ("ArrowRight", "ArrowLeft", "ArrowLeft"):
            lrs.append(timed(page, lambda key=key: slider_keys(page, "Learning rates ×", key)))
        check(page)
    # the race plays without errors, and a frame part-way shows the paths part-way
    play = page.locator(".updatemenu-button").first
    play.click()
    page.wait_for_timeout(1500)
    check(page)
    shoot(page, f"trajectories-playing-{size}")
    # the 3-D view, in its own tab: drawn on demand, and it races too
    three_d = timed(page, lambda: page.get_by_role("tab", name="3-D view").click())
    check(page)
    assert page.locator(f"{PLOTS} .gl-container").count() >= 1
    shoot(page, f"trajectories-3d-{size}")
    page.locator(".updatemenu-button").nth(2).click()  # its ▶ Play
    page.wait_for_timeout(1500)
    check(page)
    page.get_by_role("tab", name="Loss along the way").click()
    settle(page)
    numbers = {
        f"trajectories_first_visit_{size}_s": first,
        f"setup_page_switch_median_{size}_s": median(floor),
        f"trajectories_visit_cached_median_{size}_s": median(visits),
        f"trajectories_function_change_median_{size}_s": median(functions),
        f"trajectories_start_change_median_{size}_s": median(starts),
        f"trajectories_steps_change_median_{size}_s": median(steps),
        f"trajectories_start_click_median_{size}_s": median(clicks),
    }
    if lrs:
        numbers[f"trajectories_lr_change_median_{size}_s"] = median(lrs)
    numbers[f"trajectories_3d_tab_open_{size}_s"] = three_d
    TIMINGS.update(numbers)
    print(
        f"\nDescent trajectories at {size} (s): visit {median(visits):.2f} "
        f"(first {first:.2f}; all {', '.join(f'{v:.2f}' for v in visits)}), "
        f"test function {median(functions):.2f} ({', '.join(f'{v:.2f}' for v in functions)}), "
        f"start {median(starts):.2f} ({', '.join(f'{v:.2f}' for v in starts)}), "
        f"steps {median(steps):.2f} ({', '.join(f'{v:.2f}' for v in steps)}), "
        f"start by click {median(clicks):.2f} ({', '.join(f'{v:.2f}' for v in clicks)}), "
        + (f"lr {median(lrs):.2f} ({', '.join(f'{v:.2f}' for v in lrs)})" if lrs else "lr n/a")
        + f", 3-D tab {three_d:.2f}; for reference a switch to Setup {median(floor):.2f}"
    )
