"""`novapos-cloud`: serve the HQ hub, or create an HQ user.

novapos-cloud serve --nats-url nats://127.0.0.1:4222 --db-url sqlite:///./cloud.db --port 8090 [--demo]
novapos-cloud add-user USERNAME --tenant acme --role tenant_admin   (password from NOVAPOS_PASSWORD)
novapos-cloud mfa-reset USERNAME --db-url ...    (new TOTP secret; prints its otpauth URI)
novapos-cloud leaf-config --store S --tenant T --hub nats-leaf://hub:7422 --out leaf.conf
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import NoReturn

from cloud.settings import CloudSettings
from webui.slow_clients import ConnectionLimits, uvicorn_options


def _settings(args: argparse.Namespace) -> CloudSettings:
    env = os.environ.get
    return CloudSettings(
        db_url=args.db_url or env("NOVAPOS_CLOUD_DB_URL") or CloudSettings().db_url,
        nats_url=args.nats_url if args.nats_url is not None else env("NOVAPOS_CLOUD_NATS_URL", ""),
        host=args.host,
        port=args.port,
        demo=args.demo,
        keys_dir=args.keys_dir,
    )


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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="novapos-cloud")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HQ hub (API, dashboard, ingest)")
    serve.add_argument("--nats-url", default=None, help="the hub's NATS, e.g. nats://127.0.0.1:4222 "
                       "(or NOVAPOS_CLOUD_NATS_URL; empty: ingest and commands off)")
    serve.add_argument("--db-url", default=None, help="sqlite:///path or postgresql://user@host/db")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8090, help="TCP port to listen on")
    serve.add_argument("--keys-dir", default=None, help="where the RS256 signing key is kept")
    serve.add_argument("--demo", action="store_true", help="seed tenant demo and user hq / novapos-demo")
    limits = ConnectionLimits()
    serve.add_argument("--header-timeout", type=float, default=limits.header_timeout_s, metavar="S",
                       help=f"seconds for a request's headers to arrive, else 408 (default {limits.header_timeout_s:g})")
    serve.add_argument("--body-timeout", type=float, default=limits.body_timeout_s, metavar="S",
                       help=f"seconds for a request's body to arrive, else 408 (default {limits.body_timeout_s:g})")
    serve.add_argument("--max-connections", type=int, default=limits.max_connections, metavar="N",
                       help=f"open connections before new requests get 503 (default {limits.max_connections})")
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
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    if args.command == "serve":
        import uvicorn

        from cloud.app import create_app
        from cloud.logs import configure_logging

        configure_logging()
        settings = _settings(args)
        try:
            _check(settings)
        except BadSetting as exc:
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
        print(f"novapos-cloud: error: {exc} (roles: hq_analyst, tenant_admin, super_admin)", file=sys.stderr)
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


if __name__ == "__main__":
    raise SystemExit(main())
