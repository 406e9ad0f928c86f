"""The demo store: tenant `demo`, store `demo-001`, lanes 1-3, about 200 products with EAN-13
barcodes and stock, and the users admin, manager and cashier (password `novapos-demo`, lane PIN
1234 for the cashier, supervisor PIN 2468 for the manager). Seeding is idempotent: a second
start reuses what is there."""

from __future__ import annotations

import random
from typing import Any

import structlog

from edge.adapters.security.adapter import SecurityAdapter
from edge.adapters.uow import UnitOfWorkFactory
from edge.domain.catalog import ean13
from edge.service import catalog, commands, users
from edge.service.ports import Actor

log = structlog.get_logger()

DEMO_PASSWORD = "novapos-demo"  # noqa: S105 - published demo credentials, demo mode only
DEMO_PIN = "1234"
DEMO_SUPERVISOR_PIN = "2468"  # the manager's, for overrides at the lane
DEMO_TENANT = "demo"
DEMO_STORE = "demo-001"

TAX = [
    {"code": "standard", "name": "Standard rate 8.25 %", "rate_bp": 825, "inclusive": False},
    {"code": "food", "name": "Groceries 2 %", "rate_bp": 200, "inclusive": False},
    {"code": "exempt", "name": "Exempt", "rate_bp": 0, "inclusive": False},
]

FAMILIES = [
    ("Coffee", "food", ["Espresso beans 250g", "Filter coffee 500g", "Decaf beans 250g", "Cold brew 330ml"]),
    ("Bakery", "food", ["Sourdough loaf", "Croissant", "Bagel", "Rye bread", "Muffin"]),
    ("Dairy", "food", ["Whole milk 1l", "Oat drink 1l", "Greek yoghurt 500g", "Butter 250g", "Cheddar 200g"]),
    ("Produce", "food", ["Bananas", "Apples", "Tomatoes", "Avocado", "Lemons"]),
    ("Stationery", "standard", ["A5 notebook", "Gel pen black", "Sticky notes", "Highlighter set", "Stapler"]),
    ("Household", "standard", ["Dish soap 500ml", "Sponges 3-pack", "Bin bags 20", "Kitchen roll", "Candle"]),
    ("Drinks", "standard", ["Sparkling water 1l", "Cola 330ml", "Orange juice 1l", "Iced tea 500ml"]),
    ("Books", "exempt", ["Paperback novel", "Cookbook", "Travel guide", "Children's picture book"]),
]
WEIGHED = {"Bananas", "Apples", "Tomatoes", "Lemons"}


def demo_products(count: int = 200) -> list[dict[str, Any]]:
    rng = random.Random(42)  # the same catalog on every machine
    products = []
    n = 0
    while len(products) < count:
        for family, tax, names in FAMILIES:
            for name in names:
                if len(products) >= count:
                    break
                n += 1
                variant = "" if n <= 40 else f" #{n}"
                weighed = name in WEIGHED and n <= 40
                products.append({
                    "sku": f"{family[:3].upper()}-{n:04d}",
                    "name": f"{name}{variant}",
                    "price_cents": rng.randrange(99, 2999) if not weighed else rng.randrange(149, 599),
                    "tax_category": tax,
                    "barcodes": [ean13(f"200{n:09d}")],
                    "attributes": {"family": family},
                    "sold_by_weight": weighed,
                    "low_stock_threshold": 5,
                })
    return products


def seed_demo(uow: UnitOfWorkFactory, security: SecurityAdapter, *, lanes: int = 3, store_id: str = DEMO_STORE
              ) -> bool:
    """Create the demo store (`store_id`, `demo-001` unless configured) if it is not there. Returns
    True if it seeded anything."""
    actor = Actor.system(DEMO_TENANT, store_id, "demo-seed")

    def base(u: Any) -> bool:
        return u.stores.ensure(tenant_name="NovaPOS Demo", store_id=store_id, store_name="Demo Store",
                                       timezone="UTC", day_start_hour=0, currency="USD", lanes=lanes,
                                       require_mfa=False, now=u.now)

    created = uow.run_sync(actor, base)
    if uow.db.read_sync(lambda c: c.exec_driver_sql(
            "SELECT count(*) FROM users WHERE tenant_id = ?", (DEMO_TENANT,)).scalar()):
        return created
    password_hash = security.hash_secret(DEMO_PASSWORD)
    pin_hash = security.hash_secret(DEMO_PIN)
    pin_lookup = security.pin_lookup(DEMO_TENANT, store_id, DEMO_PIN)
    supervisor_pin_hash = security.hash_secret(DEMO_SUPERVISOR_PIN)
    supervisor_pin_lookup = security.pin_lookup(DEMO_TENANT, store_id, DEMO_SUPERVISOR_PIN)

    def everything(u: Any) -> None:
        for tax in TAX:
            catalog.upsert_tax_category(u, commands.TaxCategoryFields(**tax))
        users.add_user(u, username="admin", password_hash=password_hash, roles=["tenant_admin"], store_id=store_id)
        users.add_user(u, username="manager", password_hash=password_hash, roles=["store_manager", "supervisor"],
                       store_id=store_id, pin_hash=supervisor_pin_hash, pin_lookup=supervisor_pin_lookup)
        users.add_user(u, username="cashier", password_hash=password_hash, roles=["cashier"], store_id=store_id,
                       pin_hash=pin_hash, pin_lookup=pin_lookup)
        users.add_user(u, username="tech", password_hash=password_hash, roles=["technician"], store_id=store_id)
        for product in demo_products():
            catalog.create_product(u, commands.Product(**product))
        for hook in DEMO_HOOKS:
            hook(u)

    uow.run_sync(actor, everything)
    log.info("demo.seeded", tenant=DEMO_TENANT, store=store_id, products=200)
    return True


# Later features (stock, tills) add their demo data here, inside the same seeding transaction.
DEMO_HOOKS: list[Any] = []
