"""Every answer of the store server tells the browser its security policy, and the API
documentation works on a store LAN with no internet (no CDN)."""

from __future__ import annotations

import re

import pytest

from webui.security_headers import CONTENT_SECURITY_POLICY

PAGES = ["/", "/index.html", "/app.js", "/admin/", "/common/api.js", "/api/v1/schema/swagger", "/healthz",
         "/api/v1/orders", "/no-such-page", "/api/v1/schema/openapi.json"]


@pytest.mark.parametrize("path", PAGES)
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"


def test_the_policy_allows_scripts_from_the_box_only_and_no_framing(client):
    policy = dict(d.strip().split(" ", 1) for d in client.get("/").headers["content-security-policy"].split(";"))
    assert policy["script-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["base-uri"] == "'self'"
    assert policy["form-action"] == "'self'"
    assert "unsafe-inline" not in client.get("/").headers["content-security-policy"]


def test_an_error_answer_carries_the_headers_once(client, as_user):
    response = client.post("/api/v1/orders", json={}, headers=as_user("cashier"))
    assert response.status_code >= 400
    assert response.headers.get_list("content-security-policy") == [CONTENT_SECURITY_POLICY]


def test_no_web_page_of_the_box_carries_inline_script_or_handlers(client):
    for path in ["/", "/admin/"]:
        html = client.get(path).text
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag, f"{path}: inline script {tag}"
        assert not re.search(r"\son[a-z]+\s*=", html), f"{path}: inline event handler"
        assert not re.search(r"\sstyle\s*=", html), f"{path}: inline style"


def test_the_swagger_page_loads_only_same_origin_assets_and_they_answer(client):
    page = client.get("/api/v1/schema/swagger")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)
    assert len(urls) >= 4  # the bundle, the preset, the stylesheet and the initialiser
    for url in urls:
        assert url.startswith("/"), f"{url} is not on this box"
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 100, url
    assert not re.search(r"<script\b(?![^>]*\bsrc=)[^>]*>", page.text), "inline script on the swagger page"
