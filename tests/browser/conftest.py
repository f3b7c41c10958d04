"""Browser fixtures: the Debian chromium driven by Playwright's sync API."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Frame, Page, Playwright, sync_playwright

CHROMIUM = os.environ.get("FLIP_CHROMIUM", "/usr/bin/chromium")


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """One Playwright driver for the whole run (it allows only one at a time)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install it (apt-get install chromium) "
            "or point FLIP_CHROMIUM at a chromium binary"
        )
    with sync_playwright() as driver:
        yield driver


def launch_chromium(playwright: Playwright, *extra_args: str) -> Browser:
    """The Debian chromium, headless, with the flags this machine needs."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *extra_args]
    )


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """One headless chromium for the whole run."""
    browser = launch_chromium(playwright)
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context and page per test, so cookies never leak between tests."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def flip_page_frame(page: Page, flip_url: str, iframe: str = "iframe[title='Flip']") -> Frame:
    """Flip's frame in `page` once its page shows its own address: the callback answers
    with the launch's first page, whose script (flip-tab.js) then replaces the callback's
    address with the page's."""
    handle = page.locator(iframe).element_handle()
    frame = handle.content_frame() if handle is not None else None
    assert frame is not None, f"no frame in {iframe}"
    frame.wait_for_url(f"{flip_url}/l/**")
    return frame
