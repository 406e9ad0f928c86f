"""Settings: one msgspec Struct per concern, loaded from TOML and then `NOVAPOS_*` variables.

Precedence: defaults < TOML file (`--config` or NOVAPOS_CONFIG) < environment < CLI flags.
Environment names are `NOVAPOS_<SECTION>_<KEY>` (e.g. NOVAPOS_SERVER_PORT=8080), plus the
documented short forms NOVAPOS_DATA_DIR, NOVAPOS_NATS_URL, NOVAPOS_HOST and NOVAPOS_PORT.
A bad value raises `ConfigError` with one line naming the key and a valid example; the CLI
prints it and exits 2.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
Hour = Annotated[int, msgspec.Meta(ge=0, le=23)]
Identifier = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]

DEFAULT_DATA_DIR = "/var/lib/novapos"
DEMO_DATA_DIR = "./.novapos-demo"


Seconds = Annotated[float, msgspec.Meta(gt=0, le=3600)]


class ServerSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    host: str = "127.0.0.1"
    port: Port = 8080
    max_body_bytes: PositiveInt = 2 * 1024 * 1024
    # Slow clients and connection floods (webui.slow_clients): a request's headers must arrive
    # within header_timeout_s of its first byte and its body within body_timeout_s of the headers;
    # beyond max_connections open connections, new requests get 503 at once.
    header_timeout_s: Seconds = 10.0
    body_timeout_s: Seconds = 30.0
    keep_alive_s: Annotated[int, msgspec.Meta(ge=1, le=600)] = 5
    max_connections: Annotated[int, msgspec.Meta(ge=8, le=65536)] = 256
    max_header_bytes: Annotated[int, msgspec.Meta(ge=4096, le=1024 * 1024)] = 64 * 1024
    # glibc gives every thread that allocates its own malloc arena (up to 8 per core) and keeps
    # what it frees there: the writer thread, the SQLite reader threads and the thread pool held
    # ~20 MB that way after a few thousand sales. 0 keeps glibc's default (edge/adapters/memory.py).
    malloc_arenas: Annotated[int, msgspec.Meta(ge=0, le=64)] = 2
    # Blocks this size and up are mmapped and given back on free. glibc's own threshold rises to
    # the largest block freed, after which each 19 MiB Argon2 hash stayed in its arena: 36 MB
    # held idle. 0 keeps glibc's moving threshold (edge/adapters/memory.py).
    malloc_mmap_threshold_kib: Annotated[int, msgspec.Meta(ge=0, le=32 * 1024)] = 1024


class LaneSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # How long the lane waits for the store server before it treats it as down and takes the
    # offline path (a card payment waits for the terminal instead).
    server_timeout_s: Annotated[float, msgspec.Meta(ge=1, le=120)] = 8.0
    # Offline sign-in: how long a lane may keep a cashier's PIN verifier, how many wrong PINs it
    # accepts before it locks until the store server is back, and the PBKDF2 work per guess.
    offline_sign_in_ttl_s: Annotated[int, msgspec.Meta(ge=0, le=7 * 24 * 3600)] = 12 * 3600  # 0: off
    offline_sign_in_attempts: Annotated[int, msgspec.Meta(ge=1, le=20)] = 5
    offline_pin_iterations: Annotated[int, msgspec.Meta(ge=100_000, le=10_000_000)] = 600_000
    # A device is paired with one lane (a one-time code from the store admin) before cashiers
    # sign in on it. Unset: required, except in demo mode, where any browser may pick a lane.
    pairing_required: bool | None = None
    pairing_code_ttl_s: Annotated[int, msgspec.Meta(ge=60, le=86_400)] = 600

    def pairing_enforced(self, demo: bool) -> bool:
        return (not demo) if self.pairing_required is None else self.pairing_required


class StorageSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    data_dir: str = ""  # "" means the mode's default
    max_batch: Annotated[int, msgspec.Meta(ge=1, le=1024)] = 64


class StoreSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    tenant_id: Identifier = "default"
    store_id: Identifier = "store-001"
    name: str = "NovaPOS store"
    timezone: str = "UTC"
    day_start_hour: Hour = 0
    currency: Currency = "USD"
    lanes: Annotated[int, msgspec.Meta(ge=1, le=64)] = 3


class AuthSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    issuer: str = "novapos-edge"
    audience: str = "novapos"
    access_ttl_s: Annotated[int, msgspec.Meta(ge=60, le=3600)] = 900
    refresh_ttl_s: Annotated[int, msgspec.Meta(ge=300)] = 8 * 3600
    pin_refresh_ttl_s: Annotated[int, msgspec.Meta(ge=300)] = 12 * 3600
    lockout_threshold: Annotated[int, msgspec.Meta(ge=1, le=100)] = 5
    lockout_base_s: Annotated[int, msgspec.Meta(ge=1)] = 30
    lockout_max_s: Annotated[int, msgspec.Meta(ge=1)] = 3600


class SyncSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    nats_url: str = ""  # replication is off while empty
    in_flight: Annotated[int, msgspec.Meta(ge=1, le=4096)] = 256
    manage_stream: bool = True
    hub_domain: str = ""  # the hub's JetStream domain when nats_url is a local leaf node
    credentials: str = ""  # the store's NATS nkey seed file (written by `novapos-provision enroll`)


class HardwareSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    mode: Literal["embedded", "remote", "off"] = "embedded"
    url: str = ""  # for mode = "remote": the novapos-hardware service
    simulate: bool = False
    mdns: bool = True
    mdns_interfaces: list[str] = []
    hub_config: str = ""  # embedded mode: the hub's TOML ([hardware] devices and lanes), as novapos-hardware reads
    token: str = ""  # remote mode: the bearer token of the novapos-hardware service
    card_terminal: Literal["auto", "hub", "simulated"] = "auto"  # auto: the hub's lane terminals, outside demo mode


# What the built-in simulated card terminal answers (see edge.adapters.payments.simulated_terminal).
SimulatedOutcome = Annotated[
    str, msgspec.Meta(pattern=r"^(approved|declined|timeout|timeout_declined|unreachable|reversal_declined|partial:[0-9]{1,9})$")]


class AdyenLaneTerminal(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A lane's own Adyen terminal (`[payments.adyen_lanes] "2" = {poiid = "...", url = "..."}`)."""

    poiid: str
    url: str


class PaymentsSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    simulated_card_outcome: SimulatedOutcome = "approved"  # the built-in simulated terminal's answer
    crypto_confirm_after_s: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 1.0  # the crypto stub's callback delay
    # The background sweep: expires reservations past their TTL, settles refunds they owe,
    # and (every fifth sweep) asks terminals and providers about payments still in flight.
    sweep_interval_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 1.0
    # The card terminal: the built-in simulated one (the demo's), or an Adyen terminal on the LAN
    # (Terminal API, local mode). Secrets are never values here, only files: a path, or the name of
    # a systemd credential (LoadCredential=) looked up in $CREDENTIALS_DIRECTORY.
    card_provider: Literal["simulated", "adyen"] = "simulated"
    adyen_terminal_url: str = ""  # https://<terminal address>:8443/nexo
    adyen_poiid: str = ""  # the terminal's POIID, "<model>-<serial>", e.g. V400m-324688179
    adyen_sale_id: str = ""  # this POS's SaleID towards the terminal; default "novapos-<store_id>"
    adyen_key_identifier: str = ""  # the shared key's identifier (Customer Area > terminal settings)
    adyen_key_version: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] = 1
    adyen_key_passphrase_file: str = ""  # file (or credential name) holding the shared key's passphrase
    adyen_ca_file: str = ""  # Adyen's terminal root certificate (PEM), for https terminal URLs
    adyen_notify_username: str = "adyen-terminal"  # basic auth of the terminal's display notifications
    adyen_notify_password_file: str = ""  # file (or credential name) holding that password
    adyen_payment_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=600)] = 150.0
    adyen_status_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=120)] = 10.0
    # The daily reconciliation of card payments reads Adyen's Settlement details report (CSV) from
    # this URL ("{date}" becomes YYYY_MM_DD), with a report user's API key read from a file.
    adyen_report_url: str = ""  # https://ca-live.adyen.com/reports/download/MerchantAccount/<account>/<file>
    adyen_report_api_key_file: str = ""  # file (or credential name) holding the report user's API key
    adyen_merchant_account: str = ""  # only this merchant account's report lines are the store's
    # Adyen settles a capture a few days after the sale: the daily run reconciles a day this late.
    adyen_settlement_delay_days: Annotated[int, msgspec.Meta(ge=0, le=14)] = 2
    # One terminal per lane: lane id -> its terminal; lanes not listed use adyen_terminal_url/adyen_poiid.
    adyen_lanes: dict[str, AdyenLaneTerminal] = {}
    # Crypto checkout: the demo stub, or a BTCPay Server store (Greenfield API). Secrets are
    # never settings: each *_file names a file, or (a bare name) a systemd credential under
    # $CREDENTIALS_DIRECTORY. A rotated webhook secret keeps verifying until *_previous_until.
    crypto_provider: Literal["stub", "btcpay"] = "stub"
    btcpay_url: str = ""
    btcpay_store_id: str = ""
    btcpay_api_key_file: str = ""
    btcpay_webhook_secret_file: str = ""
    btcpay_webhook_secret_previous_file: str = ""
    btcpay_webhook_secret_previous_until: str = ""  # ISO 8601 UTC, e.g. 2026-12-01T00:00:00Z
    btcpay_invoice_minutes: Annotated[int, msgspec.Meta(ge=1, le=1440)] = 15
    # The daily settlement reconciliation looks this often for a finished business day to report.
    settlement_check_interval_s: Annotated[float, msgspec.Meta(ge=10, le=86400)] = 900.0


class CustomersSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # The store's key-encryption key: a file (base64url, 32 bytes). Empty: NOVAPOS_EDGE_KEK, else
    # <data_dir>/customer.kek, created owner-only on first start.
    kek_file: str = ""
    # The customers a store keeps for when the WAN is down: at most cache_max, none unseen for
    # longer than cache_days (the least recently seen go first; never one HQ has not got yet).
    cache_max: Annotated[int, msgspec.Meta(ge=10, le=1_000_000)] = 5000
    cache_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 90
    # How a phone number keyed without "+<country code>" is read (ISO 3166 region). Empty: "US".
    phone_region: Annotated[str, msgspec.Meta(pattern=r"^([A-Za-z]{2})?$")] = ""
    hq_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=30)] = 2.0  # one request to HQ, then offline
    escrow_interval_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 5.0  # the escrow and cache sweep

    @property
    def region(self) -> str:
        return (self.phone_region or "US").upper()


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    demo: bool = False
    demo_store: Identifier = "demo-001"  # the demo store's id: a second demo store (say, to try BOPIS re-routing)
    log_format: Literal["auto", "json", "console"] = "auto"
    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    storage: StorageSettings = msgspec.field(default_factory=StorageSettings)
    store: StoreSettings = msgspec.field(default_factory=StoreSettings)
    auth: AuthSettings = msgspec.field(default_factory=AuthSettings)
    sync: SyncSettings = msgspec.field(default_factory=SyncSettings)
    hardware: HardwareSettings = msgspec.field(default_factory=HardwareSettings)
    payments: PaymentsSettings = msgspec.field(default_factory=PaymentsSettings)
    lane: LaneSettings = msgspec.field(default_factory=LaneSettings)
    customers: CustomersSettings = msgspec.field(default_factory=CustomersSettings)

    @property
    def data_dir(self) -> Path:
        raw = self.storage.data_dir or (DEMO_DATA_DIR if self.demo else DEFAULT_DATA_DIR)
        return Path(raw).expanduser().resolve()

    @property
    def db_path(self) -> Path:
        return self.data_dir / "store.db"


