"""Adyen Terminal API (nexo) messages and their shared-key protection, with no I/O.

Shapes follow Adyen's published Terminal API models (the nexo `SaleToPOIRequest` /
`SaleToPOIResponse` JSON, as typed in Adyen's own API libraries). The protection is Adyen's
"shared key" scheme for local integrations, as their libraries implement it:

    key material = PBKDF2-HMAC-SHA1(passphrase, salt "AdyenNexoV1Salt", 4000 rounds, 80 bytes)
                   -> hmac key (32) | cipher key (32) | iv (16)
    NexoBlob     = base64(AES-256-CBC/PKCS7(cipher key, iv XOR nonce, whole message JSON))
    SecurityTrailer = {AdyenCryptoVersion: 1, KeyIdentifier, KeyVersion,
                       Nonce: base64(16 random bytes), Hmac: base64(HMAC-SHA256(hmac key, JSON))}

The MessageHeader travels in clear beside the blob (the terminal routes on it); everything
else, amounts and card details included, is inside the blob.

Amounts on the wire are decimal numbers in the currency's major unit; NovaPOS keeps integer
minor units, so conversion goes through `Decimal` and never through a float.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PROTOCOL_VERSION = "3.0"
SALT = b"AdyenNexoV1Salt"
ROUNDS = 4000
CRYPTO_VERSION = 1

# ISO 4217 currencies whose minor unit is not 2 digits (the ones a store is likely to meet).
MINOR_DIGITS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "HUF": 2, "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3,
                "TND": 3}

_encoder = msgspec.json.Encoder(decimal_format="number")
_decoder = msgspec.json.Decoder(float_hook=Decimal)


class NexoError(Exception):
    """A message that cannot be trusted or read: bad HMAC, bad blob, not nexo JSON."""


class TerminalRejected(NexoError):
    """The terminal answered with an HTTP error: it refused the message (a wrong shared key,
    an unknown POIID) and so never started what it asked."""


@dataclass(frozen=True)
class SharedKey:
    """The terminal's shared key as configured in the Adyen Customer Area. `repr` hides it."""

    key_identifier: str
    key_version: int
    passphrase: str

    def __repr__(self) -> str:
        return f"SharedKey(key_identifier={self.key_identifier!r}, key_version={self.key_version})"

    def material(self) -> tuple[bytes, bytes, bytes]:
        derived = _derive(self.passphrase)
        return derived[:32], derived[32:64], derived[64:80]


_derived_cache: dict[str, bytes] = {}


def _derive(passphrase: str) -> bytes:
    # 4000 PBKDF2 rounds per message would cost milliseconds on a Pi; the key only changes
    # when the passphrase does.
    digest = hashlib.sha256(passphrase.encode()).hexdigest()
    if digest not in _derived_cache:
        _derived_cache[digest] = hashlib.pbkdf2_hmac("sha1", passphrase.encode(), SALT, ROUNDS, 80)
    return _derived_cache[digest]


def _crypt(data: bytes, cipher_key: bytes, iv: bytes, nonce: bytes, *, encrypt: bool) -> bytes:
    actual_iv = bytes(a ^ b for a, b in zip(iv, nonce, strict=True))
    cipher = Cipher(algorithms.AES(cipher_key), modes.CBC(actual_iv))
    if encrypt:
        padder = padding.PKCS7(128).padder()
        enc = cipher.encryptor()
        return enc.update(padder.update(data) + padder.finalize()) + enc.finalize()
    dec = cipher.decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(dec.update(data) + dec.finalize()) + unpadder.finalize()


def dumps(message: dict[str, Any]) -> bytes:
    return _encoder.encode(message)


def loads(raw: bytes) -> dict[str, Any]:
    try:
        value = _decoder.decode(raw)
    except msgspec.DecodeError as err:
        raise NexoError("not JSON") from err
    if not isinstance(value, dict):
        raise NexoError("not a nexo message")
    return value


def protect(message: dict[str, Any], key: SharedKey) -> bytes:
    """`{"SaleToPOIRequest": {...}}` -> the same root holding MessageHeader, NexoBlob, SecurityTrailer."""
    (root, body), = message.items()
    plain = dumps(message)
    hmac_key, cipher_key, iv = key.material()
    nonce = secrets.token_bytes(16)
    trailer = {"AdyenCryptoVersion": CRYPTO_VERSION, "KeyIdentifier": key.key_identifier,
               "KeyVersion": key.key_version, "Nonce": base64.b64encode(nonce).decode(),
               "Hmac": base64.b64encode(hmac.digest(hmac_key, plain, "sha256")).decode()}
    blob = base64.b64encode(_crypt(plain, cipher_key, iv, nonce, encrypt=True)).decode()
    return dumps({root: {"MessageHeader": body["MessageHeader"], "NexoBlob": blob, "SecurityTrailer": trailer}})


