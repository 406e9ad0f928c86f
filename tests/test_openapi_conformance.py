"""Both OpenAPI documents tell the truth: Schemathesis finds no undocumented status, media type
or response shape, and no 500, on the store server or the cloud hub.

Each app runs as a real server on a random loopback port and is fuzzed by the schemathesis CLI
with a fixed seed and a small, fixed number of examples per operation, signed in as a demo user
(so guarded routes are exercised past their guards).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import BIN, DEMO_PASSWORD, CloudServer, EdgeServer

CHECKS = "status_code_conformance,content_type_conformance,response_schema_conformance,not_a_server_error"
EXAMPLES_PER_OPERATION = "5"
SEED = "1"


def bearer(url: str, username: str) -> str:
    response = httpx.post(f"{url}/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD},
                          timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def schemathesis(schema_url: str, token: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    """One bounded, reproducible run; the report and its cache stay in `workdir`."""
    return subprocess.run(
        [str(BIN / "schemathesis"), "run", schema_url, "--checks", CHECKS, "--max-examples", EXAMPLES_PER_OPERATION,
         "--seed", SEED, "--workers", "1", "--no-color", "--report-dir", str(workdir / "report"),
         "--header", f"Authorization: Bearer {token}"],
        cwd=workdir, capture_output=True, text=True, timeout=240, env={**os.environ, "NO_COLOR": "1"},
    )


def assert_conforms(run: subprocess.CompletedProcess[str]) -> None:
    summary = re.findall(r"^\s+(\d+) generated, .*$", run.stdout, re.MULTILINE)
    assert summary and int(summary[-1]) > 0, run.stdout[-3000:] + run.stderr[-2000:]
    failures = run.stdout[run.stdout.find("FAILURES"):] if "FAILURES" in run.stdout else ""
    assert run.returncode == 0, failures[:6000] or run.stdout[-3000:] + run.stderr[-2000:]


@pytest.fixture
def cloud_server(tmp_path: Path) -> Iterator[CloudServer]:
    server = CloudServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.timeout(300)
def test_the_store_server_answers_only_what_its_openapi_document_promises(edge_server: EdgeServer, tmp_path: Path):
    run = schemathesis(f"{edge_server.url}/api/v1/schema/openapi.json", bearer(edge_server.url, "admin"), tmp_path)
    assert_conforms(run)


@pytest.mark.timeout(300)
def test_the_cloud_hub_answers_only_what_its_openapi_document_promises(cloud_server: CloudServer, tmp_path: Path):
    run = schemathesis(f"{cloud_server.url}/schema/openapi.json", bearer(cloud_server.url, "hq"), tmp_path)
    assert_conforms(run)


def test_every_error_in_both_documents_is_problem_json(client):
    document = client.get("/api/v1/schema/openapi.json").json()
    errors = [(path, method, status, response) for path, item in document["paths"].items()
              for method, operation in item.items() for status, response in operation["responses"].items()
              if status.startswith(("4", "5"))]
    assert errors
    assert [e[:3] for e in errors if list(e[3].get("content", {})) != ["application/problem+json"]] == []
    assert "Problem" in document["components"]["schemas"]


def test_guarded_writes_document_their_auth_idempotency_and_size_errors(client):
    operation = client.get("/api/v1/schema/openapi.json").json()["paths"]["/api/v1/orders"]["post"]
    assert {"400", "401", "403", "404", "409", "413", "422"} <= set(operation["responses"])
    login = client.get("/api/v1/schema/openapi.json").json()["paths"]["/api/v1/auth/login"]["post"]
    assert "429" in login["responses"]


def test_csv_and_text_routes_document_their_media_types(client):
    paths = client.get("/api/v1/schema/openapi.json").json()["paths"]
    assert list(paths["/api/v1/orders/export.csv"]["get"]["responses"]["200"]["content"]) == ["text/csv"]
    assert "text/csv" in paths["/api/v1/products/import"]["post"]["requestBody"]["content"]
    assert set(paths["/api/v1/orders/{order_id}/receipt"]["get"]["responses"]["200"]["content"]) == {
        "text/plain", "text/html", "application/vnd.escpos"}

