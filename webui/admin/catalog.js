// Catalog: find and edit products, the store's price overrides with their validity windows,
// tax categories, and the CSV import (upload progress, then every bad row with its problem).

import { ApiError, NetworkError, call, get, newIdempotencyKey, session } from "./api.js";
import { can, registerTab } from "./tabs.js";
import { button, cell, emptyRow, loadStore, newLoad, pill, postOnce, showError, submitting, when } from "./ui.js";
import { $, el, messageOf } from "/common/dom.js";
import { formatCents, parseAmount } from "/common/money.js";

let currency = "USD";
let cursor = null;
let taxCategories = [];
const money = (cents) => formatCents(cents, currency);

async function loadCatalog(reset) {
  const store = await loadStore();
  currency = store.currency;
  const form = new FormData($("catalog-filters"));
  const params = new URLSearchParams({ limit: "50" });
  const q = String(form.get("q") ?? "").trim();
  if (q) params.set("q", q);
  if (form.get("include_inactive")) params.set("include_inactive", "true");
  if (!reset && cursor) params.set("cursor", cursor);
  const current = newLoad("catalog");
  const page = await get(`/api/v1/products?${params}`);
  if (!current()) return;
  cursor = page.next_cursor;
  const rows = page.items.map(productRow);
  if (reset) $("catalog-rows").replaceChildren(...rows);
  else $("catalog-rows").append(...rows);
  if (reset && !rows.length) $("catalog-rows").replaceChildren(emptyRow(7, "No products match."));
  $("catalog-more").hidden = !page.next_cursor;
  if (reset) await loadTaxes();
}

function productRow(product) {
  return el("tr", { dataset: { sku: product.sku } },
    cell(product.sku, "mono"), cell(product.name),
    el("td", { className: "num" }, money(product.price_cents), product.price_overridden ? pill("override", "warn") : null),
    cell(money(product.list_price_cents), "num"), cell(product.tax_category),
    el("td", {}, pill(product.active ? "active" : "inactive", product.active ? "ok" : "")),
    el("td", {}, button(can("updateProduct") ? "Edit" : "Prices", () => openProduct(product.id).catch(showError))));
}

// -- tax categories -------------------------------------------------------------------------------
async function loadTaxes() {
  ({ items: taxCategories } = await get("/api/v1/tax-categories"));
  const mayEdit = can("saveTaxCategory");
  $("tax-rows").replaceChildren(...taxCategories.map((tax) => el("tr", { dataset: { code: tax.code } },
    cell(tax.code, "mono"), cell(tax.name), cell(`${(tax.rate_bp / 100).toFixed(2)} %`, "num"),
    cell(tax.inclusive ? "yes" : "no"),
    el("td", {}, mayEdit ? button("Edit", () => editTax(tax)) : null))));
  $("tax-form").hidden = !mayEdit;
}

function editTax(tax) {
  $("tax-code").value = tax.code;
  $("tax-name").value = tax.name;
  $("tax-rate").value = (tax.rate_bp / 100).toFixed(2);
  $("tax-inclusive").checked = tax.inclusive;
  $("tax-name").focus();
}

async function saveTax(event) {
  const rate = Number(String($("tax-rate").value).replace(",", "."));
  if (!Number.isFinite(rate) || rate < 0 || rate > 100) {
    event.preventDefault();
    $("tax-error").textContent = "Type the rate as a percentage between 0 and 100, e.g. 8.25.";
    return;
  }
  const code = $("tax-code").value.trim();
  const body = { name: $("tax-name").value.trim(), rate_bp: Math.round(rate * 100), inclusive: $("tax-inclusive").checked };
  const saved = await submitting(event, "tax-error", () => call(`/api/v1/tax-categories/${encodeURIComponent(code)}`,
                                                                { method: "PUT", body }));
  if (!saved) return;
  $("tax-form").reset();
  await loadTaxes();
}

// -- the product dialog ---------------------------------------------------------------------------
let editing = null; // the product as loaded (its version guards the save), or null for a new one

