"""The card terminal beyond a sale: cancel from the lane, the terminal's own display
notifications (the prompts the lane shows while a card payment runs), and its place in the
device list with the technician's diagnosis (used by `edge.api.routes.devices`).
"""

from __future__ import annotations

import base64
import hmac
from typing import Any

import msgspec
import structlog
from litestar import Request, Response, post
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler

from edge.api.deps import actor, services
from edge.api.guards import STORE_STAFF, requires
from edge.api.problems import problem
from edge.domain.errors import NotFound, ValidationFailed

log = structlog.get_logger()

IN_FLIGHT = ("created", "timed_out", "awaiting")


def _terminal(request: Request) -> Any:
    return services(request).extras["sales"].terminal


def terminal_notifier(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """The terminal authenticates its notifications with HTTP Basic credentials configured for it
    (a password file); nothing else may post prompts to the lanes."""
    terminal = connection.app.state.services.extras["sales"].terminal
    expected = getattr(terminal, "notify_password", None)
    if not expected:
        raise NotAuthorizedException("this store server takes no terminal notifications")
    scheme, _, credentials = connection.headers.get("authorization", "").partition(" ")
    try:
        user, _, password = base64.b64decode(credentials, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        user = password = ""
    user_ok = hmac.compare_digest(user.encode(), str(getattr(terminal, "notify_username", "")).encode())
    if scheme.lower() != "basic" or not (hmac.compare_digest(password.encode(), expected.encode()) and user_ok):
        raise NotAuthorizedException("bad terminal credentials")


@post("/api/v1/payments/adyen/display", guards=[terminal_notifier], status_code=200,
      operation_id="adyenDisplayNotification", request_max_body_size=64 * 1024,
      opt={"request_media_type": "application/json"})
async def display_notification(request: Request) -> Response:
    """A display notification from the Adyen terminal: shown on the lane whose payment it runs."""
    try:
        message = msgspec.json.decode(await request.body())
    except msgspec.DecodeError:
        return problem(400, "bad-notification", "the body is not JSON", request=request)
    if not isinstance(message, dict):
        return problem(400, "bad-notification", "the body is not a nexo message", request=request)
    prompt = _terminal(request).on_display(message)
    if prompt:
        log.info("card.prompt", kind=prompt)
    return Response(content="[accepted]", media_type="text/plain", status_code=200)


@post("/api/v1/orders/{order_id:str}/card/cancel", guards=[requires(*STORE_STAFF)], status_code=202,
      operation_id="cancelCardPayment", opt={"problems": (409,)})
async def cancel_card_payment(request: Request, order_id: str) -> Response:
    """Stop the card payment an order is waiting on. The terminal then answers the payment as
    cancelled (nothing charged); the tender request that started it returns with that outcome.
    If the card was approved before the cancel arrived, the terminal adapter reverses it."""
    s, who = services(request), actor(request)
    terminal = _terminal(request)
    payments = await s.uow.read(who, lambda u: u.payments.of_order(order_id))
    order = await s.uow.read(who, lambda u: u.orders.get(order_id))
    if order is None:
        raise NotFound("no such order", code="order-not-found")
    waiting = [p.id for p in payments if p.method == "card" and p.kind == "sale" and p.status in IN_FLIGHT]
    if not waiting:
        return problem(409, "no-card-payment-waiting", "this order is not waiting on a card payment",
                       request=request)
    if not hasattr(terminal, "abort"):
        return problem(409, "terminal-cannot-cancel", "this payment terminal cannot be stopped from the lane: "
                       "press Cancel on the terminal", request=request)
    requested = {ref: await terminal.abort(ref) for ref in waiting}
    await s.uow.run(who, lambda u: u.audit("payment.cancel_requested", "order", order_id, None,
                                           {"payments": waiting, "delivered": requested}))
    if not any(requested.values()):
        return problem(409, "terminal-unreachable", "the payment terminal did not take the cancel: press Cancel "
                       "on the terminal; the payment's outcome is checked with the terminal either way",
                       request=request)
    return Response(content={"order_id": order_id, "payments": waiting, "cancel_requested": True},
                    status_code=202)


def lan_card_terminals(s: Any) -> list[Any]:
    """The configured LAN card terminals (the simulated terminal and the hub's have none)."""
    sales = (s.extras or {}).get("sales")
    return list(getattr(getattr(sales, "terminal", None), "terminals", None) or [])


def card_terminal_devices(s: Any) -> list[dict[str, Any]]:
    """The LAN card terminals as rows of the device list, with their test action."""
    return [{"id": t.device_id, "kind": "terminal", "name": f"Card terminal {t.poiid}", "status": t.status,
             "lane_id": None, "source": "lan", "address": t.url, "actions": ["terminal_diagnostics"]}
            for t in lan_card_terminals(s)]


async def card_terminal_test(s: Any, device_id: str, action: str) -> dict[str, Any] | None:
    """The technician's terminal test: the terminal's own diagnosis (its status, PIN pad, card
    reader, printer, and whether it reaches the acquirer). None when `device_id` is not one."""
    terminal = next((t for t in lan_card_terminals(s) if t.device_id == device_id), None)
    if terminal is None:
        return None
    if action != "terminal_diagnostics":
        raise ValidationFailed(f"the card terminal has no test {action!r}", code="unsupported-action",
                               errors=[{"field": "action", "message": "terminal_diagnostics"}])
    return {"device_id": device_id, "action": action, **await terminal.diagnose()}


ROUTES = [display_notification, cancel_card_payment]
