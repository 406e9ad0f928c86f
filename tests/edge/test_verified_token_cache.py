"""The verified-token cache (edge.adapters.security.tokens) skips the RS256 check of a token it
has seen, and nothing else: expiry, revocation and key retirement still refuse a cached token,
and the cache stays bounded. The clock is moved, not slept through (tests/support.FakeClock's
way), for the token service, PyJWT and the revocation list alike."""

from __future__ import annotations

import time as real_time
from datetime import datetime
from types import SimpleNamespace

import jwt.api_jwt
import pytest

from edge.adapters.security import keys as keys_module
from edge.adapters.security import revocation as revocation_module
from edge.adapters.security import tokens as tokens_module
from edge.adapters.security.keys import KeyStore
from edge.adapters.security.revocation import RevocationList
from edge.adapters.security.tokens import InvalidToken, RevokedToken, TokenService
from edge.service.ports import AccessClaims

TTL_S = 900


class Clock:
    def __init__(self) -> None:
        self.now = real_time.time()

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    moved = SimpleNamespace(time=c.time, monotonic=c.monotonic)
    for module in (tokens_module, revocation_module, keys_module):
        monkeypatch.setattr(module, "time", moved)

    class MovedDatetime(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[no-untyped-def,override]
            return datetime.fromtimestamp(c.now, tz)

    monkeypatch.setattr(jwt.api_jwt, "datetime", MovedDatetime)
    return c


@pytest.fixture
def revoked() -> set[str]:
    return set()


@pytest.fixture
def service(tmp_path, clock: Clock, revoked: set[str]) -> TokenService:
    keys = KeyStore(tmp_path / "keys", keep_retired_s=TTL_S + 120).load()
    revocations = RevocationList(keep_s=TTL_S + 120, refresh_every_s=5.0)
    revocations.watch(lambda _keep_s: set(revoked))
    return TokenService(keys, issuer="edge", audience="novapos", access_ttl_s=TTL_S, revocations=revocations)


def token(service: TokenService, sid: str = "session-1") -> str:
    return service.issue_access(AccessClaims(sub="u1", sid=sid, username="ann", tenant_id="t1", store_id="s1",
                                             roles=("cashier",)))


def test_a_cached_token_is_refused_once_it_expires(service: TokenService, clock: Clock):
    t = token(service)
    assert service.verify_access(t).username == "ann"
    assert service.verify_access(t).username == "ann"  # from the cache
    clock.now += TTL_S + 1
    with pytest.raises(InvalidToken):
        service.verify_access(t)
    with pytest.raises(InvalidToken):  # and it was not put back
        service.verify_access(t)


def test_a_session_revoked_by_this_process_refuses_its_cached_token_at_once(service: TokenService,
                                                                            revoked: set[str]):
    t, other = token(service, "session-1"), token(service, "session-2")
    service.verify_access(t)
    service.verify_access(other)
    revoked.add("session-1")
    service.revocations.reload()  # what the caller of a revoking write does before it answers
    with pytest.raises(RevokedToken):
        service.verify_access(t)
    assert service.verify_access(other).sid == "session-2"


def test_a_revocation_written_by_another_process_applies_within_the_refresh_bound(service: TokenService,
                                                                                  clock: Clock, revoked: set[str]):
    t = token(service)
    service.verify_access(t)
    revoked.add("session-1")  # e.g. `novapos-edge user disable`, which this process did not see
    clock.now += service.revocations.refresh_every_s
    with pytest.raises(RevokedToken):
        service.verify_access(t)


def test_a_cached_token_whose_key_has_been_retired_for_good_is_refused(service: TokenService, clock: Clock):
    t = token(service)
    service.verify_access(t)
    service.keys.rotate()
    assert service.verify_access(t).sub == "u1"  # a retired key still verifies its live tokens
    clock.now += service.keys.keep_retired_s + 1
    with pytest.raises(InvalidToken):
        service.verify_access(t)


def test_a_flood_of_distinct_tokens_keeps_the_cache_bounded(service: TokenService):
    service._cache_max = 8
    issued = [token(service, f"session-{n}") for n in range(20)]
    for t in issued:
        service.verify_access(t)
    assert len(service._cache) == 8
    assert service.verify_access(issued[0]).sid == "session-0"  # evicted, so verified again in full
