"""Helpers for the browser tests: screenshots kept as artifacts, and API clients for checks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from tests.support import ROOT, EdgeServer, login

ARTIFACTS = ROOT / "test-artifacts" / "webui"


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


@contextmanager
def browser_page(browser: Any, base_url: str, name: str, *, height: int = 800,
                 timeout_ms: int = 10_000) -> Iterator[Any]:
    """A page on `base_url` in a fresh context, for the `page` fixtures of every web app's tests:
    its final screen is kept as an artifact, and an uncaught error in the page fails the test.
    CI shares two cores with the server under test, so assertions get `timeout_ms` of patience."""
    from playwright.sync_api import expect

    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": height})
    context.set_default_timeout(timeout_ms)
    expect.set_options(timeout=timeout_ms)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        yield page
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}-final.png"))
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@contextmanager
def api(server: EdgeServer, username: str = "manager") -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        client.headers.update(login(client, username))
        yield client
