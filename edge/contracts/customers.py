"""Customers and loyalty on the wire: events up, commands down, and the key/lookup channel.

Events (store → HQ, through the outbox and JetStream) carry a customer's profile only sealed under
the customer's data key (`edge.contracts.pii`), never the data key and never a blind index: both
would outlive an erasure in JetStream history. Data keys and blind indexes travel only over the
store's authenticated request/reply channel (core NATS, not stored by any stream):
`novapos.<tenant>.<store>.rpc.<op>`, answered by HQ on the store's private reply prefix.

Fields are only ever appended, with defaults.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from edge.contracts.envelope import _token

CustomerId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
Digest = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")]

# --- events (store → HQ) --------------------------------------------------------------------------

CUSTOMER_UPSERTED = "customer.upserted"
CUSTOMER_ERASED = "customer.erased"  # a store confirms it applied an erasure
LOYALTY_ENTRY = "loyalty.entry"


class Consents(msgspec.Struct, frozen=True, kw_only=True):
    marketing: bool = False
    marketing_at: str | None = None  # when the answer was last given (ISO 8601 UTC)
    e_receipts: bool = False
    e_receipts_at: str | None = None


class CustomerUpserted(msgspec.Struct, frozen=True, kw_only=True):
    customer_id: CustomerId
    profile: str  # `pii.seal_profile` under the customer's data key
    consents: Consents = Consents()
    home_store_id: str = ""  # the store where they joined
    created_at: str = ""
    updated_at: str = ""
    version: int = 1  # last writer wins by (updated_at, version)


class CustomerErased(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    customer_id: CustomerId
    at: str


LoyaltyKind = Literal["earn", "redeem", "void", "clawback", "restore", "expire", "adjust", "write_off", "claw_back"]


class LoyaltyEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One line of a customer's points ledger. `entry_id` makes replay idempotent at HQ."""

    entry_id: str
    customer_id: CustomerId
    store_id: str
    kind: LoyaltyKind
    points: int  # signed: earn/restore/adjust up are positive, redeem/void/clawback/expire negative
    order_id: str | None = None
    reason: str = ""
    at: str = ""
    offline: bool = False  # redeemed while the store could not reach HQ (within the offline allowance)


# --- commands (HQ → store), `Command.payload` ------------------------------------------------------

CMD_CUSTOMER_ERASE = "customer.erase"
CMD_CUSTOMER_UNLINK = "customer.unlink"  # retention: drop the link from the store's orders, keep the customer


class EraseCustomer(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    customer_id: CustomerId


class UnlinkCustomers(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    customer_ids: Annotated[list[CustomerId], msgspec.Meta(max_length=10_000)]


# --- request/reply channel (store ⇄ HQ, core NATS only) -------------------------------------------

RPC_TENANT_KEY = "keys.tenant"  # → TenantKeyReply
RPC_ESCROW = "keys.escrow"  # EscrowRequest → EscrowReply
RPC_FETCH_KEYS = "keys.fetch"  # FetchKeysRequest → FetchKeysReply
RPC_LOOKUP = "customers.lookup"  # LookupRequest → LookupReply
RPC_VIEW = "customers.view"  # ViewRequest → ViewReply (HQ's half of the 360 view)


def rpc_subject(tenant_id: str, store_id: str, op: str) -> str:
    return f"novapos.{_token(tenant_id)}.{_token(store_id)}.rpc.{op}"


def rpc_subject_filter(tenant_id: str | None = None) -> str:
    """What HQ subscribes to: every store's requests (of one tenant's account, or all in dev mode)."""
    return f"novapos.{_token(tenant_id) if tenant_id else '*'}.*.rpc.>"


def parse_rpc_subject(subject: str) -> tuple[str, str, str] | None:
    """(tenant token, store token, op) of a request subject, or None."""
    parts = subject.split(".", 4)
    if len(parts) < 5 or parts[0] != "novapos" or parts[3] != "rpc":
        return None
    return parts[1], parts[2], parts[4]


class BlindIndex(msgspec.Struct, frozen=True):
    kind: Literal["email", "phone", "card"]
    digest: Digest


class TenantKeyReply(msgspec.Struct, frozen=True, kw_only=True):
    tenant_key: str  # pii.encode_key; the store keeps it wrapped under its own KEK


class EscrowRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A store hands HQ a customer's data key (minted at the store) and the blind indexes of their
    current email, phone and card code; sent again after each profile change."""

    customer_id: CustomerId
    data_key: str  # pii.encode_key
    index: Annotated[list[BlindIndex], msgspec.Meta(max_length=8)]


class EscrowReply(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    erased: bool = False  # HQ erased this customer: the store must erase it too, at once


class FetchKeysRequest(msgspec.Struct, frozen=True, kw_only=True):
    customer_ids: Annotated[list[CustomerId], msgspec.Meta(max_length=500)]


class FetchKeysReply(msgspec.Struct, frozen=True, kw_only=True):
    keys: dict[str, str]  # customer_id → pii.encode_key(data key)
    erased: list[str] = []


class LookupRequest(msgspec.Struct, frozen=True, kw_only=True):
    index: BlindIndex


class CustomerRecord(msgspec.Struct, frozen=True, kw_only=True):
    customer_id: str
    profile: str
    data_key: str
    consents: Consents = Consents()
    home_store_id: str = ""
    created_at: str = ""
    updated_at: str = ""
    version: int = 1
    balance_points: int = 0  # HQ's ledger sum at `as_of`
    as_of: str = ""
    # Points earned over the program's tier window at every store (HQ's ledger at `as_of`), so a
    # store shows the tier a customer reached elsewhere, not only from its own sales.
    earned_in_window: int = 0


class LookupReply(msgspec.Struct, frozen=True, kw_only=True):
    customers: list[CustomerRecord] = []


class ViewRequest(msgspec.Struct, frozen=True, kw_only=True):
    customer_id: CustomerId


class PurchaseSummary(msgspec.Struct, frozen=True, kw_only=True):
    order_id: str
    store_id: str
    at: str
    total_cents: int
    currency: str
    status: str = "completed"
    points_earned: int = 0


class OpenPickup(msgspec.Struct, frozen=True, kw_only=True):
    order_id: str
    store_id: str
    status: str
    at: str


class ReturnSummary(msgspec.Struct, frozen=True, kw_only=True):
    return_id: str
    order_id: str
    store_id: str
    at: str
    refund_cents: int


class ViewReply(msgspec.Struct, frozen=True, kw_only=True):
    found: bool
    erased: bool = False
    balance_points: int = 0
    as_of: str = ""
    recent_purchases: list[PurchaseSummary] = []
    open_pickups: list[OpenPickup] = []
    returns: list[ReturnSummary] = []
    earned_in_window: int = 0  # as on CustomerRecord


class RpcError(msgspec.Struct, frozen=True, kw_only=True):
    error: str  # a stable code: not_found, erased, bad_request, unavailable


def encode(obj: object) -> bytes:
    return msgspec.json.encode(obj)
