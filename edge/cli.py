"""`novapos-edge`: run and administer the store server.

    novapos-edge serve [--demo] [--config F] [--data-dir D] [--host H] [--port N]
    novapos-edge migrate [--config F] [--data-dir D]
    novapos-edge user add NAME --role R [--role R ...] [--pin] [--password-stdin]
    novapos-edge user passwd NAME [--password-stdin]
    novapos-edge user disable NAME
    novapos-edge keys rotate
    novapos-edge token metrics [--label L] | token list | token revoke ID
    novapos-edge check-config

Every failure a person can fix prints one line saying what to fix and exits 2; no tracebacks.
"""

from __future__ import annotations

import argparse
import getpass
import os
import socket
import sys
from pathlib import Path
from typing import Any

from edge.settings import ConfigError, Settings, load_settings

EXIT_USAGE = 2
# Where `novapos-provision init` writes the store's configuration and the units read it.
DEFAULT_CONFIG = Path("/etc/novapos/novapos.toml")
# Files the server creates (database, WAL, backups, keys) are never world-readable.
UMASK = 0o027


class CliError(Exception):
    pass


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="TOML configuration file (or NOVAPOS_CONFIG)")
    p.add_argument("--data-dir", help="where the store database and keys live (or NOVAPOS_DATA_DIR)")
    p.add_argument("--demo", action="store_true", default=None, help="demo store with published credentials")


def _listen(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", help="address to listen on, e.g. 0.0.0.0 for the store LAN (or NOVAPOS_HOST; "
                                  "default 127.0.0.1)")
    p.add_argument("--port", type=int, help="TCP port to listen on (or NOVAPOS_PORT; default 8080)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="novapos-edge", description="NovaPOS store server")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the store server")
    _common(serve)
    _listen(serve)

    _common(sub.add_parser("migrate", help="upgrade the database (a backup is taken first)"))
    check = sub.add_parser("check-config", help="validate the configuration and print the values in effect "
                                                "(secrets hidden)")
    _common(check)
    _listen(check)

    relay = sub.add_parser("relay", help="run only the outbox relay and command inbox")
    _common(relay)

    user = sub.add_parser("user", help="manage accounts")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="create an account")
    _common(add)
    add.add_argument("username", help="login name: lower-case letters, digits, . _ - (e.g. erin)")
    add.add_argument("--role", action="append", required=True, dest="roles",
                     help="cashier, supervisor, store_manager, tenant_admin, hq_analyst, technician, integration")
    add.add_argument("--pin", action="store_true", help="also set a lane PIN (asked for)")
    add.add_argument("--password-stdin", action="store_true", help="read the password (and PIN) from stdin lines")
    passwd = user_sub.add_parser("passwd", help="set a new password")
    _common(passwd)
    passwd.add_argument("username", help="the account whose password to change")
    passwd.add_argument("--password-stdin", action="store_true", help="read the new password from a stdin line")
    disable = user_sub.add_parser("disable", help="disable an account and revoke its sessions")
    _common(disable)
    disable.add_argument("username", help="the account to disable")

    keys = sub.add_parser("keys", help="signing keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    _common(keys_sub.add_parser("rotate", help="new signing key; the old one verifies until its tokens expire"))

    token = sub.add_parser("token", help="scrape tokens for /metrics")
    token_sub = token.add_subparsers(dest="scrape_action", required=True)
    mint = token_sub.add_parser("metrics", help="mint a long-lived token with the metrics scope (shown once)")
    _common(mint)
    mint.add_argument("--label", default="prometheus", help="what it is for (shown by `token list`)")
    _common(token_sub.add_parser("list", help="the metrics tokens: ids and labels, never the tokens"))
    revoke = token_sub.add_parser("revoke", help="revoke a metrics token by id; its next scrape is refused")
    _common(revoke)
    revoke.add_argument("token_id", help="the id that `token metrics` printed (see `token list`)")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "demo", None):
        overrides["demo"] = True
    if getattr(args, "data_dir", None):
        overrides.setdefault("storage", {})["data_dir"] = args.data_dir
    if getattr(args, "host", None):
        overrides.setdefault("server", {})["host"] = args.host
    if getattr(args, "port", None) is not None:
        overrides.setdefault("server", {})["port"] = args.port
    from edge.bootstrap import effective_settings

    return effective_settings(load_settings(_config_path(args), overrides=overrides))


