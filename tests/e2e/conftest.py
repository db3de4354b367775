"""A real `streamlit run app.py` server on a free loopback port, and Debian's Chromium driven by
Playwright. Outside CI the suite is skipped when Chromium or Playwright is missing; in CI
(CI=true, where .ci/run installs Chromium) that is a failure, not a silent skip."""

from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from .server import ROOT, start

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMINGS: dict[str, float] = {}


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


@pytest.fixture(scope="session")
def browser_ready():
    reason = _missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests cannot run in CI: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def server(browser_ready):
    try:
        proc, url = start(ARTIFACTS / "streamlit.log", timeout=60)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()
    (ARTIFACTS / "browser_timings.json").write_text(json.dumps(TIMINGS, indent=2))
    for name, seconds in TIMINGS.items():
        print(f"browser timing: {name} = {seconds:.2f} s")


LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
# Requests to anything but loopback. Playwright hands a regular expression to the browser, so
# only these requests stop on their way to be judged in Python; intercepting every request
# ("**/*") sent each of the page's scripts through this process and added seconds to a load
# that no user's browser spends.
LEAVING = re.compile(r"^(?:https?|wss?)://(?!(?:127\.0\.0\.1|localhost|\[::1\])(?:[:/?#]|$))", re.I)


def outside(url: str) -> bool:
    """Whether a request leaves the machine (data:, blob: and about: never do)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https", "ws", "wss"):
        return False
    return (parts.hostname or "") not in LOOPBACK


def guard(context) -> list[str]:
    """Refuse every request to a non-loopback address in this browser context and record it:
    the dashboard must work on an offline classroom or conference network, so a font, icon,
    image or script fetched from outside fails the test that caused it (see ``offline``)."""
    blocked: list[str] = []

    def handle(route):
        url = route.request.url
        if outside(url):
            blocked.append(url)
            route.abort()
        else:
            route.continue_()

    context.route(LEAVING, handle)
    context.on(
        "page", lambda pg: pg.on("websocket", lambda ws: outside(ws.url) and blocked.append(ws.url))
    )
    return blocked


def offline(blocked: list[str]) -> None:
    assert not blocked, f"requests left the machine: {sorted(set(blocked))}"


@pytest.fixture
def context_factory(browser, server):
    """New guarded browser contexts; each is closed and checked for outside requests."""
    made = []

    def make(width: int = 1500, height: int = 1000):
        context = browser.new_context(
            viewport={"width": width, "height": height}, accept_downloads=True
        )
        made.append((context, guard(context)))
        return context

    yield make
    for context, _ in made:
        context.close()
    for _, blocked in made:
        offline(blocked)


@pytest.fixture
def page(context_factory):
    return context_factory().new_page()
