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
def api(server: EdgeServer, username: str = "manager") -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        client.headers.update(login(client, username))
        yield client
