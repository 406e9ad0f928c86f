"""`novapos-provision enroll`: claim an HQ enrollment token and make this box that store.

What the box receives (cloud.api.enroll) and where it goes, next to the store configuration:

    <config dir>/nats/            0700
    <config dir>/nats/store.nk    0600  the store's NATS nkey seed (accounts mode only)
    <config dir>/nats-leaf.conf   0600  the leaf node's config with its seed (leaf mode only)
    <config dir>/hq-jwks.json     0644  HQ's public signing keys
    <config dir>/policies.json    0640  the tenant's policies as HQ holds them
    <config dir>/novapos.toml     0640  store.tenant_id / store_id, sync.nats_url, credentials

Each file is written to a temporary name and renamed, and the configuration, written last, is
validated before it replaces the old one: a failure leaves the previous configuration in force.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from edge.settings import ConfigError, load_settings


class EnrollError(Exception):
    """Enrollment failed; the message is the one line the technician reads."""


@dataclass
class Enrolled:
    tenant_id: str
    store_id: str
    written: list[str] = field(default_factory=list)
    restarts: list[str] = field(default_factory=list)
    revoked: int = 0


def claim(hq_url: str, token: str, *, jetstream_dir: str, timeout_s: float = 20.0) -> dict[str, Any]:
    url = hq_url.rstrip("/") + "/api/v1/enroll"
    body = {"token": token, "jetstream_dir": jetstream_dir}
    try:
        response = httpx.post(url, json=body, timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise EnrollError(f"cannot reach HQ at {hq_url} ({type(exc).__name__}); check the URL and the network") from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.status_code != 200:
        detail = answer.get("detail") if isinstance(answer, dict) else None
        if not detail:
            raise EnrollError(f"{hq_url} did not answer like NovaPOS HQ (HTTP {response.status_code}); check the URL")
        raise EnrollError(f"enrollment refused (HTTP {response.status_code}): {detail}")
    if not isinstance(answer, dict) or not {"tenant_id", "store_id", "nats"} <= answer.keys():
        raise EnrollError(f"{hq_url} sent an enrollment answer this box does not understand; update novapos")
    return answer


def _write(path: Path, text: str, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, mode)  # the umask may have narrowed or the file pre-existed with other bits
    tmp.replace(path)


def _merge(base: dict[str, Any], extra: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for section, values in extra.items():
        out.setdefault(section, {}).update(values)
    return out


def install(answer: dict[str, Any], config: Path, *, data_dir: str | None, render: Any) -> Enrolled:
    """Write what HQ sent; `render(sections) -> str` renders the store TOML."""
    conf_dir = config.parent
    conf_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
    nats_dir = conf_dir / "nats"
    nats_dir.mkdir(exist_ok=True, mode=0o700)
    os.chmod(nats_dir, 0o700)
    done = Enrolled(tenant_id=answer["tenant_id"], store_id=answer["store_id"], revoked=answer["nats"].get("revoked", 0))
    nats = answer["nats"]
    sync: dict[str, Any] = {"nats_url": nats["url"], "hub_domain": nats.get("hub_domain") or ""}
    leaf_config = nats.get("leaf_config")
    creds = nats_dir / "store.nk"
    if nats.get("credentials"):
        _write(creds, nats["credentials"].strip() + "\n", 0o600)
        done.written.append(str(creds))
        # Behind a leaf node the link carries the credentials; the relay talks to the local leaf.
        sync["credentials"] = "" if leaf_config else str(creds)
        sync["manage_stream"] = bool(leaf_config)  # on the hub, HQ created the stream
    else:
        sync["credentials"] = ""
    if leaf_config:
        leaf_path = conf_dir / "nats-leaf.conf"
        _write(leaf_path, leaf_config, 0o600 if nats.get("credentials") else 0o640)  # it holds the seed
        done.written.append(str(leaf_path))
    for name, value, mode in (("hq-jwks.json", answer.get("jwks") or {}, 0o644),
                              ("policies.json", answer.get("policies") or {}, 0o640)):
        _write(conf_dir / name, json.dumps(value, indent=2, sort_keys=True) + "\n", mode)
        done.written.append(str(conf_dir / name))
    try:
        current = tomllib.loads(config.read_text()) if config.exists() else {}
    except tomllib.TOMLDecodeError as exc:
        raise EnrollError(f"{config} is not valid TOML ({exc}); fix or remove it, then enroll again") from None
    store = {"tenant_id": done.tenant_id, "store_id": done.store_id}
    if not current.get("store", {}).get("name"):
        store["name"] = done.store_id
    extra: dict[str, dict[str, Any]] = {"store": store, "sync": sync}
    if data_dir:
        extra["storage"] = {"data_dir": data_dir}
    text = render(_merge(current, extra), header="# NovaPOS store configuration, updated by novapos-provision enroll.")
    tmp = config.with_name(f".{config.name}.new")
    _write(tmp, text, 0o640)
    try:
        load_settings(tmp, environ={})  # validate exactly what will be read
    except ConfigError as exc:
        tmp.unlink()
        raise EnrollError(f"the updated configuration would not load ({exc}); {config} is unchanged") from None
    tmp.replace(config)
    done.written.append(str(config))
    return done


def restart_services(leaf: bool) -> list[str]:
    """Restart what reads the new files; never fails the enrollment, says what it did."""
    units = (["novapos-nats-leaf.service"] if leaf else []) + ["novapos-edge.service"]
    if shutil.which("systemctl") is None or not Path("/run/systemd/system").is_dir():
        return [f"systemd is not running here: restart {', '.join(units)} yourself"]
    said = []
    for unit in units:
        try:
            result = subprocess.run(["systemctl", "restart", unit], capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            said.append(f"{unit}: restart timed out; check `systemctl status {unit}`")
            continue
        if result.returncode == 0:
            said.append(f"restarted {unit}")
        else:
            reason = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
            said.append(f"could not restart {unit} ({reason}); restart it yourself")
    return said
