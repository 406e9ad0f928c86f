"""Shared by the partner gateway tests: a hub process with partner settings, and the calls a
tenant admin and a partner make over HTTP."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import httpx

from tests.support import ROOT, CloudServer, login, wait_ready


class PartnerHub(CloudServer):
    """`novapos-cloud serve --demo` with NOVAPOS_CLOUD_PARTNER_* (and DB schema) settings."""

    def __init__(self, directory: Path, env: dict[str, str] | None = None, *, db_url: str | None = None):
        super().__init__(directory)
        self.env = env or {}
        if db_url:
            self.args[self.args.index("--db-url") + 1] = db_url
            self.db_url = db_url

    def start(self, extra: list[str] | None = None, *, timeout: float = 60) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NOVAPOS_CLOUD_")}
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([*self.args, *(extra or [])], stdout=log, stderr=subprocess.STDOUT,
                                         env={**env, **self.env}, cwd=ROOT)
        wait_ready(self.proc, self.url, self.log, timeout=timeout)


def admin_headers(url: str) -> dict[str, str]:
    with httpx.Client(base_url=url, timeout=30) as client:
        return login(client, "hq")


def register_app(url: str, admin: dict[str, str], scopes: list[str], **extra: Any) -> dict[str, Any]:
    r = httpx.post(f"{url}/api/v1/partner-admin/apps", headers=admin, timeout=30,
                   json={"name": "Web shop", "contact": "ops@shop.example", "scopes": scopes, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def client_token(url: str, app: dict[str, Any], scope: str | None = None) -> httpx.Response:
    form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
    return httpx.post(f"{url}/oauth/token", data=form, auth=(app["client_id"], app["client_secret"]), timeout=30)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
