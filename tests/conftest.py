"""Shared fixtures: a demo store on SQLite files on disk, in-process or as a real server process.

Seeding the demo store hashes four Argon2 passwords and writes 200 products, so it is done once
per session into a template directory; each test gets its own copy of the files.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import argon2
import pytest
from litestar.testing import TestClient

from tests.support import EdgeServer, demo_settings, free_port, login


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from edge.adapters.migrations import migrate
    from edge.bootstrap import build_services, effective_settings, ensure_store
    from edge.settings import load_settings

    directory = tmp_path_factory.mktemp("demo-template")
    settings = effective_settings(load_settings(environ={"NOVAPOS_DATA_DIR": str(directory), "NOVAPOS_DEMO": "1"}))
    migrate(settings.db_path)
    services = build_services(settings)
    ensure_store(services)
    services.db._writer_engine.dispose()
    services.db._reader_engine.dispose()
    return directory


@pytest.fixture
def demo_dir(demo_template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "store"
    shutil.copytree(demo_template, target)
    return target


@pytest.fixture
def client(demo_dir: Path) -> Iterator[TestClient]:
    from edge.bootstrap import create_app

    with TestClient(create_app(demo_settings(demo_dir)), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def as_user(client: TestClient) -> Callable[[str], dict[str, str]]:
    cache: dict[str, dict[str, str]] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in cache:
            cache[username] = login(client, username)
        return cache[username]

    return headers


@pytest.fixture
def cashier(as_user: Callable[[str], dict[str, str]]) -> dict[str, str]:
    return as_user("cashier")


@pytest.fixture
def manager(as_user: Callable[[str], dict[str, str]]) -> dict[str, str]:
    return as_user("manager")


@pytest.fixture
def edge_server(demo_dir: Path) -> Iterator[EdgeServer]:
    server = EdgeServer(demo_dir, free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def argon2_verifications(monkeypatch: pytest.MonkeyPatch) -> list[argon2.Parameters]:
    """Every Argon2 verification run during the test, as the parameters of the hash it checked.

    "An unknown user costs the same password work" is proven by counting this work, not by
    timing it: a timing comparison flakes on a busy machine, a count cannot.
    """
    seen: list[argon2.Parameters] = []
    real_verify = argon2.PasswordHasher.verify

    def verify(self: argon2.PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        seen.append(argon2.extract_parameters(hash.decode() if isinstance(hash, bytes) else hash))
        return real_verify(self, hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", verify)
    return seen
