"""One cashier per lane, and lane sessions that end on time.

A cashier's PIN sign-in at a lane opens the lane's session (its refresh-token family). A second
sign-in at the same lane takes the lane over: the earlier session is revoked in the same
transaction, audited as `lane.takeover` (another cashier) or `lane.session_replaced` (the same
cashier signing in again), and its tokens are refused from the next request on. Two people can
therefore never ring up sales on one lane under two names.

Each session ends at an instant fixed at sign-in (`edge.domain.lane_sessions`): refreshing the
tokens, which a lane in use does all day, never moves it. After it the refresh is refused
(401 `lane-session-ended`) and the lane asks the cashier to sign in again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC

import msgspec
import structlog

from edge.contracts.policy import PolicyDocument
from edge.domain.errors import Unauthorized
from edge.domain.ids import iso, parse_iso
from edge.domain.lane_sessions import session_ends_at
from edge.service.ports import UnitOfWork
from edge.service.repository_ports import LaneSessionRow, UserRow

log = structlog.get_logger()


class KioskRules(msgspec.Struct, frozen=True, kw_only=True):
    """What the lane enforces on its own screen, from the policy in force."""

    idle_lock_s: int
    session_max_s: int
    shift_changes: list[str]
    line_removal_reason_required: bool


class LaneSessionView(msgspec.Struct, frozen=True, kw_only=True):
    """A lane session as the lane sees it in a sign-in or refresh answer, with the kiosk rules."""

    started_at: str
    ends_at: str
    took_over_from: list[str]
    idle_lock_s: int
    session_max_s: int
    shift_changes: list[str]
    line_removal_reason_required: bool


class LaneSessions:
    """Called by `AuthService` inside its sign-in and refresh transactions."""

    def __init__(self, policy: Callable[[], PolicyDocument], *, timezone: str, store_id: str):
        self.policy = policy  # the document in force now (HQ can change it at any time)
        self.timezone = timezone
        self.store_id = store_id

    def kiosk(self) -> KioskRules:
        p = self.policy()
        return KioskRules(idle_lock_s=p.lane_idle_lock_s, session_max_s=p.lane_session_max_s,
                          shift_changes=list(p.lane_shift_changes),
                          line_removal_reason_required=p.line_removal_reason_required)

    def _view(self, started_at: str, ends_at: str, took_over_from: list[str]) -> LaneSessionView:
        return LaneSessionView(started_at=started_at, ends_at=ends_at, took_over_from=took_over_from,
                               **msgspec.structs.asdict(self.kiosk()))

    def started(self, uow: UnitOfWork, user: UserRow, *, lane_id: str, family_id: str,
                device_id: str | None) -> LaneSessionView:
        """Open `family_id` as the lane's session, ending whichever session the lane held."""
        p = self.policy()
        ends_at = iso(session_ends_at(parse_iso(uow.now).astimezone(UTC), max_s=p.lane_session_max_s,
                                      shift_changes=p.lane_shift_changes, timezone=self.timezone))
        taken_from: list[str] = []
        for previous in uow.lanes.open_sessions(self.store_id, lane_id):
            live = previous.ends_at > uow.now and uow.lanes.family_live(previous.family_id, uow.now)
            same = previous.user_id == user.id
            reason = "expired" if not live else "replaced" if same else "taken_over"
            uow.lanes.end_session(previous.family_id, reason, uow.now)
            if not live:
                continue
            uow.users.revoke_family(previous.family_id, uow.now)
            action = "lane.session_replaced" if same else "lane.takeover"
            uow.audit(action, "lane", lane_id,
                      {"user": previous.username, "session": previous.family_id, "since": previous.started_at},
                      {"user": user.username, "session": family_id, "device_id": device_id})
            log.info(action, lane_id=lane_id, previous_user=previous.username, user=user.username)
            taken_from.append(previous.username)
        uow.lanes.add_session(LaneSessionRow(family_id=family_id, store_id=self.store_id, lane_id=lane_id,
                                             user_id=user.id, username=user.username, device_id=device_id,
                                             started_at=uow.now, ends_at=ends_at))
        if device_id:
            uow.lanes.update_device(device_id, {"last_sign_in_at": uow.now})
        return self._view(uow.now, ends_at, taken_from)

    def continued(self, uow: UnitOfWork, family_id: str) -> LaneSessionView | None:
        """A refresh of a lane session: refused once the session has ended, whatever its activity."""
        row = uow.lanes.session(family_id)
        if row is None:
            return None  # signed in before lane sessions existed: the refresh token's own expiry holds
        if row.ended_at is not None or row.ends_at <= uow.now:
            raise Unauthorized("the lane session has ended (shift change or maximum length); sign in again",
                               code="lane-session-ended")
        return self._view(row.started_at, row.ends_at, [])

    def signed_out(self, uow: UnitOfWork, family_id: str) -> None:
        uow.lanes.end_session(family_id, "signed_out", uow.now)
