"""Soak test: does the dashboard's memory stay bounded under sustained and concurrent use?

Starts ``streamlit run app.py`` on a free loopback port and drives it with Chromium (Playwright):

1. one browser session runs ``--comparisons`` (default 100) comparisons in a row, each with a
   different first seed (so none is served from the cache);
2. ``--sessions`` (default 8) browser sessions at once each run a comparison of their own;
3. every session is closed and the server is given ``--settle`` seconds.

The server's resident memory (its process and any worker process it started, from
/proc/PID/status) is printed before, after each phase and at the end. Run it by hand:

    .venv/bin/python scripts/soak.py [--comparisons 100] [--sessions 8]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
sys.path.insert(0, str(ROOT))
from tests.e2e.server import start  # noqa: E402  (the browser suite's way to start the server)

LOG = Path(os.environ.get("TMPDIR", "/tmp")) / "soak-streamlit.log"
IDLE = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return app && app.getAttribute('data-test-script-state') === 'notRunning';
}"""
TIMEOUT = 300_000


def rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants, in MiB."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        todo.extend(int(c) for c in children)
    return total / 1024


def start_server() -> tuple[subprocess.Popen, str]:
    try:
        return start(LOG, timeout=240)  # a loaded machine can take a minute
    except RuntimeError as exc:
        sys.exit(str(exc))


def settle(page) -> None:
    page.wait_for_timeout(150)
    page.wait_for_function(IDLE, timeout=TIMEOUT, polling=50)


def open_app(page, url: str) -> None:
    page.goto(url + "/")
    page.get_by_role("button", name="Run comparison").wait_for(timeout=TIMEOUT)
    settle(page)
    page.get_by_text("Training", exact=True).first.click()  # open the Training expander
    settle(page)


def set_seed(page, seed: int) -> None:
    box = page.get_by_label("First seed", exact=True)
    if not box.is_visible():  # the Training expander closes when the sidebar is redrawn
        page.get_by_test_id("stSidebarUserContent").get_by_text("Training", exact=True).click()
        box.wait_for(state="visible", timeout=TIMEOUT)
    box.fill(str(seed))
    box.press("Enter")
    settle(page)


def click_run(page) -> None:
    page.get_by_role("button", name="Run comparison").click()


def wait_done(page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_function(IDLE, timeout=TIMEOUT, polling=100)
    page.get_by_text("No results yet").wait_for(state="detached", timeout=TIMEOUT)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comparisons", type=int, default=100)
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--settle", type=float, default=10.0)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    proc, url = start_server()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            warm = browser.new_page()
            open_app(warm, url)
            warm.close()
            time.sleep(2)
            print(f"server RSS before: {rss_mib(proc.pid):7.1f} MiB", flush=True)

            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            open_app(page, url)
            start = time.perf_counter()
            for i in range(args.comparisons):
                set_seed(page, 1000 + i)
                click_run(page)
                wait_done(page)
                if (i + 1) % 25 == 0:
                    print(
                        f"  {i + 1:3d} comparisons in one session: {rss_mib(proc.pid):7.1f} MiB "
                        f"({time.perf_counter() - start:.0f} s)",
                        flush=True,
                    )
            print(f"server RSS after {args.comparisons} comparisons: {rss_mib(proc.pid):7.1f} MiB")
            page.close()

            pages = [browser.new_page() for _ in range(args.sessions)]
            for k, pg in enumerate(pages):
                open_app(pg, url)
                set_seed(pg, 5000 + k)
            start = time.perf_counter()
            for pg in pages:  # all clicked before any is awaited: they train concurrently
                click_run(pg)
            for pg in pages:
                wait_done(pg)
            seconds = time.perf_counter() - start
            print(
                f"server RSS after {args.sessions} concurrent sessions ({seconds:.1f} s): "
                f"{rss_mib(proc.pid):7.1f} MiB"
            )
            for pg in pages:
                pg.close()
            browser.close()
        time.sleep(args.settle)
        after = rss_mib(proc.pid)
        print(f"server RSS {args.settle:.0f} s after every session closed: {after:7.1f} MiB")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
