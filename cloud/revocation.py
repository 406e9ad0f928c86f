"""Revoked HQ sessions: every access token is checked against them on every request.

A session is one login's chain of refresh tokens (its `family_id`); access tokens carry it as
`sid`. Logout and a reused refresh token revoke it in `hq_refresh_tokens`.

Several hub instances may serve the same database, so the list lives in the database and each
instance keeps a copy for at most `cache_s` seconds:
- a revocation made by this instance takes effect here on the next request (it is added to the
  copy before the logout answers);
- one made by another instance takes effect here within `cache_s` (2 s by default), the bound
  of this design: one small read per instance every `cache_s` while requests arrive, instead
  of one per request.
Only sessions revoked within one access-token lifetime (plus skew) are read: older tokens have
expired anyway.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import structlog
from sqlalchemy import select

from cloud.clock import iso, utc_now
from cloud.db import CloudDB
from cloud.schema import refresh_tokens

log = structlog.get_logger()


class RevokedSessions:
    def __init__(self, db: CloudDB, *, keep_s: int, cache_s: float = 2.0):
        self.db = db
        self.keep_s = keep_s
        self.cache_s = cache_s
        self._sessions: frozenset[str] = frozenset()
        self._fresh_until = 0.0
        self._lock = asyncio.Lock()

    async def is_revoked(self, session_id: str | None) -> bool:
        if time.monotonic() >= self._fresh_until:
            await self._reload()
        return session_id is not None and session_id in self._sessions

    def revoked_here(self, session_id: str) -> None:
        self._sessions = self._sessions | {session_id}

    async def _reload(self) -> None:
        async with self._lock:  # one read for a burst of requests, not one each
            if time.monotonic() < self._fresh_until:
                return
            since = iso(utc_now() - timedelta(seconds=self.keep_s))
            try:
                async with self.db.system(write=False) as conn:
                    rows = await conn.execute(
                        select(refresh_tokens.c.family_id).distinct().where(refresh_tokens.c.revoked_at >= since))
                    self._sessions = frozenset(r[0] for r in rows)
            except Exception as err:
                # Keep the last list and say so; the next request tries again. Failing closed
                # here would turn a database hiccup into every HQ user being signed out.
                log.warning("auth.revocations_reload_failed", error=str(err))
            self._fresh_until = time.monotonic() + self.cache_s
