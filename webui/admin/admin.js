// Store admin: inventory (with low stock), orders (search, export, detail, void), the review
// queue, tills (X reports), users, devices (with test actions), the audit log, sync status and the
// policy in force.
// Pages over the edge API; every error shows the server's detail.

import { ApiError, call, get, newIdempotencyKey, post, session } from "./api.js";
import { $, el, messageOf } from "/common/dom.js";
import { formatCents } from "/common/money.js";
import "./pickups.js"; // the Pickups tab (BOPIS orders) mounts itself

const cursors = { inventory: null, audit: null, orders: null, reviews: null };

const cell = (text, className = "") => el("td", { textContent: text ?? "–", className });
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "–");

function showError(err) {
  $("tab-error").textContent = err ? messageOf(err) : "";
}

const pill = (text, kind = "") => el("span", { className: `pill ${kind}`, textContent: text });

// The store's currency and lanes, read once per sign-in (the lane pickers and the till reports).
let storeInfo = null;

function loadStore() {
  storeInfo ??= get("/api/v1/store").then((store) => {
    fillLanePickers(store.lanes);
    return store;
  }).catch((err) => {
    storeInfo = null; // the next tab that needs it asks again
    throw err;
  });
  return storeInfo;
}

function fillLanePickers(lanes) {
  for (const select of document.querySelectorAll("select.lane-select")) {
    select.append(...lanes.map((lane) => el("option", { value: lane.id, textContent: lane.name })));
  }
}

// A tab loads on opening and again on every search or filter change; only the newest answer is
// shown, since an older, slower one can arrive last.
const loads = {};

function newLoad(name) {
  const ticket = (loads[name] ?? 0) + 1;
  loads[name] = ticket;
  return () => loads[name] === ticket;
}

// One idempotency key per distinct request: a retry of the same body (after a lost answer)
// reuses its key, so the server replays the first outcome instead of acting twice; a changed
// body gets a new key, since the server refuses a key reused with another body.
const pendingKeys = new Map();

async function postOnce(path, body) {
  const request = `${path} ${JSON.stringify(body)}`;
  if (!pendingKeys.has(request)) pendingKeys.set(request, newIdempotencyKey());
  const result = await post(path, body, { "Idempotency-Key": pendingKeys.get(request) });
  pendingKeys.delete(request);
  return result;
}

// -- sign-in ---------------------------------------------------------------------------------
async function signIn(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const body = { username: form.get("username"), password: form.get("password") };
  if (form.get("totp")) body.totp = form.get("totp");
  $("login-error").textContent = "";
  try {
    const { data } = await call("/api/v1/auth/login", { method: "POST", body, auth: false });
    session.set(data);
    enter();
  } catch (err) {
    if (err instanceof ApiError && err.code === "mfa-required") {
      $("totp-row").hidden = false;
      $("totp").focus();
    }
    $("login-error").textContent = err.message;
  }
}

function enter() {
  const { user } = session.get();
  $("who").textContent = `${user.username} · ${user.store_id}`;
  $("login-view").hidden = true;
  $("app").hidden = false;
  $("sign-out").hidden = false;
  loadStore().catch(showError);
  openTab(location.hash.slice(1) || "inventory");
}

// -- tabs ------------------------------------------------------------------------------------
const LOADERS = { inventory: () => loadInventory(true), orders: () => loadOrders(true), reviews: () => loadReviews(true),
                  tills: loadTills, users: loadUsers, devices: loadDevices, audit: () => loadAudit(true), sync: loadSync,
                  policy: loadPolicy };

function openTab(name) {
  if (!LOADERS[name]) name = "inventory";
  for (const button of document.querySelectorAll("[data-tab]")) {
    button.setAttribute("aria-selected", String(button.dataset.tab === name));
  }
  for (const panel of document.querySelectorAll("[role=tabpanel]")) panel.hidden = panel.id !== `tab-${name}`;
  history.replaceState(null, "", `#${name}`);
  showError(null);
  LOADERS[name]().catch(showError);
}

