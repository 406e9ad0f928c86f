"""Partitioned ingest for HQ scaled out over several `novapos-cloud` instances.

With `ingest_partitions = N > 1`, the aggregate stream's sources prefix every store event with
its partition, computed by the server from tenant and store (`{{partition(N,1,2)}}`):
`novapos.acme.s1.evt.order.completed` is stored as `p.3.novapos.acme.s1.evt.order.completed`.
A store therefore lives in exactly one partition, in stream order.

Each partition has one durable pull consumer (`cloud_ingest_p<k>`, filter `p.<k>.>`) with the
priority group `ingest` and `priority_policy: pinned_client`. Every instance pulls on every
partition; the server delivers a partition to one pinned puller only, and when that puller stops
pulling for `priority_timeout` (the pin TTL: its process died, or lost its link) the server
pins one of the others. No election, lease or lock of our own: JetStream is the coordinator.
nats-py 2.16 cannot send the `group` / `id` fields of a pull, so `PinnedPull` speaks the raw
`$JS.API.CONSUMER.MSG.NEXT` protocol (ADR-42) and keeps the interface of nats-py's `fetch`.

Takeover keeps per-store order: the messages the previous holder had in flight are redelivered
to the new one, possibly after newer messages. A puller that gains a pin therefore keeps
pulling until the consumer has nothing pending beyond what it holds, then hands everything
over sorted by stream sequence (a void is projected after its sale).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from typing import Any

import msgspec
import structlog

from cloud.ingest import INGEST_DURABLE, IngestConsumer, Ingestor
from cloud.settings import CloudSettings

log = structlog.get_logger()

PRIORITY_GROUP = "ingest"
PREFIX = "p"
_NS = 1_000_000_000


def source_transform(partitions: int) -> dict[str, str] | None:
    """The subject transform a store source carries into the aggregate, or None unpartitioned."""
    if partitions <= 1:
        return None
    return {
        "src": "novapos.*.*.evt.>",
        "dest": f"{PREFIX}.{{{{partition({partitions},1,2)}}}}.novapos.{{{{wildcard(1)}}}}.{{{{wildcard(2)}}}}.evt.>",
    }


def partition_filter(k: int) -> str:
    return f"{PREFIX}.{k}.>"


def partition_durable(k: int) -> str:
    return f"{INGEST_DURABLE}_p{k}"


def unpartitioned(subject: str) -> str:
    """The store's own subject: what ingest checks the envelope's origin against."""
    if subject.startswith(f"{PREFIX}."):
        parts = subject.split(".", 2)
        if len(parts) == 3 and parts[1].isdigit():
            return parts[2]
    return subject


class PinLost(Exception):
    """The server gave this partition's pin to another puller (status 423)."""