async function openProduct(productId) {
  $("product-form").reset();
  $("product-error").textContent = "";
  $("override-error").textContent = "";
  if (!taxCategories.length) await loadTaxes();
  $("product-tax").replaceChildren(...taxCategories.map((t) => el("option", { value: t.code, textContent: `${t.name} (${t.code})` })));
  editing = productId ? await get(`/api/v1/products/${encodeURIComponent(productId)}`) : null;
  const p = editing;
  $("product-title").textContent = p ? `${p.sku} · ${p.name}` : "New product";
  $("product-sku").value = p?.sku ?? "";
  $("product-name").value = p?.name ?? "";
  $("product-price").value = p ? (p.list_price_cents / 100).toFixed(2) : "";
  $("product-tax").value = p?.tax_category ?? taxCategories[0]?.code ?? "";
  $("product-barcodes").value = (p?.barcodes ?? []).join(", ");
  $("product-threshold").value = String(p?.low_stock_threshold ?? 0);
  $("product-active").checked = p?.active ?? true;
  $("product-weighed").checked = p?.sold_by_weight ?? false;
  const mayEdit = can(p ? "updateProduct" : "createProduct");
  for (const input of $("product-form").querySelectorAll("input, select")) input.disabled = !mayEdit;
  $("product-form").querySelector("button[type=submit]").hidden = !mayEdit;
  $("override-section").hidden = !p;
  if (p) await loadOverrides();
  if (!$("product-dialog").open) $("product-dialog").showModal();
}

function productFields() {
  const price = parseAmount($("product-price").value);
  if (price == null) throw new Error("Type the list price as an amount, e.g. 3.49.");
  return {
    sku: $("product-sku").value.trim(), name: $("product-name").value.trim(), price_cents: price,
    tax_category: $("product-tax").value,
    barcodes: $("product-barcodes").value.split(/[,\s]+/).map((b) => b.trim()).filter(Boolean),
    low_stock_threshold: Number($("product-threshold").value || 0),
    active: $("product-active").checked, sold_by_weight: $("product-weighed").checked,
  };
}

async function saveProduct(event) {
  let fields;
  try {
    fields = productFields();
  } catch (err) {
    event.preventDefault();
    $("product-error").textContent = err.message;
    return;
  }
  const saved = await submitting(event, "product-error", async () => {
    if (!editing) return (await call("/api/v1/products", { method: "POST", body: fields,
                                                             headers: { "Idempotency-Key": newIdempotencyKey() } })).data;
    // Only what changed, and only if nobody changed the product since it was opened (If-Match).
    const changes = Object.fromEntries(Object.entries(fields)
      .filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(k === "price_cents" ? editing.list_price_cents : editing[k])));
    if (!Object.keys(changes).length) return editing;
    return (await call(`/api/v1/products/${encodeURIComponent(editing.id)}`, {
      method: "PATCH", body: changes, headers: { "If-Match": `"${editing.version}"` } })).data;
  });
  if (!saved) return;
  $("product-dialog").close();
  await loadCatalog(true);
}

// -- price overrides ------------------------------------------------------------------------------
function windowState(override, now = new Date()) {
  if (new Date(override.valid_from) > now) return pill("scheduled", "warn");
  if (override.valid_to && new Date(override.valid_to) <= now) return pill("ended", "");
  return pill("in force", "ok");
}

async function loadOverrides() {
  const { items } = await get(`/api/v1/products/${encodeURIComponent(editing.id)}/price-overrides`);
  $("override-rows").replaceChildren(...items.map((o) => el("tr", {},
    cell(money(o.price_cents), "num"), cell(when(o.valid_from)), cell(o.valid_to ? when(o.valid_to) : "open-ended"),
    el("td", {}, windowState(o)))));
  if (!items.length) $("override-rows").replaceChildren(emptyRow(4, "No override: the list price applies."));
  $("override-form").hidden = !can("createPriceOverride");
}

/** A datetime-local value (the browser's local time) as an ISO instant, or null when empty. */
const instant = (value) => (value ? new Date(value).toISOString() : null);

async function addOverride(event) {
  const price = parseAmount($("override-price").value);
  const from = instant($("override-from").value);
  const to = instant($("override-to").value);
  if (price == null || (from && to && to <= from)) {
    event.preventDefault();
    $("override-error").textContent = price == null ? "Type the override price as an amount, e.g. 2.99."
      : "The override must end after it starts.";
    return;
  }
  const body = { price_cents: price };
  if (from) body.valid_from = from;
  if (to) body.valid_to = to;
  const done = await submitting(event, "override-error",
                                () => postOnce(`/api/v1/products/${encodeURIComponent(editing.id)}/price-overrides`, body));
  if (!done) return;
  $("override-form").reset();
  await loadOverrides();
  loadCatalog(true).catch(showError); // the price here may have changed
}

// -- CSV import -----------------------------------------------------------------------------------
// fetch() reports no upload progress; XMLHttpRequest does. The server checks every row before it
// writes any (all rows or none). A small file is imported at once; a large one becomes a job that
// the server applies in chunks while the lanes keep selling, and the bar follows the job's rows.
function upload(path, file, key, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("Authorization", `Bearer ${session.get()?.access_token}`);
    xhr.setRequestHeader("Content-Type", "text/csv");
    xhr.setRequestHeader("Accept", "application/json, application/problem+json");
    xhr.setRequestHeader("Idempotency-Key", key);
    xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); });
    xhr.upload.addEventListener("load", () => onProgress(1));
    xhr.addEventListener("load", () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch { body = { detail: `${xhr.status} ${xhr.statusText}` }; }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, body));
    });
    xhr.addEventListener("error", () => reject(new NetworkError("the store server cannot be reached")));
    xhr.send(file);
  });
}