async function loadInventory(reset) {
  const form = new FormData($("inventory-filters"));
  const params = new URLSearchParams({ limit: "100" });
  if (form.get("sku")) params.set("sku", form.get("sku"));
  if (form.get("low_stock")) params.set("low_stock", "true");
  if (!reset && cursors.inventory) params.set("cursor", cursors.inventory);
  const page = await get(`/api/v1/inventory?${params}`);
  cursors.inventory = page.next_cursor;
  const rows = page.items.map((item) => {
    const low = item.threshold > 0 && item.available <= item.threshold;
    return el("tr", { className: low ? "low" : "" },
      cell(item.sku, "mono"), cell(item.name),
      cell(String(item.on_hand), "num"), cell(String(item.reserved), "num"),
      el("td", { className: "num" }, String(item.available), low ? el("span", { className: "pill warn", textContent: "low" }) : null),
      cell(String(item.threshold), "num"));
  });
  if (reset) $("inventory-rows").replaceChildren(...rows);
  else $("inventory-rows").append(...rows);
  if (reset && !rows.length) $("inventory-rows").replaceChildren(el("tr", {}, el("td", { colSpan: 6, className: "empty", textContent: "No stock rows match." })));
  $("inventory-more").hidden = !page.next_cursor;
}

// -- orders ----------------------------------------------------------------------------------
const VOIDABLE = new Set(["OPEN", "PENDING", "COMPLETED"]);
const STATUS_PILL = { COMPLETED: "ok", OPEN: "warn", PENDING: "warn", PARTIALLY_REFUNDED: "warn", VOIDED: "bad",
                      REFUNDED: "bad", CANCELLED: "" };
const orderRows = new Map(); // order id -> its row in the list, so a void updates the row in place
let shownOrderId = null; // the order in the detail dialog; a late answer for another one is dropped

const statusPill = (status) => pill(status.replace(/_/g, " "), STATUS_PILL[status] || "");
const tenderMethods = (order) => [...new Set(order.tenders.map((t) => t.method))].join(", ");

/** The search form as query parameters; the CSV export sends the same ones. */
function orderFilters() {
  const form = new FormData($("order-filters"));
  const params = new URLSearchParams();
  for (const key of ["from", "to", "status", "lane_id", "number"]) {
    const value = String(form.get(key) ?? "").trim();
    if (value) params.set(key, value);
  }
  return params;
}

let searchedOrders = new URLSearchParams(); // "Load more" pages through what was searched, not later edits

async function loadOrders(reset) {
  if (reset) searchedOrders = orderFilters();
  const params = new URLSearchParams(searchedOrders);
  params.set("limit", "50");
  if (!reset && cursors.orders) params.set("cursor", cursors.orders);
  const current = newLoad("orders");
  const page = await get(`/api/v1/orders?${params}`);
  if (!current()) return;
  cursors.orders = page.next_cursor;
  if (reset) orderRows.clear();
  const rows = page.items.map(orderRow);
  if (reset) $("order-rows").replaceChildren(...rows);
  else $("order-rows").append(...rows);
  if (reset && !rows.length) $("order-rows").replaceChildren(el("tr", {}, el("td", { colSpan: 7, className: "empty", textContent: "No orders match." })));
  $("orders-more").hidden = !page.next_cursor;
}

function orderRow(order) {
  // The whole row opens the order; the number is a button so the keyboard can open it too
  // (its click bubbles to the row).
  const row = el("tr", { className: "clickable", onclick: () => openOrder(order.id) },
    el("td", {}, el("button", { type: "button", className: "link mono", textContent: order.number })),
    cell(when(order.created_at)), cell(order.lane_id), cell(order.cashier),
    el("td", {}, statusPill(order.status)),
    cell(formatCents(order.total_cents, order.currency), "num"), cell(tenderMethods(order) || null));
  orderRows.set(order.id, row);
  return row;
}

