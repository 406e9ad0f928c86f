"""nats-server config for one node of HQ's 3-node JetStream cluster (ARCHITECTURE.md, "HQ scaled out").

Every node runs JetStream with `sync_interval: always`: with R3 streams an event is acked once a
majority of nodes has it, and each of them has it on disk, so a node that crashes (or loses
power) loses no acknowledged event. The default interval (2 min) is how Jepsen lost acked writes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class ClusterNode:
    name: str  # unique per node, e.g. novapos-hq-1
    store_dir: str
    port: int  # clients (novapos-cloud, direct-mode stores)
    cluster_port: int  # routes between the nodes
    routes: tuple[str, ...]  # every node's route URL, e.g. nats-route://hq-1:6222 (its own is ignored)
    host: str = "0.0.0.0"
    cluster_name: str = "novapos-hq"
    leaf_port: int | None = None  # when stores run leaf nodes
    domain: str = "hub"  # the JetStream domain leaf stores' sources reach HQ through
    monitor_port: int | None = None
    accounts_include: str | None = None  # accounts mode (cloud.nats_auth), relative to this file


def render_cluster_node_config(node: ClusterNode) -> str:
    routes = ", ".join(f'"{r}"' for r in node.routes)
    leaf = f'\nleafnodes {{\n  listen: "{node.host}:{node.leaf_port}"\n}}\n' if node.leaf_port else ""
    monitor = f"http_port: {node.monitor_port}\n" if node.monitor_port else ""
    tail = f'\ninclude "{node.accounts_include}"\n' if node.accounts_include else ""
    return f"""# NovaPOS HQ cluster node {node.name} (generated; edit the source, not this file)
server_name: "{node.name}"
listen: "{node.host}:{node.port}"
{monitor}
jetstream {{
  store_dir: "{node.store_dir}"
  domain: "{node.domain}"
  sync_interval: always
}}

cluster {{
  name: "{node.cluster_name}"
  listen: "{node.host}:{node.cluster_port}"
  routes: [{routes}]
}}
{leaf}{tail}"""
