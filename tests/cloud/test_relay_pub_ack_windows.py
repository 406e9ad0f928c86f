"""The relay's PubAck windows against a real nats-server: what counts as stored, and what not."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import nats
import pytest
from nats.js.api import DiscardPolicy, StreamConfig

from edge.adapters.pub_acks import Outgoing, PubAckWindows


@pytest.fixture
async def relay(nats_server) -> AsyncIterator[tuple[nats.NATS, PubAckWindows]]:
    """A store's connection (its private reply prefix) with its PubAck windows open."""
    nc = await nats.connect(nats_server.url, inbox_prefix="_INBOX.acme.s1")
    windows = PubAckWindows(nc)
    await windows.open()
    try:
        yield nc, windows
    finally:
        await nc.close()


def _window(keys: range, subject: str = "up.s1") -> list[Outgoing]:
    return [Outgoing(k, subject, f'{{"n":{k}}}'.encode(), f"id-{k}") for k in keys]


async def test_every_message_of_a_window_is_acknowledged_once_stored_in_order(relay):
    nc, windows = relay
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name="UP", subjects=["up.>"]))
    acked, failed = await windows.publish(_window(range(1, 301)), timeout_s=5.0)
    acked2, failed2 = await windows.publish(_window(range(301, 311)), timeout_s=5.0)
    assert (sorted(acked), failed) == (list(range(1, 301)), {})
    assert (sorted(acked2), failed2) == (list(range(301, 311)), {})
    stored = [(await js.get_msg("UP", seq)).data for seq in (1, 300, 310)]
    assert stored == [b'{"n":1}', b'{"n":300}', b'{"n":310}']


async def test_a_republished_id_is_acknowledged_as_a_duplicate_and_stored_once(relay):
    nc, windows = relay
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name="UP", subjects=["up.>"]))
    await windows.publish(_window(range(1, 4)), timeout_s=5.0)
    acked, failed = await windows.publish(_window(range(1, 4)), timeout_s=5.0)
    assert (sorted(acked), failed) == ([1, 2, 3], {})
    assert (await js.stream_info("UP")).state.messages == 3


async def test_no_stream_listening_is_a_refusal_not_an_acknowledgement(relay):
    _, windows = relay
    acked, failed = await windows.publish(_window(range(1, 3), subject="nobody.listens"), timeout_s=5.0)
    assert acked == []
    assert sorted(failed) == [1, 2] and all("503" in why for why in failed.values())


async def test_a_full_stream_refuses_the_rest_and_only_the_stored_ones_count(relay):
    nc, windows = relay
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name="UP", subjects=["up.>"], max_msgs=2, discard=DiscardPolicy.NEW))
    acked, failed = await windows.publish(_window(range(1, 5)), timeout_s=5.0)
    assert sorted(acked) == [1, 2]
    assert sorted(failed) == [3, 4] and all("JetStream error" in why for why in failed.values())


async def test_a_missing_pub_ack_is_an_unknown_outcome_at_the_deadline(relay):
    nc, windows = relay
    # A plain subscriber that never answers stands in for a PubAck that does not come.
    await nc.subscribe("silent.>")
    acked, failed = await windows.publish(_window(range(1, 3), subject="silent.s1"), timeout_s=0.3)
    assert acked == [] and sorted(failed) == [1, 2]
    assert all("TimeoutError" in why for why in failed.values())


async def test_a_publish_refused_while_disconnected_ends_the_window(nats_server):
    nc = await nats.connect(nats_server.url, pending_size=0, max_reconnect_attempts=-1, reconnect_time_wait=5)
    windows = PubAckWindows(nc)
    await windows.open()
    try:
        nats_server.stop()
        acked, failed = await windows.publish(_window(range(1, 4)), timeout_s=0.5)
        assert acked == []
        assert 1 in failed  # nothing after a refused publish is sent: it would overtake it
    finally:
        await nc.close()


async def test_two_windows_in_flight_at_once_each_get_their_own_acknowledgements(relay):
    nc, windows = relay
    await nc.jetstream().add_stream(StreamConfig(name="UP", subjects=["up.>"]))
    first, second = await asyncio.gather(
        windows.publish(_window(range(1, 101)), timeout_s=5.0),
        windows.publish(_window(range(101, 201)), timeout_s=5.0),
    )
    assert (sorted(first[0]), first[1]) == (list(range(1, 101)), {})
    assert (sorted(second[0]), second[1]) == (list(range(101, 201)), {})
