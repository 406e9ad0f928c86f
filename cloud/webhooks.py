"""Outgoing partner webhooks: subscriptions, enqueueing, signing, SSRF checks, replay.

- `enqueue(conn, tenant_id, event_type, payload, event_id)` inserts one pending delivery per
  matching active endpoint, in the caller's transaction: an event is enqueued exactly when the
  projection that produced it commits. `(endpoint, event_id)` is unique, so a redelivered store
  event never enqueues twice.
- Deliveries follow Standard Webhooks: `webhook-id` (the delivery id, the same on every retry
  and replay, so receivers can deduplicate), `webhook-timestamp`, `webhook-signature` (one `v1,`
  signature per live secret: during a rotation the old and new secrets both sign).
- Signing secrets must be usable, so they are encrypted at rest (Fernet) with a key in the hub's
  keys directory (`webhook-secrets.key`, 0600), and shown once, when created or rotated.
- Endpoint URLs must be https and must not resolve to private, loopback, link-local or other
  non-public addresses, checked when subscribing and again before every send (a DNS answer can
  change); `NOVAPOS_CLOUD_PARTNER_ALLOW_PRIVATE_WEBHOOKS=1` lifts both rules, for tests only.
  Redirects are not followed.
- The sender is `cloud.webhook_worker`. Semantics: at least once (a receiver may see a delivery
  again after a timeout whose request did arrive), and no ordering guarantee across events;
  each body carries the event's timestamp and id.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import secrets
import socket
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
import structlog
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Connection, and_, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from standardwebhooks import Webhook

from cloud.clock import iso, now_iso, parse_iso, utc_now
from cloud.errors import HQError, InvalidInput
from cloud.schema_partners import webhook_attempts, webhook_deliveries, webhook_endpoints

log = structlog.get_logger()

EVENT_TYPES = ("order.completed", "order.refunded", "inventory.low_stock", "bopis.*", "customer.*")
MAX_ENDPOINTS_PER_APP = 20
KEY_FILE = "webhook-secrets.key"


class EndpointNotFound(HQError):
    status, code, title = 404, "not-found", "No such webhook endpoint"


class DeliveryNotFound(HQError):
    status, code, title = 404, "not-found", "No such webhook delivery"


class UnsafeEndpoint(InvalidInput):
    """An endpoint URL that is not https or points at a non-public address."""


def _insert(conn: Connection, table: Any) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


# -- secrets at rest -----------------------------------------------------------------------------
class SecretBox:
    """Encrypts webhook signing secrets with the hub's key (created 0600 on first use)."""

    def __init__(self, keys_dir: Path):
        path = keys_dir / KEY_FILE
        if not path.exists():
            keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(Fernet.generate_key())
            except FileExistsError:
                pass  # another instance made it first
        self._fernet = Fernet(path.read_bytes().strip())

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise RuntimeError("a webhook secret cannot be decrypted with this hub's key") from exc


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secrets_: list[str], msg_id: str, at: datetime, body: str) -> str:
    """The `webhook-signature` header: one signature per live secret."""
    return " ".join(Webhook(s).sign(msg_id, at, body) for s in secrets_)


# -- SSRF ----------------------------------------------------------------------------------------
def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse what a partner must not make the hub call: non-https, and non-public addresses."""
    if len(url) > 2000:
        raise UnsafeEndpoint("the URL is longer than 2000 characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeEndpoint(f"{url!r} is not a URL (example: https://partner.example.com/hooks)") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeEndpoint(f"{url!r} is not an http(s) URL (example: https://partner.example.com/hooks)")
    if parts.username or parts.password:
        raise UnsafeEndpoint("the URL must not carry credentials")
    if allow_private:
        return
    if parts.scheme != "https":
        raise UnsafeEndpoint("webhook endpoints must use https")
    try:
        infos = socket.getaddrinfo(parts.hostname, port or 443, type=socket.SOCK_STREAM)
    except OSError:
        raise UnsafeEndpoint(f"{parts.hostname} does not resolve") from None
    for info in infos:
        addr = ipaddress.ip_address(info[4][0].split("%")[0])
        if not addr.is_global or addr.is_multicast:
            raise UnsafeEndpoint(f"{parts.hostname} resolves to a non-public address ({addr}); refused")


def matches(patterns: list[str], event_type: str) -> bool:
    for pattern in patterns:
        if pattern == event_type or (pattern.endswith(".*") and event_type.startswith(pattern[:-1])):
            return True
    return False


FAMILIES = ("order.", "inventory.", "bopis.", "customer.")


def check_event_types(types: list[str]) -> list[str]:
    """Known types, any `bopis.…`/`customer.…` (their sources grow), or a family's `prefix.*`."""
    unknown = sorted(t for t in set(types) if t not in EVENT_TYPES and not t.startswith(("bopis.", "customer."))
                     and not (t.endswith(".*") and t[:-1] in FAMILIES))
    if unknown or not types:
        raise InvalidInput(f"event types must be among {', '.join(EVENT_TYPES)}",
                           [{"key": "event_types", "message": f"unknown: {', '.join(unknown) or '(none given)'}"}])
    return sorted(set(types))


