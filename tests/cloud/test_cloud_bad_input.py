"""The HQ API answers hostile or broken input with a clear 4xx problem and changes nothing."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

from cloud.app import create_app
from cloud.settings import CloudSettings
from edge.contracts.bounds import MAX_LINE_QUANTITY
from edge.domain.pricing import MAX_LINE_QUANTITY as STORE_MAX_QUANTITY

PROBLEM = "application/problem+json"


@pytest.fixture
async def hq(tmp_path):
    app = create_app(CloudSettings(db_url=f"sqlite:///{tmp_path / 'hq.db'}", demo=True))
    async with AsyncTestClient(app=app) as client:
        login = await client.post("/api/v1/auth/login", json={"username": "hq", "password": "novapos-demo"})
        assert login.status_code == 200, login.text
        client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        yield client


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    return response.json()


async def store_ids(hq) -> list[str]:
    return [s["store_id"] for s in (await hq.get("/api/v1/hq/stores")).json()["items"]]


@pytest.mark.parametrize("body", [
    {"store_id": ""},
    {"store_id": "store 1"},
    {"store_id": "s" * 65},
    {"store_id": "store-1\n"},
    {"store_id": "../other"},
    {"store_id": "store-1", "name": "nul\u0000name"},
    {"store_id": "store-1", "leaf_domain": "a b"},
])
async def test_a_bad_store_registration_is_refused_and_registers_nothing(hq, body):
    assert_problem(await hq.post("/api/v1/hq/stores", json=body), 400)
    assert await store_ids(hq) == []


async def test_a_good_store_registration_still_works(hq):
    response = await hq.post("/api/v1/hq/stores", json={"store_id": "store-001", "name": "Main street"})
    assert response.status_code == 201, response.text
    assert await store_ids(hq) == ["store-001"]


@pytest.mark.parametrize("depth", [33, 1_000, 50_000])
async def test_a_command_nested_too_deep_is_refused_before_decoding(hq, depth):
    deep = "[" * depth + "]" * depth
    response = await hq.post("/api/v1/hq/commands", content='{"type":"catalog.upsert","payload":{"a":' + deep + "}}",
                             headers={"content-type": "application/json"})
    assert "32 levels" in assert_problem(response, 400)["detail"]


@pytest.mark.parametrize("path", ["/hq/%00x", "/hq/a%01b.js", "/%00"])
async def test_a_control_character_in_the_path_is_a_400(hq, path):
    assert assert_problem(await hq.get(path), 400)["type"].endswith("/unsafe-path")


@pytest.mark.parametrize("quantity", [2**63, MAX_LINE_QUANTITY + 1, 0, -1])
async def test_a_bopis_quantity_outside_the_cap_places_nothing(hq, quantity):
    response = await hq.post("/api/v1/hq/bopis", json={"order_id": "web-1", "lines": [{"sku": "SKU-1",
                                                                                        "quantity": quantity}]})
    assert_problem(response, 400)
    assert (await hq.get("/api/v1/hq/bopis")).json()["items"] == []


async def test_a_bopis_order_placed_twice_is_a_conflict_not_a_second_allocation(hq):
    body = {"order_id": "web-2", "lines": [{"sku": "SKU-1", "quantity": 1}]}
    assert (await hq.post("/api/v1/hq/bopis", json=body)).status_code == 201
    assert_problem(await hq.post("/api/v1/hq/bopis", json=body), 409)
    assert len((await hq.get("/api/v1/hq/bopis")).json()["items"]) == 1


async def test_bopis_without_lines_is_refused(hq):
    assert_problem(await hq.post("/api/v1/hq/bopis", json={"order_id": "web-3", "lines": []}), 400)


async def test_a_conflict_assignee_with_control_characters_is_refused(hq):
    response = await hq.post("/api/v1/hq/conflicts/none/assign", json={"assignee": "eve\u0000"})
    assert_problem(response, 400)


def test_hq_and_the_store_cap_a_line_at_the_same_quantity():
    assert MAX_LINE_QUANTITY == STORE_MAX_QUANTITY
