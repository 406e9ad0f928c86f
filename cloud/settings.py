"""Cloud hub settings (one Struct); flags and NOVAPOS_CLOUD_* variables fill it in cloud.cli."""

from __future__ import annotations

from pathlib import Path

import msgspec


class CloudSettings(msgspec.Struct, kw_only=True):
    db_url: str = "sqlite:///./.novapos-cloud/cloud.db"
    db_schema: str | None = None  # Postgres schema (tests use one per run)
    app_role: str = "novapos_app"  # the non-owner role RLS applies to
    nats_url: str = ""  # empty: API only, no ingest or command publishing
    host: str = "127.0.0.1"
    port: int = 8090
    demo: bool = False
    # Signing keys and metrics tokens live here (keys/, mode 0600), so a restart keeps everyone
    # logged in. Default: the SQLite database's directory, else ./.novapos-cloud.
    data_dir: str | None = None
    keys_dir: str | None = None  # default: <data_dir>/keys
    access_ttl_s: int = 900
    ingest_batch: int = 500  # per fetch and per transaction: fixed costs amortise
    transfer_timeout_s: int = 48 * 3600  # an `out` with no `in` after this becomes a conflict case
    low_stock_threshold: int = 5
    sweep_interval_s: float = 60.0
    aggregate_sync_interval_s: float = 5.0
    # Accounts mode (cloud.nats_auth): each tenant a NATS account, each store its own user.
    nats_auth_dir: str = ""  # where the hub's accounts file and HQ's account seeds live; empty: no-auth dev mode
    nats_pid_file: str = "/run/novapos/nats-hub.pid"  # SIGHUP to this pid applies the accounts file, no restart
    nats_public_url: str = ""  # the hub URL handed to enrolled stores (default: nats_url)
    nats_leaf_url: str = ""  # when set, enrolled stores run a leaf node that links here (nats-leaf://…)
    enroll_token_ttl_s: int = 3600  # how long a store enrollment token can be claimed
    # [customers]: the KEK that wraps tenant keys comes from this file, else NOVAPOS_HQ_KEK, else
    # (dev, tests, demo) a generated 0600 file <keys_dir>/customer.kek. Never from the database.
    customers_kek_file: str = ""
    customers_retention_days: int = 730  # inactive this long: their orders lose the link to them
    # Scale-out (cloud.partitions, ARCHITECTURE.md "HQ scaled out"). 1 partition: one durable, as
    # on a single machine. N > 1: the aggregate splits stores over N pinned consumers, so several
    # instances share ingest. Replicas: 3 on a 3-node cluster, so an acked event survives a node.
    ingest_partitions: int = 1
    stream_replicas: int = 1
    ingest_pin_ttl_s: float = 5.0  # a silent instance loses its partitions after this

    def resolved_data_dir(self) -> Path:
        if self.data_dir:
            return Path(self.data_dir)
        if self.db_url.startswith("sqlite:///"):
            return Path(self.db_url.removeprefix("sqlite:///")).parent
        return Path(".novapos-cloud")

    def resolved_keys_dir(self) -> Path:
        return Path(self.keys_dir) if self.keys_dir else self.resolved_data_dir() / "keys"
