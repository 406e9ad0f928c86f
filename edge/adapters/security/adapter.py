"""The security adapter the auth use cases see (edge.service.auth.Security)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from edge.adapters.metrics import security_event
from edge.adapters.security import passwords, totp
from edge.adapters.security.keys import KeyStore
from edge.adapters.security.pins import PinPepper
from edge.adapters.security.revocation import RevocationList
from edge.adapters.security.tokens import TokenService, hash_refresh_token, new_refresh_token
from edge.service.ports import AccessClaims


class SecurityAdapter:
    def __init__(self, keys_dir: Path, *, issuer: str, audience: str, access_ttl_s: int):
        # Retired keys stay valid for one access-token lifetime plus clock-skew margin.
        self.keys = KeyStore(keys_dir, keep_retired_s=access_ttl_s + 120).load()
        # A revoked session's tokens live at most one access lifetime plus clock skew.
        self.revocations = RevocationList(keep_s=access_ttl_s + 120)
        self.tokens = TokenService(self.keys, issuer=issuer, audience=audience, access_ttl_s=access_ttl_s,
                                   revocations=self.revocations)
        self.pepper = PinPepper(keys_dir / "pin-pepper")
        self.issuer = issuer

    verify_secret = staticmethod(passwords.verify_secret)
    hash_secret = staticmethod(passwords.hash_secret)
    needs_rehash = staticmethod(passwords.needs_rehash)
    new_refresh_token = staticmethod(new_refresh_token)
    hash_refresh_token = staticmethod(hash_refresh_token)
    new_totp_secret = staticmethod(totp.new_secret)
    security_event = staticmethod(security_event)

    def issue_access(self, claims: AccessClaims) -> str:
        return self.tokens.issue_access(claims)

    def totp_step(self, secret: str, code: str) -> int | None:
        return totp.matching_step(secret, code)

    def totp_uri(self, secret: str, username: str) -> str:
        return totp.provisioning_uri(secret, username, "NovaPOS")

    def watch_revocations(self, load: Callable[[int], Iterable[str]]) -> None:
        self.revocations.watch(load)

    def sessions_revoked(self) -> None:
        """Called after a committed write that revoked sessions: they stop working now."""
        self.revocations.reload()

    def pin_lookup(self, tenant_id: str, store_id: str, pin: str) -> str:
        return self.pepper.lookup(tenant_id, store_id, pin)
