"""Values the hub hands out: devices, print jobs, weights, terminal results, test results.

These are the wire shapes too (the remote client decodes them with msgspec), so fields
only grow, new ones last with defaults.
"""

from __future__ import annotations

import msgspec

from hardware.codecs.scale import ScaleReading

KINDS = ("printer", "drawer", "scanner", "scale", "terminal", "display")


class Device(msgspec.Struct, frozen=True):
    """``status``: ok | paper_low | paper_out | offline | unplugged | unavailable | unsupported."""

    id: str
    kind: str  # one of KINDS, or "unknown" for a detected device we have no driver for
    name: str
    status: str
    lane_id: str | None = None
    source: str = "config"  # config | serial | input | network | mdns | simulator
    address: str = ""


class PrintJob(msgspec.Struct, frozen=True):
    """``status``: queued | printing | printed | failed. A failed job keeps its bytes for reprint."""

    id: str
    lane_id: str
    printer_id: str
    ref: str
    status: str
    reason: str = ""
    attempts: int = 0
    created_at: str = ""
    updated_at: str = ""
    reprint_of: str | None = None


class TerminalResult(msgspec.Struct, frozen=True):
    """Outcome of one terminal request. There is deliberately no field that can hold a PAN.

    ``status``: approved | declined | partial | timeout | reversed | voided | refunded |
    not_found | unavailable | ok | error. ``charged`` is True/False when known, None when
    even recovery could not tell (the cashier must check the terminal).
    """

    ref: str
    operation: str
    status: str
    requested_cents: int = 0
    approved_cents: int = 0
    currency: str = ""
    auth_code: str = ""
    last4: str = ""
    brand: str = ""
    entry_mode: str = ""
    processor_ref: str = ""
    message: str = ""
    charged: bool | None = None


class ActionResult(msgspec.Struct, frozen=True):
    """Result of a drawer kick, a display update or a technician test action."""

    device_id: str
    action: str
    ok: bool
    detail: str = ""


WeightReading = ScaleReading

__all__ = ["KINDS", "ActionResult", "Device", "PrintJob", "ScaleReading", "TerminalResult", "WeightReading"]


# What a technician's "test" button may ask of each kind of device. Here rather than in
# `hardware.service`, so a store server that only lists devices need not load the drivers.
TEST_ACTIONS = {"printer": ("test_print",), "drawer": ("drawer_kick",), "scale": ("scale_read",),
                "terminal": ("terminal_diagnostics",), "display": ("display_test",), "scanner": ()}
