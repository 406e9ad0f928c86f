"""Lane pairing codes, paired devices and lane sessions."""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import Connection, and_, insert, select, update

from edge.adapters import tables as t
from edge.adapters.tables_pairing import lane_devices, lane_pairing_codes, lane_sessions
from edge.service.ports import Actor
from edge.service.repository_ports import LaneDeviceRow, LaneSessionRow, PairingCodeRow

_CODE_COLUMNS = [lane_pairing_codes.c[name] for name in PairingCodeRow.__struct_fields__]
_DEVICE_COLUMNS = [lane_devices.c[name] for name in LaneDeviceRow.__struct_fields__]
_SESSION_COLUMNS = [lane_sessions.c[name] for name in LaneSessionRow.__struct_fields__]


class SqlLanesRepository:
    def __init__(self, conn: Connection, actor: Actor):
        self.conn = conn
        self.tenant_id = actor.tenant_id

    # -- pairing codes -----------------------------------------------------------------------
    def add_pairing_code(self, code: PairingCodeRow) -> None:
        self.conn.execute(insert(lane_pairing_codes).values(tenant_id=self.tenant_id, **msgspec.structs.asdict(code)))

    def pairing_code(self, code_hash: str) -> PairingCodeRow | None:
        row = self.conn.execute(select(*_CODE_COLUMNS).where(
            lane_pairing_codes.c.tenant_id == self.tenant_id, lane_pairing_codes.c.code_hash == code_hash,
        )).mappings().first()
        return PairingCodeRow(**row) if row else None

    def spend_pairing_code(self, code_hash: str, device_id: str, now: str) -> bool:
        """Mark a code used; False when it was used meanwhile (two devices racing for one code)."""
        return self.conn.execute(update(lane_pairing_codes).where(
            lane_pairing_codes.c.tenant_id == self.tenant_id, lane_pairing_codes.c.code_hash == code_hash,
            lane_pairing_codes.c.used_at.is_(None),
        ).values(used_at=now, device_id=device_id)).rowcount == 1

    # -- devices -----------------------------------------------------------------------------
    def add_device(self, device: LaneDeviceRow) -> None:
        self.conn.execute(insert(lane_devices).values(tenant_id=self.tenant_id, **msgspec.structs.asdict(device)))

    def device_by_token_hash(self, token_hash: str) -> LaneDeviceRow | None:
        row = self.conn.execute(select(*_DEVICE_COLUMNS).where(
            lane_devices.c.tenant_id == self.tenant_id, lane_devices.c.token_hash == token_hash,
        )).mappings().first()
        return LaneDeviceRow(**row) if row else None

    def device(self, device_id: str) -> LaneDeviceRow | None:
        row = self.conn.execute(select(*_DEVICE_COLUMNS).where(
            lane_devices.c.tenant_id == self.tenant_id, lane_devices.c.id == device_id,
        )).mappings().first()
        return LaneDeviceRow(**row) if row else None

    def devices(self, store_id: str) -> list[LaneDeviceRow]:
        rows = self.conn.execute(select(*_DEVICE_COLUMNS).where(
            lane_devices.c.tenant_id == self.tenant_id, lane_devices.c.store_id == store_id,
            lane_devices.c.revoked_at.is_(None),
        ).order_by(lane_devices.c.lane_id, lane_devices.c.paired_at)).mappings()
        return [LaneDeviceRow(**r) for r in rows]

    def update_device(self, device_id: str, values: dict[str, Any]) -> None:
        self.conn.execute(update(lane_devices).where(
            lane_devices.c.tenant_id == self.tenant_id, lane_devices.c.id == device_id).values(**values))

    # -- sessions ----------------------------------------------------------------------------
    def add_session(self, session: LaneSessionRow) -> None:
        self.conn.execute(insert(lane_sessions).values(tenant_id=self.tenant_id, **msgspec.structs.asdict(session)))

    def session(self, family_id: str) -> LaneSessionRow | None:
        row = self.conn.execute(select(*_SESSION_COLUMNS).where(
            lane_sessions.c.tenant_id == self.tenant_id, lane_sessions.c.family_id == family_id,
        )).mappings().first()
        return LaneSessionRow(**row) if row else None

    def open_sessions(self, store_id: str, lane_id: str) -> list[LaneSessionRow]:
        rows = self.conn.execute(select(*_SESSION_COLUMNS).where(and_(
            lane_sessions.c.tenant_id == self.tenant_id, lane_sessions.c.store_id == store_id,
            lane_sessions.c.lane_id == lane_id, lane_sessions.c.ended_at.is_(None),
        )).order_by(lane_sessions.c.started_at)).mappings()
        return [LaneSessionRow(**r) for r in rows]

    def end_session(self, family_id: str, reason: str, now: str) -> bool:
        return self.conn.execute(update(lane_sessions).where(
            lane_sessions.c.tenant_id == self.tenant_id, lane_sessions.c.family_id == family_id,
            lane_sessions.c.ended_at.is_(None),
        ).values(ended_at=now, ended_reason=reason)).rowcount == 1

    def family_live(self, family_id: str, now: str) -> bool:
        """Whether a session's refresh family still holds a usable token (not revoked, rotated or expired)."""
        rc = t.refresh_tokens.c
        return self.conn.execute(select(rc.token_hash).where(
            rc.family_id == family_id, rc.revoked_at.is_(None), rc.rotated_at.is_(None), rc.expires_at > now,
        ).limit(1)).first() is not None
