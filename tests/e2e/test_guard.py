"""The suite's own guard against requests that leave the machine (conftest.guard): it must
catch a request to any outside host, including one whose name merely starts with a loopback
address, and let loopback through, or the offline checks of every other test prove nothing."""

from __future__ import annotations

import pytest

from .conftest import guard

pytestmark = pytest.mark.browser

LEAVE = [
    "http://example.com/font.woff2",
    "https://fonts.googleapis.com/css2?family=Inter",
    "http://127.0.0.1.example.com/x.js",
    "https://localhost.example.org:8443/icon.svg",
]
STAY = ["http://localhost:1/x", "http://127.0.0.1:1/y"]


def test_the_guard_records_every_outside_request_and_no_loopback_one(browser, server):
    context = browser.new_context()
    try:
        blocked = guard(context)
        page = context.new_page()
        page.goto(server + "/_stcore/health")
        page.evaluate(
            """async (urls) => {
                for (const u of urls) {
                    try { await fetch(u, {mode: "no-cors"}); } catch (e) {}
                }
            }""",
            LEAVE + STAY,
        )
    finally:
        context.close()
    assert sorted(blocked) == sorted(LEAVE)
