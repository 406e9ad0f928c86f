"""Third-party browser libraries served from `webui/vendor/<name>` at `/vendor/<name>/`.

They come from the npm registry at install time (`make install`, pinned in the Makefile) and
never from a CDN at run time: a store LAN or a locked-down HQ network has none, and the
Content-Security-Policy (`webui/security_headers.py`) allows scripts from our own origin only.
The wheel does not carry them; a server started without them logs how to fetch them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import structlog
from litestar import Router
from litestar.static_files import create_static_files_router

log = structlog.get_logger()

VENDOR_ROOT = Path(__file__).resolve().parent / "vendor"


def vendor_router(name: str, **opt: Any) -> Router:
    directory = VENDOR_ROOT / name
    if not directory.is_dir():
        log.warning("webui.vendor_missing", library=name, directory=str(directory),
                    fix="run `make install` to fetch it from the npm registry")
    return create_static_files_router(path=f"/vendor/{name}", directories=[directory], name=f"vendor-{name}",
                                      include_in_schema=False, opt=opt)