async function exportOrders(button) {
  // The export needs the bearer token, which a plain link cannot send: fetch the CSV here and
  // hand it to the browser as a file.
  button.disabled = true;
  try {
    const { data, response } = await call(`/api/v1/orders/export.csv?${orderFilters()}`);
    const url = URL.createObjectURL(new Blob([data], { type: "text/csv;charset=utf-8" }));
    const link = el("a", { href: url, download: fileNameOf(response) || "orders.csv" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000); // the download reads the blob after click() returns
  } finally {
    button.disabled = false;
  }
}

function fileNameOf(response) {
  const match = /filename="?([^";]+)"?/.exec(response.headers.get("content-disposition") || "");
  return match ? match[1] : null;
}

async function openOrder(orderId) {
  shownOrderId = orderId;
  closeVoidForm();
  $("order-error").textContent = "";
  $("order-title").textContent = "Order";
  $("order-detail").replaceChildren(el("p", { className: "note", textContent: "Loading…" }));
  $("receipt-slot").replaceChildren();
  $("receipt-note").textContent = "";
  $("void-actions").hidden = true;
  if (!$("order-dialog").open) $("order-dialog").showModal();
  let order;
  try {
    order = await get(`/api/v1/orders/${encodeURIComponent(orderId)}`);
  } catch (err) {
    if (shownOrderId === orderId) $("order-error").textContent = messageOf(err);
    return;
  }
  if (shownOrderId !== orderId) return;
  showOrder(order);
  await loadReceipt(orderId);
}

function showOrder(order) {
  $("order-title").textContent = `Order ${order.number}`;
  $("order-detail").replaceChildren(refundNotice(order), orderFacts(order), el("h3", { textContent: "Lines" }),
    orderLines(order), orderTotals(order), el("h3", { textContent: "Payments" }), orderPayments(order));
  $("void-actions").hidden = !VOIDABLE.has(order.status);
  orderRows.get(order.id)?.replaceWith(orderRow(order));
}

function facts(pairs) {
  return el("dl", { className: "meta" }, ...pairs.filter(([, value]) => value != null && value !== "")
    .flatMap(([label, value]) => [el("dt", { textContent: label }), el("dd", {}, value)]));
}

function orderFacts(order) {
  return facts([
    ["Status", statusPill(order.status)],
    ["Business day", order.business_day],
    ["Created", when(order.created_at)],
    ["Completed", order.completed_at && when(order.completed_at)],
    ["Lane", order.lane_id],
    ["Cashier", order.cashier],
    ["Voided", order.voided_at && `${when(order.voided_at)}: ${order.void_reason ?? ""}`],
    ["Cancelled", order.cancelled_at && `${when(order.cancelled_at)}: ${order.cancel_reason ?? ""}`],
    ["Rung up offline", order.offline_created_at && [when(order.offline_created_at), order.verdict?.replace(/_/g, " ")]
      .filter(Boolean).join(", verdict: ")],
    ["Exchange of", order.exchange_of],
  ]);
}

function orderLines(order) {
  const price = (cents) => formatCents(cents, order.currency);
  return el("table", {},
    el("thead", {}, el("tr", {}, ...["SKU", "Product", "Qty", "Unit price", "Discount", "Tax", "Total", "Returned"]
      .map((label, i) => el("th", { textContent: label, className: i >= 2 ? "num" : "" })))),
    el("tbody", { id: "order-lines" }, ...order.lines.map((ln) => el("tr", {},
      cell(ln.sku, "mono"), cell(ln.name),
      cell(ln.weight_grams != null ? `${ln.weight_grams} g` : String(ln.quantity), "num"),
      cell(price(ln.unit_price_cents), "num"), cell(ln.discount_cents ? price(ln.discount_cents) : null, "num"),
      cell(price(ln.tax_cents), "num"), cell(price(ln.total_cents), "num"),
      cell(ln.returned_quantity ? String(ln.returned_quantity) : null, "num")))));
}

