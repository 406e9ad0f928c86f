"""The browser security policy of both servers (the edge and the cloud hub), applied as one ASGI
wrapper around the whole app, so that 404s, static files, problem+json errors and the API
documentation carry it as well as the routes.

It lives beside the web apps because it describes what they need, and because the two servers
may not import each other (the cloud takes nothing from `edge` but its contracts).

What the web apps need, and why each source is allowed:
- scripts and styles: only the servers' own files. No inline script, no inline handler, no
  `style` attribute anywhere in `webui` (elements are styled through classes or the CSSOM,
  which CSP does not restrict).
- third-party browser libraries (Swagger UI, the HQ dashboard's ECharts) are files of our own
  origin too, fetched at install time into `webui/vendor` (`webui/vendor_assets.py`), so
  `script-src 'self'` covers them; ECharts draws on a canvas and styles its elements through
  the CSSOM, which the policy allows, and its tooltips are built without inline handlers.
- `connect-src 'self'`: the API and the lane's event WebSocket (CSP 3 lets 'self' match ws:
  and wss: on the same host and port).
- `img-src 'self' data:`: icons and QR codes rendered as data: URLs.
- receipts are shown in `<iframe sandbox srcdoc=…>`: a srcdoc frame inherits this policy, so
  receipt HTML may not run script or carry inline styles either, and the sandbox keeps it
  from touching the app even if it tried. No other frame may be loaded (`frame-src 'none'`)
  and no page of ours may be framed (`frame-ancestors 'none'`, plus X-Frame-Options for
  older browsers).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "frame-src 'none'",
    "worker-src 'self'",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
_NAMES = {name for name, _ in SECURITY_HEADERS}


def security_headers(app: ASGIApp) -> ASGIApp:
    """Wrap an ASGI app so that every HTTP response carries the security headers (a route
    that sets one of them itself is overridden: the policy is decided here, once)."""

    async def wrapped(scope: Scope, receive: Callable[[], Awaitable[Message]],
                      send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(n, v) for n, v in message.get("headers", ()) if n.lower() not in _NAMES]
                message["headers"] = [*kept, *SECURITY_HEADERS]
            await send(message)

        await app(scope, receive, send_with_headers)

    return wrapped