def _config_path(args: argparse.Namespace) -> str | None:
    """--config, else NOVAPOS_CONFIG, else the file `novapos-provision init` wrote (what the units read)."""
    path = getattr(args, "config", None) or os.environ.get("NOVAPOS_CONFIG")
    if path is None and DEFAULT_CONFIG.is_file():
        path = str(DEFAULT_CONFIG)
    if path and Path(path).is_dir():
        raise CliError(f"--config {path} is a directory; pass the TOML file itself "
                       f"(example: --config {DEFAULT_CONFIG})")
    return path


def _require_store(args: argparse.Namespace, settings: Settings) -> None:
    """Accounts belong to one store: refuse to guess it (a user under the built-in default
    store could never sign in at the real one)."""
    if settings.demo:
        return
    import tomllib

    configured = {"tenant_id": False, "store_id": False}
    path = _config_path(args)
    if path:
        with open(path, "rb") as fh:
            section = tomllib.load(fh).get("store", {})
        configured = {key: key in section for key in configured}
    configured = {key: found or f"NOVAPOS_STORE_{key.upper()}" in os.environ for key, found in configured.items()}
    if not all(configured.values()):
        raise CliError(f"no store is configured: pass --config {DEFAULT_CONFIG} (written by novapos-provision "
                       "init) or set NOVAPOS_STORE_TENANT_ID and NOVAPOS_STORE_STORE_ID; --demo for the demo store")


