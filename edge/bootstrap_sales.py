"""Composition of the sales feature: picks the payment adapters, runs recovery on start, and
owns the background loops (reservation TTL sweeper, payment re-checks, low-stock push).

`edge.bootstrap` calls `start_sales` / `stop_sales` through its lifecycle hooks; route
handlers reach the result as `services.extras["sales"]`.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

import structlog

from edge.adapters.payments.card_terminal_setup import build_card_terminal
from edge.adapters.payments.simulated_terminal import SimulatedTerminal
from edge.api.alerts import LowStockHub
from edge.bootstrap_crypto import build_crypto, start_settlement
from edge.service import loyalty, reservations
from edge.service import policy as policies
from edge.service.orders import POLICY, SalesPolicy
from edge.service.payments import PaymentProcessor
from edge.service.ports import Actor

log = structlog.get_logger()


@dataclass
class SalesRuntime:
    terminal: Any
    provider: Any
    processor: PaymentProcessor
    alerts: LowStockHub
    policy: SalesPolicy = POLICY  # replaced whole when HQ's policy changes: readers never see half of one
    policy_in_force: policies.PolicyInForce = policies.DEFAULTS
    tasks: list[asyncio.Task] = field(default_factory=list)


def system_actor(services: Any, reason: str) -> Actor:
    cfg = services.settings.store
    return Actor.system(cfg.tenant_id, cfg.store_id, reason)


async def refresh_policy(services: Any, runtime: SalesRuntime, *, force: bool = False) -> None:
    """Follow the policy in force in the database; cheap when nothing changed (one key read)."""
    actor = system_actor(services, "policy")
    if not force and await services.uow.read(actor, policies.version_in_force) == runtime.policy_in_force.version:
        return
    current = await services.uow.read(actor, policies.in_force)
    runtime.policy, runtime.policy_in_force = policies.sales_policy(current.document), current
    log.info("policy.in_force", source=current.source, version=current.version, command_id=current.command_id)


async def start_sales(services: Any) -> None:
    settings = services.settings
    pay = settings.payments
    host = settings.server.host if settings.server.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    card = build_card_terminal(services)  # a production terminal on the LAN, when configured
    terminal = card or (getattr(services.hardware, "payment_terminal", None) if services.hardware else None) or \
        SimulatedTerminal(default=pay.simulated_card_outcome)
    crypto = build_crypto(settings, f"http://{host}:{settings.server.port}")
    services.extras["crypto"] = crypto
    provider = crypto.provider
    currency = settings.store.currency
    # A LAN terminal waits for the customer: the processor must not give up before the terminal does.
    waits = {"call_timeout_s": pay.adyen_payment_timeout_s + 15} if card else {}
    processor = PaymentProcessor(services.uow, terminal, provider, currency=currency, **waits)
    runtime = SalesRuntime(terminal=terminal, provider=provider, processor=processor,
                           alerts=LowStockHub(services.db))
    services.extras["sales"] = runtime
    start_settlement(services, runtime)
    await refresh_policy(services, runtime, force=True)
    inbox = services.extras.get("inbox")
    if inbox is not None:  # the same process applies HQ commands: follow a new policy at once
        async def _policy_applied(command: Any, outcome: str) -> None:
            if command.type == "policy.set" and outcome == "applied":
                await refresh_policy(services, runtime)

        inbox.after_commit.append(_policy_applied)
    actor = system_actor(services, "recovery")
    # Before serving: nothing is left PENDING because of a crash, and no reservation outlives its TTL.
    try:
        recovered = await asyncio.wait_for(processor.recover(actor), 15)
        if recovered:
            log.info("payments.recovered_on_start", payments=recovered)
    except TimeoutError:
        log.warning("payments.recovery_slow", message="continuing in the background")
    await services.uow.run(system_actor(services, "reservation-sweeper"), reservations.expire_due)
    runtime.tasks.append(asyncio.create_task(_sweeper(services, runtime, pay.sweep_interval_s), name="sales-sweeper"))
    runtime.tasks.append(asyncio.create_task(runtime.alerts.run(), name="low-stock-alerts"))


async def _sweeper(services: Any, runtime: SalesRuntime, every_s: float) -> None:
    sweeper = system_actor(services, "reservation-sweeper")
    recovery = system_actor(services, "recovery")
    n = 0
    while True:
        await asyncio.sleep(every_s)
        n += 1
        try:
            expired = await services.uow.run(sweeper, reservations.expire_due)
            for order_id in expired.get("orders_with_refunds", []):
                await runtime.processor.drive_order(recovery, order_id)
            if n % 5 == 0:
                await runtime.processor.recover(recovery)
            if n % 60 == 0:  # points expire by the day: an hourly-ish pass is plenty (idempotent)
                await services.uow.run(sweeper, loyalty.expire_due)
            # A separate relay process (`novapos-edge relay`) applies HQ commands to the same
            # database: pick up its policy changes here.
            await refresh_policy(services, runtime)
        except Exception:  # a background loop must keep going
            log.exception("sales.sweeper_failed")


async def stop_sales(services: Any) -> None:
    runtime: SalesRuntime | None = (services.extras or {}).get("sales")
    if runtime is None:
        return
    for task in runtime.tasks:
        task.cancel()
    for task in runtime.tasks:
        with contextlib.suppress(BaseException):
            await task
    await runtime.provider.close()
    if hasattr(runtime.terminal, "close"):
        await runtime.terminal.close()


# Registration (imported by edge.bootstrap): routes, demo stock.
import edge.adapters.tables_bopis  # noqa: E402
import edge.adapters.tables_sales  # noqa: E402, F401
from edge.api.routes import card_terminal as card_terminal_routes  # noqa: E402
from edge.api.routes import crypto as crypto_routes  # noqa: E402
from edge.api.routes import inventory as inventory_routes  # noqa: E402
from edge.api.routes import loyalty as loyalty_routes  # noqa: E402
from edge.api.routes import orders as order_routes  # noqa: E402
from edge.api.routes import payments as payment_routes  # noqa: E402
from edge.api.routes import pickups as pickup_routes  # noqa: E402
from edge.api.routes import policy as policy_routes  # noqa: E402
from edge.api.routes import reservations as reservation_routes  # noqa: E402
from edge.api.routes import settlement as settlement_routes  # noqa: E402
from edge.api.routes import tills as till_routes  # noqa: E402
from edge.demo import DEMO_HOOKS  # noqa: E402
from edge.demo_stock import seed_demo_stock  # noqa: E402

SALES_ROUTE_MODULES = [order_routes, inventory_routes, payment_routes, reservation_routes, till_routes,
                       policy_routes, crypto_routes, settlement_routes, card_terminal_routes, pickup_routes,
                       loyalty_routes]
if seed_demo_stock not in DEMO_HOOKS:
    DEMO_HOOKS.append(seed_demo_stock)