function orderTotals(order) {
  const price = (cents) => formatCents(cents, order.currency);
  return facts([
    ["Subtotal", price(order.subtotal_cents)],
    ["Discount", order.discount_cents ? price(order.discount_cents) : null],
    ["Tax", price(order.tax_cents)],
    ["Total", el("strong", { textContent: price(order.total_cents) })],
    ["Paid", price(order.paid_cents)],
    ["Due", order.due_cents ? price(order.due_cents) : null],
    ["Change given", order.change_due_cents ? price(order.change_due_cents) : null],
    ["Refunded", order.refunded_cents ? price(order.refunded_cents) : null],
    ["Refund pending", order.refund_pending_cents ? price(order.refund_pending_cents) : null],
    ["Owed to customer", order.refund_owed_cents
      ? el("strong", { className: "owed", textContent: price(order.refund_owed_cents) }) : null],
  ]);
}

// -- refunds the processor refused -------------------------------------------------------------
// The order says what the customer was actually paid back; a refused refund is money still
// owed, with the two ways out a manager has: send it again, or pay it from the drawer.
function refundNotice(order) {
  if (!order.refund_guidance) return "";
  const failed = order.refund_state === "failed";
  const box = el("div", { className: `callout ${failed ? "bad" : "warn"}`, id: "refund-notice", role: "alert" },
    el("p", { textContent: order.refund_guidance }));
  if (failed) {
    const reason = el("input", { id: "refund-cash-reason", maxLength: 200, placeholder: "Why cash (e.g. card account closed)",
                                 autocomplete: "off" });
    box.append(el("div", { className: "refund-actions" },
      el("button", { type: "button", id: "refund-retry", textContent: "Retry the refund",
                     onclick: (e) => settleRefund(order.id, { settle: "original" }, e.currentTarget) }),
      reason,
      el("button", { type: "button", id: "refund-cash", className: "danger", textContent: "Paid in cash",
                     onclick: (e) => settleRefund(order.id, { settle: "cash", reason: reason.value.trim() },
                                                  e.currentTarget) })));
  }
  return box;
}

async function settleRefund(orderId, body, button) {
  if (body.settle === "cash" && !body.reason) {
    $("order-error").textContent = "Type why the refund is paid in cash.";
    return;
  }
  button.disabled = true;
  $("order-error").textContent = "";
  try {
    await postOnce(`/api/v1/orders/${encodeURIComponent(orderId)}/refunds/settle`, body);
  } catch (err) {
    $("order-error").textContent = messageOf(err);
    button.disabled = false;
    return;
  }
  if (shownOrderId === orderId) await openOrder(orderId);
}

function orderPayments(order) {
  const payments = [...order.tenders.map((p) => ["Tender", p]), ...order.refunds.map((p) => ["Refund", p])];
  if (!payments.length) return el("p", { className: "note", textContent: "No payments yet." });
  const price = (cents) => formatCents(cents, order.currency);
  const method = (p) => [p.method.replace(/_/g, " "), p.card_brand, p.card_last4 && `•••• ${p.card_last4}`]
    .filter(Boolean).join(" ");
  return el("table", {},
    el("thead", {}, el("tr", {}, ...["Kind", "Method", "Status", "Amount", "Approved", "Guidance"]
      .map((label) => el("th", { textContent: label, className: label === "Amount" || label === "Approved" ? "num" : "" })))),
    el("tbody", { id: "order-payments" }, ...payments.map(([kind, p]) => el("tr", {},
      cell(kind), cell(method(p)), cell(p.status.replace(/_/g, " ")),
      cell(price(p.amount_cents), "num"), cell(price(p.approved_cents), "num"), cell(p.guidance, "guidance")))));
}

async function loadReceipt(orderId) {
  $("receipt-note").textContent = "Loading receipt…";
  let html;
  try {
    html = await get(`/api/v1/orders/${encodeURIComponent(orderId)}/receipt?format=html`);
  } catch (err) {
    if (shownOrderId === orderId) $("receipt-note").textContent = `The receipt could not be loaded: ${messageOf(err)}`;
    return;
  }
  if (shownOrderId !== orderId) return;
  // A new sandboxed frame per receipt, its srcdoc set once: replacing a srcdoc while Chromium
  // is still loading the previous one can leave the frame blank.
  const frame = document.createElement("iframe");
  frame.setAttribute("sandbox", "");
  frame.title = "Receipt";
  frame.srcdoc = html;
  $("receipt-slot").replaceChildren(frame);
  $("receipt-note").textContent = "";
}