# -- subscriptions (tenant transactions) -----------------------------------------------------------
def _endpoint(conn: Connection, tenant_id: str, endpoint_id: str, app_id: str | None = None) -> Any:
    q = select(webhook_endpoints).where(webhook_endpoints.c.tenant_id == tenant_id,
                                        webhook_endpoints.c.endpoint_id == endpoint_id)
    if app_id is not None:
        q = q.where(webhook_endpoints.c.app_id == app_id)
    row = conn.execute(q).first()
    if row is None:
        raise EndpointNotFound(f"webhook endpoint {endpoint_id} does not exist")
    return row


def _public(row: Any) -> dict[str, Any]:
    return {"endpoint_id": row.endpoint_id, "app_id": row.app_id, "url": row.url,
            "event_types": list(row.event_types), "active": bool(row.active), "created_at": row.created_at,
            "previous_secret_until": row.previous_until}


def subscribe(conn: Connection, tenant_id: str, app_id: str, url: str, event_types: list[str],
              box: SecretBox) -> dict[str, Any]:
    # The caller checked that the app is this tenant's and active (the apps table is global,
    # outside this tenant transaction's reach on Postgres).
    count = conn.execute(select(func.count()).where(webhook_endpoints.c.tenant_id == tenant_id,
                                                    webhook_endpoints.c.app_id == app_id)).scalar_one()
    if count >= MAX_ENDPOINTS_PER_APP:
        raise InvalidInput(f"an app may have at most {MAX_ENDPOINTS_PER_APP} endpoints")
    secret = new_secret()
    endpoint_id = "ep_" + uuid.uuid4().hex[:16]
    conn.execute(webhook_endpoints.insert().values(
        endpoint_id=endpoint_id, tenant_id=tenant_id, app_id=app_id, url=url, event_types=check_event_types(event_types),
        secret_enc=box.seal(secret), active=True, created_at=now_iso()))
    return {**_public(_endpoint(conn, tenant_id, endpoint_id)), "secret": secret}


def rotate_secret(conn: Connection, tenant_id: str, endpoint_id: str, overlap_s: int, box: SecretBox,
                  app_id: str | None = None) -> dict[str, Any]:
    """A new secret; the old one keeps signing (alongside) for `overlap_s`."""
    row = _endpoint(conn, tenant_id, endpoint_id, app_id)
    secret = new_secret()
    until = iso(utc_now() + timedelta(seconds=overlap_s))
    conn.execute(update(webhook_endpoints).where(webhook_endpoints.c.endpoint_id == endpoint_id).values(
        secret_enc=box.seal(secret), previous_secret_enc=row.secret_enc, previous_until=until))
    return {**_public(_endpoint(conn, tenant_id, endpoint_id)), "secret": secret}


def unsubscribe(conn: Connection, tenant_id: str, endpoint_id: str, app_id: str | None = None) -> None:
    _endpoint(conn, tenant_id, endpoint_id, app_id)
    conn.execute(update(webhook_endpoints).where(webhook_endpoints.c.endpoint_id == endpoint_id).values(active=False))


def list_endpoints(conn: Connection, tenant_id: str, app_id: str | None = None) -> list[dict[str, Any]]:
    q = select(webhook_endpoints).where(webhook_endpoints.c.tenant_id == tenant_id)
    if app_id is not None:
        q = q.where(webhook_endpoints.c.app_id == app_id)
    return [_public(r) for r in conn.execute(q.order_by(webhook_endpoints.c.created_at))]


def live_secrets(row: Any, box: SecretBox, now: str) -> list[str]:
    found = [box.open(row.secret_enc)]
    if row.previous_secret_enc and row.previous_until and row.previous_until > now:
        found.append(box.open(row.previous_secret_enc))
    return found


# -- the event sources' one entry point --------------------------------------------------------------
def active_endpoints(conn: Connection, tenant_id: str) -> list[Any]:
    """Read in the caller's transaction, never cached: an endpoint subscribed on any HQ instance
    gets every event projected after its subscription committed. The statement is built once
    (ingest asks once per tenant per batch; building it was most of the cost)."""
    return conn.execute(_ACTIVE_ENDPOINTS, {"tenant": tenant_id}).all()


_ACTIVE_ENDPOINTS = select(webhook_endpoints.c.endpoint_id, webhook_endpoints.c.event_types).where(
    webhook_endpoints.c.tenant_id == bindparam("tenant"), webhook_endpoints.c.active.is_(True))