EXAMPLES = {
    "server.port": "port = 8080",
    "server.host": 'host = "0.0.0.0"',
    "server.max_body_bytes": "max_body_bytes = 2097152",
    "server.header_timeout_s": "header_timeout_s = 10",
    "server.body_timeout_s": "body_timeout_s = 30",
    "server.keep_alive_s": "keep_alive_s = 5",
    "server.max_connections": "max_connections = 256",
    "server.max_header_bytes": "max_header_bytes = 65536",
    "storage.data_dir": 'data_dir = "/var/lib/novapos"',
    "storage.max_batch": "max_batch = 64",
    "store.tenant_id": 'tenant_id = "acme"',
    "store.store_id": 'store_id = "store-001"',
    "store.timezone": 'timezone = "Europe/Berlin"',
    "store.day_start_hour": "day_start_hour = 4",
    "store.currency": 'currency = "EUR"',
    "store.lanes": "lanes = 3",
    "auth.access_ttl_s": "access_ttl_s = 900",
    "sync.nats_url": 'nats_url = "nats://127.0.0.1:4222"',
    "sync.credentials": 'credentials = "/etc/novapos/nats/store.nk"',
    "hardware.mode": 'mode = "embedded"',
    "payments.simulated_card_outcome": 'simulated_card_outcome = "declined"  (or approved, partial:500, timeout, reversal_declined)',
    "payments.crypto_confirm_after_s": "crypto_confirm_after_s = 1.0",
    "payments.sweep_interval_s": "sweep_interval_s = 1.0",
    "payments.card_provider": 'card_provider = "adyen"  (or "simulated")',
    "payments.adyen_terminal_url": 'adyen_terminal_url = "https://192.168.1.40:8443/nexo"',
    "payments.adyen_poiid": 'adyen_poiid = "V400m-324688179"',
    "payments.adyen_key_passphrase_file": 'adyen_key_passphrase_file = "adyen-passphrase"  (a LoadCredential= name, or a path)',
    "payments.adyen_key_version": "adyen_key_version = 1",
    "payments.adyen_merchant_account": 'adyen_merchant_account = "NovaPOSStoreEUR"',
    "payments.adyen_report_api_key_file": 'adyen_report_api_key_file = "adyen-report-key"  (a LoadCredential= name, or a path)',
    "payments.adyen_payment_timeout_s": "adyen_payment_timeout_s = 150",
    "payments.crypto_provider": 'crypto_provider = "btcpay"  (or "stub")',
    "payments.btcpay_url": 'btcpay_url = "https://btcpay.example.com"',
    "payments.btcpay_store_id": 'btcpay_store_id = "9CiNzKoANXxmk5ayZngSXrHTiVvvgCrwrpFQd4m2K776"',
    "payments.btcpay_api_key_file": 'btcpay_api_key_file = "btcpay-api-key"  (a systemd credential) or an absolute path',
    "payments.btcpay_webhook_secret_file": 'btcpay_webhook_secret_file = "btcpay-webhook-secret"',
    "payments.btcpay_webhook_secret_previous_until": 'btcpay_webhook_secret_previous_until = "2026-12-01T00:00:00Z"',
    "payments.btcpay_invoice_minutes": "btcpay_invoice_minutes = 15",
    "lane.server_timeout_s": "server_timeout_s = 8",
    "lane.offline_sign_in_ttl_s": "offline_sign_in_ttl_s = 43200",
    "lane.offline_sign_in_attempts": "offline_sign_in_attempts = 5",
    "lane.offline_pin_iterations": "offline_pin_iterations = 600000",
    "lane.pairing_required": "pairing_required = true",
    "lane.pairing_code_ttl_s": "pairing_code_ttl_s = 600",
    "log_format": 'log_format = "json"',
    "demo_store": 'demo_store = "demo-002"',
    "customers.kek_file": 'kek_file = "/etc/novapos/customer.kek"',
    "customers.cache_max": "cache_max = 5000",
    "customers.cache_days": "cache_days = 90",
    "customers.phone_region": 'phone_region = "DE"',
    "customers.hq_timeout_s": "hq_timeout_s = 2",
    "customers.escrow_interval_s": "escrow_interval_s = 5",
}