def _secret(prompt: str, from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise CliError(f"expected {prompt.lower()} on standard input")
        return line.rstrip("\n")
    if sys.stdin is None or sys.stdin.closed or not sys.stdin.isatty():
        raise CliError(f"standard input is not a terminal, so the {prompt.lower()} cannot be asked for: pipe it in "
                       "with --password-stdin (one line each); nothing was changed")
    try:
        first = getpass.getpass(f"{prompt}: ")
        again = getpass.getpass(f"{prompt} again: ")
    except EOFError:
        raise CliError(f"no terminal to ask for the {prompt.lower()}: type it at a terminal, or pipe it in with "
                       "--password-stdin; nothing was changed") from None
    if again != first:
        raise CliError("the two entries differ; nothing was changed")
    return first


def _check_port_free(host: str, port: int) -> None:
    """Fail before migrating, seeding or starting devices when another process holds the port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as err:
            raise CliError(f"cannot listen on {host}:{port}: {err.strerror or err} (is another novapos-edge "
                           "running? stop it or pass --port)") from None


def cmd_serve(settings: Settings) -> int:
    import uvicorn

    from edge.adapters.memory import fix_mmap_threshold, limit_malloc_arenas
    from edge.adapters.migrations import MigrationFailed, migrate
    from edge.bootstrap import create_app
    from edge.demo import DEMO_PASSWORD, DEMO_PIN
    from edge.logs import configure_logging
    from webui.slow_clients import ConnectionLimits, uvicorn_options

    limit_malloc_arenas(settings.server.malloc_arenas)  # before the first thread
    fix_mmap_threshold(settings.server.malloc_mmap_threshold_kib)  # before the seeding's password hashes
    _check_port_free(settings.server.host, settings.server.port)
    configure_logging(settings.log_format)
    try:  # in a child process: the server never loads Alembic (edge/adapters/migrations)
        migrate(settings.db_path, in_child=True)
    except MigrationFailed as err:
        raise CliError(f"{err}; the server did not start (each upgrade first backs the database up into "
                       f"{settings.db_path.parent / 'backups'})") from None
    app = create_app(settings)
    url = f"http://{settings.server.host}:{settings.server.port}"
    print(f"NovaPOS store server: {url}  (data: {settings.data_dir})", flush=True)
    if settings.demo:
        print(f"  demo logins: admin / manager / cashier / tech, password {DEMO_PASSWORD}; "
              f"cashier lane PIN {DEMO_PIN}", flush=True)
        print(f"  lane UI: {url}/   store admin: {url}/admin/   API docs: {url}/api/v1/schema", flush=True)
    server = settings.server
    limits = ConnectionLimits(header_timeout_s=server.header_timeout_s, body_timeout_s=server.body_timeout_s,
                              keep_alive_s=server.keep_alive_s, max_connections=server.max_connections,
                              max_header_bytes=server.max_header_bytes)
    uvicorn.run(app, host=server.host, port=server.port, log_config=None, access_log=False,
                timeout_graceful_shutdown=5, **uvicorn_options(limits))
    return 0


def cmd_migrate(settings: Settings) -> int:
    from edge.adapters.migrations import current_revision, migrate

    backup = migrate(settings.db_path)
    print(f"database {settings.db_path} is at revision {current_revision(settings.db_path)}"
          + (f" (backup: {backup})" if backup else ""))
    return 0


HIDDEN = "(set, hidden)"


def effective_view(settings: Settings) -> dict[str, Any]:
    """The settings as the server will use them: defaults resolved, demo mode applied, secrets hidden."""
    import msgspec

    view = msgspec.to_builtins(settings)
    view["storage"]["data_dir"] = str(settings.data_dir)
    hw, choice = view["hardware"], settings.hardware.card_terminal
    # The same rules as edge.adapters.hardware and store_advert apply at start-up.
    hw["simulate"] = settings.hardware.simulate or (settings.demo and settings.hardware.mode == "embedded")
    hw["card_terminal"] = "hub" if settings.hardware.mode != "off" and (
        choice == "hub" or (choice == "auto" and not settings.demo)) else "simulated"
    loopback = settings.server.host in ("127.0.0.1", "localhost", "::1")
    hw["mdns"] = settings.hardware.mdns and (bool(settings.hardware.mdns_interfaces)
                                             or not (settings.demo or loopback))
    if hw["token"]:
        hw["token"] = HIDDEN
    view["sync"]["nats_url"] = _without_password(settings.sync.nats_url)
    view["payments"]["btcpay_url"] = _without_password(settings.payments.btcpay_url)
    view["payments"]["adyen_report_url"] = _without_password(settings.payments.adyen_report_url)
    return view


def _without_password(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password is None and not (parts.username and "@" in parts.netloc):
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{HIDDEN}@{host}").geturl()


def cmd_check_config(settings: Settings) -> int:
    import msgspec

    print(msgspec.json.format(msgspec.json.encode(effective_view(settings))).decode())
    print(f"configuration OK (data dir {settings.data_dir})", file=sys.stderr)
    return 0


def _services(settings: Settings):
    from edge.adapters.migrations import migrate
    from edge.bootstrap import build_services, ensure_store

    migrate(settings.db_path)
    services = build_services(settings)
    ensure_store(services)
    return services


def cmd_user(args: argparse.Namespace, settings: Settings) -> int:
    from edge.domain.errors import DomainError
    from edge.service import users
    from edge.service.ports import Actor

    cfg = settings.store
    actor = Actor.system(cfg.tenant_id, cfg.store_id, "cli")
    # Everything asked of the person comes first: a refusal leaves no database behind.
    password = pin = None
    if args.user_command == "add":
        _require_store(args, settings)
        password = _secret("Password", args.password_stdin)
        if problem := users.password_problem(password):
            raise CliError(f"password rejected: {problem}")
        if args.pin:
            pin = _secret("Lane PIN", args.password_stdin)
            if problem := users.pin_problem(pin):
                raise CliError(f"PIN rejected: {problem}")
    elif args.user_command == "passwd":
        password = _secret("New password", args.password_stdin)
        if problem := users.password_problem(password):
            raise CliError(f"password rejected: {problem}")
    services = _services(settings)
    sec = services.security
    try:
        if args.user_command == "add":
            assert password is not None
            pin_values: dict[str, Any] = {}
            if pin is not None:
                pin_values = {"pin_hash": sec.hash_secret(pin), "pin_lookup": sec.pin_lookup(cfg.tenant_id,
                                                                                             cfg.store_id, pin)}
            hashed = sec.hash_secret(password)
            user = services.uow.run_sync(actor, lambda u: users.add_user(
                u, username=args.username, password_hash=hashed, roles=args.roles, store_id=cfg.store_id,
                **pin_values))
            print(f"created user {user.username} with roles {', '.join(user.roles)}")
        elif args.user_command == "passwd":
            assert password is not None
            hashed = sec.hash_secret(password)
            services.uow.run_sync(actor, lambda u: users.change_user(u, username=args.username,
                                                                     password_hash=hashed))
            print(f"password changed for {args.username}; their sessions were signed out")
        elif args.user_command == "disable":
            services.uow.run_sync(actor, lambda u: users.change_user(u, username=args.username, disabled=True))
            print(f"disabled {args.username} and revoked their sessions")
    except DomainError as err:
        details = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in err.errors)
        raise CliError(err.detail + (f" ({details})" if details else "")) from None
    return 0


def cmd_keys_rotate(settings: Settings) -> int:
    from edge.adapters.security.keys import KeyStore

    store = KeyStore(settings.data_dir / "keys", keep_retired_s=settings.auth.access_ttl_s + 120).load()
    old = store.active_kid
    new = store.rotate()
    print(f"new signing key {new.kid} is active; {old} still verifies tokens for "
          f"{settings.auth.access_ttl_s + 120} s. Restart the server to sign with the new key.")
    return 0


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    from edge.contracts.metrics_tokens import FILENAME, MetricsTokens

    tokens = MetricsTokens(settings.data_dir / "keys" / FILENAME)
    if args.scrape_action == "metrics":
        token_id, token = tokens.mint(args.label)
        print(f"metrics token {token_id} ({args.label}); put it where Prometheus reads it, it is shown once:",
              file=sys.stderr)
        print(token)
    elif args.scrape_action == "list":
        for entry in tokens.list():
            print(f"{entry['id']}\t{entry['label']}\t{entry['created_at']}")
    elif not tokens.revoke(args.token_id):
        raise CliError(f"no metrics token {args.token_id!r} (see `novapos-edge token list`)")
    else:
        print(f"revoked metrics token {args.token_id}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.umask(UMASK)
    from edge.logs import configure_logging

    configure_logging("auto")  # logs go to stderr: stdout stays clean for scripts
    try:
        settings = _settings(args)
        if args.command == "serve":
            return cmd_serve(settings)
        if args.command == "migrate":
            return cmd_migrate(settings)
        if args.command == "check-config":
            return cmd_check_config(settings)
        if args.command == "user":
            return cmd_user(args, settings)
        if args.command == "keys":
            return cmd_keys_rotate(settings)
        if args.command == "token":
            return cmd_token(args, settings)
        if args.command == "relay":
            from edge.relay_main import run_relay

            return run_relay(settings)
    except (ConfigError, CliError) as err:
        print(f"novapos-edge: {err}", file=sys.stderr)
        return EXIT_USAGE
    except PermissionError as err:
        print(f"novapos-edge: permission denied: {err.filename} (run as the novapos user, or pass --data-dir)",
              file=sys.stderr)
        return EXIT_USAGE
    except OSError as err:
        print(f"novapos-edge: {err.strerror or err}: {err.filename or ''} (check --data-dir and disk space)",
              file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
