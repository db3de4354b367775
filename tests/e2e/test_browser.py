"""The dashboard in a real browser: run, see charts, switch pages, download, upload, and two
sessions at once. Screenshots of every page go to artifacts/screenshots/."""

from __future__ import annotations

import csv
import io
import time

import pytest

from nn_core import ExperimentConfig

from .conftest import ARTIFACTS, ROOT, TIMINGS

pytestmark = pytest.mark.browser

PAGES = [
    "Loss curves",
    "Setup",
    "Descent trajectories",
    "Gradient health",
    "Loss landscape",
    "Data",
    "Learn",
]
CHARTS = '[data-testid="stMain"] [data-testid="stPlotlyChart"] .main-svg'
IDLE = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return app && app.getAttribute('data-test-script-state') === 'notRunning';
}"""
TIMEOUT = 60_000


def settle(page, condition: str | None = None, arg=None) -> None:
    """Wait until the script is idle and, if given, a JS condition holds."""
    page.wait_for_timeout(150)  # let a rerun start before asking whether it finished
    page.wait_for_function(IDLE, timeout=TIMEOUT, polling=50)
    if condition:
        page.wait_for_function(condition, arg=arg, timeout=TIMEOUT, polling=50)
        page.wait_for_function(IDLE, timeout=TIMEOUT, polling=50)


def charts_at_least(page, n: int) -> None:
    settle(page, f"(n) => document.querySelectorAll('{CHARTS}').length >= n", n)


def legend(page) -> set[str]:
    return set(
        page.eval_on_selector_all(
            '[data-testid="stMain"] .legendtext', "els => els.map(e => e.textContent)"
        )
    )


def open_app(page, server: str, query: str = "") -> None:
    page.goto(server + "/" + query)
    page.get_by_role("button", name="Run comparison").wait_for(timeout=TIMEOUT)
    settle(page)


def run_comparison(page) -> float:
    """Click Run; return the seconds until the charts are drawn (then wait for idle)."""
    start = time.perf_counter()
    page.get_by_role("button", name="Run comparison").click()
    page.get_by_text("No results yet").wait_for(state="detached", timeout=TIMEOUT)
    drawn = f"() => document.querySelectorAll('{CHARTS}').length >= 4"  # 2 charts, 2 svg layers
    page.wait_for_function(drawn, timeout=TIMEOUT, polling=20)
    seconds = time.perf_counter() - start
    settle(page)
    return seconds


def go_to(page, name: str) -> float:
    start = time.perf_counter()
    page.locator('[data-testid="stSidebarNav"] a', has_text=name).first.click()
    page.get_by_role("heading", name=name, exact=True).first.wait_for(timeout=TIMEOUT)
    settle(page)
    return time.perf_counter() - start


def shoot(page, name: str) -> None:
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def test_run_the_default_preset_and_see_every_page_keep_the_results(page, server):
    open_app(page, server)
    assert "No results yet" in main_text(page)
    preset = page.locator('[data-testid="stSidebar"]').get_by_role("combobox", name="Preset")
    assert preset.input_value() == "Seven optimizers"  # the default preset, by its short name
    shoot(page, "0-fresh")
    TIMINGS["click_to_last_chart_default_preset_s"] = run_comparison(page)
    assert "No results yet" not in main_text(page)
    shoot(page, "1-loss-curves")
    switches = []
    for i, name in enumerate(PAGES[1:] + PAGES[:1], start=2):
        switches.append(go_to(page, name))
        text = main_text(page)
        assert "Traceback" not in text and "No results yet" not in text, name
        assert not page.locator('[data-testid="stException"]').count(), name
        shoot(page, f"{i}-{name.lower().replace(' ', '-')}")
    # back on Loss curves: the charts are there without pressing Run again
    charts_at_least(page, 4)
    TIMINGS["page_switch_with_cached_results_median_s"] = sorted(switches)[len(switches) // 2]
    TIMINGS["page_switch_back_to_loss_curves_s"] = switches[-1]


def test_download_the_curves_csv(page, server):
    open_app(page, server)
    run_comparison(page)
    with page.expect_download(timeout=TIMEOUT) as info:
        page.get_by_role("button", name="Curves CSV").click()
    rows = list(csv.DictReader(io.StringIO(open(info.value.path()).read())))
    preset = ExperimentConfig.preset("default")
    expected = len(preset.runs) * preset.training.seeds * (preset.training.epochs + 1) * 2
    assert len(rows) == expected
    assert {"run", "optimizer", "seed", "epoch", "split", "loss", "accuracy"} <= set(rows[0])
    assert {r["run"] for r in rows} == {r.label for r in preset.runs}


def choose_upload(page, filename: str) -> None:
    sidebar = page.locator('[data-testid="stSidebar"]')
    if not sidebar.get_by_text("Upload a CSV").is_visible():
        sidebar.locator("summary").filter(has_text="Data").first.click()
    sidebar.get_by_text("Upload a CSV").click()
    settle(page)
    uploader = sidebar.get_by_label("CSV file").locator('input[type="file"]')
    uploader.set_input_files(str(ROOT / "tests" / "data" / filename))
    settle(page, "(name) => document.body.innerText.includes('Using ' + name)", filename)


def test_upload_a_valid_and_a_broken_csv(page, server):
    open_app(page, server)
    choose_upload(page, "bom_crlf_semicolon.csv")
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert sidebar.get_by_text("Target column").is_visible()
    run = page.get_by_role("button", name="Run comparison")
    assert run.is_enabled()
    run.click()
    charts_at_least(page, 4)
    shoot(page, "upload-valid")
    choose_upload(page, "binary.bin")
    settle(page, "() => document.body.innerText.includes('not a CSV text file')")
    assert not page.get_by_role("button", name="Run comparison").is_enabled()
    assert "Run is disabled" in sidebar.inner_text()
    shoot(page, "upload-broken")
    # the results of the valid upload are still on screen
    assert page.locator(CHARTS).count() >= 4


def test_two_sessions_do_not_see_each_other(context_factory, server):
    a, b = context_factory(), context_factory()
    pa, pb = a.new_page(), b.new_page()
    open_app(pa, server)
    open_app(pb, server, "?preset=relu-he-fix")
    run_comparison(pa)
    go_to(pb, "Data")
    go_to(pb, "Loss curves")
    assert "No results yet" in main_text(pb)  # B never ran anything
    run_comparison(pb)
    labels_b = legend(pb)
    assert "SGD" in labels_b and "Mini-batch" not in labels_b  # relu-he-fix's own runs
    go_to(pa, "Data")  # A's session reruns after B's comparison…
    go_to(pa, "Loss curves")
    charts_at_least(pa, 4)
    assert "Mini-batch" in legend(pa)  # …and still shows the default preset's results


def test_cancel_keeps_what_finished_and_the_next_run_works(page, server):
    """A long comparison (its tasks on the local process pool) cancelled from the browser: the
    page says what was kept, and a new comparison afterwards trains normally."""
    from dashboard.state import encode_config

    long = ExperimentConfig.preset("default").with_training(epochs=2000, seeds=2)  # ~20 s
    open_app(page, server, "?config=" + encode_config(long))
    page.get_by_role("button", name="Run comparison").click()
    cancel = page.get_by_role("button", name="Cancel")
    cancel.wait_for(timeout=TIMEOUT)
    page.get_by_text("Training", exact=False).first.wait_for(timeout=TIMEOUT)
    page.wait_for_timeout(2500)  # the short groups finish, the batch-1 runs are still going
    start = time.perf_counter()
    cancel.click()
    page.get_by_text("Training cancelled", exact=False).wait_for(timeout=TIMEOUT)
    TIMINGS["cancel_to_notice_s"] = time.perf_counter() - start
    settle(page)
    text = main_text(page)
    assert "Traceback" not in text
    assert not page.locator('[data-testid="stException"]').count()
    shoot(page, "cancelled")
    # the same session trains again (the pool's workers are free after the cancel)
    open_app(page, server, "?preset=default")
    run_comparison(page)
    assert "Mini-batch" in legend(page)
    assert "Training cancelled" not in main_text(page)


SMALL = {"width": 1280, "height": 720}  # a classroom projector


def box(locator) -> dict:
    b = locator.bounding_box()
    assert b is not None, "not rendered"
    return b


def truncated(page, selector: str) -> list[str]:
    """Texts under ``selector`` cut off by their box (ellipsis or overflow)."""
    return page.eval_on_selector_all(
        selector,
        "els => els.filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)",
    )


def test_run_and_what_it_will_do_are_visible_without_scrolling_at_1280x720(context_factory, server):
    page = context_factory(**SMALL).new_page()
    open_app(page, server)
    run = page.get_by_role("button", name="Run comparison")
    assert box(run)["y"] + box(run)["height"] <= SMALL["height"]
    plan = page.locator('[data-testid="stSidebar"]').get_by_text("Trains 7 runs", exact=False)
    assert box(plan)["y"] + box(plan)["height"] <= SMALL["height"]
    assert not truncated(page, '[data-testid="stSidebarNav"] span')
    page.screenshot(path=str(ARTIFACTS / "screenshots" / "walkthrough-1-open.png"))
    run_comparison(page)
    first = page.locator('[data-testid="stMain"] [data-testid="stPlotlyChart"]').first
    assert box(first)["y"] < SMALL["height"]  # the first chart starts above the fold
    page.mouse.move(SMALL["width"] - 10, SMALL["height"] - 10)  # no tooltip in the picture
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / "screenshots" / "walkthrough-2-results.png"))


def test_presentation_mode_fits_a_projector_and_survives_page_changes(context_factory, server):
    page = context_factory(**SMALL).new_page()
    open_app(page, server)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Presentation mode").click()
    settle(page)
    page.screenshot(path=str(ARTIFACTS / "screenshots" / "presentation-0-on.png"))
    demo = page.locator('[data-testid="stMain"] button', has_text="ReLU + He fix")
    assert box(demo)["height"] < 60  # a compact titled button, not a wall of text
    demo.click()
    charts_at_least(page, 4)
    explain = page.locator(".st-key-lab_explain")
    assert "ReLU with He initialisation" in explain.inner_text()
    assert (
        float(explain.locator("p").first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))
        >= 20
    )
    first = page.locator('[data-testid="stMain"] [data-testid="stPlotlyChart"]').first
    assert box(first)["y"] < SMALL["height"], "the first chart is below the fold"
    assert not truncated(page, '[data-testid="stSidebarNav"] span')
    assert box(page.get_by_role("button", name="Run comparison"))["y"] < SMALL["height"]
    page.screenshot(path=str(ARTIFACTS / "screenshots" / "presentation-1280x720.png"))
    for name in ("Gradient health", "Data", "Loss curves"):
        go_to(page, name)
        toggle = sidebar.locator("input[type=checkbox]").first  # the first widget: the toggle
        page.screenshot(path=str(ARTIFACTS / "screenshots" / f"presentation-{name}.png"))
        assert toggle.is_checked(), f"presentation mode switched itself off on {name}"
        demos = page.locator('[data-testid="stMain"] button', has_text="ReLU + He fix")
        demos.wait_for(state="visible", timeout=10_000)  # the demo buttons are still there
    page.screenshot(path=str(ARTIFACTS / "screenshots" / "presentation-back.png"))