SHORT_ENV = {
    "NOVAPOS_DATA_DIR": ("storage", "data_dir"),
    "NOVAPOS_NATS_URL": ("sync", "nats_url"),
    "NOVAPOS_HOST": ("server", "host"),
    "NOVAPOS_PORT": ("server", "port"),
    "NOVAPOS_DEMO": (None, "demo"),
    "NOVAPOS_DEMO_STORE": (None, "demo_store"),
    "NOVAPOS_LOG_FORMAT": (None, "log_format"),
}


class ConfigError(Exception):
    """A configuration problem, phrased for the person who has to fix it."""


def _set(raw: dict[str, Any], section: str | None, key: str, value: Any) -> None:
    target = raw if section is None else raw.setdefault(section, {})
    target[key] = value


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    sections = {f.name for f in msgspec.structs.fields(Settings) if f.name not in ("demo", "demo_store", "log_format")}
    for name, value in environ.items():
        if name in SHORT_ENV:
            section, key = SHORT_ENV[name]
            _set(raw, section, key, value)
            continue
        if not name.startswith("NOVAPOS_"):
            continue
        rest = name[len("NOVAPOS_") :].lower()
        section, _, key = rest.partition("_")
        if section in sections and key:
            _set(raw, section, key, value)
    return raw


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_settings(
    config_path: str | Path | None = None,
    *,
    environ: dict[str, str] | None = None,
    overrides: dict[str, Any] | None = None,
) -> Settings:
    environ = dict(os.environ if environ is None else environ)
    raw: dict[str, Any] = {}
    config_path = config_path or environ.get("NOVAPOS_CONFIG")
    if config_path:
        path = Path(config_path)
        try:
            raw = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist (pass --config with a readable TOML file)") from None
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"config file {path} is not valid TOML: {err}") from None
    raw = _merge(raw, _env_overrides(environ))
    raw = _merge(raw, overrides or {})
    try:
        # strict=False lets environment strings such as "8080" or "true" convert.
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as err:
        raise ConfigError(_explain(str(err))) from None
    _check_semantics(settings)
    return settings


def _explain(message: str) -> str:
    # msgspec says e.g. "Expected `int` <= 65535 - at `$.server.port`"
    what, _, where = message.rpartition(" - at `$.")
    key = where.rstrip("`")
    if not what:
        if message.startswith("Object contains unknown field"):
            field = message.split("`")[1]
            section = message.rpartition("$.")[2].rstrip("`") if "$." in message else ""
            name = f"{section}.{field}" if section and section != message else field
            return f"config error: unknown setting '{name}' (check the spelling; see README 'Configuration')"
        return f"config error: {message}"
    example = EXAMPLES.get(key, "see README 'Configuration'")
    return f"config error: {key}: {what[0].lower() + what[1:]} (example: {example})"


def _check_semantics(settings: Settings) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(settings.store.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"config error: store.timezone: unknown time zone {settings.store.timezone!r} "
            f"(example: {EXAMPLES['store.timezone']})"
        ) from None
    url = settings.sync.nats_url
    if url and not url.startswith(("nats://", "tls://", "ws://", "wss://")):
        raise ConfigError(f"config error: sync.nats_url: {url!r} is not a NATS URL (example: {EXAMPLES['sync.nats_url']})")
    creds = settings.sync.credentials
    if creds and not Path(creds).is_file():
        raise ConfigError(f"config error: sync.credentials: {creds} is not a readable file "
                          f"(run novapos-provision enroll, or example: {EXAMPLES['sync.credentials']})")
    _check_card_terminal(settings.payments)
    _check_btcpay(settings.payments)
    if settings.hardware.mode == "remote" and not settings.hardware.url:
        raise ConfigError('config error: hardware.url: required when hardware.mode = "remote" '
                          '(example: url = "http://127.0.0.1:8090")')