def unprotect(raw: bytes, key: SharedKey) -> dict[str, Any]:
    """A protected message -> the plain message, after checking the key id and the HMAC."""
    outer = loads(raw)
    if len(outer) != 1:
        raise NexoError("a nexo message has exactly one root")
    (root, body), = outer.items()
    if not isinstance(body, dict) or "NexoBlob" not in body:
        raise NexoError("the message is not protected")  # an unprotected answer is never believed
    trailer = body.get("SecurityTrailer") or {}
    if trailer.get("KeyIdentifier") != key.key_identifier or str(trailer.get("KeyVersion")) != str(key.key_version):
        raise NexoError("the message is protected with another key")
    hmac_key, cipher_key, iv = key.material()
    try:
        nonce = base64.b64decode(trailer["Nonce"], validate=True)
        blob = base64.b64decode(body["NexoBlob"], validate=True)
        mac = base64.b64decode(trailer["Hmac"], validate=True)
        plain = _crypt(blob, cipher_key, iv, nonce, encrypt=False)
    except (KeyError, ValueError, TypeError) as err:
        raise NexoError("the protected message cannot be decrypted") from err
    if not hmac.compare_digest(hmac.digest(hmac_key, plain, "sha256"), mac):
        raise NexoError("the message's HMAC does not match")
    inner = loads(plain)
    if root not in inner:
        raise NexoError("the decrypted message has another root")
    return inner


# -- amounts ----------------------------------------------------------------------------------------

def to_decimal(cents: int, currency: str) -> Decimal:
    digits = MINOR_DIGITS.get(currency.upper(), 2)
    return Decimal(cents).scaleb(-digits).quantize(Decimal(1).scaleb(-digits))


def to_cents(amount: Any, currency: str) -> int:
    digits = MINOR_DIGITS.get(currency.upper(), 2)
    return int((Decimal(str(amount)) * (10**digits)).to_integral_value())


# -- requests ---------------------------------------------------------------------------------------

def service_id(ref: str, operation: str) -> str:
    """The nexo ServiceID (at most 10 characters), derived from our reference and the operation.

    Derived, not random, so that after a crash the same id can be rebuilt from the payment row
    alone to ask the terminal what became of the message (TransactionStatus)."""
    digest = hashlib.sha256(f"{operation}:{ref}".encode()).digest()
    return base64.b32encode(digest).decode()[:10]


def now_stamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def header(category: str, *, sale_id: str, poiid: str, service: str, message_class: str = "Service") -> dict[str, Any]:
    return {"ProtocolVersion": PROTOCOL_VERSION, "MessageClass": message_class, "MessageCategory": category,
            "MessageType": "Request", "SaleID": sale_id, "ServiceID": service, "POIID": poiid}


def payment_request(ref: str, amount_cents: int, currency: str, *, sale_id: str, poiid: str) -> dict[str, Any]:
    return {"SaleToPOIRequest": {
        "MessageHeader": header("Payment", sale_id=sale_id, poiid=poiid, service=service_id(ref, "Payment")),
        "PaymentRequest": {
            "SaleData": {"SaleTransactionID": {"TransactionID": ref, "TimeStamp": now_stamp()},
                         # A card with less on it than asked pays what it can; the lane collects the rest.
                         "SaleToAcquirerData": "tenderOption=AllowPartialAuthorisation"},
            "PaymentTransaction": {"AmountsReq": {"Currency": currency,
                                                  "RequestedAmount": to_decimal(amount_cents, currency)}},
            "PaymentData": {"PaymentType": "Normal"},
        }}}


def transaction_status_request(ref: str, operation: str, *, sale_id: str, poiid: str) -> dict[str, Any]:
    return {"SaleToPOIRequest": {
        "MessageHeader": header("TransactionStatus", sale_id=sale_id, poiid=poiid,
                                service=service_id(ref, f"Status-{secrets.token_hex(4)}")),
        "TransactionStatusRequest": {
            "ReceiptReprintFlag": False,
            "MessageReference": {"MessageCategory": operation, "SaleID": sale_id,
                                 "ServiceID": service_id(ref, operation)}}}}


def abort_request(ref: str, *, sale_id: str, poiid: str) -> dict[str, Any]:
    return {"SaleToPOIRequest": {
        "MessageHeader": header("Abort", sale_id=sale_id, poiid=poiid, service=service_id(ref, "Abort")),
        "AbortRequest": {"AbortReason": "MerchantAbort",
                         "MessageReference": {"MessageCategory": "Payment", "SaleID": sale_id,
                                              "ServiceID": service_id(ref, "Payment")}}}}


def reversal_request(ref: str, original: PoiTransaction, *, sale_id: str, poiid: str, amount_cents: int | None,
                     currency: str, reason: str = "MerchantCancel") -> dict[str, Any]:
    """A reversal (same-day void) or, with an amount, Adyen's referenced refund of `original`."""
    body: dict[str, Any] = {
        "OriginalPOITransaction": {"POITransactionID": {"TransactionID": original.transaction_id,
                                                        "TimeStamp": original.timestamp}},
        "ReversalReason": reason,
        "SaleData": {"SaleTransactionID": {"TransactionID": ref, "TimeStamp": now_stamp()}},
    }
    if amount_cents is not None:
        body["ReversedAmount"] = to_decimal(amount_cents, currency)
    return {"SaleToPOIRequest": {
        "MessageHeader": header("Reversal", sale_id=sale_id, poiid=poiid, service=service_id(ref, "Reversal")),
        "ReversalRequest": body}}


