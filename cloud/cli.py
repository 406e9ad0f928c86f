"""`novapos-cloud`: serve the HQ hub, or create an HQ user.

novapos-cloud serve --nats-url nats://127.0.0.1:4222 --db-url sqlite:///./cloud.db --port 8090 [--demo]
novapos-cloud add-user USERNAME --tenant acme --role tenant_admin   (password from NOVAPOS_PASSWORD)
novapos-cloud mfa-reset USERNAME --db-url ...    (new TOTP secret; prints its otpauth URI)
novapos-cloud leaf-config --store S --tenant T --hub nats-leaf://hub:7422 --out leaf.conf
novapos-cloud tenant create acme --admin alice [--name "Acme Retail"]   (password piped on stdin, or asked)
novapos-cloud metrics-token [--label L] | --list | --revoke ID   (the bearer token Prometheus scrapes with)
novapos-cloud enroll-token --tenant T --store S [--ttl-min 60]   (a one-time store enrollment token)
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from typing import NoReturn

from cloud import journal_cli
from cloud.partitions import with_scale_from_env
from cloud.partner_settings import PartnerSettingError, load_partner_settings
from cloud.settings import CloudSettings
from webui.slow_clients import ConnectionLimits, uvicorn_options


def _settings(args: argparse.Namespace) -> CloudSettings:
    env = os.environ.get
    return CloudSettings(
        db_url=args.db_url or env("NOVAPOS_CLOUD_DB_URL") or CloudSettings().db_url,
        db_schema=env("NOVAPOS_CLOUD_DB_SCHEMA") or None,
        nats_url=args.nats_url if args.nats_url is not None else env("NOVAPOS_CLOUD_NATS_URL", ""),
        host=args.host,
        port=args.port,
        demo=args.demo,
        data_dir=args.data_dir or env("NOVAPOS_CLOUD_DATA_DIR"),
        keys_dir=args.keys_dir,
        nats_auth_dir=args.nats_auth_dir or env("NOVAPOS_CLOUD_NATS_AUTH_DIR", ""),
        nats_pid_file=args.nats_pid_file or env("NOVAPOS_CLOUD_NATS_PID_FILE") or CloudSettings().nats_pid_file,
        nats_public_url=args.nats_public_url or env("NOVAPOS_CLOUD_NATS_PUBLIC_URL", ""),
        nats_leaf_url=args.nats_leaf_url or env("NOVAPOS_CLOUD_NATS_LEAF_URL", ""),
        customers_kek_file=args.customers_kek_file or env("NOVAPOS_CLOUD_CUSTOMERS_KEK_FILE", ""),
        customers_retention_days=_positive_int(env("NOVAPOS_CLOUD_CUSTOMERS_RETENTION_DAYS"),
                                               CloudSettings().customers_retention_days),
    )


def _positive_int(text: str | None, default: int) -> int:
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise SystemExit(f"novapos-cloud: error: expected a whole number of days, got {text!r}")
    return int(text)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line a technician can act on, no usage dump, no traceback; exit 2 as argparse does.
        self.exit(2, f"{self.prog}: error: {message}\n")


class BadSetting(ValueError):
    pass


def _check(settings: CloudSettings) -> None:
    if not settings.db_url.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise BadSetting(f"--db-url {settings.db_url!r} is not sqlite:///PATH or postgresql://USER@HOST/DB")
    if settings.nats_url and not settings.nats_url.startswith(("nats://", "tls://", "ws://", "wss://")):
        raise BadSetting(f"--nats-url {settings.nats_url!r} is not a NATS URL (example: nats://127.0.0.1:4222)")
    if not 0 < settings.port < 65536:
        raise BadSetting(f"--port {settings.port} is out of range (example: --port 8090)")
    try:
        load_partner_settings()
    except PartnerSettingError as exc:
        raise BadSetting(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="novapos-cloud")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HQ hub (API, dashboard, ingest)")
    serve.add_argument("--nats-url", default=None, help="the hub's NATS, e.g. nats://127.0.0.1:4222 "
                       "(or NOVAPOS_CLOUD_NATS_URL; empty: ingest and commands off)")
    serve.add_argument("--db-url", default=None, help="sqlite:///path or postgresql://user@host/db")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8090, help="TCP port to listen on")
    serve.add_argument("--data-dir", default=None, help="keys and metrics tokens (default: the SQLite file's directory)")
    serve.add_argument("--keys-dir", default=None, help="where the RS256 signing keys are kept (default: DATA_DIR/keys)")
    serve.add_argument("--demo", action="store_true", help="seed tenant demo and user hq / novapos-demo")
    limits = ConnectionLimits()
    serve.add_argument("--header-timeout", type=float, default=limits.header_timeout_s, metavar="S",
                       help=f"seconds for a request's headers to arrive, else 408 (default {limits.header_timeout_s:g})")
    serve.add_argument("--body-timeout", type=float, default=limits.body_timeout_s, metavar="S",
                       help=f"seconds for a request's body to arrive, else 408 (default {limits.body_timeout_s:g})")
    serve.add_argument("--max-connections", type=int, default=limits.max_connections, metavar="N",
                       help=f"open connections before new requests get 503 (default {limits.max_connections})")
    serve.add_argument("--nats-auth-dir", default=None, help="accounts mode: where the hub's accounts file is written")
    serve.add_argument("--nats-pid-file", default=None, help="the hub's pid file (SIGHUP reloads its accounts)")
    serve.add_argument("--nats-public-url", default=None, help="the hub URL enrolled stores connect to")
    serve.add_argument("--nats-leaf-url", default=None, help="enrolled stores run a leaf node linking here")
    serve.add_argument("--customers-kek-file", default=None,
                       help="the key file that wraps tenant customer keys (or NOVAPOS_CLOUD_CUSTOMERS_KEK_FILE, "
                            "or the key itself in NOVAPOS_HQ_KEK; default: a generated KEYS_DIR/customer.kek)")
    add = sub.add_parser("add-user", help="create an HQ user (password from NOVAPOS_PASSWORD)")
    add.add_argument("username", help="the new user's login name")
    add.add_argument("--tenant", required=True, help="the tenant (retailer) the user works for, e.g. acme")
    add.add_argument("--role", action="append", required=True,
                     help="hq_analyst, tenant_admin or super_admin; repeat for several")
    add.add_argument("--db-url", default=None, help="sqlite:///path or postgresql://user@host/db "
                     "(or NOVAPOS_CLOUD_DB_URL)")
    reset = sub.add_parser("mfa-reset", help="give an HQ user a new TOTP secret")
    reset.add_argument("username", help="the HQ user who lost their authenticator")
    reset.add_argument("--db-url", default=None, help="sqlite:///path or postgresql://user@host/db "
                       "(or NOVAPOS_CLOUD_DB_URL)")
    leaf = sub.add_parser("leaf-config", help="write a store leaf-node nats-server config")
    leaf.add_argument("--store", required=True, help="the store id, e.g. store-017")
    leaf.add_argument("--tenant", required=True, help="the tenant id, e.g. acme")
    leaf.add_argument("--hub", required=True, help="the hub's leafnode URL, e.g. nats-leaf://hub:7422")
    leaf.add_argument("--store-dir", default="/var/lib/novapos/jetstream", help="the leaf's JetStream directory")
    leaf.add_argument("--port", type=int, default=4222, help="the port the leaf node serves the store on")
    leaf.add_argument("--out", default="-", help="file to write (default: stdout)")
    token = sub.add_parser("enroll-token", help="mint a one-time enrollment token for a store")
    token.add_argument("--tenant", required=True, help="the tenant that owns the store, e.g. acme")
    token.add_argument("--store", required=True, help="the store id the token enrolls, e.g. store-017")
    token.add_argument("--ttl-min", type=int, default=60, help="minutes it can be claimed (1-4320)")
    token.add_argument("--db-url", default=None, help=_DB_URL_HELP)
    _tenant_parsers(sub)
    _metrics_token_parser(sub)
    journal_cli.add_parser(sub, _DB_URL_HELP)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from cloud.logs import configure_logging

    configure_logging()  # stderr: stdout carries only what a script reads (tokens, ids, URIs)
    if args.command == "metrics-token":
        return _metrics_token(args)
    if args.command == "tenant":
        return _tenant_command(args)
    if args.command == "export-journal":
        return journal_cli.run(args, CloudSettings().db_url)
    if args.command == "enroll-token":
        return asyncio.run(_enroll_token(args))
    if args.command == "serve":
        import uvicorn

        from cloud.app import create_app

        settings = _settings(args)
        try:
            settings = with_scale_from_env(settings, os.environ)
            _check(settings)
        except ValueError as exc:  # BadSetting, or a scale-out variable out of range
            parser.error(str(exc))
        if args.db_url is None and not os.environ.get("NOVAPOS_CLOUD_DB_URL"):
            os.makedirs(".novapos-cloud", exist_ok=True)
        print(f"NovaPOS cloud hub: http://{settings.host}:{settings.port}/hq/  (API /api/v1, metrics /metrics)")
        if settings.demo:
            print("demo mode: tenant 'demo', log in as hq / novapos-demo (never in production)")
        sys.stdout.flush()
        if not (0 < args.header_timeout <= 3600 and 0 < args.body_timeout <= 3600 and args.max_connections >= 8):
            parser.error("--header-timeout and --body-timeout take 0 < S <= 3600, --max-connections N >= 8")
        limits = ConnectionLimits(header_timeout_s=args.header_timeout, body_timeout_s=args.body_timeout,
                                  max_connections=args.max_connections)
        uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info",
                    **uvicorn_options(limits))
        return 0
    if args.command == "add-user":
        return asyncio.run(_add_user(args))
    if args.command == "mfa-reset":
        return asyncio.run(_mfa_reset(args))
    if args.command == "leaf-config":
        from cloud.leafnode import LeafConfig, render_leaf_config

        text = render_leaf_config(
            LeafConfig(
                store_id=args.store, tenant_id=args.tenant, hub_url=args.hub, store_dir=args.store_dir, port=args.port
            )
        )
        if args.out == "-":
            sys.stdout.write(text)
        else:
            with open(args.out, "w") as fh:
                fh.write(text)
        return 0
    return 2


async def _add_user(args: argparse.Namespace) -> int:
    import pyotp

    from cloud.auth import MFA_ROLES, AuthService, TokenKeys
    from cloud.db import CloudDB
    from cloud.schema import create_schema

    password = os.environ.get("NOVAPOS_PASSWORD")
    if not password:
        print("set NOVAPOS_PASSWORD to the new user's password", file=sys.stderr)
        return 2
    db = CloudDB(args.db_url or os.environ.get("NOVAPOS_CLOUD_DB_URL") or CloudSettings().db_url)
    await create_schema(db)
    # Admin roles need TOTP: enrol it here, so the operator hands over the URI with the password.
    secret = pyotp.random_base32() if MFA_ROLES & set(args.role) else None
    try:
        user_id = await AuthService(db, TokenKeys()).create_user(
            args.username, password, args.role, args.tenant, totp_secret=secret
        )
    except ValueError as exc:  # an unknown role
        print(f"novapos-cloud: error: {exc} (roles: hq_analyst, tenant_admin, super_admin, platform_admin)",
              file=sys.stderr)
        return 2
    finally:
        await db.close()
    print(user_id)
    if secret:
        print(pyotp.TOTP(secret).provisioning_uri(name=args.username, issuer_name="NovaPOS HQ"))
    return 0


async def _mfa_reset(args: argparse.Namespace) -> int:
    import pyotp

    from cloud.auth import AuthService, TokenKeys
    from cloud.db import CloudDB
    from cloud.schema import create_schema

    db = CloudDB(args.db_url or os.environ.get("NOVAPOS_CLOUD_DB_URL") or CloudSettings().db_url)
    await create_schema(db)
    try:
        secret = await AuthService(db, TokenKeys()).reset_totp(args.username)
    except LookupError:
        print(f"novapos-cloud: error: no HQ user {args.username!r}", file=sys.stderr)
        return 2
    finally:
        await db.close()
    print(pyotp.TOTP(secret).provisioning_uri(name=args.username, issuer_name="NovaPOS HQ"))
    return 0


# -- tenant onboarding ------------------------------------------------------------------------------
_DB_URL_HELP = "sqlite:///path or postgresql://user@host/db (or NOVAPOS_CLOUD_DB_URL)"


def _tenant_parsers(sub: argparse._SubParsersAction) -> None:
    tenant = sub.add_parser("tenant", help="onboard tenants")
    tenant_sub = tenant.add_subparsers(dest="tenant_command", required=True)
    create = tenant_sub.add_parser("create", help="a tenant with its first admin and its policy template")
    create.add_argument("tenant_id", metavar="NAME", help="the tenant id: lower-case letters, digits, dashes")
    create.add_argument("--admin", required=True, help="the first tenant_admin's username")
    create.add_argument("--name", default=None, help="display name (default: NAME)")
    create.add_argument("--db-url", default=None, help=_DB_URL_HELP)
    tenant_sub.add_parser("list", help="the tenants on this hub").add_argument("--db-url", default=None,
                                                                               help=_DB_URL_HELP)


class _Refused(Exception):
    """One line for the operator; exit 2."""


def _admin_password(username: str) -> str:
    """From stdin when piped (first line), else asked twice on the terminal; never echoed."""
    stdin = sys.stdin
    if stdin is None or stdin.closed:
        raise _Refused("no standard input: pipe the admin password in, or run in a terminal")
    try:
        if not stdin.isatty():
            line = stdin.readline()
            if not line:
                raise _Refused("expected the admin password as the first line of standard input")
            return line.rstrip("\r\n")
        first = getpass.getpass(f"Password for {username}: ")
        if getpass.getpass(f"Password for {username} again: ") != first:
            raise _Refused("the two passwords differ; nothing was created")
        return first
    except (EOFError, OSError, ValueError):
        raise _Refused("could not read the admin password from standard input") from None


def _tenant_command(args: argparse.Namespace) -> int:
    from cloud.errors import HQError

    try:
        if args.tenant_command == "list":
            return asyncio.run(_tenant_list(args))
        from cloud.tenants import name_problems, password_problem

        if problems := name_problems(args.tenant_id, args.name or args.tenant_id, args.admin):
            raise _Refused("; ".join(f"{p['field']}: {p['message']}" for p in problems))
        password = _admin_password(args.admin)
        if problem := password_problem(password, args.admin):
            raise _Refused(f"password refused: {problem}")
        return asyncio.run(_tenant_create(args, password))
    except _Refused as exc:
        print(f"novapos-cloud: error: {exc}", file=sys.stderr)
    except HQError as exc:
        print(f"novapos-cloud: error: {exc.detail}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    return 2


def _settings_for_db(args: argparse.Namespace) -> CloudSettings:
    env = os.environ.get
    return CloudSettings(db_url=args.db_url or env("NOVAPOS_CLOUD_DB_URL") or CloudSettings().db_url,
                         nats_url=env("NOVAPOS_CLOUD_NATS_URL", ""),
                         nats_auth_dir=env("NOVAPOS_CLOUD_NATS_AUTH_DIR", ""),
                         nats_pid_file=env("NOVAPOS_CLOUD_NATS_PID_FILE") or CloudSettings().nats_pid_file)


def _db(args: argparse.Namespace):
    from cloud.db import CloudDB

    return CloudDB(args.db_url or os.environ.get("NOVAPOS_CLOUD_DB_URL") or CloudSettings().db_url)


async def _tenant_create(args: argparse.Namespace, password: str) -> int:
    from cloud.app import install_tenant_hooks
    from cloud.schema import create_schema
    from cloud.tenants import NewTenant, create_tenant

    db = _db(args)
    install_tenant_hooks(_settings_for_db(args), db)
    try:
        await create_schema(db)
        new = NewTenant(args.tenant_id, args.name or args.tenant_id, args.admin, password)
        created = await create_tenant(db, new, actor=f"cli:{getpass.getuser()}")
    finally:
        await db.close()
    print(f"created tenant {created['tenant_id']} (policy version {created['policy_version']}) "
          f"with admin {args.admin}")
    print(f"give {args.admin} this authenticator URI with the password: {created['admin']['otpauth_uri']}")
    if created["setup_incomplete"]:
        print(f"warning: not finished: {', '.join(created['setup_incomplete'])} (see the log)", file=sys.stderr)
    return 0


async def _tenant_list(args: argparse.Namespace) -> int:
    from cloud.schema import create_schema
    from cloud.tenants import list_tenants

    db = _db(args)
    try:
        await create_schema(db)
        for tenant in await list_tenants(db):
            print(f"{tenant['id']}\t{tenant['name']}\t{tenant['created_at']}")
    finally:
        await db.close()
    return 0


# -- the scrape credential for /metrics -------------------------------------------------------------
def _metrics_token_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("metrics-token", help="mint, list or revoke the bearer tokens /metrics accepts")
    p.add_argument("--label", default="prometheus", help="what the token is for (shown by --list)")
    p.add_argument("--list", action="store_true", help="list the tokens (ids and labels, never the tokens)")
    p.add_argument("--revoke", metavar="ID", default=None, help="revoke a token by its id; the next scrape fails")
    p.add_argument("--data-dir", default=None, help="as given to serve (default: the SQLite file's directory)")
    p.add_argument("--keys-dir", default=None, help="as given to serve (default: DATA_DIR/keys)")
    p.add_argument("--db-url", default=None, help=_DB_URL_HELP)


def _metrics_token(args: argparse.Namespace) -> int:
    from edge.contracts.metrics_tokens import FILENAME, MetricsTokens

    settings = CloudSettings(
        db_url=args.db_url or os.environ.get("NOVAPOS_CLOUD_DB_URL") or CloudSettings().db_url,
        data_dir=args.data_dir or os.environ.get("NOVAPOS_CLOUD_DATA_DIR"),
        keys_dir=args.keys_dir,
    )
    tokens = MetricsTokens(settings.resolved_keys_dir() / FILENAME)
    try:
        if args.list:
            for entry in tokens.list():
                print(f"{entry['id']}\t{entry['label']}\t{entry['created_at']}")
            return 0
        if args.revoke:
            if not tokens.revoke(args.revoke):
                print(f"novapos-cloud: error: no metrics token {args.revoke!r} (see --list)", file=sys.stderr)
                return 2
            print(f"revoked metrics token {args.revoke}")
            return 0
        token_id, token = tokens.mint(args.label)
    except OSError as exc:
        print(f"novapos-cloud: error: {exc.strerror or exc}: {exc.filename or ''} (check --data-dir)",
              file=sys.stderr)
        return 2
    print(f"metrics token {token_id} ({args.label}); store it where Prometheus reads it, it is shown once:",
          file=sys.stderr)
    print(token)


# -- store enrollment ------------------------------------------------------------------------------
async def _enroll_token(args: argparse.Namespace) -> int:
    import re

    from cloud.db import CloudDB
    from cloud.enrollment import MAX_TTL_S, MIN_TTL_S, EnrollmentProblem, mint_token
    from cloud.schema import create_schema

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", args.store):
        print(f"novapos-cloud: error: --store {args.store!r} must be letters, digits, '-' or '_' (example: demo-001)",
              file=sys.stderr)
        return 2
    if not MIN_TTL_S <= args.ttl_min * 60 <= MAX_TTL_S:
        print(f"novapos-cloud: error: --ttl-min must be between {MIN_TTL_S // 60} and {MAX_TTL_S // 60}", file=sys.stderr)
        return 2
    db = CloudDB(args.db_url or os.environ.get("NOVAPOS_CLOUD_DB_URL") or CloudSettings().db_url)
    await create_schema(db)
    try:
        minted = await mint_token(db, args.tenant, args.store, actor="cli", ttl_s=args.ttl_min * 60)
    except EnrollmentProblem as exc:
        print(f"novapos-cloud: error: {exc}", file=sys.stderr)
        return 2
    finally:
        await db.close()
    print(minted["token"])
    print(f"store {args.store} of tenant {args.tenant}; one use, expires {minted['expires_at']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
