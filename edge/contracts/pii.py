"""Customer PII at rest and in flight: envelope encryption, blind indexes, normalisation.

The one format the store and HQ share, so each end can read what the other sealed.

Key hierarchy (each level wraps the one below with AES-256-GCM):
- **KEK**, the key-encryption key: 32 bytes from a file or the environment, never from a database
  (`load_kek`). The store and HQ each have their own; it wraps what they keep at rest.
- **Tenant key**: 32 random bytes per tenant, minted and kept by HQ (wrapped under HQ's KEK), handed
  to that tenant's stores only over their authenticated link. Two keys are derived from it (HKDF):
  one wraps customer data keys, one keys the blind indexes.
- **Data key**: 32 random bytes per customer. The customer's profile is sealed under it. Destroying
  every copy of it (HQ's escrow and the stores' key caches) makes every copy of the profile
  unreadable at once, wherever the ciphertext went: tables, JetStream history, backups. So a data
  key never travels inside an event, and never sits in the same file as the rows it opens.

Lookup never decrypts: a **blind index** is an HMAC-SHA256 of the normalised value under the
tenant's index key, so equal values match without revealing them.

Ciphertexts are text, `pii1.<base64url(nonce ‖ ciphertext+tag)>`, bound by their associated data
to what they belong to (tenant and customer), so one customer's sealed profile cannot be pasted
onto another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import unicodedata
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
_NONCE_BYTES = 12
_PREFIX = "pii1."

LookupKind = Literal["email", "phone", "card"]

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
Phone = Annotated[str, msgspec.Meta(min_length=3, max_length=32)]
CardCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9]{8,20}$")]


class PiiError(ValueError):
    """A value that cannot be normalised, a key of the wrong size, or a ciphertext that does not open."""


class CustomerProfile(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What is personal about a customer: sealed as one blob under their data key."""

    name: str
    email: str | None = None  # normalised (lower case)
    phone: str | None = None  # E.164
    card_code: str | None = None


# --- keys -----------------------------------------------------------------------------------------


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def _check_key(key: bytes) -> bytes:
    if len(key) != KEY_BYTES:
        raise PiiError(f"a key must be {KEY_BYTES} bytes")
    return key


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(_check_key(key)).decode("ascii")


def decode_key(text: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise PiiError("a key must be base64url text") from exc
    return _check_key(key)


def load_kek(*, file: str | Path | None = None, env_var: str | None = None) -> bytes:
    """The key-encryption key, from a file (base64url text, 32 bytes) or, failing that, from an
    environment variable holding the same text. Never from the database it protects."""
    if file:
        path = Path(file)
        try:
            text = path.read_text(encoding="ascii")
        except OSError as exc:
            raise PiiError(f"cannot read the key-encryption key file {path}: {exc.strerror}") from exc
        return decode_key(text)
    if env_var and os.environ.get(env_var):
        return decode_key(os.environ[env_var])
    raise PiiError("no key-encryption key: set a key file or the environment variable")


def write_new_kek(path: str | Path) -> bytes:
    """Create a key file (0600, refusing to overwrite one): a demo store's or a test's KEK."""
    key = new_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(encode_key(key) + "\n")
    return key


class TenantKeys:
    """The two working keys derived from a tenant key."""

    __slots__ = ("index_key", "wrap_key")

    def __init__(self, tenant_key: bytes):
        _check_key(tenant_key)
        self.wrap_key = _derive(tenant_key, b"novapos customer data-key wrap v1")
        self.index_key = _derive(tenant_key, b"novapos customer blind index v1")


def _derive(key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(key)


# --- sealing --------------------------------------------------------------------------------------


def seal(key: bytes, plaintext: bytes, aad: str) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(_check_key(key)).encrypt(nonce, plaintext, aad.encode("utf-8"))
    return _PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")


def open_sealed(key: bytes, token: str, aad: str) -> bytes:
    if not token.startswith(_PREFIX):
        raise PiiError("not a sealed value")
    body = token[len(_PREFIX):]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        return AESGCM(_check_key(key)).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], aad.encode("utf-8"))
    except Exception as exc:  # InvalidTag, bad base64, short input: one answer, no oracle detail
        raise PiiError("the sealed value does not open with this key") from exc