function openVoidForm() {
  $("void-start").hidden = true;
  $("void-form").hidden = false;
  $("void-reason").focus();
}

function closeVoidForm() {
  $("void-form").reset();
  $("void-form").hidden = true;
  $("void-start").hidden = false;
}

async function submitVoid(event) {
  event.preventDefault();
  const orderId = shownOrderId;
  const reason = $("void-reason").value.trim();
  if (!orderId) return;
  if (!reason) {
    $("order-error").textContent = "Type the reason for the void.";
    return;
  }
  const button = event.submitter;
  if (button) button.disabled = true;
  $("order-error").textContent = "";
  try {
    await postOnce(`/api/v1/orders/${encodeURIComponent(orderId)}/void`, { reason });
  } catch (err) {
    $("order-error").textContent = messageOf(err);
    return;
  } finally {
    if (button) button.disabled = false;
  }
  // The detail, its row and the receipt as they stand now (the list, if the dialog was closed meanwhile).
  if (shownOrderId === orderId) await openOrder(orderId);
  else await loadOrders(true).catch(showError);
}

// -- reviews ---------------------------------------------------------------------------------
const REVIEW_KINDS = { price_variance: "Price variance", stock_conflict: "Stock conflict",
                       payment_unresolved: "Payment unresolved", payment_overpaid: "Payment overpaid" };
let resolvingCase = null;

async function loadReviews(reset) {
  const { currency } = await loadStore();
  const form = new FormData($("review-filters"));
  // status is always sent: the server lists only open cases when it is missing, all when empty.
  const params = new URLSearchParams({ limit: "100", status: form.get("status") ?? "open" });
  if (form.get("kind")) params.set("kind", form.get("kind"));
  if (!reset && cursors.reviews) params.set("cursor", cursors.reviews);
  const current = newLoad("reviews");
  const page = await get(`/api/v1/reviews?${params}`);
  if (!current()) return;
  cursors.reviews = page.next_cursor;
  const rows = page.items.map((review) => reviewRow(review, currency));
  if (reset) $("review-rows").replaceChildren(...rows);
  else $("review-rows").append(...rows);
  if (reset && !rows.length) $("review-rows").replaceChildren(el("tr", {}, el("td", { colSpan: 6, className: "empty", textContent: "No review cases match." })));
  $("reviews-more").hidden = !page.next_cursor;
}

function reviewRow(review, currency) {
  // Price and stock cases carry the receipt number in their detail; a refund case only the order.
  const number = review.detail?.number;
  const order = review.order_id
    ? el("td", {}, el("button", { type: "button", className: "link mono", textContent: number || review.order_id.slice(0, 8),
                                  onclick: () => openOrder(review.order_id) }))
    : cell(null);
  const open = review.status === "open";
  const outcome = open
    ? el("button", { type: "button", textContent: "Resolve", onclick: () => askResolution(review, currency) })
    : el("span", { className: "note", textContent: `${(review.resolution ?? "").replace(/_/g, " ")} by ${review.resolved_by}`,
                   title: review.note ?? "" });
  return el("tr", {}, cell(REVIEW_KINDS[review.kind] || review.kind), order, cell(summaryOf(review, currency)),
    cell(when(review.created_at)), el("td", {}, pill(review.status, open ? "warn" : "ok")), el("td", {}, outcome));
}

/** The server's summary gives a price variance in raw cents; its detail has the amounts to format. */
function summaryOf(review, currency) {
  const d = review.detail || {};
  if (review.kind === "price_variance" && Number.isInteger(d.charged_cents) && Number.isInteger(d.catalog_cents)) {
    return `${d.sku} sold offline at ${formatCents(d.charged_cents, currency)}; catalog price ${formatCents(d.catalog_cents, currency)}`;
  }
  return review.summary;
}

