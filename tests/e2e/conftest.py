"""Browser tests of the web console: real headless Chromium (Debian's package, driven by Playwright through
its executable path; no browser download) against real server processes.

Without /usr/bin/chromium (or the playwright package) the tests are skipped, except under `CI=true`,
where a missing browser is a failure: CI installs it (.ci/run). Every page a test opens fails the test
on a page error, a console error other than a refused request, or any dialog: an `alert` from injected
script must never go unnoticed.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator

import pytest

from tests.e2e.support import CHROMIUM, TIMEOUT_MS, Console

MISSING = (
    None
    if CHROMIUM.exists() and importlib.util.find_spec("playwright")
    else (f"{CHROMIUM} or the playwright package is missing (apt-get install chromium; pip install playwright)")
)
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium_present() -> None:
    """Session-scoped, so it is decided before any module's server: a skip starts no server."""
    if MISSING is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {MISSING}")
        pytest.skip(MISSING)


@pytest.fixture(scope="module")
def browser(chromium_present: None) -> Iterator[object]:
    """Module-scoped, not session-scoped: while Playwright's sync API is open, its event loop counts as running in
    this thread, so every later module's asyncio test (pytest-asyncio, asyncio.run) would fail in this process."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def console(browser: object) -> Iterator[Console]:
    """A fresh browser context (own sessionStorage) per test; problems on its pages fail the test."""
    opened = Console(browser)
    yield opened
    opened.close()
    assert not opened.problems, "the console misbehaved:\n" + "\n".join(opened.problems)