class PinnedPull:
    """`fetch(n, timeout)` on one durable of a pinned-client priority group.

    Raises `TimeoutError` when nothing came (as nats-py's `fetch` does), so IngestConsumer's loop
    is the same for both. While another instance holds the pin, our pulls simply time out.
    """

    def __init__(self, nc: Any, stream: str, durable: str, *, settle_limit_s: float = 60.0):
        self.nc = nc
        self.stream = stream
        self.durable = durable
        self.pin_id: str | None = None
        self.settle_limit_s = settle_limit_s  # bounded by ack_wait: the old holder's messages come back by then
        self._api = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"
        # One inbox for all pulls: a message that arrives after its pull gave up is taken by
        # the next pull instead of being dropped (and redelivered only after ack_wait).
        self._inbox: str | None = None
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._sub: Any = None

    @property
    def pinned(self) -> bool:
        return self.pin_id is not None

    async def fetch(self, batch: int = 1, timeout: float = 1.0) -> list[Any]:  # noqa: ASYNC109 (nats-py's signature)
        was_pinned = self.pinned
        msgs = await self._pull(batch, timeout)
        if not msgs:
            raise TimeoutError
        if not was_pinned and self.pinned:
            msgs = await self._settle_takeover(msgs)
        return msgs

    async def _pull(self, batch: int, expires_s: float) -> list[Any]:
        """One pull request: up to `batch` messages within `expires_s` (the server ends it then)."""
        request: dict[str, Any] = {"batch": batch, "expires": int(expires_s * _NS), "group": PRIORITY_GROUP}
        if self.pin_id:
            request["id"] = self.pin_id
        if self._sub is None:
            self._inbox = self.nc.new_inbox()
            self._sub = await self.nc.subscribe(self._inbox, cb=self._queue.put)
        msgs: list[Any] = []
        await self.nc.publish(self._api, json.dumps(request).encode(), reply=self._inbox)
        # The server ends every pull (a full batch, or a status at `expires`); giving up earlier
        # would strand the rest of a batch in the queue. The margin covers a lost connection.
        deadline = asyncio.get_running_loop().time() + expires_s + 10.0
        while len(msgs) < batch:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                break
            try:
                msg = await asyncio.wait_for(self._queue.get(), left)
            except TimeoutError:
                break
            status = (msg.headers or {}).get("Status")
            if status is None and msg.reply:
                pin = (msg.headers or {}).get("Nats-Pin-Id")
                if pin and pin != self.pin_id:
                    log.info("ingest.partition_pinned", durable=self.durable)
                    self.pin_id = pin
                msg.subject = unpartitioned(msg.subject)
                msgs.append(msg)
            elif status == "423":  # the pin moved on (we were silent longer than the pin TTL)
                log.warning("ingest.partition_unpinned", durable=self.durable)
                self.pin_id = None
                break
            elif status in ("404", "408", "409"):  # empty, expired, or the consumer changed
                break
        return msgs

    async def _settle_takeover(self, held: list[Any]) -> list[Any]:
        """Collect the previous holder's unacked messages before handing anything over."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settle_limit_s
        seen = {m.reply for m in held}
        while loop.time() < deadline:
            pending = await self._ack_pending()
            if pending is not None and pending <= len(seen):
                break
            for msg in await self._pull(500, 0.5):
                if msg.reply not in seen:
                    seen.add(msg.reply)
                    held.append(msg)
        held.sort(key=lambda m: m.metadata.sequence.stream)
        log.info("ingest.partition_taken_over", durable=self.durable, held=len(held))
        return held

    async def _ack_pending(self) -> int | None:
        try:
            reply = await self.nc.request(f"$JS.API.CONSUMER.INFO.{self.stream}.{self.durable}", b"", timeout=2.0)
            return int(json.loads(reply.data).get("num_ack_pending", 0))
        except Exception:
            return None

    async def release(self) -> None:
        """Give up the pin: whatever was delivered but not taken goes back now (NAK), not after
        ack_wait, so the next holder's takeover does not wait for it."""
        self.pin_id = None
        while not self._queue.empty():
            msg = self._queue.get_nowait()
            if msg.reply and not (msg.headers or {}).get("Status"):
                with contextlib.suppress(Exception):
                    await msg.nak()

    async def unsubscribe(self) -> None:
        await self.release()
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None


