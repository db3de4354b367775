"""Live training in a real browser: "Watch it train" + Run draws the curves while the comparison
trains, Pause holds it, Step trains one epoch, Play goes on, Cancel keeps what was trained, and
two sessions training live at once both update with their own runs. Printed timings: click to
first live update, updates per second, Pause and Cancel latency. Screenshots at 1600×1000 and
1280×720 go to artifacts/screenshots/live-*.png."""

from __future__ import annotations

import re
import time

import pytest

from dashboard.state import encode_config
from nn_core import ExperimentConfig

from .conftest import TIMINGS
from .test_browser import CHARTS, TIMEOUT, go_to, legend, main_text, settle, shoot

pytestmark = pytest.mark.browser

PROGRESS = '[data-testid="stMain"] [data-testid="stProgress"]'
EPOCHS = 300  # at the default pace of 30 epochs/s: about 10 s


def link(preset: str = "default", epochs: int = EPOCHS) -> str:
    return "?config=" + encode_config(ExperimentConfig.preset(preset).with_training(epochs=epochs))


def open_live(page, server: str, query: str) -> None:
    page.goto(server + "/" + query)
    page.get_by_role("button", name="Run comparison").wait_for(timeout=TIMEOUT)
    settle(page)
    page.get_by_text("Watch it train (live)").click()
    page.get_by_text("Pace").first.wait_for(timeout=TIMEOUT)
    settle(page)


def status(page) -> str:
    try:
        return page.locator(PROGRESS).first.inner_text(timeout=2000)
    except Exception:  # between two redraws of the fragment
        return ""


def epoch_of(text: str) -> int | None:
    m = re.search(r"epoch (\d+)/", text)
    return int(m.group(1)) if m else None


def wait_status(page, pattern: str, timeout: float = TIMEOUT / 1000) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        text = status(page)
        if re.search(pattern, text):
            return text
        page.wait_for_timeout(20)
    raise AssertionError(f"no status matching {pattern!r}; last: {status(page)!r}")


def watch(page, seconds: float) -> list[str]:
    """The distinct statuses shown over ``seconds`` (each is one redraw of the live charts)."""
    seen: list[str] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        text = status(page)
        if text and (not seen or seen[-1] != text):
            seen.append(text)
        page.wait_for_timeout(20)
    return seen


def test_watch_pause_step_play_and_cancel(context_factory, server):
    page = context_factory(1600, 1000).new_page()
    open_live(page, server, link())
    start = time.perf_counter()
    page.get_by_role("button", name="Run comparison").click()
    wait_status(page, r"Training live: epoch [1-9]")
    page.wait_for_function(f"() => document.querySelectorAll('{CHARTS}').length >= 4")
    TIMINGS["live_click_to_first_update_s"] = time.perf_counter() - start
    seen = watch(page, 4.0)
    epochs = [e for e in map(epoch_of, seen) if e is not None]
    TIMINGS["live_updates_per_s"] = len(seen) / 4.0
    assert len(seen) >= 2, seen  # redrawn while it trains (the rate is printed, not asserted)
    assert epochs == sorted(epochs) and epochs[-1] > epochs[0]  # it moves forward
    shoot(page, "live-training-1600x1000")
    assert "Traceback" not in main_text(page)

    start = time.perf_counter()
    page.get_by_role("button", name="Pause").click()
    paused = wait_status(page, r"Paused at epoch")
    TIMINGS["live_pause_latency_s"] = time.perf_counter() - start
    # The status may catch up once: epochs trained since the last redraw are shown on pausing.
    page.wait_for_timeout(1500)
    held = status(page)
    assert epoch_of(held) >= epoch_of(paused)
    page.wait_for_timeout(1500)
    assert status(page) == held  # nothing trains while paused

    page.get_by_role("button", name="Step").click()
    stepped = wait_status(page, rf"Paused at epoch {epoch_of(held) + 1}/")
    assert epoch_of(stepped) == epoch_of(held) + 1

    page.get_by_role("button", name="Play").click()
    wait_status(page, rf"Training live: epoch (?!{epoch_of(stepped)}/)")

    go_to(page, "Gradient health")  # the heat map trains along
    wait_status(page, r"Training live")
    assert page.locator('[data-testid="stMain"] [data-testid="stPlotlyChart"]').count() >= 2
    shoot(page, "live-gradient-health-1600x1000")
    go_to(page, "Loss curves")
    wait_status(page, r"Training live")

    start = time.perf_counter()
    page.get_by_role("button", name="Cancel").click()
    page.get_by_text("Live training cancelled", exact=False).wait_for(timeout=TIMEOUT)
    TIMINGS["live_cancel_latency_s"] = time.perf_counter() - start
    settle(page)
    assert page.locator(PROGRESS).count() == 0  # back to a finished (cancelled) comparison
    assert "Summary" in main_text(page)
    assert not page.locator('[data-testid="stException"]').count()


def test_a_live_run_at_a_projector_size_ends_as_a_normal_comparison(context_factory, server):
    page = context_factory(1280, 720).new_page()
    open_live(page, server, link(epochs=90))
    page.get_by_role("button", name="Run comparison").click()
    wait_status(page, r"Training live: epoch [1-9]")
    page.wait_for_timeout(1000)
    shoot(page, "live-training-1280x720")
    page.get_by_role("heading", name="Summary").wait_for(timeout=TIMEOUT)  # the run ended
    settle(page)
    assert page.locator(PROGRESS).count() == 0
    assert "Mini-batch" in legend(page)
    assert not page.locator('[data-testid="stException"]').count()


def test_two_sessions_train_live_at_once(context_factory, server):
    a, b = context_factory().new_page(), context_factory().new_page()
    open_live(a, server, link("default"))
    open_live(b, server, link("relu-he-fix"))
    a.get_by_role("button", name="Run comparison").click()
    b.get_by_role("button", name="Run comparison").click()
    wait_status(a, r"Training live: epoch [1-9]")
    wait_status(b, r"Training live: epoch [1-9]")
    seen_a, seen_b = watch(a, 4.0), watch(b, 4.0)
    assert len({epoch_of(t) for t in seen_a}) >= 2, seen_a  # both keep moving
    assert len({epoch_of(t) for t in seen_b}) >= 2, seen_b
    labels_a, labels_b = legend(a), legend(b)
    assert "Mini-batch" in labels_a and "Mini-batch" not in labels_b  # each its own runs
    assert "SGD" in labels_b
    for page in (a, b):
        page.get_by_role("button", name="Cancel").click()
        page.get_by_text("Live training cancelled", exact=False).wait_for(timeout=TIMEOUT)
