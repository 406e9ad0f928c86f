"""nats-server configs for leaf-node mode: a store leaf per appliance, and the hub.

The store leaf runs JetStream in its own domain (= store id), so the store stream lives on the
box and survives WAN cuts; the hub's aggregate stream sources it through `$JS.<store>.API`
(cloud.streams). `sync_interval: always` because the default (2 min) loses acknowledged
writes on power loss. The store's event subjects are denied both ways on the leaf
link: they must reach the hub only by sourcing, never as core messages that a hub stream
could capture a second time (nats-server#3161).

In accounts mode the leaf link authenticates as the store's own NATS user (its nkey seed
inline, so the rendered file is a secret: 0600), and the hub applies that user's permissions
to the link (cloud.nats_auth.store_permissions). The hub config then includes the generated
accounts file and writes a pid file, through which novapos-cloud makes it reload.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.contracts.envelope import subject_for_event


@dataclass(frozen=True, kw_only=True)
class LeafConfig:
    store_id: str
    tenant_id: str
    hub_url: str  # the hub's leafnode listener, e.g. nats-leaf://hub.example:7422
    store_dir: str
    host: str = "127.0.0.1"  # the relay and edge are on the same box
    port: int = 4222
    max_store: str = "4G"
    nkey_seed: str | None = None  # the store user's seed (accounts mode); makes the file a secret


def domain_for(store_id: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in store_id)


def render_leaf_config(cfg: LeafConfig) -> str:
    events = subject_for_event(cfg.tenant_id, cfg.store_id, ">")
    creds = f'\n      nkey: "{cfg.nkey_seed}"' if cfg.nkey_seed else ""
    return f"""# NovaPOS store leaf node for {cfg.store_id} (generated; edit the source, not this file)
server_name: "novapos-{domain_for(cfg.store_id)}"
listen: "{cfg.host}:{cfg.port}"

jetstream {{
  store_dir: "{cfg.store_dir}"
  domain: "{domain_for(cfg.store_id)}"
  sync_interval: always
  max_file_store: {cfg.max_store}
}}

leafnodes {{
  reconnect: 2
  remotes: [
    {{
      url: "{cfg.hub_url}"{creds}
      deny_exports: ["{events}"]
      deny_imports: ["{events}"]
    }}
  ]
}}
"""


def render_hub_config(
    *,
    store_dir: str,
    port: int,
    leaf_port: int,
    host: str = "127.0.0.1",
    domain: str = "hub",
    server_name: str = "novapos-hub",
    accounts_include: str | None = None,
    pid_file: str | None = None,
) -> str:
    """`accounts_include` is relative to this file's directory (nats-server resolves it so)."""
    extra = f'pid_file: "{pid_file}"\n' if pid_file else ""
    tail = f'\ninclude "{accounts_include}"\n' if accounts_include else ""
    return f"""# NovaPOS cloud hub (single node; a cluster in production)
server_name: "{server_name}"
listen: "{host}:{port}"
{extra}
jetstream {{
  store_dir: "{store_dir}"
  domain: "{domain}"
  sync_interval: always
}}

leafnodes {{
  listen: "{host}:{leaf_port}"
}}
{tail}"""