class Share:
    """The partitions one instance holds (shared by its consumers on one link), for fair sharing.

    Pins are sticky: the first instance up would keep every partition. So an instance that holds
    more than its fair share, while others are waiting, hands one partition back at a time
    (`$JS.API.CONSUMER.UNPIN`, then silence for a pin TTL so a waiting instance gets it), at
    most one a second.
    How many instances are alive is read from the broker, not from a registry of our own: every
    instance keeps a pull waiting on every partition, so a partition's `num_waiting` counts them.
    """

    def __init__(self, partitions: int):
        self.partitions = partitions
        self.held: set[int] = set()
        self.last_release = 0.0
        self.checking = False

    def fair(self, instances: int) -> int:
        return -(-self.partitions // max(1, instances))


class PartitionConsumer(IngestConsumer):
    """IngestConsumer on one partition's durable, pulling as a member of its priority group."""

    def __init__(self, *args: Any, partition: int, pin_ttl_s: float, replicas: int = 1,
                 share: Share | None = None, **kwargs: Any):
        # A dead holder's unacked messages come back after ack_wait, and a takeover waits for
        # them (store order), so it is shorter than the unpartitioned consumer's 30 s. A commit
        # that outlasts it only causes a redelivery, which the event_id dedup absorbs.
        kwargs.setdefault("ack_wait_s", 10.0)
        super().__init__(*args, durable=partition_durable(partition), **kwargs)
        self.partition = partition
        self.pin_ttl_s = pin_ttl_s
        self.replicas = replicas
        self.share = share or Share(1)
        self._puller: PinnedPull | None = None
        self._quiet_until = 0.0
        self._next_balance = 0.0

    async def _step(self, msgs: list[Any]) -> list[Any]:
        loop = asyncio.get_running_loop()
        if loop.time() < self._quiet_until:  # handed back: let a waiting instance take it
            await self._send_acks()  # nothing committed stays unacked while another instance waits
            await asyncio.sleep(min(self.fetch_timeout_s, self._quiet_until - loop.time()))
            return []
        if self._puller is not None and self._puller.pinned and loop.time() >= self._next_balance:
            self._next_balance = loop.time() + 1.0
            if await self._over_share():
                if msgs:
                    await self._commit_then_ack(msgs)  # nothing of ours left in flight: order holds
                await self._send_acks()  # before handing back: the taker waits for our unacked messages
                await self._hand_back()
                return []
        ahead = await super()._step(msgs)
        if self._puller is not None and self._puller.pinned:
            self.share.held.add(self.partition)
        else:
            self.share.held.discard(self.partition)
        return ahead

    async def _over_share(self) -> bool:
        loop = asyncio.get_running_loop()
        if len(self.share.held) <= 1 or self.share.checking or loop.time() - self.share.last_release < 1.0:
            return False
        self.share.checking = True  # one partition of an instance decides at a time
        try:
            reply = await self.js._nc.request(f"$JS.API.CONSUMER.INFO.{self.stream}.{self.durable}", b"", timeout=2.0)
            others = int(json.loads(reply.data).get("num_waiting", 0))
        except Exception:
            return False
        finally:
            self.share.checking = False
        return others > 0 and len(self.share.held) > self.share.fair(others + 1)

    async def _hand_back(self) -> None:
        loop = asyncio.get_running_loop()
        self.share.last_release = loop.time()
        self.share.held.discard(self.partition)
        self._quiet_until = loop.time() + self.pin_ttl_s  # a waiting instance is pinned at once
        if self._puller is not None:
            await self._puller.release()
        with contextlib.suppress(Exception):
            await self.js._nc.request(f"$JS.API.CONSUMER.UNPIN.{self.stream}.{self.durable}",
                                      json.dumps({"group": PRIORITY_GROUP}).encode(), timeout=2.0)
        log.info("ingest.partition_handed_back", durable=self.durable, held=len(self.share.held))

    async def _bind(self) -> None:
        nc = self.js._nc  # nats-py's JetStreamContext keeps its client here
        config = {
            "durable_name": self.durable,
            "ack_policy": "explicit",
            "deliver_policy": "all",
            "ack_wait": int(self.ack_wait_s * _NS),
            "max_ack_pending": 20_000,
            "filter_subject": partition_filter(self.partition),
            "priority_groups": [PRIORITY_GROUP],
            "priority_policy": "pinned_client",
            "priority_timeout": int(self.pin_ttl_s * _NS),
            "num_replicas": self.replicas,
        }
        body = json.dumps({"stream_name": self.stream, "config": config}).encode()  # create or update
        reply = await nc.request(f"$JS.API.CONSUMER.CREATE.{self.stream}.{self.durable}", body, timeout=5.0)
        error = json.loads(reply.data).get("error")
        if error:
            raise RuntimeError(f"consumer {self.durable}: {error.get('description')}")
        # Rebinding after an error keeps the puller, and so its pin: no wait for the pin TTL.
        if self._puller is None:
            self._puller = PinnedPull(nc, self.stream, self.durable, settle_limit_s=self.ack_wait_s * 2)
        self._sub = self._puller

    async def stop(self) -> None:
        await super().stop()
        if self._puller is not None:
            await self._puller.unsubscribe()
            self._puller = None


def ingest_consumers(
    ingestor: Ingestor, js: Any, settings: CloudSettings, *, account_tenant: str | None = None
) -> list[IngestConsumer]:
    """One consumer unpartitioned (the single-machine default), else one per partition."""
    if settings.ingest_partitions <= 1:
        return [IngestConsumer(ingestor, js, batch=settings.ingest_batch, account_tenant=account_tenant)]
    share = Share(settings.ingest_partitions)
    return [
        PartitionConsumer(ingestor, js, batch=settings.ingest_batch, account_tenant=account_tenant,
                          partition=k, pin_ttl_s=settings.ingest_pin_ttl_s, replicas=settings.stream_replicas,
                          share=share)
        for k in range(settings.ingest_partitions)
    ]


def nats_servers(url: str) -> list[str]:
    """`nats://a:4222,nats://b:4222` → a list, as nats-py wants a cluster's seed URLs."""
    return [u.strip() for u in url.split(",") if u.strip()]


_SCALE_ENV = (
    ("NOVAPOS_CLOUD_INGEST_PARTITIONS", "ingest_partitions", int, 1, 256, "12"),
    ("NOVAPOS_CLOUD_STREAM_REPLICAS", "stream_replicas", int, 1, 5, "3"),
    ("NOVAPOS_CLOUD_INGEST_PIN_TTL_S", "ingest_pin_ttl_s", float, 1, 300, "5"),
)


def with_scale_from_env(settings: CloudSettings, env: Mapping[str, str]) -> CloudSettings:
    """The scale-out settings from NOVAPOS_CLOUD_*; a bad value is a ValueError naming the key."""
    changes: dict[str, Any] = {}
    for key, field, kind, low, high, example in _SCALE_ENV:
        raw = env.get(key, "").strip()
        if not raw:
            continue
        try:
            value = kind(raw)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise ValueError(f"{key}={raw!r} must be a number from {low} to {high} (example: {key}={example})")
        changes[field] = value
    return msgspec.structs.replace(settings, **changes) if changes else settings
