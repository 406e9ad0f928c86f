"""The circuit breaker in front of slow partner endpoints, and the webhook retry schedule."""

from __future__ import annotations

import asyncio
import random

import pytest

from cloud.breaker import CircuitBreaker, CircuitOpen
from cloud.partner_settings import PartnerSettingError, PartnerSettings, load_partner_settings
from cloud.webhook_worker import backoff_s


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def _fail() -> int:
    raise ConnectionError("refused")


async def _slow() -> int:
    await asyncio.sleep(5)
    return 200


async def _ok() -> int:
    return 200


async def test_repeated_failures_open_the_circuit_and_a_trial_after_the_pause_closes_it():
    clock = Clock()
    breaker = CircuitBreaker("ep", failures=3, reset_s=30, timeout_s=1, clock=clock)
    for _ in range(3):
        with pytest.raises(ConnectionError):
            await breaker.call(_fail)
    assert breaker.state == "open"
    with pytest.raises(CircuitOpen):
        await breaker.call(_ok)  # refused at once: the endpoint is not called
    clock.now += 30
    assert breaker.state == "half-open"
    assert await breaker.call(_ok) == 200
    assert breaker.state == "closed"


async def test_a_failed_trial_reopens_the_circuit_for_another_pause():
    clock = Clock()
    breaker = CircuitBreaker("ep", failures=1, reset_s=10, timeout_s=1, clock=clock)
    with pytest.raises(ConnectionError):
        await breaker.call(_fail)
    clock.now += 10
    with pytest.raises(ConnectionError):
        await breaker.call(_fail)
    assert breaker.state == "open"


async def test_a_call_that_outlasts_the_timeout_fails_and_counts():
    breaker = CircuitBreaker("ep", failures=1, reset_s=10, timeout_s=0.05)
    with pytest.raises(TimeoutError):
        await breaker.call(_slow)
    assert breaker.state == "open"


async def test_server_errors_count_as_failures_without_raising():
    breaker = CircuitBreaker("ep", failures=2, reset_s=10, timeout_s=1)
    for _ in range(2):
        assert await breaker.call(_ok, failed=lambda status: status >= 200) == 200
    assert breaker.state == "open"


def test_retries_back_off_exponentially_with_jitter_up_to_the_cap():
    settings = PartnerSettings()
    rng = random.Random(1)
    delays = [[backoff_s(n, settings, rng) for _ in range(200)] for n in (1, 5, 30)]
    assert all(1.0 <= d <= 5.0 for d in delays[0])
    assert max(delays[1]) <= 80 and max(delays[1]) > 40  # 5 s * 2^4, spread by jitter
    assert max(delays[2]) <= settings.webhook_backoff_cap_s
    assert len({round(d, 3) for d in delays[1]}) > 150  # jitter: retries do not synchronise


def test_a_bad_partner_setting_names_the_variable():
    with pytest.raises(PartnerSettingError, match="NOVAPOS_CLOUD_PARTNER_APP_BURST_PER_S"):
        load_partner_settings({"NOVAPOS_CLOUD_PARTNER_APP_BURST_PER_S": "many"})
    with pytest.raises(PartnerSettingError, match="RATE_LIMIT_STORAGE"):
        load_partner_settings({"NOVAPOS_CLOUD_PARTNER_RATE_LIMIT_STORAGE": "redis"})
    assert load_partner_settings({"NOVAPOS_CLOUD_PARTNER_ALLOW_PRIVATE_WEBHOOKS": "1"}).allow_private_webhooks
