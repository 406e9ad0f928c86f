"""A production-mode HQ hub for the dashboard's browser tests: users of any tenant, tenants in
the hub's list, and store events put through the cloud's real ingest (`Ingestor`), dated
relative to today so the charts' default four weeks hold them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.sync_api import expect

from cloud.auth import AuthService
from cloud.clock import iso
from cloud.db import CloudDB
from cloud.ingest import Ingestor
from cloud.schema import tenants
from edge.contracts.envelope import EventEnvelope
from tests.webui import test_hq as base
from tests.webui.helpers import ARTIFACTS

PASSWORD = base.PASSWORD


def days_ago(days: int, hour: int = 14, minute: int = 5) -> str:
    """An ISO UTC time `days` before today at hh:mm (a business day in UTC stores)."""
    at = datetime.now(UTC).replace(hour=hour, minute=minute, second=0, microsecond=0) - timedelta(days=days)
    return iso(at)


class HqHub(base.CloudHub):
    def __init__(self, root: Path):
        super().__init__(root)
        self._seq: dict[tuple[str, str], int] = {}

    def add(self, roles: list[str], *, tenant: str = base.TENANT, totp: bool = False) -> tuple[str, str | None]:
        username = f"{roles[0]}-{uuid.uuid4().hex[:8]}"
        secret = pyotp.random_base32() if totp else None

        async def create() -> None:
            db = CloudDB(self.db_url)
            try:
                await AuthService(db, self.keys()).create_user(username, PASSWORD, roles, tenant, totp_secret=secret)
            finally:
                await db.close()

        base.run_async(create)
        return username, secret

    def tenant(self, tenant_id: str, name: str) -> None:
        async def create() -> None:
            db = CloudDB(self.db_url)
            try:
                async with db.system() as conn:
                    created = iso(datetime.now(UTC))
                    await conn.execute(tenants.insert().values(id=tenant_id, name=name, created_at=created))
            finally:
                await db.close()

        base.run_async(create)

    def replicate(self, events: list[tuple[str, str, str, dict[str, Any]]], *, tenant: str = base.TENANT) -> None:
        """Events as a store's relay delivers them: (store, occurred_at, type, payload), in seq order."""
        envelopes = []
        for store, at, type_, payload in events:
            seq = self._seq[(tenant, store)] = self._seq.get((tenant, store), 0) + 1
            envelopes.append(EventEnvelope(event_id=str(uuid.uuid4()), tenant_id=tenant, store_id=store, seq=seq,
                                           type=type_, occurred_at=at, business_day=at[:10], payload=payload))

        async def ingest() -> None:
            db = CloudDB(self.db_url)
            try:
                await Ingestor(db).ingest(envelopes)
            finally:
                await db.close()

        base.run_async(ingest)


def received(location: str, sku: str, quantity: int) -> dict[str, Any]:
    return {"movement": {"id": str(uuid.uuid4()), "location_id": location, "sku": sku, "kind": "receive",
                         "delta": quantity, "ref": "po-1"}}


sale = base.sale


@pytest.fixture(scope="module")
def hq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HqHub]:
    hub = HqHub(tmp_path_factory.mktemp("hq"))
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()


@pytest.fixture
def page(browser: Any, hq: HqHub, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page on the hub, in the browser time zone the test module names as `TIMEZONE` (UTC
    otherwise). Uncaught errors and Content-Security-Policy refusals fail the test."""
    ctx = browser.new_context(base_url=hq.url, viewport={"width": 1280, "height": 900},
                              timezone_id=getattr(request.module, "TIMEZONE", "UTC"))
    ctx.set_default_timeout(10_000)
    expect.set_options(timeout=10_000)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    try:
        yield page
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-final.png"))
        ctx.close()
    assert not errors, f"errors in the page: {errors}"


def shot(page: Any, name: str) -> None:
    """A screenshot of a main screen, kept under test-artifacts/webui."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


sign_in = base.sign_in


def chart(page: Any, chart_id: str) -> dict[str, Any]:
    """What the ECharts instance in `chart_id` draws: categories, series data, axis names."""
    return page.evaluate("""(id) => {
        const c = echarts.getInstanceByDom(document.getElementById(id));
        if (!c) return null;
        const o = c.getOption();
        const cats = (axes) => (axes || []).map((a) => a.data || null);
        return {x: cats(o.xAxis), y: cats(o.yAxis), yNames: (o.yAxis || []).map((a) => a.name || null),
                legend: (o.legend || []).flatMap((l) => l.data || []),
                series: o.series.map((s) => s.data.map((d) => (d && typeof d === "object" && !Array.isArray(d))
                                                      ? (d.name !== undefined ? [d.name, d.value] : d.value) : d))};
    }""", chart_id)


def drawn(page: Any, chart_id: str) -> dict[str, Any]:
    page.wait_for_function("""(id) => { const c = echarts.getInstanceByDom(document.getElementById(id));
                                        return c && c.getOption().series && c.getOption().series.length; }""",
                           arg=chart_id)
    return chart(page, chart_id)