def wrap_key(wrapping_key: bytes, key: bytes, aad: str) -> str:
    return seal(wrapping_key, _check_key(key), "key|" + aad)


def unwrap_key(wrapping_key: bytes, token: str, aad: str) -> bytes:
    return _check_key(open_sealed(wrapping_key, token, "key|" + aad))


def customer_aad(tenant_id: str, customer_id: str) -> str:
    return f"customer|{tenant_id}|{customer_id}"


_profile_encoder = msgspec.json.Encoder()
_profile_decoder = msgspec.json.Decoder(CustomerProfile)


def seal_profile(data_key: bytes, tenant_id: str, customer_id: str, profile: CustomerProfile) -> str:
    return seal(data_key, _profile_encoder.encode(profile), customer_aad(tenant_id, customer_id))


def open_profile(data_key: bytes, tenant_id: str, customer_id: str, token: str) -> CustomerProfile:
    return _profile_decoder.decode(open_sealed(data_key, token, customer_aad(tenant_id, customer_id)))


def wrap_data_key(keys: TenantKeys, tenant_id: str, customer_id: str, data_key: bytes) -> str:
    return wrap_key(keys.wrap_key, data_key, customer_aad(tenant_id, customer_id))


def unwrap_data_key(keys: TenantKeys, tenant_id: str, customer_id: str, token: str) -> bytes:
    return unwrap_key(keys.wrap_key, token, customer_aad(tenant_id, customer_id))


# --- normalisation and blind indexes --------------------------------------------------------------

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s.]{2,63}$")


def normalize_email(raw: str) -> str:
    value = unicodedata.normalize("NFKC", raw).strip().lower()
    if not _EMAIL.match(value) or ".." in value:
        raise PiiError("not an email address")
    return value


def normalize_phone(raw: str, region: str = "US") -> str:
    """E.164, or PiiError. A number without a leading + is read as the store's region's."""
    import phonenumbers  # 1.2 MB resident, for the few requests that take a phone number

    try:
        number = phonenumbers.parse(unicodedata.normalize("NFKC", raw).strip(), region.upper())
    except phonenumbers.NumberParseException as exc:
        raise PiiError("not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise PiiError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_card_code(raw: str) -> str:
    value = re.sub(r"[\s-]", "", raw).upper()
    if not re.fullmatch(r"[A-Z0-9]{8,20}", value):
        raise PiiError("not a loyalty card code")
    return value


def normalize(kind: LookupKind, raw: str, region: str = "US") -> str:
    if kind == "email":
        return normalize_email(raw)
    if kind == "phone":
        return normalize_phone(raw, region)
    return normalize_card_code(raw)


def guess_kind(raw: str) -> LookupKind:
    """What a cashier typed or scanned: an email has an @, a card code has letters, else a phone."""
    text = raw.strip()
    if "@" in text:
        return "email"
    if re.search(r"[A-Za-z]", text):
        return "card"
    return "phone"


def blind_index(keys: TenantKeys, kind: LookupKind, normalized: str) -> str:
    """HMAC-SHA256 of an already normalised value under the tenant's index key, hex."""
    return hmac.new(keys.index_key, f"{kind}:{normalized}".encode(), hashlib.sha256).hexdigest()


def new_card_code() -> str:
    """A printable card code: 'NP' and 12 digits, the last a Luhn check digit (catches mistyping)."""
    digits = [int(d) for d in f"{int.from_bytes(os.urandom(8), 'big') % 10**11:011d}"]
    total = 0
    for i, d in enumerate(reversed(digits)):
        total += sum(divmod(d * 2, 10)) if i % 2 == 0 else d
    return "NP" + "".join(map(str, digits)) + str((10 - total % 10) % 10)


# --- masked display -------------------------------------------------------------------------------


def mask_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    local, domain = email.split("@", 1)
    return f"{local[:1]}***@{domain[:1]}***"


def mask_phone(phone: str | None) -> str | None:
    return None if not phone else "•••" + phone[-4:]


def mask_name(name: str | None) -> str | None:
    if not name:
        return None
    parts = name.split()
    return " ".join([parts[0], *[p[:1] + "." for p in parts[1:]]])
