"""Demo stock: every demo product gets stock at the store (weighed products in grams)."""

from __future__ import annotations

import random
from typing import Any

from edge.service import inventory
from edge.service.commands import Moved


def seed_demo_stock(uow: Any) -> None:
    rng = random.Random(7)
    products = uow.stock.inventory(inventory.location(uow), limit=10_000)
    weighed = {p.id for p in uow.sale_products.resolve(
        ids=[p.product_id for p in products], skus=[], barcodes=[]).values() if p.sold_by_weight}
    items = [Moved(product_id=p.product_id, quantity=rng.randrange(20_000, 100_000)
                             if p.product_id in weighed else rng.randrange(50, 201))
             for p in products]
    if items:
        inventory.receive(uow, "demo-seed", items)
