"""`novapos-cloud`: serve the HQ hub, or create an HQ user.

novapos-cloud serve --nats-url nats://127.0.0.1:4222 --db-url sqlite:///./cloud.db --port 8090 [--demo]
novapos-cloud add-user USERNAME --tenant acme --role tenant_admin   (password from NOVAPOS_PASSWORD)
novapos-cloud mfa-reset USERNAME --db-url ...    (new TOTP secret; prints its otpauth URI)
novapos-cloud leaf-config --store S --tenant T --hub nats-leaf://hub:7422 --out leaf.conf
novapos-cloud enroll-token --tenant T --store S [--ttl-min 60]   (a one-time store enrollment token)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import NoReturn

from cloud.settings import CloudSettings


def _settings(args: argparse.Namespace) -> CloudSettings:
    env = os.environ.get
    return CloudSettings(
        db_url=args.db_url or env("NOVAPOS_CLOUD_DB_URL") or CloudSettings().db_url,
        nats_url=args.nats_url if args.nats_url is not None else env("NOVAPOS_CLOUD_NATS_URL", ""),
        host=args.host,
        port=args.port,
        demo=args.demo,
        keys_dir=args.keys_dir,
        nats_auth_dir=args.nats_auth_dir or env("NOVAPOS_CLOUD_NATS_AUTH_DIR", ""),
        nats_pid_file=args.nats_pid_file or env("NOVAPOS_CLOUD_NATS_PID_FILE") or CloudSettings().nats_pid_file,
        nats_public_url=args.nats_public_url or env("NOVAPOS_CLOUD_NATS_PUBLIC_URL", ""),
        nats_leaf_url=args.nats_leaf_url or env("NOVAPOS_CLOUD_NATS_LEAF_URL", ""),
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


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="novapos-cloud")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HQ hub (API, dashboard, ingest)")
    serve.add_argument("--nats-url", default=None)
    serve.add_argument("--db-url", default=None, help="sqlite:///path or postgresql://user@host/db")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8090)
    serve.add_argument("--keys-dir", default=None, help="where the RS256 signing key is kept")
    serve.add_argument("--demo", action="store_true", help="seed tenant demo and user hq / novapos-demo")
    serve.add_argument("--nats-auth-dir", default=None, help="accounts mode: where the hub's accounts file is written")
    serve.add_argument("--nats-pid-file", default=None, help="the hub's pid file (SIGHUP reloads its accounts)")
    serve.add_argument("--nats-public-url", default=None, help="the hub URL enrolled stores connect to")
    serve.add_argument("--nats-leaf-url", default=None, help="enrolled stores run a leaf node linking here")
    add = sub.add_parser("add-user", help="create an HQ user (password from NOVAPOS_PASSWORD)")
    add.add_argument("username")
    add.add_argument("--tenant", required=True)
    add.add_argument("--role", action="append", required=True)
    add.add_argument("--db-url", default=None)
    reset = sub.add_parser("mfa-reset", help="give an HQ user a new TOTP secret")
    reset.add_argument("username")
    reset.add_argument("--db-url", default=None)
    leaf = sub.add_parser("leaf-config", help="write a store leaf-node nats-server config")
    leaf.add_argument("--store", required=True)
    leaf.add_argument("--tenant", required=True)
    leaf.add_argument("--hub", required=True, help="the hub's leafnode URL, e.g. nats-leaf://hub:7422")
    leaf.add_argument("--store-dir", default="/var/lib/novapos/jetstream")
    leaf.add_argument("--port", type=int, default=4222)
    leaf.add_argument("--out", default="-")
    token = sub.add_parser("enroll-token", help="mint a one-time enrollment token for a store")
    token.add_argument("--tenant", required=True)
    token.add_argument("--store", required=True)
    token.add_argument("--ttl-min", type=int, default=60, help="minutes it can be claimed (1-4320)")
    token.add_argument("--db-url", default=None)
    args = parser.parse_args(argv)

    if args.command == "enroll-token":
        return asyncio.run(_enroll_token(args))
    if args.command == "serve":
        import uvicorn

        from cloud.app import create_app

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
        uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
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
