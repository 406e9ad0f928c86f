"""When a cashier's session at a lane must end, however busy the lane has been.

A lane refreshes its tokens while it is in use, so activity alone would keep a session open
for days. A session therefore ends at a fixed instant decided when it starts: after the
store's maximum session length, or at the first shift change after the sign-in, whichever
comes first. The cashier then signs in again, so the drawer and the sales of the next shift
are never recorded under the previous cashier.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


def parse_shift_change(text: str) -> time:
    """"HH:MM" in the store's local time."""
    hours, _, minutes = text.partition(":")
    return time(int(hours), int(minutes))


def session_ends_at(started: datetime, *, max_s: int, shift_changes: tuple[str, ...] | list[str],
                    timezone: str) -> datetime:
    """The instant (aware, UTC like `started`) a lane session that began at `started` ends."""
    ends = started + timedelta(seconds=max_s)
    if not shift_changes:
        return ends
    zone = ZoneInfo(timezone)
    local_start = started.astimezone(zone)
    for day in range(2):  # today's remaining shift changes, then tomorrow's
        date = (local_start + timedelta(days=day)).date()
        for text in sorted(shift_changes):
            at = datetime.combine(date, parse_shift_change(text), tzinfo=zone)
            if at > local_start:
                return min(ends, at.astimezone(started.tzinfo))
    return ends
