"""The architecture holds: every route is guarded, and imports follow
ARCHITECTURE.md, "Packages and their rules"; no domain module is a twin nothing runs."""

from __future__ import annotations

import ast
from pathlib import Path

from litestar.handlers import HTTPRouteHandler, WebsocketRouteHandler

ROOT = Path(__file__).resolve().parents[2]


def test_every_route_has_a_guard_or_is_explicitly_public(client):
    unguarded = []
    for route in client.app.routes:
        for handler in getattr(route, "route_handlers", []):
            if not isinstance(handler, HTTPRouteHandler | WebsocketRouteHandler):
                continue
            if getattr(handler, "http_methods", None) == {"OPTIONS"}:
                continue  # Litestar's automatic OPTIONS answer; it runs no application code
            if route.path.startswith("/api/v1/schema"):
                continue  # the OpenAPI document is public by design: it holds no data
            guards = handler.resolve_guards()
            public = handler.opt.get("public") is True
            if not guards and not public:
                unguarded.append(f"{sorted(getattr(handler, 'http_methods', ['WS']))} {route.path}")
    assert unguarded == []


def test_public_routes_are_only_the_expected_ones(client):
    public = set()
    for route in client.app.routes:
        for handler in getattr(route, "route_handlers", []):
            # The static web apps (lane at /, admin, their shared /common client) hold no data.
            if handler.opt.get("public") is True and not route.path.startswith(("/admin", "/common", "/{")) \
                    and route.path != "/":
                public.add(route.path)
    allowed = {"/api/v1/auth/login", "/api/v1/auth/pin", "/api/v1/auth/refresh", "/api/v1/auth/logout",
               "/.well-known/jwks.json", "/healthz", "/readyz", "/metrics", "/api/v1/payments/crypto/callback",
               "/api/v1/payments/webhooks/btcpay",
               "/api/v1/schema", "/manifest.webmanifest",
               "/api/v1/lanes/pair", "/api/v1/lanes/device"}  # a device claims its pairing code before any sign-in
    assert public - allowed == set()


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _violations(package: str, allowed: callable) -> list[str]:
    found = []
    for path in sorted((ROOT / package.replace(".", "/")).rglob("*.py")):
        for name in _imports(path):
            if not allowed(name):
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


STDLIB = __import__("sys").stdlib_module_names


def _top(name: str) -> str:
    return name.split(".")[0]


def test_domain_imports_only_the_standard_library_and_msgspec():
    # edge.contracts.pan is the one pure, stdlib-only card-number detector the cloud shares.
    assert _violations("edge.domain", lambda n: _top(n) in STDLIB or _top(n) == "msgspec"
                       or n.startswith("edge.domain") or n == "edge.contracts.pan") == []


def test_contracts_import_only_msgspec():
    # The one exception is edge/contracts/pii.py, the PII envelope format both ends must share:
    # it needs AES-GCM (cryptography) and E.164 numbers (phonenumbers), and nothing else does.
    found = _violations("edge.contracts", lambda n: _top(n) in STDLIB or _top(n) == "msgspec"
                        or n.startswith("edge.contracts"))
    shared_crypto = ("edge/contracts/pii.py imports cryptography", "edge/contracts/pii.py imports phonenumbers")
    assert [f for f in found if not f.startswith(shared_crypto)] == []


def test_use_cases_import_only_the_domain_and_ports():
    assert _violations("edge.service", lambda n: _top(n) in STDLIB or _top(n) in ("msgspec", "structlog")
                       or n.startswith(("edge.domain", "edge.service", "edge.contracts"))) == []


def test_cloud_imports_nothing_from_edge_but_contracts():
    assert _violations("cloud", lambda n: not n.startswith("edge") or n.startswith("edge.contracts")) == []


def test_hardware_imports_nothing_from_edge_or_cloud():
    assert _violations("hardware", lambda n: not n.startswith(("edge", "cloud"))) == []


def test_api_never_opens_a_database_session_itself():
    assert _violations("edge.api", lambda n: _top(n) != "sqlalchemy" and n != "sqlite3"
                       and not n.startswith("edge.adapters.repos")) == []


PRODUCTION = ("edge", "cloud", "hardware", "provisioning")


def _modules_imported(path: Path) -> set[str]:
    """Every module `path` imports, counting `from package import module` as that module."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _domain_modules_nothing_runs() -> list[str]:
    """Domain modules that no production code reaches: imported by no module outside the domain,
    nor by a domain module that production does reach."""
    domain = {_module_name(p): p for p in (ROOT / "edge" / "domain").glob("*.py") if p.name != "__init__.py"}
    outside = set()
    for package in PRODUCTION:
        for path in (ROOT / package).rglob("*.py"):
            if _module_name(path) not in domain:
                outside |= _modules_imported(path)
    live = {name for name in domain if name in outside}
    frontier = set(live)
    while frontier:
        reached = set().union(*(_modules_imported(domain[name]) for name in frontier)) & domain.keys()
        frontier = reached - live
        live |= frontier
    return sorted(set(domain) - live)


def test_every_domain_module_is_on_a_production_code_path():
    """A rule that only unit tests call is a twin of the one that runs: production calls the
    domain's rule, or the rule is deleted."""
    assert _domain_modules_nothing_runs() == []