function askResolution(review, currency) {
  resolvingCase = review;
  $("resolve-form").reset();
  $("resolve-summary").textContent = `${REVIEW_KINDS[review.kind] || review.kind}: ${summaryOf(review, currency)}`;
  $("resolve-error").textContent = "";
  $("resolve-dialog").showModal();
  $("resolve-resolution").focus();
}

async function submitResolution(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const note = String(form.get("note") ?? "").trim();
  if (!note) {
    $("resolve-error").textContent = "Write a note: it is kept with the case and in the audit log.";
    return;
  }
  const button = event.submitter;
  if (button) button.disabled = true;
  try {
    await postOnce(`/api/v1/reviews/${encodeURIComponent(resolvingCase.id)}/resolve`,
      { resolution: form.get("resolution"), note });
  } catch (err) {
    $("resolve-error").textContent = messageOf(err);
    return;
  } finally {
    if (button) button.disabled = false;
  }
  $("resolve-dialog").close();
  await loadReviews(true).catch(showError); // the resolved case leaves the open list
}

// -- tills -----------------------------------------------------------------------------------
async function loadTills() {
  const current = newLoad("tills");
  const { currency } = await loadStore();
  const form = new FormData($("till-filters"));
  const params = new URLSearchParams();
  for (const key of ["status", "lane_id"]) if (form.get(key)) params.set(key, form.get(key));
  const { items } = await get(`/api/v1/tills?${params}`);
  if (!current()) return;
  $("till-rows").replaceChildren(...items.map((till) => el("tr", {},
    cell(till.lane_id), el("td", {}, pill(till.status, till.status === "open" ? "ok" : "")),
    cell(till.business_day), cell(`${when(till.opened_at)} · ${till.opened_by}`),
    cell(formatCents(till.float_cents, currency), "num"),
    cell(till.closed_at && `${when(till.closed_at)} · ${till.closed_by}`),
    cell(formatCents(till.counted_cents, currency), "num"), cell(formatCents(till.variance_cents, currency), "num"),
    el("td", {}, till.status === "open"
      ? el("button", { type: "button", textContent: "X report", onclick: () => showXReport(till.id).catch(showError) })
      : null))));
  if (!items.length) $("till-rows").replaceChildren(el("tr", {}, el("td", { colSpan: 9, className: "empty", textContent: "No drawer sessions match." })));
}

async function showXReport(sessionId) {
  const [{ currency }, report] = await Promise.all([loadStore(), get(`/api/v1/tills/${encodeURIComponent(sessionId)}/x-report`)]);
  // totals holds signed cents per kind of drawer movement, only for kinds that happened.
  const total = (kind) => report.totals[kind] ?? 0;
  const line = (label, cents, className = "") => el("tr", { className },
    el("th", { scope: "row", textContent: label }), cell(formatCents(cents, currency), "num"));
  $("xreport-title").textContent = `X report · lane ${report.lane_id}`;
  $("xreport-note").textContent = `Opened by ${report.opened_by} at ${when(report.opened_at)}, business day ` +
    `${report.business_day}; ${report.movements} drawer movements; read at ${new Date().toLocaleTimeString()}.`;
  $("xreport-rows").replaceChildren(
    line("Opening float", report.float_cents), line("Cash sales", total("cash_sale")),
    line("Cash refunds", total("cash_refund")), line("Pay-ins", total("pay_in")), line("Pay-outs", total("pay_out")),
    line("Expected cash", report.expected_cents, "total"));
  $("xreport").hidden = false;
}

async function loadUsers() {
  const { items } = await get("/api/v1/users");
  $("user-rows").replaceChildren(...items.map((u) => el("tr", {},
    cell(u.username), cell(u.roles.join(", ")), cell(u.mfa_enabled ? "enrolled" : "–"),
    cell(u.has_pin ? "set" : "–"),
    el("td", {}, el("span", { className: `pill ${u.disabled ? "bad" : "ok"}`, textContent: u.disabled ? "disabled" : "active" })))));
}

