"""Swagger UI served by the servers themselves, for both the edge and the cloud hub.

Litestar's own Swagger page loads its scripts from a CDN (blank on a store LAN without
internet) and starts them with an inline script (refused by our Content-Security-Policy).
This page loads Swagger UI from `webui/vendor/swagger-ui` (fetched from the npm registry by
`make install`, never at run time) and starts it from `webui/apidocs/swagger-init.js`.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import structlog
from litestar import Request, Router
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

log = structlog.get_logger()

VENDOR_DIR = Path(__file__).resolve().parent / "vendor" / "swagger-ui"
INIT_DIR = Path(__file__).resolve().parent / "apidocs"  # our own files for the page
ASSETS = ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css")


class LocalSwaggerUI(SwaggerRenderPlugin):
    """The Swagger page, its assets under `assets_path` on the same origin."""

    def __init__(self, assets_path: str, path: str = "/swagger") -> None:
        self.assets_path = assets_path.rstrip("/")
        super().__init__(js_url=f"{self.assets_path}/swagger-ui-bundle.js",
                         css_url=f"{self.assets_path}/swagger-ui.css",
                         standalone_preset_js_url=f"{self.assets_path}/swagger-ui-standalone-preset.js",
                         path=path, favicon="", style="")

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        e = html.escape
        spec_url = self.get_openapi_json_route(request)
        return (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{e(openapi_schema['info']['title'])}</title>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<link rel='stylesheet' href='{e(self.css_url)}'>"
            f"<script src='{e(self.js_url)}'></script>"
            f"<script src='{e(self.standalone_preset_js_url)}'></script>"
            "</head><body><div id='swagger-container'></div>"
            f"<script src='{e(self.assets_path)}/swagger-init.js' data-spec-url='{e(spec_url)}'></script>"
            "</body></html>"
        ).encode()


def swagger_assets_router(assets_path: str, **opt: Any) -> Router:
    """Static files for `LocalSwaggerUI`: the vendored Swagger UI and our initialiser."""
    missing = [name for name in ASSETS if not (VENDOR_DIR / name).is_file()]
    if missing:
        log.warning("swagger_ui.assets_missing", directory=str(VENDOR_DIR), missing=missing,
                    fix="run `make install` to fetch Swagger UI; the API itself works without it")
    return create_static_files_router(path=assets_path, directories=[VENDOR_DIR, INIT_DIR],
                                      name=f"swagger-ui-assets{assets_path.replace('/', '-')}",
                                      include_in_schema=False, opt=opt)