def enqueue(conn: Connection, tenant_id: str, event_type: str, payload: dict[str, Any], event_id: str,
            endpoints: list[Any] | None = None) -> int:
    """Queue `event_type` for every active endpoint of the tenant subscribed to it, in the caller's
    transaction. Returns how many deliveries were queued (an event already queued counts 0).
    `endpoints` (from `active_endpoints`) spares a batch caller one read per event."""
    if endpoints is None:
        endpoints = active_endpoints(conn, tenant_id)
    now = now_iso()
    rows = [{"delivery_id": "msg_" + uuid.uuid4().hex, "tenant_id": tenant_id, "endpoint_id": e.endpoint_id,
             "event_id": event_id, "event_type": event_type, "payload": payload, "status": "pending", "attempts": 0,
             "next_attempt_at": now, "created_at": now, "retry_from": now}
            for e in endpoints if matches(list(e.event_types), event_type)]
    queued = 0
    for row in rows:
        stmt = _insert(conn, webhook_deliveries).values(**row).on_conflict_do_nothing(
            index_elements=["endpoint_id", "event_id"])
        queued += conn.execute(stmt).rowcount or 0
    return queued


def body_of(delivery: Any) -> str:
    """The Standard Webhooks payload: type, timestamp and data (the event's own id inside)."""
    return msgspec.json.encode({"type": delivery.event_type, "timestamp": delivery.created_at,
                                "data": {"event_id": delivery.event_id, **dict(delivery.payload)}}).decode()


# -- replay and the delivery log -------------------------------------------------------------------------
def replay(conn: Connection, tenant_id: str, *, delivery_id: str | None = None, since: str | None = None,
           until: str | None = None, endpoint_id: str | None = None) -> int:
    """Send again by hand: one delivery, or every delivery created in [since, until). Each keeps
    its `webhook-id`, and gets a fresh 3-day retry window."""
    where = [webhook_deliveries.c.tenant_id == tenant_id]
    if delivery_id is not None:
        where.append(webhook_deliveries.c.delivery_id == delivery_id)
    if since is not None:
        where.append(webhook_deliveries.c.created_at >= since)
    if until is not None:
        where.append(webhook_deliveries.c.created_at < until)
    if endpoint_id is not None:
        where.append(webhook_deliveries.c.endpoint_id == endpoint_id)
    now = now_iso()
    count = conn.execute(update(webhook_deliveries).where(and_(*where)).values(
        status="pending", next_attempt_at=now, claimed_until=None, retry_from=now)).rowcount
    if delivery_id is not None and not count:
        raise DeliveryNotFound(f"webhook delivery {delivery_id} does not exist")
    return int(count or 0)


def deliveries(conn: Connection, tenant_id: str, *, status: str | None = None, endpoint_id: str | None = None,
               limit: int = 100) -> list[dict[str, Any]]:
    q = select(webhook_deliveries).where(webhook_deliveries.c.tenant_id == tenant_id)
    if status:
        q = q.where(webhook_deliveries.c.status == status)
    if endpoint_id:
        q = q.where(webhook_deliveries.c.endpoint_id == endpoint_id)
    rows = conn.execute(q.order_by(webhook_deliveries.c.created_at.desc()).limit(limit))
    return [{k: v for k, v in r._mapping.items() if k not in ("tenant_id", "payload", "claimed_until")} for r in rows]


def attempts(conn: Connection, tenant_id: str, delivery_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(webhook_attempts).where(webhook_attempts.c.tenant_id == tenant_id,
                                                       webhook_attempts.c.delivery_id == delivery_id)
                        .order_by(webhook_attempts.c.attempt_no))
    return [{k: v for k, v in r._mapping.items() if k != "tenant_id"} for r in rows]


def backlog(conn: Connection, tenant_id: str) -> dict[str, dict[str, int]]:
    """Per app: pending and dead-lettered deliveries."""
    rows = conn.execute(
        select(webhook_endpoints.c.app_id, webhook_deliveries.c.status, func.count())
        .join(webhook_endpoints, webhook_endpoints.c.endpoint_id == webhook_deliveries.c.endpoint_id)
        .where(webhook_deliveries.c.tenant_id == tenant_id, webhook_deliveries.c.status.in_(("pending", "dead")))
        .group_by(webhook_endpoints.c.app_id, webhook_deliveries.c.status))
    out: dict[str, dict[str, int]] = {}
    for app_id, status, n in rows:
        out.setdefault(app_id, {"pending": 0, "dead": 0})[status] = int(n)
    return out


def window_end(retry_from: str, max_age_s: int) -> datetime:
    return parse_iso(retry_from) + timedelta(seconds=max_age_s)
