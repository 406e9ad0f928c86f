"""The cloud hub tells browsers the same security policy as the store server, on every answer,
and serves its API documentation without a CDN."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from webui.security_headers import CONTENT_SECURITY_POLICY


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[TestClient]:
    from cloud.app import create_app
    from cloud.settings import CloudSettings

    settings = CloudSettings(db_url=f"sqlite:///{tmp_path / 'cloud.db'}", keys_dir=str(tmp_path / "keys"))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("path", ["/hq/", "/hq/hq.js", "/schema/swagger", "/api/v1/me", "/no-such-page", "/healthz",
                                  "/hq/%00x"])
def test_every_cloud_response_carries_the_security_headers(hq, path):
    response = hq.get(path)
    assert response.headers.get_list("content-security-policy") == [CONTENT_SECURITY_POLICY]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"


def test_the_hq_dashboard_has_no_inline_script(hq):
    html = hq.get("/hq/").text
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag, tag
    assert not re.search(r"\son[a-z]+\s*=|\sstyle\s*=", html)


def test_the_cloud_swagger_page_loads_only_same_origin_assets_and_they_answer(hq):
    page = hq.get("/schema/swagger")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)
    assert len(urls) >= 4
    for url in urls:
        assert url.startswith("/"), f"{url} is not served by the hub"
        assert hq.get(url).status_code == 200, url