async function loadDevices() {
  let body;
  try {
    body = await get("/api/v1/devices");
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      $("devices-note").textContent = "This store server does not manage devices yet.";
      $("device-rows").replaceChildren();
      return;
    }
    throw err;
  }
  $("devices-note").textContent = body.items.length ? `Hardware hub: ${body.mode || "connected"}` :
    `No devices reported${body.mode ? ` (hardware hub: ${body.mode})` : ""}.`;
  $("device-rows").replaceChildren(...body.items.map((d) => {
    const result = el("span", { className: "result" });
    const buttons = (d.actions || []).map((action) => el("button", {
      type: "button", textContent: action.replace(/_/g, " "),
      onclick: async (e) => {
        e.target.disabled = true;
        result.textContent = "…";
        try {
          const r = await post(`/api/v1/devices/${encodeURIComponent(d.id)}/actions/${encodeURIComponent(action)}`);
          result.textContent = `${r.ok ? "OK" : "failed"}${r.detail ? `: ${r.detail}` : ""}`;
          result.className = `result ${r.ok ? "ok" : "bad"}`;
        } catch (err) {
          result.textContent = err.message;
          result.className = "result bad";
        } finally {
          e.target.disabled = false;
        }
      },
    }));
    return el("tr", {}, cell(d.name), cell(d.kind), cell(d.lane_id),
      el("td", {}, el("span", { className: `pill ${d.status === "ok" ? "ok" : "warn"}`, textContent: d.status })),
      cell(d.address, "mono"), el("td", { className: "actions" }, ...buttons, result));
  }));
}

function summarise(entry) {
  const after = entry.after && typeof entry.after === "object" ? entry.after : null;
  if (!after) return "";
  return Object.entries(after).slice(0, 4).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" ");
}

async function loadAudit(reset) {
  const form = new FormData($("audit-filters"));
  const params = new URLSearchParams({ limit: "100" });
  for (const key of ["actor", "action", "entity", "lane_id", "from", "to"]) {
    if (form.get(key)) params.set(key, form.get(key));
  }
  if (!reset && cursors.audit) params.set("cursor", cursors.audit);
  const page = await get(`/api/v1/audit?${params}`);
  cursors.audit = page.next_cursor;
  const rows = page.items.map((a) => el("tr", {},
    cell(when(a.at)), cell(a.actor), cell(a.action, "mono"), cell(`${a.entity} ${String(a.entity_id ?? "").slice(0, 8)}`),
    cell(a.lane_id), el("td", { className: "change", textContent: summarise(a), title: JSON.stringify({ before: a.before, after: a.after }) })));
  if (reset) $("audit-rows").replaceChildren(...rows);
  else $("audit-rows").append(...rows);
  $("audit-more").hidden = !page.next_cursor;
}

async function loadSync() {
  const [status, queues] = await Promise.all([get("/api/v1/sync/status"), get("/api/v1/lanes/queue-status")]);
  const card = (label, value, kind = "") => el("div", { className: "card" },
    el("dt", { textContent: label }), el("dd", { textContent: value, className: kind }));
  $("sync-cards").replaceChildren(
    card("Link to HQ", status.link, status.link === "up" ? "ok" : "warn"),
    card("Events waiting to send", String(status.outbox_pending)),
    card("Oldest waiting", status.oldest_pending_age_s == null ? "–" : `${Math.round(status.oldest_pending_age_s)} s`),
    card("Last acknowledged", when(status.last_ack_at)));
  $("queue-rows").replaceChildren(...queues.items.map((q) => el("tr", { className: q.queued ? "low" : "" },
    cell(q.lane_id), cell(String(q.queued), "num"), cell(when(q.oldest_queued_at)), cell(when(q.reported_at || q.updated_at)))));
  if (!queues.items.length) $("queue-rows").replaceChildren(el("tr", {}, el("td", { colSpan: 4, className: "empty", textContent: "No lane has reported a queue." })));
}

