"""Lane PIN lookup keys: HMAC-SHA256 under a per-appliance pepper kept beside the signing keys."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path


class PinPepper:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
        self._key = bytes.fromhex(path.read_text().strip())

    def lookup(self, tenant_id: str, store_id: str, pin: str) -> str:
        return hmac.new(self._key, f"{tenant_id}|{store_id}|{pin}".encode(), hashlib.sha256).hexdigest()
