"""Every error is problem+json with a request id, and no stack trace reaches a client."""

from __future__ import annotations

import json
import re

from tests.support import metrics_headers

PROBLEM = "application/problem+json"


def _is_problem(response, status):
    assert response.status_code == status
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["type"].startswith("https://novapos.dev/problems/")
    assert body["request_id"] == response.headers["x-request-id"]
    assert "Traceback" not in response.text and 'File "' not in response.text
    return body


def test_unknown_path_is_a_404_problem(client):
    _is_problem(client.get("/api/v1/does-not-exist"), 404)


def test_wrong_method_is_a_405_problem(client):
    _is_problem(client.delete("/api/v1/auth/login"), 405)


def test_oversized_body_is_a_413_problem(client):
    body = _is_problem(client.post("/api/v1/auth/login", content=b"x" * (3 * 1024 * 1024),
                                   headers={"Content-Type": "application/json"}), 413)
    assert body["title"] == "Request body too large"


def test_malformed_json_is_a_400_problem(client):
    _is_problem(client.post("/api/v1/auth/login", content=b"{not json", headers={"Content-Type": "application/json"}),
                400)


def test_a_schema_violation_names_the_field(client):
    body = _is_problem(client.post("/api/v1/auth/pin", json={"lane_id": "1"}), 400)
    assert body["errors"]


def test_missing_token_is_401_and_wrong_role_is_403(client, as_user):
    _is_problem(client.get("/api/v1/audit"), 401)
    _is_problem(client.get("/api/v1/audit", headers=as_user("cashier")), 403)


def test_an_unexpected_failure_is_a_500_problem_without_internals(client, as_user):
    headers = as_user("manager")
    client.app.state.services.db.write_sync(lambda c: c.exec_driver_sql("ALTER TABLE audit_log RENAME TO gone"))
    body = _is_problem(client.get("/api/v1/audit", headers=headers), 500)
    assert "gone" not in json.dumps(body) and "sqlite" not in json.dumps(body).lower()


def test_the_client_request_id_is_echoed_and_a_bad_one_replaced(client):
    assert client.get("/healthz", headers={"X-Request-ID": "lane-2-abc"}).headers["x-request-id"] == "lane-2-abc"
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad id\nwith newline"}).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{22}", replaced)


def test_health_readiness_and_metrics(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"
    metrics = client.get("/metrics", headers=metrics_headers(client))
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "novapos_http_requests_total" in metrics.text


def test_readiness_fails_when_the_database_is_broken(client):
    client.app.state.services.db.write_sync(lambda c: c.exec_driver_sql("ALTER TABLE outbox RENAME TO broken"))
    assert client.get("/readyz").status_code == 503


def test_logs_are_json_lines_with_the_request_id_outside_a_terminal(capsys):
    import structlog

    from edge.logs import configure_logging

    configure_logging("json")
    try:
        with structlog.contextvars.bound_contextvars(request_id="abc123"):
            structlog.get_logger().info("order.completed", order_id="o1")
        line = capsys.readouterr().err.strip().splitlines()[-1]
        record = json.loads(line)
        assert record["event"] == "order.completed" and record["request_id"] == "abc123"
    finally:
        configure_logging("console")