def diagnosis_request(*, sale_id: str, poiid: str) -> dict[str, Any]:
    return {"SaleToPOIRequest": {
        "MessageHeader": header("Diagnosis", sale_id=sale_id, poiid=poiid,
                                service=secrets.token_hex(5)),
        "DiagnosisRequest": {"HostDiagnosisFlag": True}}}


# -- responses --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PoiTransaction:
    """The terminal's own id for a transaction: what a reversal or a referenced refund names.
    Stored as the payment's processor reference, `<TransactionID> <TimeStamp>`."""

    transaction_id: str
    timestamp: str

    def as_ref(self) -> str:
        return f"{self.transaction_id} {self.timestamp}"

    @classmethod
    def from_ref(cls, ref: str | None) -> PoiTransaction | None:
        if not ref or " " not in ref:
            return None
        transaction_id, _, timestamp = ref.partition(" ")
        return cls(transaction_id, timestamp)


@dataclass(frozen=True)
class NexoResult:
    """What one response says, in the terms the adapter decides on."""

    result: str  # Success | Partial | Failure
    error_condition: str | None = None
    additional: dict[str, str] | None = None
    authorized_cents: int | None = None
    brand: str | None = None
    last4: str | None = None
    entry_modes: tuple[str, ...] = ()
    approval_code: str | None = None
    poi_transaction: PoiTransaction | None = None
    signature_required: bool = False

    @property
    def refusal_reason(self) -> str | None:
        return (self.additional or {}).get("refusalReason")


def additional_response(value: Any) -> dict[str, str]:
    """AdditionalResponse is a URL-encoded `key=value&...` string (or base64 JSON on some firmware)."""
    if not isinstance(value, str) or not value:
        return {}
    if "=" not in value:
        try:
            decoded = msgspec.json.decode(base64.b64decode(value, validate=True))
            return {str(k): str(v) for k, v in (decoded.get("additionalData") or {}).items()}
        except (ValueError, msgspec.DecodeError, AttributeError):
            return {}
    return dict(parse_qsl(value, keep_blank_values=True))


def _response_part(body: dict[str, Any]) -> dict[str, Any]:
    response = body.get("Response") or {}
    return response if isinstance(response, dict) else {}


def read_result(body: dict[str, Any], currency: str) -> NexoResult:
    """A PaymentResponse or ReversalResponse body -> NexoResult. Only the masked card's last four
    digits are kept: the masked PAN itself (first six digits) goes no further than this function."""
    response = _response_part(body)
    payment = body.get("PaymentResult") or {}
    instrument = (payment.get("PaymentInstrumentData") or {}).get("CardData") or {}
    masked = str(instrument.get("MaskedPan") or instrument.get("MaskedPAN") or "")
    last4 = masked[-4:] if len(masked) >= 4 and masked[-4:].isdigit() else None
    amounts = payment.get("AmountsResp") or {}
    authorized = amounts.get("AuthorizedAmount")
    poi = (body.get("POIData") or {}).get("POITransactionID") or {}
    acquirer = payment.get("PaymentAcquirerData") or {}
    receipts = body.get("PaymentReceipt") or []
    signature = any(isinstance(r, dict) and r.get("RequiredSignatureFlag") for r in receipts) or \
        "PaperSignature" in (payment.get("AuthenticationMethod") or [])
    return NexoResult(
        result=str(response.get("Result") or "Failure"),
        error_condition=response.get("ErrorCondition"),
        additional=additional_response(response.get("AdditionalResponse")),
        authorized_cents=to_cents(authorized, amounts.get("Currency") or currency) if authorized is not None else None,
        brand=instrument.get("PaymentBrand"),
        last4=last4,
        entry_modes=tuple(instrument.get("EntryMode") or ()),
        approval_code=acquirer.get("ApprovalCode"),
        poi_transaction=PoiTransaction(str(poi["TransactionID"]), str(poi.get("TimeStamp") or ""))
        if poi.get("TransactionID") else None,
        signature_required=bool(signature),
    )


def response_body(message: dict[str, Any], name: str) -> dict[str, Any]:
    root = message.get("SaleToPOIResponse")
    if not isinstance(root, dict):
        raise NexoError("not a SaleToPOIResponse")
    body = root.get(name)
    if not isinstance(body, dict):
        raise NexoError(f"the response holds no {name}")
    return body


def repeated_response(status_body: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The original response inside a TransactionStatusResponse, as (name, body), if any."""
    repeated = ((status_body.get("RepeatedMessageResponse") or {}).get("RepeatedResponseMessageBody") or {})
    for name in ("PaymentResponse", "ReversalResponse"):
        if isinstance(repeated.get(name), dict):
            return name, repeated[name]
    return None
