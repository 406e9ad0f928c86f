"""Pairing a device with a lane, once, and the device credential it holds from then on.

A manager asks for a one-time pairing code for a lane and shows it (as a QR code) at the admin
screen; the tablet scans it, or someone types it, and gets a device credential naming that
lane. From then on the device signs cashiers in to its own lane only: the lane id it sends is
checked against the credential, and a device whose pairing was revoked is refused.

Codes and credentials are stored as SHA-256 digests only. A code is 10 characters from a
32-letter alphabet (50 bits), lives minutes, and is spent by the first device that claims it,
so guessing one over the network is not a practical attack.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import msgspec
import structlog

from edge.domain.errors import Forbidden, NotFound, Unauthorized
from edge.domain.ids import iso, parse_iso
from edge.domain.ids import uuid7 as new_id
from edge.service.ports import UnitOfWork
from edge.service.repository_ports import LaneDeviceRow, PairingCodeRow

log = structlog.get_logger()

# Crockford's base32: no I, L, O or U, so a code read aloud or typed from a screen survives.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10
TOKEN_PREFIX = "npd_"  # noqa: S105  (a prefix, recognisable in a leaked log or paste)


class IssuedCode(msgspec.Struct, frozen=True, kw_only=True):
    """A pairing code as the manager sees it, once."""

    lane_id: str
    code: str
    expires_at: str


class PairedDevice(msgspec.Struct, frozen=True, kw_only=True):
    """What a device gets for a spent code: its credential, shown this once (stored hashed)."""

    device_id: str
    lane_id: str
    store_id: str
    label: str
    device_token: str


class DeviceView(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A paired device as the store admin lists it: never its credential's hash."""

    id: str
    lane_id: str
    label: str
    paired_at: str
    paired_by: str
    last_sign_in_at: str | None
    revoked_at: str | msgspec.UnsetType | None = msgspec.UNSET  # only in the answer to an unpair


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalise_code(text: str) -> str:
    """What a person typed or a scanner read: any case, with or without the dash or spaces;
    a scanned pairing link carries the code after `pair=`."""
    if "pair=" in text:
        text = text.split("pair=", 1)[1].split("&", 1)[0]
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    return cleaned.translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_code(uow: UnitOfWork, lane_id: str, *, ttl_s: int, code: str) -> IssuedCode:
    """Record a one-time pairing code for `lane_id`; the code itself is only in the answer."""
    store_id = uow.actor.store_id or ""
    if not uow.stores.lane_exists(store_id, lane_id):
        raise NotFound(f"there is no lane {lane_id} at this store", code="lane-not-found")
    expires_at = _later(uow.now, ttl_s)
    uow.lanes.add_pairing_code(PairingCodeRow(code_hash=digest(normalise_code(code)), store_id=store_id,
                                              lane_id=lane_id, created_by=uow.actor.username, created_at=uow.now,
                                              expires_at=expires_at))
    uow.audit("lane.pairing_code_issued", "lane", lane_id, None, {"expires_at": expires_at})
    return IssuedCode(lane_id=lane_id, code=code, expires_at=expires_at)


def claim(uow: UnitOfWork, code: str, *, label: str) -> PairedDevice:
    """Spend a pairing code: the device gets its credential (shown once, stored hashed)."""
    code_hash = digest(normalise_code(code))
    row = uow.lanes.pairing_code(code_hash)
    if row is None or row.used_at is not None or row.expires_at <= uow.now:
        raise Unauthorized("that pairing code is not valid: it was mistyped, already used or has expired; "
                           "ask a manager for a new one", code="pairing-code-invalid")
    device_id = new_id()
    if not uow.lanes.spend_pairing_code(code_hash, device_id, uow.now):
        raise Unauthorized("that pairing code was just used by another device", code="pairing-code-invalid")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    device = LaneDeviceRow(id=device_id, store_id=row.store_id, lane_id=row.lane_id, token_hash=digest(token),
                           label=label or "Lane device", paired_at=uow.now, paired_by=row.created_by)
    uow.lanes.add_device(device)
    uow.audit("lane.paired", "lane_device", device_id, None,
              {"lane_id": row.lane_id, "label": device.label, "code_issued_by": row.created_by})
    log.info("lane.paired", device_id=device_id, lane_id=row.lane_id)
    return PairedDevice(device_id=device_id, lane_id=row.lane_id, store_id=row.store_id, label=device.label,
                        device_token=token)


def paired_device(uow: UnitOfWork, token: str) -> LaneDeviceRow:
    """The device a credential belongs to; refused once its pairing was revoked."""
    device = uow.lanes.device_by_token_hash(digest(token))
    if device is None or device.revoked_at is not None:
        raise Forbidden("this device is no longer paired with a lane; pair it again with a code from the store admin",
                        code="device-not-paired")
    return device


def check_lane(device: LaneDeviceRow | None, lane_id: str, *, pairing_required: bool) -> None:
    """A paired device signs in to its own lane only; an unpaired one only where pairing is optional."""
    if device is None:
        if pairing_required:
            raise Forbidden("this device is not paired with a lane; pair it with a code from the store admin",
                            code="device-not-paired")
        return
    if str(device.lane_id) != str(lane_id):
        raise Forbidden(f"this device is paired with lane {device.lane_id}, not lane {lane_id}",
                        code="lane-mismatch", errors=[{"field": "lane_id", "message": f"must be {device.lane_id}"}])


def public_device(device: LaneDeviceRow) -> DeviceView:
    return DeviceView(id=device.id, lane_id=device.lane_id, label=device.label, paired_at=device.paired_at,
                      paired_by=device.paired_by, last_sign_in_at=device.last_sign_in_at)


def devices(uow: UnitOfWork) -> list[DeviceView]:
    return [public_device(d) for d in uow.lanes.devices(uow.actor.store_id or "")]


def unpair(uow: UnitOfWork, device_id: str) -> DeviceView:
    device = uow.lanes.device(device_id)
    if device is None or device.revoked_at is not None:
        raise NotFound("no paired device with that id", code="device-not-found")
    uow.lanes.update_device(device_id, {"revoked_at": uow.now, "revoked_by": uow.actor.username})
    uow.audit("lane.unpaired", "lane_device", device_id, public_device(device), {"revoked_at": uow.now})
    return msgspec.structs.replace(public_device(device), revoked_at=uow.now)


def _later(now: str, seconds: int) -> str:
    return iso(parse_iso(now) + timedelta(seconds=seconds))