// -- policy in force (read-only: HQ decides it) ---------------------------------------------------
const POLICY_ROWS = [
  ["Discount a cashier may give without a supervisor", (p) => `${p.discount_supervisor_over_bps / 100} %`],
  ["Return window", (p) => `${p.return_window_days} days`],
  ["Restocking fee", (p, c) => (p.restocking_fee_cents ? formatCents(p.restocking_fee_cents, c) : `${p.restocking_fee_bps / 100} %`)],
  ["Refunds above this need a manager", (p, c) => limit(p.return_supervisor_over_cents, c)],
  ["Reservation hold", (p) => `${Math.round(p.reservation_ttl_s / 60)} min`],
  ["Rounding", (p) => (p.rounding === "half_even" ? "half to even" : "half up")],
  ["Pay-outs above this need a supervisor", (p, c) => (p.payout_supervisor_over_cents == null ? "store default"
    : formatCents(p.payout_supervisor_over_cents, c))],
];
const limit = (cents, currency) => (cents == null ? "no limit" : formatCents(cents, currency));

async function loadPolicy() {
  const [shown, { currency }] = await Promise.all([get("/api/v1/policy"), loadStore()]);
  $("policy-source").textContent = shown.source === "hq"
    ? `From HQ: version ${shown.version}, applied ${when(shown.applied_at)} (command ${shown.command_id}).`
    : "Built-in defaults: HQ has not sent a policy to this store yet.";
  const rows = POLICY_ROWS.map(([label, show]) => el("tr", {}, cell(label), cell(show(shown.effective, currency))));
  rows.push(el("tr", {}, cell("Managers need two-factor sign-in"), cell(shown.policy.manager_mfa_required ? "yes" : "no")));
  $("policy-rows").replaceChildren(...rows);
}

function wire() {
  $("login-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", () => {
    const current = session.get();
    session.set(null);
    if (current?.refresh_token) post("/api/v1/auth/logout", { refresh_token: current.refresh_token }).catch(() => {});
    location.hash = "";
    location.reload();
  });
  for (const button of document.querySelectorAll("[data-tab]")) button.addEventListener("click", () => openTab(button.dataset.tab));
  $("inventory-filters").addEventListener("submit", (e) => { e.preventDefault(); loadInventory(true).catch(showError); });
  $("inventory-filters").addEventListener("change", () => loadInventory(true).catch(showError));
  $("inventory-more").addEventListener("click", () => loadInventory(false).catch(showError));
  $("audit-filters").addEventListener("submit", (e) => { e.preventDefault(); loadAudit(true).catch(showError); });
  $("audit-more").addEventListener("click", () => loadAudit(false).catch(showError));
  $("sync-refresh").addEventListener("click", () => loadSync().catch(showError));
  $("policy-refresh").addEventListener("click", () => loadPolicy().catch(showError));
  wireSales();
}

function wireSales() {
  $("order-filters").addEventListener("submit", (e) => { e.preventDefault(); loadOrders(true).catch(showError); });
  $("orders-more").addEventListener("click", () => loadOrders(false).catch(showError));
  $("orders-export").addEventListener("click", (e) => exportOrders(e.currentTarget).catch(showError));
  $("order-close").addEventListener("click", () => $("order-dialog").close());
  $("order-dialog").addEventListener("close", () => { shownOrderId = null; });
  $("void-start").addEventListener("click", openVoidForm);
  $("void-cancel").addEventListener("click", closeVoidForm);
  $("void-form").addEventListener("submit", submitVoid);
  $("review-filters").addEventListener("submit", (e) => e.preventDefault());
  $("review-filters").addEventListener("change", () => loadReviews(true).catch(showError));
  $("reviews-more").addEventListener("click", () => loadReviews(false).catch(showError));
  $("resolve-form").addEventListener("submit", submitResolution);
  $("resolve-cancel").addEventListener("click", () => $("resolve-dialog").close());
  $("till-filters").addEventListener("submit", (e) => e.preventDefault());
  $("till-filters").addEventListener("change", () => loadTills().catch(showError));
  $("tills-refresh").addEventListener("click", () => loadTills().catch(showError));
}

wire();
if (session.get()) enter();
else $("username").focus();
