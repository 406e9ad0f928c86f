"""The web apps share one copy of their helpers (webui/common), and the lane's offline shell
caches every module the lane loads: a module missing from it breaks the lane after a restart
during an outage, when the shell is all there is."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support import ROOT

WEBUI = ROOT / "webui"
APPS = [WEBUI / "lane", WEBUI / "admin", WEBUI / "hq"]
IMPORT = re.compile(r"""^\s*(?:import|export)\s[^;]*?\bfrom\s+["']([^"']+)["']""", re.MULTILINE | re.DOTALL)

# A helper defined again in an app: the ones webui/common/dom.js and money.js hold.
COPIES = {
    "$": re.compile(r"""\bconst\s+\$\s*="""),
    "el": re.compile(r"""\bfunction\s+el\s*\(|\bconst\s+el\s*="""),
    "messageOf": re.compile(r"""\bfunction\s+messageOf\s*\(|\bconst\s+messageOf\s*="""),
    "money formatting": re.compile(r"""new\s+Intl\.NumberFormat\b|\.toLocaleString\([^)]*FractionDigits"""),
    "the API client": re.compile(r"""\bfetch\s*\(\s*["'`]/api/"""),
}


def test_no_app_defines_again_a_helper_that_webui_common_holds() -> None:
    found = [f"{path.relative_to(ROOT)}: {name}"
             for app in APPS for path in sorted(app.glob("*.js")) if path.name != "sw.js"
             for name, pattern in COPIES.items() if pattern.search(path.read_text())]
    assert not found, f"defined again outside webui/common: {found}"


def url_of(module: Path) -> str:
    """The path the edge serves a module at: the lane at /, webui/common at /common/."""
    relative = module.relative_to(WEBUI)
    return "/" + str(relative.relative_to("lane")) if relative.parts[0] == "lane" else "/" + str(relative)


def lane_modules() -> set[Path]:
    """Every module the lane's page loads, following imports from app.js."""
    seen: set[Path] = set()
    todo = [WEBUI / "lane" / "app.js"]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        for spec in IMPORT.findall(module.read_text()):
            if spec.startswith("/common/"):
                target = WEBUI / spec.removeprefix("/")
            elif spec.startswith("/"):
                target = WEBUI / "lane" / spec.removeprefix("/")
            else:
                target = (module.parent / spec).resolve()
            assert target.exists(), f"{module.relative_to(ROOT)} imports {spec}, which does not exist"
            todo.append(target)
    return seen


def test_the_lane_offline_shell_caches_every_module_the_lane_loads() -> None:
    shell_list = re.search(r"const SHELL = \[(.*?)\];", (WEBUI / "lane" / "sw.js").read_text(), re.DOTALL)
    assert shell_list, "webui/lane/sw.js has no SHELL list"
    shell = set(re.findall(r"""["']([^"']+)["']""", shell_list.group(1)))
    modules = {url_of(m) for m in lane_modules()}
    assert {"/app.js", "/common/api.js", "/common/dom.js", "/common/money.js"} <= modules
    assert modules <= shell, f"not in the lane's offline shell: {sorted(modules - shell)}"
