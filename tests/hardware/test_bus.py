"""Event bus: per-lane numbering, replay after reconnect, bounded buffer."""

from __future__ import annotations

import asyncio

import pytest

from hardware.bus import EventBus
from tests.support import eventually


async def take(bus: EventBus, lane: str, since: int, count: int) -> list:
    out = []
    async for event in bus.subscribe(lane, since):
        out.append(event)
        if len(out) == count:
            break
    return out


async def test_each_lane_numbers_its_events_from_one_without_gaps():
    bus = EventBus()
    bus.publish("1", "scan", barcode="a")
    bus.publish("2", "scan", barcode="b")
    bus.publish("1", "weight", weight_milli=5)
    assert [e.seq for e in bus.history("1")] == [1, 2]
    assert [e.seq for e in bus.history("2")] == [1]


async def test_subscriber_gets_missed_events_first_then_live_ones_with_no_duplicates():
    bus = EventBus()
    for code in ("a", "b", "c"):
        bus.publish("1", "scan", barcode=code)
    events: list = []

    async def subscriber() -> None:
        async for event in bus.subscribe("1", 1):
            events.append(event)
            if len(events) == 3:
                return

    task = asyncio.create_task(subscriber())
    await eventually(lambda: len(events) == 2, what="the two missed events")  # it is listening now
    bus.publish("1", "scan", barcode="d")
    await asyncio.wait_for(task, 1)
    assert [e.data["barcode"] for e in events] == ["b", "c", "d"]
    assert [e.seq for e in events] == [2, 3, 4]


async def test_a_lane_only_sees_its_own_events():
    bus = EventBus()
    bus.publish("2", "scan", barcode="other lane")
    bus.publish("1", "scan", barcode="mine")
    events = await asyncio.wait_for(take(bus, "1", 0, 1), 1)
    assert events[0].data["barcode"] == "mine"


async def test_replay_beyond_the_buffer_starts_with_a_gap_marker():
    bus = EventBus(buffer_size=3)
    for n in range(10):
        bus.publish("1", "scan", barcode=str(n))
    events = await asyncio.wait_for(take(bus, "1", since=2, count=4), 1)
    assert events[0].type == "replay_gap"
    assert events[0].data == {"from_seq": 3, "to_seq": 7}
    assert [e.data["barcode"] for e in events[1:]] == ["7", "8", "9"]


async def test_a_stalled_subscriber_is_cut_off_and_catches_up_by_replay():
    bus = EventBus(listener_queue=2)
    stalled = [event async for event in _stalled(bus)]
    assert len(stalled) < 5  # cut off instead of holding up publishing
    since = stalled[-1].seq if stalled else 0
    caught_up = await asyncio.wait_for(take(bus, "1", since=since, count=5 - since), 1)
    assert [e.data["barcode"] for e in stalled + caught_up] == ["0", "1", "2", "3", "4"]


async def _stalled(bus: EventBus):
    subscription = bus.subscribe("1", 0)
    first = asyncio.ensure_future(subscription.__anext__())
    await asyncio.sleep(0)
    for n in range(5):
        bus.publish("1", "scan", barcode=str(n))
    try:
        yield await first
    except StopAsyncIteration:
        return
    async for event in subscription:
        yield event


def test_unknown_event_types_are_refused():
    with pytest.raises(ValueError):
        EventBus().publish("1", "coffee_ready")
