// Orders: search (by day, status, lane, receipt number), CSV export, the order's detail with its
// receipt, voids, and refunds the processor refused. reviews.js opens orders through openOrder.

import { call, get } from "./api.js";
import { can, registerTab } from "./tabs.js";
import { cell, emptyRow, newLoad, pill, postOnce, showError, when } from "./ui.js";
import { $, el, messageOf } from "/common/dom.js";
import { formatCents } from "/common/money.js";

let cursor = null;
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
  if (!reset && cursor) params.set("cursor", cursor);
  const current = newLoad("orders");
  const page = await get(`/api/v1/orders?${params}`);
  if (!current()) return;
  cursor = page.next_cursor;
  if (reset) orderRows.clear();
  const rows = page.items.map(orderRow);
  if (reset) $("order-rows").replaceChildren(...rows);
  else $("order-rows").append(...rows);
  if (reset && !rows.length) $("order-rows").replaceChildren(emptyRow(7, "No orders match."));
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

export async function openOrder(orderId) {
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
  $("void-actions").hidden = !VOIDABLE.has(order.status) || !can("voidOrder");
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


function wire() {
  $("order-filters").addEventListener("submit", (e) => { e.preventDefault(); loadOrders(true).catch(showError); });
  $("orders-more").addEventListener("click", () => loadOrders(false).catch(showError));
  $("orders-export").addEventListener("click", (e) => exportOrders(e.currentTarget).catch(showError));
  $("orders-export").hidden = !can("exportOrders");
  $("order-close").addEventListener("click", () => $("order-dialog").close());
  $("order-dialog").addEventListener("close", () => { shownOrderId = null; });
  $("void-start").addEventListener("click", openVoidForm);
  $("void-cancel").addEventListener("click", closeVoidForm);
  $("void-form").addEventListener("submit", submitVoid);
}

registerTab({ id: "orders", label: "Orders", needs: "searchOrders", load: () => loadOrders(true), wire });
