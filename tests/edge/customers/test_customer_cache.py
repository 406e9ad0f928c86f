"""The store's customer cache stays bounded: the least recently seen go first, never one whose
change HQ does not have yet, and none unseen for longer than the configured days."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from edge.service import customers as cases
from edge.service.ports import Actor
from tests.edge.customers.conftest import sign_up, unique_person
from tests.support import FakeClock, demo_settings, login


@pytest.fixture
def small_cache(demo_dir: Path) -> Iterator[TestClient]:
    from edge.bootstrap import create_app

    settings = demo_settings(demo_dir, NOVAPOS_CUSTOMERS_CACHE_MAX="10", NOVAPOS_CUSTOMERS_CACHE_DAYS="90")
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def held(client: TestClient) -> set[str]:
    rows = client.app.state.services.db.read_sync(lambda c: c.exec_driver_sql(
        "SELECT customer_id FROM customers").fetchall())
    return {r[0] for r in rows}


def test_the_least_recently_seen_are_forgotten_beyond_the_bound_and_after_the_days(small_cache: TestClient) -> None:
    client = small_cache
    services = client.app.state.services
    directory = services.extras["customers"]
    clock = FakeClock()
    services.uow.clock = clock
    cashier = login(client, "cashier")
    system = Actor.system("demo", "demo-001", "test")

    people = [unique_person() for _ in range(12)]
    ids = []
    for p in people:
        ids.append(sign_up(client, cashier, {"name": p["name"], "email": p["email"]}).json()["customer_id"])
        clock.advance(60)
    # HQ has every one of them except the first (an offline sign-up still to be escrowed).
    for customer_id in [*ids[1:], *[i for i in held(client) if i not in ids]]:
        services.uow.run_sync(system, lambda u, c=customer_id: cases.mark_escrowed(u, c, 1))
    # Seen at the lane, oldest first: the first, the two demo customers, then the others in order.
    for q in [people[0]["email"], "ada@example.org", "grace@example.org", *[p["email"] for p in people[1:]]]:
        assert client.get("/api/v1/customers", params={"q": q}, headers=cashier).json()["items"], q
        clock.advance(60)
    assert len(held(client)) == 14

    def evict() -> int:
        return services.uow.run_sync(system, lambda u: cases.evict(u, directory.vault, cache_max=10, cache_days=90))

    assert evict() == 3  # Ada, Grace and the second sign-up: beyond the newest ten
    assert held(client) == {ids[0], *ids[2:]}  # the first stays: HQ does not have it yet
    assert client.get("/api/v1/customers", params={"q": "ada@example.org"}, headers=cashier).json()["items"] == []
    assert client.get("/api/v1/customers", params={"q": people[1]["email"]},
                      headers=cashier).json()["items"] == []
    assert not directory.vault.has_data_key("demo", ids[1])  # its key went with it
    kept = client.get("/api/v1/customers", params={"q": people[5]["email"]}, headers=cashier).json()["items"]
    assert [i["customer_id"] for i in kept] == [ids[5]]

    clock.advance(91 * 86400)
    assert evict() == 10
    assert held(client) == {ids[0]}
    assert evict() == 0
