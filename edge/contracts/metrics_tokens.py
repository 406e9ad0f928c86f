"""The scrape credential for `/metrics`, the same on a store and at HQ.

A metrics token is `nvm_<id>_<secret>`: a bearer token that grants the `metrics` scope and
nothing else. Only its SHA-256 is kept, in `<data_dir>/keys/metrics-tokens.json` (mode 0600),
beside the signing keys. It is long-lived on purpose (Prometheus reads it from a file) and is
revoked by id, which takes effect on the next scrape: the file is re-read when it changes.
The secret is 256 random bits, so a fast hash is enough; a slow one would only cost scrapes.

Shared here because both servers accept the same credential and an operator mints it the
same way on either (`novapos-edge token metrics`, `novapos-cloud metrics-token`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import time
from pathlib import Path
from typing import Any

PREFIX = "nvm_"
_TOKEN = re.compile(r"^nvm_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
FILENAME = "metrics-tokens.json"


class MetricsTokens:
    def __init__(self, path: Path):
        self.path = path
        self._seen: tuple[int, int] | None = None  # (mtime_ns, size) of the file last read
        self._hashes: dict[str, str] = {}

    def mint(self, label: str = "prometheus") -> tuple[str, str]:
        """A new token; returns (token id, token). The token is shown once and never stored."""
        token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        entries = self._read()
        entries[token_id] = {"sha256": _digest(secret), "label": label[:80], "created_at": int(time.time())}
        self._write(entries)
        return token_id, f"{PREFIX}{token_id}_{secret}"

    def revoke(self, token_id: str) -> bool:
        entries = self._read()
        if entries.pop(token_id, None) is None:
            return False
        self._write(entries)
        return True

    def list(self) -> list[dict[str, Any]]:
        return [{"id": k, "label": v.get("label", ""), "created_at": v.get("created_at")}
                for k, v in sorted(self._read().items())]

    def verify(self, token: str) -> str | None:
        """The token's id when it is a current metrics token, else None."""
        found = _TOKEN.match(token)
        if found is None:
            return None
        expected = self._current().get(found.group(1))
        if expected is None or not hmac.compare_digest(expected, _digest(found.group(2))):
            return None
        return found.group(1)

    def _current(self) -> dict[str, str]:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._seen, self._hashes = None, {}
            return self._hashes
        if self._seen != (stat.st_mtime_ns, stat.st_size):
            self._hashes = {k: v["sha256"] for k, v in self._read().items()}
            self._seen = (stat.st_mtime_ns, stat.st_size)
        return self._hashes

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            return json.loads(self.path.read_text()).get("tokens", {})
        except FileNotFoundError:
            return {}

    def _write(self, entries: dict[str, dict[str, Any]]) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"tokens": entries}, fh)
        tmp.chmod(0o600)
        tmp.replace(self.path)


def bearer(authorization: str) -> str:
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
