"""Partner rate limits: per app and per tenant, a burst and a sustained rate, shared by every
hub instance.

The `limits` library does the limiting (fixed windows, `FixedWindowRateLimiter`); its counters
live where every instance sees them. `SqlStorage` implements the library's async `Storage`
interface on the hub's own database (Postgres in production): one atomic upsert per hit, which
resets an expired window and adds to a live one in the same statement, timed by the database's
clock so that instances with skewed clocks agree on the window. A `limits` storage URI
(`async+redis://…`) can replace it by setting; see ARCHITECTURE.md for why the default is
the database (on Postgres; a SQLite hub is a single instance and counts in memory).

A 429 carries `Retry-After` and the IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers):
`RateLimit-Policy` lists the policies, `RateLimit` the one closest to its limit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.storage import storage_from_string
from sqlalchemy import Connection, delete, select, text

from cloud.db import CloudDB
from cloud.partner_settings import PartnerSettings
from cloud.schema_partners import partner_rate_counters

_UPSERT = """
INSERT INTO partner_rate_counters (key, count, expires_at) VALUES (:key, :amount, {now} + :expiry)
ON CONFLICT (key) DO UPDATE SET
  count = CASE WHEN partner_rate_counters.expires_at <= {now} THEN :amount
               ELSE partner_rate_counters.count + :amount END,
  expires_at = CASE WHEN partner_rate_counters.expires_at <= {now} THEN {now} + :expiry
                    ELSE partner_rate_counters.expires_at END
RETURNING count
"""


def _now_sql(conn: Connection) -> str:
    if conn.dialect.name == "postgresql":
        return "extract(epoch from clock_timestamp())"
    return "(julianday('now') - 2440587.5) * 86400.0"


class SqlStorage(Storage):
    """`limits` counters in the hub's database (`partner_rate_counters`), shared by instances."""

    STORAGE_SCHEME = ["novapos+db"]

    def __init__(self, db: CloudDB):
        super().__init__(wrap_exceptions=False)
        self.db = db

    @property
    def base_exceptions(self) -> type[Exception]:
        return Exception

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return await self.db.write(_incr, key, float(expiry), amount, system=True)

    async def get(self, key: str) -> int:
        row = await self._row(key)
        return int(row[0]) if row and row[1] > time.time() else 0

    async def get_expiry(self, key: str) -> float:
        row = await self._row(key)
        return float(row[1]) if row and row[1] > time.time() else time.time()

    async def check(self) -> bool:
        return await self.db.ping()

    async def reset(self) -> int | None:
        return await self.db.write(lambda conn: conn.execute(delete(partner_rate_counters)).rowcount, system=True)

    async def clear(self, key: str) -> None:
        await self.db.write(lambda conn: conn.execute(delete(partner_rate_counters)
                                                      .where(partner_rate_counters.c.key == key)), system=True)

    async def incr_many(self, hits: list[tuple[str, float]]) -> list[tuple[int, float]]:
        """Several counters in one transaction: (count, expires_at) each. One round trip per
        request instead of one per policy."""
        return await self.db.write(_incr_many, hits, system=True)

    async def _row(self, key: str) -> Any:
        async with self.db.system(write=False) as conn:
            return (await conn.execute(select(partner_rate_counters.c.count, partner_rate_counters.c.expires_at)
                                       .where(partner_rate_counters.c.key == key))).first()


def _incr(conn: Connection, key: str, expiry: float, amount: int) -> int:
    sql = _UPSERT.format(now=_now_sql(conn))
    return int(conn.execute(text(sql), {"key": key, "amount": amount, "expiry": expiry}).scalar_one())


def _incr_many(conn: Connection, hits: list[tuple[str, float]]) -> list[tuple[int, float]]:
    if conn.dialect.name == "postgresql":
        # Counters need atomicity and visibility to every instance, not durability: a crash that
        # loses the last milliseconds of counts lets a few more calls through, no more. Not
        # waiting for the WAL flush takes the fsync off every partner request.
        conn.execute(text("SET LOCAL synchronous_commit = off"))
    sql = text(_UPSERT.format(now=_now_sql(conn)).replace("RETURNING count", "RETURNING count, expires_at"))
    out = []
    for key, expiry in hits:
        row = conn.execute(sql, {"key": key, "amount": 1, "expiry": expiry}).one()
        out.append((int(row[0]), float(row[1])))
    return out


@dataclass(frozen=True)
class Policy:
    name: str  # "app-burst", "tenant-sustained", …
    item: Any  # a limits RateLimitItem
    identifiers: tuple[str, ...]

    @property
    def window_s(self) -> int:
        return int(self.item.get_expiry())


@dataclass(frozen=True)
class Decision:
    allowed: bool
    headers: dict[str, str]
    retry_after_s: int
    exceeded: str | None


class PartnerRateLimiter:
    def __init__(self, db: CloudDB, settings: PartnerSettings):
        self.settings = settings
        choice = settings.rate_limit_storage
        if choice == "auto":
            choice = "db" if db.is_postgres else "async+memory://"
        storage = SqlStorage(db) if choice == "db" else storage_from_string(choice)
        self.shared = choice != "async+memory://"
        self.limiter = FixedWindowRateLimiter(storage)

    def policies(self, tenant_id: str, app_id: str) -> list[Policy]:
        s = self.settings
        return [
            Policy("app-burst", RateLimitItemPerSecond(s.app_burst_per_s, namespace="partner"), ("app", app_id)),
            Policy("app-sustained", RateLimitItemPerMinute(s.app_sustained_per_min, namespace="partner"),
                   ("app", app_id)),
            Policy("tenant-burst", RateLimitItemPerSecond(s.tenant_burst_per_s, namespace="partner"),
                   ("tenant", tenant_id)),
            Policy("tenant-sustained", RateLimitItemPerMinute(s.tenant_sustained_per_min, namespace="partner"),
                   ("tenant", tenant_id)),
        ]

    async def hit(self, tenant_id: str, app_id: str) -> Decision:
        """Count this request against every policy; refused when any one is over its limit.

        A refused request counts too, so a client that keeps hammering stays refused instead of
        getting in at the start of each window."""
        policies = self.policies(tenant_id, app_id)
        storage = self.limiter.storage
        keys = [(p.item.key_for(*p.identifiers), float(p.window_s)) for p in policies]
        if isinstance(storage, SqlStorage):
            counted = await storage.incr_many(keys)
        else:
            counted = [(await storage.incr(key, int(window)), await storage.get_expiry(key)) for key, window in keys]
        counts = [c for c, _ in counted]
        expiries = dict(zip([p.name for p in policies], [e for _, e in counted], strict=True))
        now = time.time()
        worst: tuple[float, Policy, int] | None = None
        exceeded: Policy | None = None
        for policy, count in zip(policies, counts, strict=True):
            remaining = max(0, policy.item.amount - count)
            share = remaining / policy.item.amount
            if count > policy.item.amount and exceeded is None:
                exceeded = policy
            if worst is None or share < worst[0]:
                worst = (share, policy, remaining)
        assert worst is not None
        shown = exceeded or worst[1]
        reset = expiries[shown.name]
        reset_s = max(1, round(reset - now)) if reset > now else 1
        remaining = 0 if exceeded else worst[2]
        headers = {
            "RateLimit-Policy": ", ".join(f'"{p.name}";q={p.item.amount};w={p.window_s}' for p in policies),
            "RateLimit": f'"{shown.name}";r={remaining};t={reset_s}',
        }
        if exceeded:
            headers["Retry-After"] = str(reset_s)
        return Decision(exceeded is None, headers, reset_s, exceeded.name if exceeded else None)
