"""Browser fixtures: Debian's Chromium driven by Playwright for Python, against a real
`novapos-edge serve --demo` process.

`playwright install` cannot download browsers here, so the tests launch /usr/bin/chromium
(`apt-get install chromium`). A missing browser or Playwright fails these tests with the fix
in the message; it never skips them silently, and it never stops the rest of the suite.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import EdgeServer, free_port
from tests.webui.helpers import browser_page

CHROMIUM = os.environ.get("NOVAPOS_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium floods a closed network with refused connections.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as err:
        pytest.fail(f"Playwright for Python is not installed ({err}); run `.venv/bin/pip install playwright` "
                    "(the browser is Debian's chromium, not `playwright install`)", pytrace=False)
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; run `apt-get install chromium` "
                    "or set NOVAPOS_CHROMIUM to its path", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def web_server(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeServer]:
    """One demo store for every browser test (a server start costs seconds); the tests compare
    counts before and after, never absolutes."""
    data_dir = tmp_path_factory.mktemp("webui") / "store"
    shutil.copytree(demo_template, data_dir)
    server = EdgeServer(data_dir, free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def page(browser: Any, web_server: EdgeServer, request: pytest.FixtureRequest) -> Iterator[Any]:
    with browser_page(browser, web_server.url, request.node.name) as page:
        yield page