function importStatus(text, percent = null) {
  $("import-status").textContent = text;
  $("import-progress").hidden = percent == null;
  if (percent != null) $("import-progress").value = percent;
}

async function importCsv(event) {
  event.preventDefault();
  const file = $("import-file").files[0];
  if (!file) return;
  const submit = event.submitter;
  if (submit) submit.disabled = true;
  $("import-problems").hidden = true;
  const rows = Math.max(0, (await file.text()).split(/\r?\n/).filter((line) => line.trim()).length - 1);
  try {
    // A cheap call first: the shared client renews an expired access token, which a bare
    // XMLHttpRequest would not.
    await get("/api/v1/backoffice/session");
    importStatus(`Uploading ${file.name}…`, 0);
    const result = await upload("/api/v1/products/import", file, newIdempotencyKey(), (share) => {
      if (share < 1) importStatus(`Uploading ${file.name}: ${Math.round(share * 100)} %`, Math.round(share * 90));
      else importStatus(`Checking and importing ${rows} rows…`, 95);
    });
    const report = result.rows ? result : await followJob(result);
    const imported = report.rows ? report.rows.length : report.rows_done;
    importStatus(`Imported ${imported} rows: ${report.created} created, ${report.updated} updated.` +
      (report.errors ? ` ${report.errors} rows changed meanwhile elsewhere and were not imported.` : "") +
      (report.warnings.length ? ` ${report.warnings.length} rows to check.` : ""), 100);
    if (report.warnings.length) showProblems(report.warnings.map((w) => ({ row: w.row, sku: w.sku, errors: [w] })));
    await loadCatalog(true);
  } catch (err) {
    importStatus(messageOf(err));
    if (err instanceof ApiError && err.errors.length) showProblems(err.errors);
  } finally {
    if (submit) submit.disabled = false;
  }
}

// A large import's job, polled until it ends; the bar runs from the upload's 90 % to 100 %.
const JOB_POLL_MS = 1000;

async function followJob(job) {
  for (;;) {
    importStatus(`Importing: ${job.rows_done} of ${job.rows_total} rows (${job.created} created, ` +
      `${job.updated} updated${job.errors ? `, ${job.errors} not imported` : ""})…`,
      90 + Math.floor((10 * job.rows_done) / Math.max(1, job.rows_total)));
    if (job.status === "done") return job;
    if (job.status !== "running") {
      if (job.warnings.length) showProblems(job.warnings.map((w) => ({ row: w.row, sku: w.sku, errors: [w] })));
      throw new Error(`The import stopped after ${job.rows_done} of ${job.rows_total} rows; the rows before are imported.`);
    }
    await new Promise((resolve) => setTimeout(resolve, JOB_POLL_MS));
    job = await get(`/api/v1/products/imports/${encodeURIComponent(job.id)}`);
  }
}

function showProblems(problems) {
  $("import-problem-rows").replaceChildren(...problems.flatMap((p) => (p.errors?.length ? p.errors : [p]).map((e) =>
    el("tr", {}, cell(String(p.row ?? ""), "num"), cell(p.sku || null, "mono"),
      cell(e.field ? `${e.field}: ${e.message}` : e.message)))));
  $("import-problems").hidden = false;
}

function wire() {
  $("catalog-filters").addEventListener("submit", (e) => { e.preventDefault(); loadCatalog(true).catch(showError); });
  $("catalog-filters").addEventListener("change", (e) => {
    if (e.target.type === "checkbox") loadCatalog(true).catch(showError);
  });
  $("catalog-more").addEventListener("click", () => loadCatalog(false).catch(showError));
  $("product-new").hidden = !can("createProduct");
  $("product-new").addEventListener("click", () => openProduct(null).catch(showError));
  $("product-form").addEventListener("submit", saveProduct);
  $("product-cancel").addEventListener("click", () => $("product-dialog").close());
  $("override-form").addEventListener("submit", addOverride);
  $("tax-form").addEventListener("submit", saveTax);
  $("import-form").closest("section").hidden = !can("importProducts");
  $("import-form").addEventListener("submit", (e) => importCsv(e).catch(showError));
}

registerTab({ id: "catalog", label: "Catalog", needs: "listProducts", load: () => loadCatalog(true), wire });
