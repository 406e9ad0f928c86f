"""Hub event bus: per-lane numbered events with a bounded replay buffer.

A lane's browser reconnects after Wi-Fi drops with the last ``seq`` it saw;
``subscribe(lane_id, since_seq)`` hands it what it missed and then the live stream. If
what it missed has already fallen out of the buffer, the first event it gets is a
``replay_gap`` so the UI knows to refresh rather than trust a partial history.

Events not tied to a lane (a device nobody assigned yet) go to the ``store`` channel.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import msgspec

STORE_CHANNEL = "store"

EVENT_TYPES = (
    "scan", "weight", "paper_low", "paper_out", "device_added", "device_removed", "device_status",
    "terminal_prompt", "printer_failed", "job_queued", "job_printed", "replay_gap",
)


class HubEvent(msgspec.Struct, frozen=True):
    seq: int
    lane_id: str
    type: str
    at: str
    data: dict[str, Any] = {}


class _Channel:
    def __init__(self, size: int) -> None:
        self.seq = 0
        self.buffer: deque[HubEvent] = deque(maxlen=size)
        self.listeners: set[asyncio.Queue[HubEvent | None]] = set()


class EventBus:
    def __init__(self, buffer_size: int = 500, listener_queue: int = 1000) -> None:
        self.buffer_size = buffer_size
        self.listener_queue = listener_queue
        self._channels: dict[str, _Channel] = {}

    def _channel(self, lane_id: str) -> _Channel:
        return self._channels.setdefault(lane_id, _Channel(self.buffer_size))

    def last_seq(self, lane_id: str) -> int:
        return self._channel(lane_id).seq

    def publish(self, lane_id: str | None, type: str, **data: Any) -> HubEvent:
        if type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {type!r}")
        channel = self._channel(lane_id or STORE_CHANNEL)
        channel.seq += 1
        event = HubEvent(seq=channel.seq, lane_id=lane_id or STORE_CHANNEL, type=type,
                         at=datetime.now(UTC).isoformat(timespec="milliseconds"), data=data)
        channel.buffer.append(event)
        for queue in list(channel.listeners):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                # A stalled listener is cut off rather than slowing every lane down; it
                # reconnects with its last seq and replays from the buffer.
                # What it loses here is still in the replay buffer.
                channel.listeners.discard(queue)
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(None)
        return event

    def history(self, lane_id: str, since_seq: int = 0) -> list[HubEvent]:
        channel = self._channel(lane_id)
        missed = [event for event in channel.buffer if event.seq > since_seq]
        oldest = channel.buffer[0].seq if channel.buffer else channel.seq + 1
        if since_seq + 1 < oldest and since_seq < channel.seq:
            gap = HubEvent(seq=since_seq, lane_id=lane_id, type="replay_gap",
                           at=datetime.now(UTC).isoformat(timespec="milliseconds"),
                           data={"from_seq": since_seq + 1, "to_seq": oldest - 1})
            return [gap, *missed]
        return missed

    async def subscribe(self, lane_id: str, since_seq: int = 0) -> AsyncIterator[HubEvent]:
        """Missed events first (seq > since_seq), then live ones, with no gap or duplicate."""
        channel = self._channel(lane_id)
        queue: asyncio.Queue[HubEvent | None] = asyncio.Queue(self.listener_queue)
        channel.listeners.add(queue)  # registered before reading history: nothing slips between
        try:
            last = since_seq
            for event in self.history(lane_id, since_seq):
                last = max(last, event.seq)
                yield event
            while True:
                event = await queue.get()
                if event is None:
                    return
                if event.seq > last:
                    last = event.seq
                    yield event
        finally:
            channel.listeners.discard(queue)
