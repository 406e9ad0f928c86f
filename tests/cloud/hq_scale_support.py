"""HQ scaled out, for the fault test and the bench: a 3-node JetStream cluster on random loopback
ports, and lightweight simulated stores that speak the real envelope and subjects (each publishes
in seq order with `Nats-Msg-Id = event_id` and retries an unknown outcome with the same id, as
the relay does), without running 1,000 edge servers."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

from conftest import NatsServer

from cloud.cluster import ClusterNode, render_cluster_node_config
from cloud.streams import store_stream_config
from edge.contracts.envelope import EventEnvelope, encode_envelope, subject_for_event
from edge.domain.ids import now_iso, uuid7
from tests.support import free_port


class Cluster:
    """Three nats-server processes routed into one JetStream cluster (`sync_interval: always`)."""

    def __init__(self, root: Path, size: int = 3):
        ports = [(free_port(), free_port()) for _ in range(size)]
        routes = tuple(f"nats-route://127.0.0.1:{cluster_port}" for _, cluster_port in ports)
        self.nodes: list[NatsServer] = []
        for i, (port, cluster_port) in enumerate(ports):
            store_dir = root / f"node{i}" / "js"
            config = render_cluster_node_config(ClusterNode(
                name=f"hq-{i}", store_dir=str(store_dir), port=port, cluster_port=cluster_port,
                routes=routes, host="127.0.0.1"))
            self.nodes.append(NatsServer(store_dir, config=config, port=port))

    @property
    def url(self) -> str:
        return ",".join(node.url for node in self.nodes)

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def start(self) -> Cluster:
        for node in self.nodes:
            node.start()
        return self

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


async def connect(urls: list[str]) -> Any:
    import nats

    return await nats.connect(urls, max_reconnect_attempts=-1, reconnect_time_wait=0.2, connect_timeout=2)


async def create_store_streams(js: Any, stores: list[SimStore], *, replicas: int, within_s: float = 60.0) -> None:
    """Each store's stream on HQ (direct mode), as HQ provisions it; waits out the cluster's first
    meta-leader election."""
    deadline = time.monotonic() + within_s
    for store in stores:
        while True:
            try:
                await js.add_stream(store_stream_config(store.tenant_id, store.store_id, replicas=replicas))
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)


class SimStore:
    """A store's event stream in miniature: sales, some later voided, in seq order."""

    def __init__(self, tenant_id: str, store_id: str):
        self.tenant_id = tenant_id
        self.store_id = store_id
        self.seq = 0
        self.published: list[EventEnvelope] = []

    def event(self, type_: str, payload: dict[str, Any], occurred_at: str | None = None) -> EventEnvelope:
        self.seq += 1
        at = occurred_at or now_iso()
        return EventEnvelope(event_id=uuid7(), tenant_id=self.tenant_id, store_id=self.store_id, seq=self.seq,
                             type=type_, occurred_at=at, business_day=at[:10], payload=payload)

    def sale(self, total_cents: int, occurred_at: str | None = None) -> EventEnvelope:
        order_id = str(uuid.uuid4())
        return self.event("order.completed", {
            "order_id": order_id, "currency": "USD", "total_cents": total_cents,
            "lines": [{"sku": "SKU-1", "name": "SKU-1", "quantity": 1, "total_cents": total_cents}],
            "tenders": [{"method": "cash", "amount_cents": total_cents}], "movements": []}, occurred_at)

    def void(self, sale: EventEnvelope) -> EventEnvelope:
        return self.event("order.voided", {"order_id": sale.payload["order_id"], "movements": []})

    async def publish(self, js: Any, env: EventEnvelope, *, within_s: float = 120.0) -> None:
        """Until the PubAck; a timeout or a lost node is an unknown outcome: same id again."""
        subject = subject_for_event(env.tenant_id, env.store_id, env.type)
        deadline = time.monotonic() + within_s
        while True:
            try:
                await js.publish(subject, encode_envelope(env), timeout=2.0, headers={"Nats-Msg-Id": env.event_id})
                self.published.append(env)
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
