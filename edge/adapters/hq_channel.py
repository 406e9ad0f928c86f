"""The store's request/reply channel to HQ: `novapos.<tenant>.<store>.rpc.<op>` on core NATS.

Keys and blind indexes travel only here, never in events (JetStream keeps events; a key in an
event would outlive a customer's erasure). Replies come below the store's private reply prefix
(`inbox_prefix`), with the same credentials and connection options as the relay and the inbox.

Every request has a short timeout: a cashier is waiting, and a store that cannot reach HQ serves
from its cache. `available` says whether the last attempt got an answer; a request that times out
or finds no responder marks the channel unavailable until the next one that is answered. Nothing
personal is logged: only the operation and the outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
import nats
import structlog
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from edge.contracts.customers import RpcError, rpc_subject
from edge.contracts.envelope import inbox_prefix
from edge.contracts.link_trouble import LinkTrouble
from edge.service.customer_ports import HqRefused, HqUnavailable

log = structlog.get_logger()

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class HqChannelConfig:
    nats_url: str
    tenant_id: str
    store_id: str
    credentials: str | None = None
    timeout_s: float = 2.0
    reconnect_wait_s: float = 2.0
    retry_after_s: float = 10.0  # after a request HQ did not answer, lanes skip HQ this long


class HqChannel:
    def __init__(self, config: HqChannelConfig):
        self.config = config
        self._nc: Any = None
        self._task: asyncio.Task[None] | None = None
        self._answered = False
        self._silent_since = 0.0
        self._trouble = LinkTrouble(log, "hq_channel", store_id=config.store_id)

    @property
    def available(self) -> bool:
        """Connected, and the last request was answered (or it went unanswered long enough ago
        to try again): a cashier never waits on a timeout twice in a row."""
        if self._nc is None or not self._nc.is_connected:
            return False
        return self._answered or time.monotonic() - self._silent_since >= self.config.retry_after_s

    def _silent(self) -> None:
        self._answered = False
        self._silent_since = time.monotonic()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._connect_loop(), name="hq-channel")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.close()
            self._nc = None

    async def wait_connected(self, timeout_s: float) -> bool:
        """At start: give the first connection a moment, so a store that can reach HQ asks for
        its keys at once rather than on the next sweep."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._nc is not None and self._nc.is_connected:
                return True
            await asyncio.sleep(0.05)
        return False

    async def _connect_loop(self) -> None:
        """The first connection is retried here (nats-py reconnects by itself only once connected),
        so a store that starts while its WAN is down comes up and joins HQ later."""
        cfg = self.config

        async def _disconnected() -> None:
            self._answered = False

        async def _reconnected() -> None:
            self._answered = True

        async def _error(exc: Exception) -> None:
            self._trouble.report(exc)

        auth: dict[str, Any] = {"inbox_prefix": inbox_prefix(cfg.tenant_id, cfg.store_id)}
        if cfg.credentials:
            auth["nkeys_seed"] = cfg.credentials
        while self._nc is None:
            try:
                self._nc = await nats.connect(
                    cfg.nats_url, **auth, name=f"novapos-hq-channel-{cfg.store_id}",
                    max_reconnect_attempts=-1, reconnect_time_wait=cfg.reconnect_wait_s, ping_interval=20,
                    max_outstanding_pings=3, pending_size=0, connect_timeout=5, allow_reconnect=True,
                    disconnected_cb=_disconnected, reconnected_cb=_reconnected, error_cb=_error)
                self._answered = True
                self._trouble.recovered()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._trouble.report(exc)
                await asyncio.sleep(cfg.reconnect_wait_s)

    async def request(self, op: str, body: msgspec.Struct | None, reply_type: type[T]) -> T:
        """One request to HQ; raises HqUnavailable (no answer in time) or HqRefused (an error reply)."""
        nc = self._nc
        if nc is None or not nc.is_connected:
            raise HqUnavailable("no link to HQ")
        cfg = self.config
        payload = msgspec.json.encode(body) if body is not None else b"{}"
        try:
            msg = await nc.request(rpc_subject(cfg.tenant_id, cfg.store_id, op), payload, timeout=cfg.timeout_s)
        except (NoRespondersError, NatsTimeout, TimeoutError) as exc:
            self._silent()
            log.info("hq_channel.no_answer", op=op, reason=type(exc).__name__)
            raise HqUnavailable(op) from None
        except Exception as exc:  # a closed or reconnecting connection
            self._silent()
            log.info("hq_channel.failed", op=op, reason=type(exc).__name__)
            raise HqUnavailable(op) from None
        self._answered = True
        try:
            raw = msgspec.json.decode(msg.data)
            if isinstance(raw, dict) and "error" in raw:
                raise HqRefused(msgspec.convert(raw, RpcError).error)
            return msgspec.convert(raw, reply_type)
        except msgspec.MsgspecError:
            raise HqRefused("bad_reply") from None
