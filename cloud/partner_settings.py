"""Partner gateway settings: one Struct, filled from NOVAPOS_CLOUD_PARTNER_* variables and
checked at start, so a bad value stops the hub with a message naming the variable."""

from __future__ import annotations

import os
from collections.abc import Mapping

import msgspec

PREFIX = "NOVAPOS_CLOUD_PARTNER_"


class PartnerSettingError(ValueError):
    pass


class PartnerSettings(msgspec.Struct, kw_only=True, frozen=True):
    token_ttl_s: int = 600  # OAuth access tokens: short-lived
    # The token endpoint's public https URL (behind the TLS proxy): the audience partners put in
    # private_key_jwt assertions. Empty: the URL the request arrived on.
    token_url: str = ""
    key_overlap_s: int = 24 * 3600  # a rotated API key keeps working this long
    # Per app and per tenant: a burst (per second) and a sustained rate (per minute).
    app_burst_per_s: int = 20
    app_sustained_per_min: int = 600
    tenant_burst_per_s: int = 50
    tenant_sustained_per_min: int = 2000
    # "auto": the hub's database on Postgres (every instance shares the counters), process memory
    # on SQLite (a SQLite hub is one instance, and an fsync per request would cost more than the
    # call). "db" forces the database; any other value is a `limits` async storage URI, such as
    # "async+redis://127.0.0.1:6379" or "async+memory://".
    rate_limit_storage: str = "auto"
    downstream_timeout_s: float = 5.0  # webhook sends and other slow calls
    breaker_failures: int = 5  # consecutive failures that open an endpoint's circuit
    breaker_reset_s: float = 30.0
    webhook_poll_s: float = 1.0
    webhook_batch: int = 50
    webhook_endpoint_concurrency: int = 8  # calls in flight per endpoint
    webhook_max_age_s: int = 3 * 86400  # retried this long, then dead-lettered
    webhook_backoff_base_s: float = 5.0
    webhook_backoff_cap_s: float = 6 * 3600.0
    secret_overlap_s: int = 24 * 3600  # a rotated webhook secret still signs this long
    allow_private_webhooks: bool = False  # tests only: loopback / private endpoint URLs
    usage_flush_s: float = 2.0


def _coerce(name: str, raw: str, default: object) -> object:
    if isinstance(default, bool):
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off", ""):
            return False
        raise PartnerSettingError(f"{PREFIX}{name.upper()}={raw!r} is not a boolean (example: 1)")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise PartnerSettingError(f"{PREFIX}{name.upper()}={raw!r} is not an integer (example: {default})") from None
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            raise PartnerSettingError(f"{PREFIX}{name.upper()}={raw!r} is not a number (example: {default})") from None
    return raw


def load_partner_settings(environ: Mapping[str, str] | None = None) -> PartnerSettings:
    env = os.environ if environ is None else environ
    defaults = PartnerSettings()
    values = {}
    for name in PartnerSettings.__struct_fields__:
        raw = env.get(PREFIX + name.upper())
        if raw is not None:
            values[name] = _coerce(name, raw, getattr(defaults, name))
    settings = PartnerSettings(**values)
    for name in PartnerSettings.__struct_fields__:
        value = getattr(settings, name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value <= 0:
            raise PartnerSettingError(f"{PREFIX}{name.upper()} must be positive (example: {getattr(defaults, name)})")
    if settings.rate_limit_storage not in ("auto", "db") and not settings.rate_limit_storage.startswith("async+"):
        raise PartnerSettingError(f"{PREFIX}RATE_LIMIT_STORAGE={settings.rate_limit_storage!r} is neither 'auto', "
                                  "'db' nor a limits async storage URI (example: async+redis://127.0.0.1:6379)")
    return settings
