"""`novapos-provision`: what a field technician runs to commission and look after a store box.

    novapos-provision init --tenant T --store S [--name N] [--timezone Z] [--nats-url U] [--out F]
    novapos-provision install-units [--root DIR] [--enable]
    novapos-provision doctor [--config F]
    novapos-provision devices
    novapos-provision backup --out FILE [--config F]
    novapos-provision restore FILE [--config F]
    novapos-provision ticket [--config F]
    novapos-provision enroll --hq URL --token TOKEN [--config F] [--data-dir D] [--no-restart]

Every problem a technician can fix prints one line saying what to do and exits 2.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from edge.settings import ConfigError, Settings, load_settings
from provisioning import backup, checks, enroll

UNITS_DIR = Path(__file__).resolve().parent.parent / "systemd"
DEFAULT_CONFIG = Path("/etc/novapos/novapos.toml")


class ProvisionError(Exception):
    pass


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_config(sections: dict[str, Any], *, header: str = "# NovaPOS store configuration, written by novapos-provision init.") -> str:
    lines = [header, ""]
    top = {k: v for k, v in sections.items() if not isinstance(v, dict)}
    lines += [f"{key} = {_toml_value(value)}" for key, value in top.items() if value is not None]
    if top:
        lines.append("")
    for section, values in sections.items():
        if not isinstance(values, dict):
            continue
        lines.append(f"[{section}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in values.items() if value is not None]
        lines.append("")
    return "\n".join(lines)


def cmd_init(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.exists() and not args.force:
        raise ProvisionError(f"{out} exists; pass --force to replace it")
    sections: dict[str, dict[str, Any]] = {
        "server": {"host": args.host, "port": args.port},
        "storage": {"data_dir": args.data_dir},
        "store": {"tenant_id": args.tenant, "store_id": args.store, "name": args.name or args.store,
                  "timezone": args.timezone, "day_start_hour": args.day_start_hour, "currency": args.currency,
                  "lanes": args.lanes},
        "sync": {"nats_url": args.nats_url or ""},
        "hardware": {"mode": "embedded"},
    }
    text = render_config(sections)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(text)
    try:
        load_settings(tmp, environ={})  # validate exactly what will be read
    except ConfigError:
        tmp.unlink()
        raise
    tmp.replace(out)
    print(f"wrote {out}")
    return 0


def cmd_install_units(args: argparse.Namespace) -> int:
    root = Path(args.root)
    target = root / "etc/systemd/system"
    target.mkdir(parents=True, exist_ok=True)
    installed = []
    for unit in sorted(UNITS_DIR.glob("*.service")):
        shutil.copy2(unit, target / unit.name)
        installed.append(unit.name)
    print(f"installed {', '.join(installed)} into {target}")
    if args.enable:
        if root != Path("/"):
            raise ProvisionError("--enable works only with --root / (it runs systemctl on this machine)")
        subprocess.run(["systemctl", "daemon-reload"], check=True)
        subprocess.run(["systemctl", "enable", "--now", "novapos-edge.service"], check=True)
        print("enabled and started novapos-edge.service")
    return 0


def _config(args: argparse.Namespace) -> str | None:
    config = args.config or os.environ.get("NOVAPOS_CONFIG") or (str(DEFAULT_CONFIG) if DEFAULT_CONFIG.exists()
                                                                   else None)
    if config and Path(config).is_dir():
        raise ProvisionError(f"--config {config} is a directory; pass the TOML file (example: --config "
                             f"{DEFAULT_CONFIG})")
    return config


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {"storage": {"data_dir": args.data_dir}} if getattr(args, "data_dir", None) else {}
    return load_settings(_config(args), overrides=overrides)


def _store_configured(config: str | None) -> bool:
    import tomllib

    if not config or not Path(config).is_file():
        return False
    with open(config, "rb") as fh:
        store = tomllib.load(fh).get("store", {})
    return "tenant_id" in store and "store_id" in store


def run_checks(settings: Settings, config: str | None = None) -> list[checks.Check]:
    from edge.adapters.migrations import head_revision

    return [
        checks.configuration(Path(config) if config else None, _store_configured(config)),
        checks.data_dir_writable(settings.data_dir),
        checks.disk_space(settings.data_dir),
        checks.clock(),
        checks.database(settings.db_path, head_revision()),
        checks.nats_link(settings.sync.nats_url),
        checks.mdns(),
    ]


def cmd_doctor(args: argparse.Namespace) -> int:
    """Looks, never changes: exit 1 with what to do when anything fails."""
    results = run_checks(_settings(args), _config(args))
    for check in results:
        print(f"{check.verdict:<5} {check.name:<18} {check.detail}")
    failed = [c for c in results if not c.ok and not c.warning]
    print(f"{len(failed)} problem(s)" if failed else "all checks passed")
    return 1 if failed else 0


def cmd_devices(args: argparse.Namespace) -> int:
    from hardware.discovery import scan_input, scan_serial

    found = scan_serial(args.serial_dir) + scan_input(args.input_dir)
    if not found:
        print("no serial or input devices found (network printers are configured, not detected here)")
    for device in found:
        support = "" if device.supported else "  (unsupported: listed only)"
        print(f"{device.kind:<9} {device.id:<60} {device.name}{support}")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    out = backup.create_backup(_settings(args).data_dir, Path(args.out))
    print(f"backup written to {out}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    settings = _settings(args)
    backup.restore_backup(Path(args.archive), settings.data_dir)
    print(f"restored {args.archive} into {settings.data_dir}; the previous files are kept as *.before-restore")
    return 0


def cmd_ticket(args: argparse.Namespace) -> int:
    settings = _settings(args)
    results = run_checks(settings, _config(args))
    store = settings.store
    width = 42
    lines = ["NOVAPOS COMMISSIONING".center(width), "=" * width,
             f"tenant   {store.tenant_id}", f"store    {store.store_id} ({store.name})",
             f"lanes    {store.lanes}", f"tz       {store.timezone}, day starts {store.day_start_hour:02d}:00",
             f"sync     {settings.sync.nats_url or 'off'}", "-" * width]
    lines += [f"{c.verdict:<5}{c.name}" for c in results]
    lines += ["-" * width, "technician: ____________________", "signature:  ____________________"]
    print("\n".join(lines))
    return 0


def cmd_enroll(args: argparse.Namespace) -> int:
    if not args.hq.startswith(("http://", "https://")):
        raise ProvisionError(f"--hq {args.hq!r} is not an HQ URL (example: --hq https://hq.example.com)")
    if args.hq.startswith("http://") and not args.hq.startswith(("http://127.", "http://localhost")):
        print("novapos-provision: warning: --hq is not https; the store's credentials cross the network in clear",
              file=sys.stderr)
    config = Path(args.config)
    jetstream = str(Path(args.data_dir or "/var/lib/novapos").resolve() / "jetstream")
    answer = enroll.claim(args.hq, args.token, jetstream_dir=jetstream)
    done = enroll.install(answer, config, data_dir=args.data_dir, render=render_config)
    print(f"enrolled as store {done.store_id} of tenant {done.tenant_id}")
    for path in done.written:
        print(f"  wrote {path}")
    if done.revoked:
        print(f"  HQ revoked the NATS credentials of the box this one replaces ({done.revoked})")
    if args.no_restart:
        print("  not restarting services (--no-restart): restart novapos-edge to start replicating")
    else:
        for line in enroll.restart_services(leaf=bool(answer["nats"].get("leaf_config"))):
            print(f"  {line}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="novapos-provision", description="commission and look after a store box")
    sub = parser.add_subparsers(dest="command", required=True)

    init = sub.add_parser("init", help="write the store configuration")
    init.add_argument("--tenant", required=True, help="the tenant (retailer) id HQ gave you, e.g. acme")
    init.add_argument("--store", required=True, help="this store's id, e.g. store-017")
    init.add_argument("--name", help="the store's display name on receipts and at HQ (default: the store id)")
    init.add_argument("--timezone", default="UTC", help="IANA time zone for business days, e.g. Europe/Berlin")
    init.add_argument("--day-start-hour", type=int, default=0,
                      help="hour (0-23) the business day starts; a sale before it counts for the day before")
    init.add_argument("--currency", default="USD", help="ISO 4217 currency code, e.g. EUR")
    init.add_argument("--lanes", type=int, default=3, help="number of checkout lanes (1-64)")
    init.add_argument("--nats-url", help="replication link, e.g. nats://127.0.0.1:4222 (the leaf node); "
                                         "omit to keep replication off")
    init.add_argument("--host", default="0.0.0.0", help="address the store server listens on (0.0.0.0: the LAN)")
    init.add_argument("--port", type=int, default=8080, help="TCP port of the store server")
    init.add_argument("--data-dir", default="/var/lib/novapos", help="where the database, keys and backups live")
    init.add_argument("--out", default=str(DEFAULT_CONFIG), help="the configuration file to write")
    init.add_argument("--force", action="store_true", help="replace an existing configuration file")

    units = sub.add_parser("install-units", help="copy the systemd units (and enable the edge)")
    units.add_argument("--root", default="/", help="file system root to install into (/ on the box itself)")
    units.add_argument("--enable", action="store_true", help="also enable and start novapos-edge (only with --root /)")

    for name, text in (("doctor", "check the box (changes nothing)"), ("ticket", "print a commissioning ticket")):
        p = sub.add_parser(name, help=text)
        _config_args(p)

    devices = sub.add_parser("devices", help="list connected serial and input devices")
    devices.add_argument("--serial-dir", default="/dev/serial/by-id", help="where serial devices are listed")
    devices.add_argument("--input-dir", default="/dev/input/by-id", help="where input devices are listed")

    bk = sub.add_parser("backup", help="back up the database and keys")
    bk.add_argument("--out", required=True, help="the archive to write, e.g. /media/usb/store-017.tar.gz")
    _config_args(bk)

    en = sub.add_parser("enroll", help="join this box to HQ with an enrollment token")
    en.add_argument("--hq", required=True, help="HQ's URL, e.g. https://hq.example.com")
    en.add_argument("--token", required=True, help="the one-time token from HQ (novapos-cloud enroll-token)")
    en.add_argument("--config", default=str(DEFAULT_CONFIG))
    en.add_argument("--data-dir")
    en.add_argument("--no-restart", action="store_true", help="write the files, restart nothing")

    rs = sub.add_parser("restore", help="restore a backup (stop novapos-edge first)")
    rs.add_argument("archive", help="a .tar.gz written by novapos-provision backup")
    _config_args(rs)
    return parser


def _config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help=f"the store configuration (default: NOVAPOS_CONFIG, then {DEFAULT_CONFIG})")
    p.add_argument("--data-dir", help="the data directory, if not the configured one")


COMMANDS = {"enroll": cmd_enroll, "init": cmd_init, "install-units": cmd_install_units, "doctor": cmd_doctor, "devices": cmd_devices,
            "backup": cmd_backup, "restore": cmd_restore, "ticket": cmd_ticket}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.umask(0o027)  # configuration, backups and restored databases are not world-readable
    try:
        return COMMANDS[args.command](args)
    except (ConfigError, ProvisionError, backup.BackupError, enroll.EnrollError) as err:
        print(f"novapos-provision: {err}", file=sys.stderr)
        return 2
    except PermissionError as err:
        print(f"novapos-provision: permission denied: {err.filename} (run with sudo)", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as err:
        print(f"novapos-provision: {' '.join(err.cmd)} failed with exit code {err.returncode}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
