"""Products, tax categories, store price overrides and the catalog CSV import."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, patch, post, put
from litestar.params import Parameter

from edge.adapters.catalog_import_worker import validate_in_child
from edge.api.deps import actor, check_limit, decode_cursor, encode_cursor, services
from edge.api.guards import AUDIT_READ, CATALOG_READ, CATALOG_WRITE, MANAGERS, TENANT_ADMIN, requires
from edge.api.limits import (
    MAX_CSV_BYTES,
    MAX_DB_INT,
    Barcode,
    Code,
    Name,
    Sku,
    StockUnits,
    Timestamp,
)
from edge.api.route_handlers import get
from edge.bootstrap_imports import catalog_imports_of
from edge.domain.errors import ValidationFailed
from edge.service import catalog, catalog_import_jobs, commands

Attributes = dict[Annotated[str, msgspec.Meta(max_length=64)], Any]  # depth and size: edge.domain.catalog
Barcodes = Annotated[list[Barcode], msgspec.Meta(max_length=20)]


class ProductBody(msgspec.Struct, forbid_unknown_fields=True):
    sku: Sku
    name: Name
    price_cents: int  # range checked with the other fields by edge.domain.catalog (one 422 lists all)
    tax_category: Code
    barcodes: Barcodes = []
    active: bool = True
    attributes: Attributes = {}
    sold_by_weight: bool = False
    low_stock_threshold: StockUnits = 0


class ProductPatch(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    sku: Sku | msgspec.UnsetType = msgspec.UNSET
    name: Name | msgspec.UnsetType = msgspec.UNSET
    price_cents: int | msgspec.UnsetType = msgspec.UNSET
    tax_category: Code | msgspec.UnsetType = msgspec.UNSET
    barcodes: Barcodes | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET
    attributes: Attributes | msgspec.UnsetType = msgspec.UNSET
    sold_by_weight: bool | msgspec.UnsetType = msgspec.UNSET
    low_stock_threshold: StockUnits | msgspec.UnsetType = msgspec.UNSET


class TaxCategoryBody(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    rate_bp: int  # 0-10000, checked by edge.domain.pricing.TaxCategory
    inclusive: bool = False


class OverrideBody(msgspec.Struct, forbid_unknown_fields=True):
    price_cents: int  # range checked by edge.domain.catalog
    valid_from: Timestamp | None = None
    valid_to: Timestamp | None = None


@get("/api/v1/products", guards=[requires(*CATALOG_READ)], operation_id="listProducts")
async def list_products(
    request: Request,
    q: Annotated[str | None, Parameter(max_length=100)] = None,
    barcode: Annotated[str | None, Parameter(max_length=48)] = None,
    sku: Annotated[str | None, Parameter(max_length=64)] = None,
    since: Annotated[int | None, Parameter(ge=0, le=MAX_DB_INT)] = None,
    cursor: str | None = None,
    limit: int = 50,
    include_inactive: bool = False,
) -> dict[str, Any]:
    s, who = services(request), actor(request)
    check_limit(limit)
    after = decode_cursor(cursor, tuple[int | str, str])  # (sku or catalog version, id)

    def query(uow: Any) -> tuple[list[catalog.ProductView], Any]:
        return catalog.search_products(uow, q=q, sku=sku, barcode=barcode, since=since,
                                       after=tuple(after) if after else None, limit=limit,
                                       include_inactive=include_inactive)

    # A barcode or SKU lookup is one indexed read: run it on the loop, skip the thread hop.
    if (barcode or sku) and not q and since is None:
        items, next_after = s.uow.read_now(who, query)
    else:
        items, next_after = await s.uow.read(who, query)
    result: dict[str, Any] = {"items": items, "next_cursor": encode_cursor(next_after)}
    if since is not None:
        result["catalog_version"] = max([since, *(i.version for i in items)])
    return result


@get("/api/v1/products/{product_id:str}", guards=[requires(*CATALOG_READ)], operation_id="getProduct")
async def get_product(request: Request, product_id: str) -> catalog.ProductView:
    return await services(request).uow.read(actor(request), lambda u: catalog.get_product(u, product_id))


@post("/api/v1/products", guards=[requires(*CATALOG_WRITE)], operation_id="createProduct")
async def create_product(request: Request, data: ProductBody) -> Response:
    s, who = services(request), actor(request)
    return await s.idempotency.run(request, who, lambda u: catalog.create_product(u, data), required=False)


@patch("/api/v1/products/{product_id:str}", guards=[requires(*CATALOG_WRITE)], operation_id="updateProduct")
async def update_product(request: Request, product_id: str, data: ProductPatch) -> catalog.ProductView:
    s, who = services(request), actor(request)
    expected = request.headers.get("if-match")
    expected_version = int(expected.strip('"')) if expected and expected.strip('"').isdigit() else None
    return await s.uow.run(who, lambda u: catalog.update_product(u, product_id, data,
                                                                expected_version=expected_version))


@get("/api/v1/products/{product_id:str}/audit", guards=[requires(*AUDIT_READ)], operation_id="productAudit")
async def product_audit(request: Request, product_id: str, limit: int = 100) -> dict[str, Any]:
    from edge.api.routes.audit import present_audit

    s, who = services(request), actor(request)
    check_limit(limit)
    await s.uow.read(who, lambda u: catalog.get_product(u, product_id))  # 404 for another tenant's product
    rows = await s.uow.read(who, lambda u: u.audit_log.query(entity="product", entity_id=product_id,
                                                                  limit=limit))
    return {"items": [present_audit(r) for r in rows]}


@post("/api/v1/products/import", guards=[requires(*CATALOG_WRITE)], operation_id="importProducts", status_code=200,
      opt={"request_media_type": "text/csv"},
      request_max_body_size=MAX_CSV_BYTES)
async def import_products(request: Request) -> Response:
    """A small file is imported at once (200 with the report). A large one is validated whole,
    then applied in chunks by a job (202 with the job and its Location), so the lanes keep selling."""
    s, who = services(request), actor(request)
    raw = await request.body()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed("the CSV file must be UTF-8 encoded", code="csv-invalid") from None
    # Every row checked off the writer: a bad file is refused whole, changing nothing. A file
    # too long to be imported at once is checked in a child process, off the server's GIL.
    rows: Sequence[catalog.CsvProduct]
    if text.count("\n") > catalog_import_jobs.SYNC_MAX_ROWS + 1:
        rows = await validate_in_child(s.settings.db_path, who, text)
    else:
        rows = await s.uow.read(who, lambda u: catalog.validate_catalog_csv(u, text))
    if len(rows) <= catalog_import_jobs.SYNC_MAX_ROWS:
        return await s.idempotency.run(request, who, lambda u: catalog.import_catalog_csv(u, text),
                                       status_code=200, required=False)
    job = await catalog_imports_of(s).submit(who, text, rows)
    return Response(job, status_code=202, headers={"Location": f"/api/v1/products/imports/{job.id}"})


@get("/api/v1/products/imports/{job_id:str}", guards=[requires(*CATALOG_READ)], operation_id="getProductImport")
async def get_import(request: Request, job_id: str) -> catalog_import_jobs.ImportJobView:
    return await services(request).uow.read(actor(request), lambda u: catalog_import_jobs.get_job(u, job_id))


@get("/api/v1/tax-categories", guards=[requires(*CATALOG_READ)], operation_id="listTaxCategories")
async def list_tax_categories(request: Request) -> dict[str, Any]:
    return {"items": await services(request).uow.read(actor(request), catalog.list_tax_categories)}


@put("/api/v1/tax-categories/{code:str}", guards=[requires(TENANT_ADMIN)], operation_id="saveTaxCategory")
async def save_tax_category(request: Request, code: str, data: TaxCategoryBody) -> catalog.TaxCategoryView:
    fields = commands.TaxCategoryFields(code=code, name=data.name, rate_bp=data.rate_bp, inclusive=data.inclusive)
    return await services(request).uow.run(actor(request), lambda u: catalog.upsert_tax_category(u, fields))


@get("/api/v1/products/{product_id:str}/price-overrides", guards=[requires(*CATALOG_READ)],
     operation_id="listPriceOverrides")
async def list_overrides(request: Request, product_id: str) -> dict[str, Any]:
    items = await services(request).uow.read(actor(request), lambda u: catalog.list_price_overrides(u, product_id))
    return {"items": items}


@post("/api/v1/products/{product_id:str}/price-overrides", guards=[requires(*MANAGERS)],
      operation_id="createPriceOverride")
async def create_override(request: Request, product_id: str, data: OverrideBody) -> Response:
    s, who = services(request), actor(request)
    return await s.idempotency.run(request, who, lambda u: catalog.add_price_override(
        u, product_id, data.price_cents, data.valid_from, data.valid_to))


ROUTES = [list_products, get_product, create_product, update_product, product_audit, import_products, get_import,
          list_tax_categories, save_tax_category, list_overrides, create_override]
