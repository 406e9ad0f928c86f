"""Import rules from ARCHITECTURE.md ("Packages and their rules"), checked by walking the AST of every hardware module."""

from __future__ import annotations

import ast
from pathlib import Path

import hardware

ROOT = Path(hardware.__file__).parent


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_hardware_imports_nothing_from_edge_or_cloud():
    offenders = {str(path.relative_to(ROOT)): name for path in ROOT.rglob("*.py") for name in imports_of(path)
                 if name.split(".")[0] in ("edge", "cloud")}
    assert offenders == {}


def test_codecs_are_pure_no_io_no_asyncio_no_transports():
    forbidden = ("asyncio", "socket", "serial", "hardware.transports", "hardware.drivers", "sqlite3", "time")
    offenders = {str(path.name): name for path in (ROOT / "codecs").glob("*.py") for name in imports_of(path)
                 if name in forbidden or name.startswith(forbidden)}
    assert offenders == {}


def test_drivers_do_not_depend_on_simulators_or_the_service():
    offenders = {str(path.name): name for path in (ROOT / "drivers").glob("*.py") for name in imports_of(path)
                 if name.startswith(("hardware.simulators", "hardware.service", "hardware.registry"))}
    assert offenders == {}
