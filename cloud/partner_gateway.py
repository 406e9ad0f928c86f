"""The partner gateway's parts in one object (`app.state.partners`): the OAuth2 server, the
rate limiter, usage figures, the webhook secret box and worker, and credential checks.

`authenticate` is the one place a partner request's credential is checked, on every call:
- `Authorization: Bearer <JWT>` from `/oauth/token`, or an API key (`Authorization: Bearer
  npk_…` or `X-API-Key: npk_…`);
- the app is read by primary key each time, so a revoked app or key, a `revoke-tokens` or a
  narrowed scope takes effect on the next request on every instance;
- the tenant comes from the app row; the caller's address must be in the app's allowed ranges.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog
from sqlalchemy import select, update

from cloud import metrics
from cloud.auth import TokenKeys
from cloud.clock import now_iso
from cloud.db import CloudDB
from cloud.oauth import PartnerAuthorizationServer, PartnerTokenError
from cloud.partner_metrics import UsageRecorder
from cloud.partner_settings import PartnerSettings
from cloud.partners import KEY_PREFIX, PartnerPrincipal, address_allowed, same_digest
from cloud.ratelimit import PartnerRateLimiter
from cloud.schema_partners import partner_api_keys, partner_apps
from cloud.webhook_worker import WebhookWorker
from cloud.webhooks import SecretBox

log = structlog.get_logger()


class PartnerAuthError(Exception):
    """No valid partner credential (401)."""


class PartnerGateway:
    def __init__(self, db: CloudDB, keys: TokenKeys, settings: PartnerSettings, keys_dir: Any):
        self.db = db
        self.settings = settings
        self.oauth = PartnerAuthorizationServer(db, keys, token_ttl_s=settings.token_ttl_s)
        self.limiter = PartnerRateLimiter(db, settings)
        self.usage = UsageRecorder(db)
        self.box = SecretBox(keys_dir)
        self.worker = WebhookWorker(db, settings, self.box)
        self._usage_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.worker.start()
        self._usage_task = asyncio.create_task(self.usage.run(self.settings.usage_flush_s), name="partner-usage")

    async def stop(self) -> None:
        if self._usage_task is not None:
            self._usage_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._usage_task
        await self.usage.flush()
        await self.worker.stop()

    async def authenticate(self, headers: Any, client_host: str | None) -> PartnerPrincipal:
        auth = headers.get("authorization", "")
        scheme, _, credential = auth.partition(" ")
        api_key = headers.get("x-api-key", "")
        if scheme.lower() == "bearer" and credential.startswith(KEY_PREFIX):
            api_key, credential = credential, ""
        elif scheme.lower() != "bearer":
            credential = ""
        if api_key:
            principal = await self._by_api_key(api_key.strip())
        elif credential:
            principal = await self._by_token(credential.strip())
        else:
            raise PartnerAuthError("a partner access token or API key is required")
        if principal is None:
            metrics.security_event("partner_credential_rejected")
            raise PartnerAuthError("the credential is invalid, expired or revoked")
        return principal if await self._address_ok(principal, client_host) else _refuse_address(principal)

    async def _by_token(self, token: str) -> PartnerPrincipal | None:
        try:
            claims = self.oauth.verify(token)
        except PartnerTokenError as exc:
            log.info("security.partner_token_rejected", reason=str(exc))
            return None
        async with self.db.system(write=False) as conn:
            app = (await conn.execute(select(partner_apps.c.status, partner_apps.c.tenant_id, partner_apps.c.scopes,
                                             partner_apps.c.tokens_valid_after, partner_apps.c.allowed_ips)
                                      .where(partner_apps.c.app_id == claims["sub"]))).first()
        if app is None or app.status != "active" or app.tenant_id != claims["tenant_id"]:
            return None
        if float(claims["iat"]) < float(app.tokens_valid_after):
            return None
        scopes = frozenset(str(claims.get("scope") or "").split()) & frozenset(app.scopes)
        return PartnerPrincipal(claims["sub"], app.tenant_id, scopes, "oauth", tuple(app.allowed_ips))

    async def _by_api_key(self, key: str) -> PartnerPrincipal | None:
        key_id = key[len(KEY_PREFIX):].partition("_")[0] if key.startswith(KEY_PREFIX) else ""
        if not key_id or len(key) > 200:
            return None
        now = now_iso()
        async with self.db.system(write=False) as conn:
            row = (await conn.execute(
                select(partner_api_keys.c.key_hash, partner_api_keys.c.expires_at, partner_api_keys.c.revoked_at,
                       partner_api_keys.c.last_used_at, partner_apps.c.app_id, partner_apps.c.tenant_id,
                       partner_apps.c.status, partner_apps.c.scopes, partner_apps.c.allowed_ips)
                .join(partner_apps, partner_apps.c.app_id == partner_api_keys.c.app_id)
                .where(partner_api_keys.c.key_id == key_id))).first()
        if row is None or not same_digest(key, row.key_hash) or row.revoked_at or row.status != "active":
            return None
        if row.expires_at is not None and row.expires_at <= now:
            return None
        if row.last_used_at is None or row.last_used_at[:16] != now[:16]:  # at most one write a minute
            await self.db.write(lambda c: c.execute(update(partner_api_keys).where(
                partner_api_keys.c.key_id == key_id).values(last_used_at=now)), system=True)
        return PartnerPrincipal(row.app_id, row.tenant_id, frozenset(row.scopes), "api_key", tuple(row.allowed_ips))

    async def _address_ok(self, principal: PartnerPrincipal, host: str | None) -> bool:
        return address_allowed(list(principal.allowed_ips), host)


def _refuse_address(principal: PartnerPrincipal) -> PartnerPrincipal:
    metrics.security_event("partner_address_refused")
    log.warning("security.partner_address_refused", app_id=principal.app_id)
    raise PartnerAuthError("this app may not call from this address")
