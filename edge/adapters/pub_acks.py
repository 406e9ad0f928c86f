"""JetStream publishes whose PubAcks are collected a window at a time, for the outbox relay.

nats-py's `publish_async` pays, per message, a semaphore, a NUID and random token, an
`asyncio.Future` with two done-callbacks and a `PubAck` dataclass; in a replication burst that
was the relay's largest share of CPU after the client's own protocol work. A window here is
plain core-NATS publishes with a reply subject under one subscription of the relay's own
(`<inbox>.<n>`, the inbox below the store's private prefix), and one wait for the whole window.

What a PubAck means is unchanged: a reply without an error is JetStream's word that the message
is stored (or was a duplicate of a stored `Nats-Msg-Id`). A reply carrying an error or a status
(503: no stream listens) is a refusal; a reply missing at the deadline is an unknown outcome.
The caller re-publishes both later with the same id. A reply that comes after its window gave
up matches nothing any more and is dropped: its row was left unsent, so it is published again.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Sequence
from typing import Any

import msgspec


class _PubAck(msgspec.Struct):
    stream: str = ""
    seq: int = 0
    duplicate: bool = False
    error: dict[str, Any] | None = None


_decode_pub_ack = msgspec.json.Decoder(_PubAck).decode


class Outgoing(msgspec.Struct, frozen=True):
    key: int  # the caller's name for it (the outbox seq)
    subject: str
    payload: bytes
    msg_id: str  # Nats-Msg-Id: JetStream drops a re-publish of it inside the duplicate window


class _Window:
    """One window's replies: its own, so two windows in flight at once never mix."""

    def __init__(self) -> None:
        self.waiting: dict[str, int] = {}  # reply subject -> key
        self.acked: list[int] = []
        self.failed: dict[int, str] = {}
        self.all_sent = False  # until then an empty `waiting` only means "caught up so far"
        self.complete = asyncio.Event()


class PubAckWindows:
    """Publishes windows of messages on `nc` and reports which were acknowledged."""

    def __init__(self, nc: Any):
        self.nc = nc
        self._prefix: str | None = None
        self._sub: Any = None
        self._numbers = itertools.count()
        self._windows: dict[str, _Window] = {}  # reply subject -> its window, while awaited

    async def open(self) -> None:
        self._prefix = self.nc.new_inbox()  # below the connection's inbox_prefix
        self._sub = await self.nc.subscribe(f"{self._prefix}.*", cb=self._on_reply)

    async def close(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None

    async def publish(self, window: Sequence[Outgoing], timeout_s: float) -> tuple[list[int], dict[int, str]]:
        """Publish `window` in order; returns (acknowledged keys, {key: why not}) once every
        PubAck came or `timeout_s` passed. A publish that fails at once (disconnected) ends
        the window: later messages would overtake it in the stream."""
        if self._sub is None:
            raise ConnectionError("the PubAck subscription is not open")
        state = _Window()
        prefix = self._prefix
        try:
            for out in window:
                reply = f"{prefix}.{next(self._numbers)}"
                state.waiting[reply] = out.key
                self._windows[reply] = state
                try:
                    await self.nc.publish(out.subject, out.payload, reply=reply, headers={"Nats-Msg-Id": out.msg_id})
                except Exception as exc:  # disconnected: pending_size=0 refuses to buffer
                    del state.waiting[reply], self._windows[reply]
                    state.failed[out.key] = _describe(exc)
                    break
            state.all_sent = True
            if state.waiting:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(state.complete.wait(), timeout_s)
        finally:
            for reply in state.waiting:
                self._windows.pop(reply, None)
        for key in state.waiting.values():
            state.failed[key] = "TimeoutError: no PubAck"  # unknown outcome: published again, same id
        return state.acked, state.failed

    async def _on_reply(self, msg: Any) -> None:
        state = self._windows.pop(msg.subject, None)
        if state is None:
            return  # a window that already gave up on it
        key = state.waiting.pop(msg.subject, None)
        if key is None:
            return
        error = _refusal(msg)
        if error is None:
            state.acked.append(key)
        else:
            state.failed[key] = error
        if not state.waiting and state.all_sent:
            state.complete.set()


def _refusal(msg: Any) -> str | None:
    """Why a PubAck reply is not an acknowledgement, or None when it is one."""
    status = (msg.headers or {}).get("Status")
    if status:
        return f"status {status} {(msg.headers or {}).get('Description', '')}".strip()
    try:
        ack = _decode_pub_ack(msg.data)
    except msgspec.DecodeError:
        return "malformed PubAck"
    if ack.error is not None:
        return f"JetStream error {ack.error.get('err_code', '')}: {ack.error.get('description', '')}"
    if not ack.stream:
        return "PubAck without a stream"
    return None


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
