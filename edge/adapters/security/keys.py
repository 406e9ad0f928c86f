"""RS256 signing keys on disk, published as a JWKS.

Keys live in `<data_dir>/keys/` as PEM files named by `kid`; `active` names the signing key.
`rotate()` makes a new key active but keeps the old ones for verification until every token
they signed has expired (access TTL plus a margin), so a rotation never logs a lane out.
Private keys are written 0600.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from edge.domain.ids import uuid7


class SigningKey:
    def __init__(self, kid: str, private_key: rsa.RSAPrivateKey, created_at: float, retired_at: float | None):
        self.kid = kid
        self.private_key = private_key
        self.public_key = private_key.public_key()
        self.created_at = created_at
        self.retired_at = retired_at

    def jwk(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.public_key))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return jwk


class KeyStore:
    def __init__(self, directory: Path, *, keep_retired_s: int):
        self.directory = directory
        self.keep_retired_s = keep_retired_s
        self.keys: dict[str, SigningKey] = {}
        self.active_kid: str | None = None

    def load(self) -> KeyStore:
        self.directory.mkdir(parents=True, exist_ok=True)
        meta = self._read_meta()
        self.keys = {}
        for kid, info in meta.get("keys", {}).items():
            pem = (self.directory / f"{kid}.pem").read_bytes()
            key = serialization.load_pem_private_key(pem, password=None)
            assert isinstance(key, rsa.RSAPrivateKey)
            self.keys[kid] = SigningKey(kid, key, info["created_at"], info.get("retired_at"))
        self.active_kid = meta.get("active")
        if self.active_kid is None:
            self.rotate()
        self._prune()
        return self

    def active(self) -> SigningKey:
        assert self.active_kid is not None
        return self.keys[self.active_kid]

    def verification_key(self, kid: str) -> SigningKey | None:
        key = self.keys.get(kid)
        if key is None:
            return None
        if key.retired_at is not None and time.time() > key.retired_at + self.keep_retired_s:
            return None
        return key

    def rotate(self) -> SigningKey:
        now = time.time()
        if self.active_kid is not None:
            self.keys[self.active_kid].retired_at = now
        kid = uuid7()
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path = self.directory / f"{kid}.pem"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        self.keys[kid] = SigningKey(kid, private, now, None)
        self.active_kid = kid
        self._prune()
        self._write_meta()
        return self.keys[kid]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.jwk() for k in self.keys.values() if self.verification_key(k.kid)]}

    def _prune(self) -> None:
        now = time.time()
        for kid, key in list(self.keys.items()):
            if key.retired_at is not None and now > key.retired_at + self.keep_retired_s:
                del self.keys[kid]
                (self.directory / f"{kid}.pem").unlink(missing_ok=True)

    def _read_meta(self) -> dict[str, Any]:
        path = self.directory / "keys.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def _write_meta(self) -> None:
        meta = {
            "active": self.active_kid,
            "keys": {k.kid: {"created_at": k.created_at, "retired_at": k.retired_at} for k in self.keys.values()},
        }
        tmp = self.directory / "keys.json.tmp"
        tmp.write_text(json.dumps(meta, indent=2))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        tmp.replace(self.directory / "keys.json")
