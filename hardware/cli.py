"""``novapos-hardware``: simulate a store's devices, serve the hub, list devices.

    novapos-hardware simulate [--lanes 3] [--data-dir DIR] [--pty] [--format toml|json]
    novapos-hardware serve [--config novapos.toml | --simulate [--lanes 3]] [--host 127.0.0.1] [--port 8765]
    novapos-hardware devices [--config novapos.toml | --simulate] [--json]
    novapos-hardware scan FIFO BARCODE [--layout us]     type into a simulated scanner

stdout carries only what the command is for (the config, the device list); logs go to
stderr. Bad arguments give one line and exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import logging
import os
import signal
import sys
from typing import Any, NoReturn

import msgspec
import structlog

from hardware.errors import ConfigError, HardwareError

PROG = "novapos-hardware"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"{PROG}: error: {message} (try {PROG} --help)", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="NovaPOS hardware hub")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    simulate = commands.add_parser("simulate", help="start simulated devices and print their config")
    simulate.add_argument("--lanes", type=_lanes, default=3, help="how many lanes of devices to simulate (1-50)")
    simulate.add_argument("--data-dir", default=os.environ.get("NOVAPOS_DATA_DIR", ".novapos-demo") + "/hardware",
                          help="where the simulators keep their print-job journal")
    simulate.add_argument("--pty", action="store_true", help="put the scales on socat PTYs instead of TCP")
    simulate.add_argument("--format", choices=("toml", "json"), default="toml",
                          help="format of the hub config printed on stdout")

    serve = commands.add_parser("serve", help="run the hub as an HTTP service")
    _source_arguments(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=_port, default=8765, help="TCP port to listen on")
    serve.add_argument("--token-env", default="NOVAPOS_HARDWARE_TOKEN",
                       help="environment variable holding the bearer token clients must send")

    devices = commands.add_parser("devices", help="list devices with their status and lane")
    _source_arguments(devices)
    devices.add_argument("--json", action="store_true", help="print the list as JSON")

    scan = commands.add_parser("scan", help="type a barcode into a simulated scanner FIFO")
    scan.add_argument("fifo", help="the simulated scanner's FIFO (from simulate's config)")
    scan.add_argument("barcode", help="the code to type")
    scan.add_argument("--layout", default="us", choices=("us", "de"), help="keyboard layout the scanner emulates")
    return parser


def _source_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--config", help="TOML file with a [hardware] section")
    source.add_argument("--simulate", action="store_true", help="use simulated devices")
    parser.add_argument("--lanes", type=_lanes, default=3, help="lanes to simulate without --config (1-50)")
    parser.add_argument("--data-dir", default=None, help="where the hub keeps its print-job journal")


def _lanes(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 50:
        raise argparse.ArgumentTypeError(f"lanes must be a number from 1 to 50, not {text!r}")
    return int(text)


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 1-65535, not {text!r}")
    return int(text)


def _configure_logging() -> None:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging()
    try:
        # python-escpos prints "Using hardware barcode renderer" on stdout; stdout is ours.
        return asyncio.run(_COMMANDS[args.command](args))
    except (ConfigError, HardwareError, OSError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


async def _simulate(args: argparse.Namespace) -> int:
    from hardware.simulators.store import SimulatedStore

    store = await SimulatedStore(args.lanes, args.data_dir, use_pty=args.pty).start()
    try:
        config = store.hub_config()
        print(json.dumps({"hardware": config}, indent=2) if args.format == "json" else to_toml(config), flush=True)
        print(f"{PROG}: {args.lanes} simulated lanes running; Ctrl-C stops them", file=sys.stderr)
        await _until_signalled()
    finally:
        await store.stop()
    return 0


async def _hub(args: argparse.Namespace) -> Any:
    from hardware.config import HubConfig
    from hardware.service import HardwareHub

    if args.config:
        config = HubConfig.from_toml(args.config)
        if args.data_dir:
            config = msgspec.structs.replace(config, data_dir=args.data_dir)
        hub = HardwareHub(config)
        with _quiet_stdout():
            await hub.start()
        return hub
    data_dir = args.data_dir or os.environ.get("NOVAPOS_DATA_DIR", ".novapos-demo") + "/hardware"
    if not args.simulate:
        # Said out loud: a technician looking for the real printer must not read a simulator's status.
        print(f"{PROG}: no --config given: using simulated devices for {args.lanes} lane(s) "
              "(pass --config FILE for the real ones, or --simulate to silence this)", file=sys.stderr)
    with _quiet_stdout():
        return await HardwareHub.simulated(lanes=args.lanes, data_dir=data_dir)


async def _devices(args: argparse.Namespace) -> int:
    hub = await _hub(args)
    try:
        devices = await hub.devices()
    finally:
        with _quiet_stdout():
            await hub.stop()
    if args.json:
        print(msgspec.json.encode({"items": devices}).decode())
    else:
        print(f"{'ID':<40} {'KIND':<9} {'STATUS':<12} {'LANE':<5} NAME")
        for d in devices:
            print(f"{d.id:<40} {d.kind:<9} {d.status:<12} {d.lane_id or '-':<5} {d.name}")
    return 0


async def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from hardware.server import create_app

    server_class = _server_class()
    hub = await _hub(args)
    try:
        app = create_app(hub, token=os.environ.get(args.token_env) or None)
        server = server_class(uvicorn.Config(app, host=args.host, port=args.port, log_level="warning",
                                            timeout_graceful_shutdown=2))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
        print(f"{PROG}: serving on http://{args.host}:{args.port}/api/v1", file=sys.stderr)
        await server.serve()
    finally:
        await hub.stop()
    return 0


def _server_class() -> type:
    import uvicorn

    class Server(uvicorn.Server):
        # uvicorn re-raises SIGTERM after its own shutdown, which would kill the process
        # before the hub closes its journal and devices; we handle the signals instead.
        @contextlib.contextmanager
        def capture_signals(self):  # type: ignore[no-untyped-def]
            yield

    return Server


async def _scan(args: argparse.Namespace) -> int:
    from hardware.simulators.scanner import write_barcode_to_fifo

    write_barcode_to_fifo(args.fifo, args.barcode, args.layout)
    return 0


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


@contextlib.contextmanager
def _quiet_stdout():  # type: ignore[no-untyped-def]
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def to_toml(config: dict[str, Any], section: str = "hardware") -> str:
    """Just enough TOML for a hub config: scalars, one nested table, arrays of tables."""
    lines = [f"[{section}]"]
    tables: list[str] = []
    for key, value in config.items():
        if isinstance(value, dict) and key == "lanes":
            for lane_id, lane in value.items():
                tables += ["", f'[{section}.lanes."{lane_id}"]'] + [f"{k} = {_toml(v)}" for k, v in lane.items()]
        elif isinstance(value, dict):
            tables += ["", f"[{section}.{key}]"] + [f"{k} = {_toml(v)}" for k, v in value.items()]
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for item in value:
                tables += ["", f"[[{section}.{key}]]"] + [f"{k} = {_toml(v)}" for k, v in item.items()]
        else:
            lines.append(f"{key} = {_toml(value)}")
    return "\n".join(lines + tables) + "\n"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


_COMMANDS = {"simulate": _simulate, "serve": _serve, "devices": _devices, "scan": _scan}

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
