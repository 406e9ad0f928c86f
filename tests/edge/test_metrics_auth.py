"""The store's /metrics wants a metrics token, and no log line carries a credential or a body."""

from __future__ import annotations

import json
import stat
import subprocess
import uuid

import httpx

from tests.support import BIN, EdgeServer, free_port, login, metrics_headers


def test_an_anonymous_or_user_token_scrape_is_refused_and_learns_nothing(client, as_user):
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401 and anonymous.headers["content-type"].startswith("application/problem+json")
    assert "demo" not in anonymous.text and "novapos_" not in anonymous.text
    # A manager's access token is not a scrape credential: it has no metrics scope.
    assert client.get("/metrics", headers=as_user("manager")).status_code == 401
    scraped = client.get("/metrics", headers=metrics_headers(client))
    assert scraped.status_code == 200 and "novapos_http_requests_total" in scraped.text


def test_a_revoked_token_is_refused_at_the_next_scrape(client):
    from edge.api.routes.health import metrics_tokens

    tokens = metrics_tokens(client.app.state.services)
    token_id, token = tokens.mint("prometheus-eu")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/metrics", headers=headers).status_code == 200
    assert tokens.revoke(token_id)
    assert client.get("/metrics", headers=headers).status_code == 401
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert client.get("/metrics", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_the_cli_mints_a_token_the_running_server_accepts_and_keeps_only_its_hash(demo_dir):
    server = EdgeServer(demo_dir, free_port())
    server.start()
    try:
        minted = subprocess.run([str(BIN / "novapos-edge"), "token", "metrics", "--demo", "--data-dir", str(demo_dir),
                                 "--label", "prometheus"], capture_output=True, text=True, timeout=60)
        assert minted.returncode == 0, minted.stderr
        token = minted.stdout.strip()
        assert httpx.get(f"{server.url}/metrics").status_code == 401
        assert httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 200

        stored = demo_dir / "keys" / "metrics-tokens.json"
        assert stat.S_IMODE(stored.stat().st_mode) == 0o600
        assert token.rsplit("_", 1)[1] not in stored.read_text()  # the hash only, never the secret
        listed = subprocess.run([str(BIN / "novapos-edge"), "token", "list", "--demo", "--data-dir", str(demo_dir)],
                                capture_output=True, text=True, timeout=60)
        token_id = json.loads(stored.read_text())["tokens"].popitem()[0]
        assert token_id in listed.stdout and token not in listed.stdout
        revoked = subprocess.run([str(BIN / "novapos-edge"), "token", "revoke", token_id, "--demo", "--data-dir",
                                  str(demo_dir)], capture_output=True, text=True, timeout=60)
        assert revoked.returncode == 0
        assert httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        unknown = subprocess.run([str(BIN / "novapos-edge"), "token", "revoke", "nope", "--demo", "--data-dir",
                                  str(demo_dir)], capture_output=True, text=True, timeout=60)
        assert unknown.returncode == 2 and len(unknown.stderr.strip().splitlines()) == 1
    finally:
        server.stop()


def test_a_login_session_leaves_no_credential_or_body_in_the_logs(demo_dir):
    password = f"pw-{uuid.uuid4().hex}"  # not the demo password, which the demo banner prints on purpose
    added = subprocess.run([str(BIN / "novapos-edge"), "user", "add", "auditor", "--role", "store_manager",
                            "--password-stdin", "--demo", "--data-dir", str(demo_dir)], input=password + "\n",
                           capture_output=True, text=True, timeout=60)
    assert added.returncode == 0, added.stderr
    server = EdgeServer(demo_dir, free_port())
    server.start()
    marker = f"body-marker-{uuid.uuid4().hex}"
    wrong = f"wrong-{uuid.uuid4().hex}"
    try:
        with httpx.Client(base_url=server.url, timeout=10) as c:
            assert c.post("/api/v1/auth/login", json={"username": "auditor", "password": wrong}).status_code == 401
            pair = c.post("/api/v1/auth/login", json={"username": "auditor", "password": password}).json()
            headers = login(c, "cashier") | {"Cookie": f"session={marker}"}
            refreshed = c.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}).json()
            bearer = {"Authorization": f"Bearer {pair['access_token']}"}
            assert c.post("/api/v1/orders", json={"lane_id": "1", "lines": [{"sku": marker}], "override_pin": "9753"},
                          headers=headers | {"Idempotency-Key": uuid.uuid4().hex}).status_code >= 400
            c.get("/api/v1/no-such-route", headers=bearer)
            c.post("/api/v1/auth/logout", json={"refresh_token": refreshed["refresh_token"]})
    finally:
        server.stop()
    logged = server.log.read_text()
    assert "auth.login" in logged or "http.request" in logged  # the session was logged, just not its secrets
    for secret in (password, wrong, pair["access_token"], pair["refresh_token"], refreshed["refresh_token"],
                   marker, "Bearer ", "9753"):
        assert secret not in logged, f"{secret[:12]}... reached the log"


def test_credential_fields_are_redacted_whatever_a_caller_logs(capsys):
    import structlog

    from edge.logs import configure_logging

    configure_logging("json")
    structlog.get_logger("redaction-test").warning("auth.debug", password="hunter2-secret", refresh_token="rt-xyz",
                                                   authorization="Bearer abc.def", user_id="u1")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    event = json.loads(line)
    assert event["user_id"] == "u1" and event["password"] == "[redacted]" and event["authorization"] == "[redacted]"
    assert "hunter2" not in line and "rt-xyz" not in line and "abc.def" not in line
