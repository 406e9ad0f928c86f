"""`novapos-cloud`: serve the HQ hub, or create an HQ user.

novapos-cloud serve --nats-url nats://127.0.0.1:4222 --db-url sqlite:///./cloud.db --port 8090 [--demo]
novapos-cloud add-user USERNAME --tenant acme --role tenant_admin   (password from NOVAPOS_PASSWORD)
novapos-cloud leaf-config --store S --tenant T --hub nats-leaf://hub:7422 --out leaf.conf
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

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
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="novapos-cloud")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HQ hub (API, dashboard, ingest)")
    serve.add_argument("--nats-url", default=None)
    serve.add_argument("--db-url", default=None, help="sqlite:///path or postgresql://user@host/db")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8090)
    serve.add_argument("--keys-dir", default=None, help="where the RS256 signing key is kept")
    serve.add_argument("--demo", action="store_true", help="seed tenant demo and user hq / novapos-demo")
    add = sub.add_parser("add-user", help="create an HQ user (password from NOVAPOS_PASSWORD)")
    add.add_argument("username")
    add.add_argument("--tenant", required=True)
    add.add_argument("--role", action="append", required=True)
    add.add_argument("--db-url", default=None)
    leaf = sub.add_parser("leaf-config", help="write a store leaf-node nats-server config")
    leaf.add_argument("--store", required=True)
    leaf.add_argument("--tenant", required=True)
    leaf.add_argument("--hub", required=True, help="the hub's leafnode URL, e.g. nats-leaf://hub:7422")
    leaf.add_argument("--store-dir", default="/var/lib/novapos/jetstream")
    leaf.add_argument("--port", type=int, default=4222)
    leaf.add_argument("--out", default="-")
    args = parser.parse_args(argv)

    if args.command == "serve":
        import uvicorn

        from cloud.app import create_app

        if args.db_url is None and not os.environ.get("NOVAPOS_CLOUD_DB_URL"):
            os.makedirs(".novapos-cloud", exist_ok=True)
        settings = _settings(args)
        uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
        return 0
    if args.command == "add-user":
        return asyncio.run(_add_user(args))
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
    from cloud.auth import AuthService, TokenKeys
    from cloud.db import CloudDB
    from cloud.schema import create_schema

    password = os.environ.get("NOVAPOS_PASSWORD")
    if not password:
        print("set NOVAPOS_PASSWORD to the new user's password", file=sys.stderr)
        return 2
    db = CloudDB(args.db_url or os.environ.get("NOVAPOS_CLOUD_DB_URL") or CloudSettings().db_url)
    await create_schema(db)
    user_id = await AuthService(db, TokenKeys()).create_user(args.username, password, args.role, args.tenant)
    await db.close()
    print(user_id)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
