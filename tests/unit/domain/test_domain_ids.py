"""UUIDv7 ids: valid RFC 9562 version 7 values that sort in the order they were minted."""

from __future__ import annotations

import time
import uuid

from edge.domain.ids import uuid7


def test_ids_are_rfc_9562_version_7_in_canonical_form():
    for value in (uuid7() for _ in range(1000)):
        parsed = uuid.UUID(value)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == value  # lower-case, hyphenated: what the database and the cloud store


def test_ids_minted_in_the_same_millisecond_still_sort_in_order():
    minted = [uuid7() for _ in range(5000)]  # thousands per millisecond on any machine
    assert minted == sorted(minted) and len(set(minted)) == len(minted)


def test_the_id_carries_the_time_it_was_minted():
    before = time.time_ns() // 1_000_000
    ms = uuid.UUID(uuid7()).int >> 80
    assert before <= ms <= time.time_ns() // 1_000_000
