"""The hub's aggregate stream: it has no subjects of its own and *sources* every store stream.

- Direct mode (stores publish straight to the hub): the store streams live on the hub, and
  the aggregate sources them by name. They are discovered by listing streams.
- Leaf mode: each store stream lives on the store's leaf node in JetStream domain = store id,
  and is sourced through `external.api = "$JS.<domain>.API"` (nats-py's StreamSource has no
  `domain` field). Leaf stores are registered explicitly (API / CLI), since the hub cannot list
  another domain's streams.

The aggregate never listens on the store subjects itself: a stream that both sources and
captures them would store every event twice (nats-server#3161).

In accounts mode (cloud.nats_auth) every tenant account has its own aggregate, under the same
name: JetStream names are per account.
"""

from __future__ import annotations

from typing import Any

import structlog
from nats.js.api import DiscardPolicy, ExternalStream, StorageType, StreamConfig, StreamSource, SubjectTransform
from nats.js.errors import NotFoundError

from cloud.ingest import AGGREGATE_STREAM
from cloud.partitions import source_transform
from edge.contracts.envelope import parse_event_subject, stream_name, subject_for_event

log = structlog.get_logger()


def is_store_stream(name: str, subjects: list[str] | None = None) -> bool:
    """A store's event stream: it captures one store's up subjects. Judged by what it captures,
    so the pre-tenant names (NOVAPOS_<STORE>) are still sourced and their history still read."""
    if name == AGGREGATE_STREAM or not name.startswith("NOVAPOS_"):
        return False
    return bool(subjects) and all(parse_event_subject(s) is not None for s in subjects or [])


def store_stream_config(
    tenant_id: str, store_id: str, *, duplicate_window_s: float = 120.0, max_age_s: float = 30 * 86400.0,
    replicas: int = 1,
) -> StreamConfig:
    """A store's stream on the hub, as HQ creates it for an enrolled store (its user may not):
    the same settings as the relay's own (`discard: new` keeps unreplicated events in the outbox)."""
    return StreamConfig(
        name=stream_name(tenant_id, store_id),
        subjects=[subject_for_event(tenant_id, store_id, ">")],
        storage=StorageType.FILE,
        discard=DiscardPolicy.NEW,
        duplicate_window=duplicate_window_s,
        max_age=max_age_s,
        num_replicas=replicas,
    )


def source_for(stream: str, leaf_domain: str | None, partitions: int = 1) -> StreamSource:
    """`partitions > 1`: the source prefixes each event with its store's partition (cloud.partitions)."""
    transform = source_transform(partitions)
    transforms = [SubjectTransform(**transform)] if transform else None
    if leaf_domain:
        return StreamSource(name=stream, external=ExternalStream(api=f"$JS.{leaf_domain}.API"),
                            subject_transforms=transforms)
    return StreamSource(name=stream, subject_transforms=transforms)


def aggregate_config(
    sources: list[StreamSource], *, duplicate_window_s: float = 120.0, replicas: int = 1
) -> StreamConfig:
    return StreamConfig(
        name=AGGREGATE_STREAM,
        subjects=None,
        sources=sources or None,
        storage=StorageType.FILE,
        duplicate_window=duplicate_window_s,
        max_age=30 * 86400.0,
        num_replicas=replicas,
    )


def _source_key(s: StreamSource) -> tuple[str, str | None, tuple[tuple[str, str], ...]]:
    transforms = tuple((t.src, t.dest) for t in s.subject_transforms or [])
    return s.name, s.external.api if s.external else None, transforms


async def local_store_streams(js: Any) -> list[str]:
    # The server answers a stream list in pages of 256: a chain has more stores than that.
    found: list[str] = []
    offset = 0
    while page := await js.streams_info(offset=offset):
        found += [s.config.name for s in page if is_store_stream(s.config.name, s.config.subjects)]
        offset += len(page)
    return sorted(found)


async def sync_aggregate(
    js: Any, leaf_stores: dict[str, str] | None = None, *, duplicate_window_s: float = 120.0,
    partitions: int = 1, replicas: int = 1,
) -> list[str]:
    """Make the aggregate source every local store stream plus the registered leaf stores.

    `leaf_stores` maps a store stream name to its leaf's JetStream domain. Returns the sourced
    stream names. Only touches the stream when the source set changed.
    """
    wanted: dict[str, str | None] = dict.fromkeys(await local_store_streams(js))
    wanted.update(leaf_stores or {})
    sources = [source_for(name, domain, partitions) for name, domain in sorted(wanted.items())]
    config = aggregate_config(sources, duplicate_window_s=duplicate_window_s, replicas=replicas)
    try:
        info = await js.stream_info(AGGREGATE_STREAM)
    except NotFoundError:
        await js.add_stream(config)
        log.info("streams.aggregate_created", sources=sorted(wanted), partitions=partitions, replicas=replicas)
        return sorted(wanted)
    have = {_source_key(s) for s in info.config.sources or []}
    want = {_source_key(s) for s in sources}
    if have != want or (info.config.num_replicas or 1) != replicas:  # R1 → R3: the server copies it over
        await js.update_stream(config)
        log.info("streams.aggregate_updated", sources=sorted(wanted))
    return sorted(wanted)
