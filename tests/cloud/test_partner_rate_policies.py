"""The four rate-limit policies on the database counters (SQLite and Postgres): per app and per
tenant, burst and sustained, and the RateLimit fields that describe them."""

from __future__ import annotations

from cloud.partner_settings import PartnerSettings
from cloud.ratelimit import PartnerRateLimiter


async def test_the_tenant_limit_holds_across_its_apps_while_another_tenant_is_untouched(cloud_db):
    limiter = PartnerRateLimiter(cloud_db, PartnerSettings(rate_limit_storage="db", app_burst_per_s=1000,
                                                           app_sustained_per_min=1000, tenant_burst_per_s=1000,
                                                           tenant_sustained_per_min=5))
    decisions = [await limiter.hit("acme", app) for app in ("app-a", "app-b", "app-a", "app-b", "app-a", "app-b")]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert decisions[-1].exceeded == "tenant-sustained"
    assert decisions[-1].headers["RateLimit"].startswith('"tenant-sustained";r=0;t=')
    assert 0 < int(decisions[-1].headers["Retry-After"]) <= 60
    assert (await limiter.hit("globex", "app-c")).allowed


async def test_each_answer_names_the_policy_closest_to_its_limit_and_what_is_left(cloud_db):
    limiter = PartnerRateLimiter(cloud_db, PartnerSettings(rate_limit_storage="db", app_burst_per_s=2,
                                                           app_sustained_per_min=100))
    first = await limiter.hit("acme", "app-a")
    assert first.allowed and first.headers["RateLimit"] == '"app-burst";r=1;t=1'
    assert '"app-burst";q=2;w=1' in first.headers["RateLimit-Policy"]
    assert '"tenant-sustained";q=2000;w=60' in first.headers["RateLimit-Policy"]
    assert "Retry-After" not in first.headers


async def test_an_apps_sustained_rate_refuses_the_call_over_it(cloud_db):
    # Per minute, not per second: a busy machine cannot stretch three calls across the window.
    limiter = PartnerRateLimiter(cloud_db, PartnerSettings(rate_limit_storage="db", app_sustained_per_min=2))
    assert (await limiter.hit("acme", "app-a")).allowed and (await limiter.hit("acme", "app-a")).allowed
    third = await limiter.hit("acme", "app-a")
    assert not third.allowed and third.exceeded == "app-sustained"
    assert (await limiter.hit("acme", "app-b")).allowed  # another app of the tenant has its own