def _check_card_terminal(pay: PaymentsSettings) -> None:
    if pay.card_provider != "adyen":
        return
    required = ["adyen_key_identifier", "adyen_key_passphrase_file"]
    if not pay.adyen_lanes or pay.adyen_terminal_url or pay.adyen_poiid:
        required[:0] = ["adyen_terminal_url", "adyen_poiid"]  # the default terminal, for every lane
    for key in required:
        if not getattr(pay, key):
            raise ConfigError(f'config error: payments.{key}: required when payments.card_provider = "adyen" '
                              f"(example: {EXAMPLES.get('payments.' + key, key + ' = ...')})")
    if pay.adyen_report_url:  # the settlement report: its account and key go with it
        for key in ("adyen_merchant_account", "adyen_report_api_key_file"):
            if not getattr(pay, key):
                raise ConfigError(f"config error: payments.{key}: required when payments.adyen_report_url is set "
                                  f"(example: {EXAMPLES['payments.' + key]})")
    urls = {"adyen_terminal_url": pay.adyen_terminal_url} if pay.adyen_terminal_url else {}
    urls |= {"adyen_report_url": pay.adyen_report_url} if pay.adyen_report_url else {}
    urls |= {f"adyen_lanes.{lane}.url": t.url for lane, t in pay.adyen_lanes.items()}
    for key, url in urls.items():
        if not url.startswith(("https://", "http://")):
            raise ConfigError(f"config error: payments.{key}: {url!r} is not an http(s) URL "
                              f"(example: {EXAMPLES['payments.adyen_terminal_url']})")


def _check_btcpay(pay: PaymentsSettings) -> None:
    """A BTCPay store needs its URL, store id, API key and webhook secret; the files themselves
    are read (and may be systemd credentials) when the server starts."""
    if pay.crypto_provider != "btcpay":
        return
    for key in ("btcpay_url", "btcpay_store_id", "btcpay_api_key_file", "btcpay_webhook_secret_file"):
        if not getattr(pay, key):
            raise ConfigError(f'config error: payments.{key}: required when payments.crypto_provider = "btcpay" '
                              f"(example: {EXAMPLES['payments.' + key]})")
    if not pay.btcpay_url.startswith(("https://", "http://")):
        raise ConfigError(f"config error: payments.btcpay_url: {pay.btcpay_url!r} is not an http(s) URL "
                          f"(example: {EXAMPLES['payments.btcpay_url']})")
    for key in ("btcpay_api_key_file", "btcpay_webhook_secret_file", "btcpay_webhook_secret_previous_file"):
        name = getattr(pay, key)
        # A bare name is a systemd credential, present only inside the unit: checked at start.
        if "/" in name and not Path(name).expanduser().is_file():
            raise ConfigError(f"config error: payments.{key}: {name} is not a readable file "
                              f"(example: {EXAMPLES.get('payments.' + key, EXAMPLES['payments.btcpay_api_key_file'])})")
    if bool(pay.btcpay_webhook_secret_previous_file) != bool(pay.btcpay_webhook_secret_previous_until):
        raise ConfigError("config error: payments.btcpay_webhook_secret_previous_until: a previous webhook secret "
                          "needs the end of its overlap window, and the other way round "
                          f"(example: {EXAMPLES['payments.btcpay_webhook_secret_previous_until']})")
    if pay.btcpay_webhook_secret_previous_until:
        from datetime import datetime

        try:
            until = datetime.fromisoformat(pay.btcpay_webhook_secret_previous_until.replace("Z", "+00:00"))
        except ValueError:
            until = None
        if until is None or until.tzinfo is None:
            raise ConfigError("config error: payments.btcpay_webhook_secret_previous_until: not a UTC time "
                              f"(example: {EXAMPLES['payments.btcpay_webhook_secret_previous_until']})")
