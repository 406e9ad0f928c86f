// Returns, exchanges, voids and receipts at the lane.
//
// The sale is found by scanning its receipt's QR code (a link ending in the order id) or typing
// its number (`1-000123`). The cashier picks lines, quantities and whether each goes back on the
// shelf, and the reason. The edge refunds to the original tenders (card to the card, cash out of
// this drawer) and says when a supervisor must approve: the lane then asks for the PIN and sends
// the same request again, with the same idempotency key (a refused request changed nothing).
// An exchange is the return and the items now in the sale, settled together in one request: the
// refund pays for the new items first, the customer pays any difference with it (the edge says
// how much when it refuses an exchange without it), and any surplus is refunded.

import { ApiError, NetworkError, call, get, newIdempotencyKey } from "./api.js";
import { $, el, messageOf } from "/common/dom.js";
import { formatCents, parseAmount } from "/common/money.js";

export const RETURN_REASONS = ["Defective or damaged", "Wrong size or colour", "Changed mind", "Not as described",
                               "Gift return", "Other"];
export const VOID_REASONS = ["Rung up by mistake", "Customer cancelled", "Payment problem", "Other"];
const APPROVAL_CODES = new Set(["return-override-required", "void-override-required", "override-invalid"]);
const LAST_SALE_KEY = "novapos.lane.last_sale";

const ctx = { hooks: null, order: null, laneId: () => "" };

/** The sale this lane completed last, for "Reprint last receipt". */
export function rememberLastSale(order) {
  localStorage.setItem(LAST_SALE_KEY, JSON.stringify({ id: order.id, number: order.number }));
}

function lastSale() {
  try { return JSON.parse(localStorage.getItem(LAST_SALE_KEY) || "null"); } catch { return null; }
}

function select(id, options, label) {
  return el("select", { id, ariaLabel: label },
    el("option", { value: "", textContent: "Choose a reason…" }),
    ...options.map((o) => el("option", { value: o, textContent: o })));
}

function build() {
  const dialog = el("dialog", { id: "returns-dialog", className: "returns" },
    el("h2", { id: "returns-title", textContent: "Returns and receipts" }),
    el("form", { id: "return-find-form", className: "row", autocomplete: "off" },
      el("label", { htmlFor: "return-find", className: "sr-only", textContent: "Receipt QR or sale number" }),
      el("input", { id: "return-find", placeholder: "Scan the receipt QR or type the sale number", maxLength: 300,
                    autocomplete: "off", spellcheck: false }),
      el("button", { type: "submit", className: "primary", textContent: "Find sale" })),
    el("p", { className: "error", id: "return-find-error", role: "alert" }),
    el("section", { id: "return-recent", className: "recent" },
      el("h3", { textContent: "Recent sales at this lane" }),
      el("ul", { className: "plain", id: "return-recent-list" })),
    el("section", { id: "return-order", hidden: true },
      el("p", { id: "return-order-summary", className: "summary" }),
      el("table", { className: "return-lines" },
        el("thead", {}, el("tr", {},
          ...["Item", "Sold", "Returned", "Return now", "Back to shelf"].map((h) => el("th", { textContent: h })))),
        el("tbody", { id: "return-lines" })),
      el("div", { className: "row" },
        el("div", {}, el("label", { htmlFor: "return-reason", textContent: "Reason" }),
          select("return-reason", RETURN_REASONS, "Reason for the return")),
        el("div", {}, el("label", { htmlFor: "return-note", textContent: "Note (optional)" }),
          el("input", { id: "return-note", maxLength: 200, autocomplete: "off" }))),
      el("p", { className: "note", id: "return-tender-note" }),
      el("div", { className: "actions" },
        el("button", { type: "button", id: "return-reprint", textContent: "Reprint receipt" }),
        el("button", { type: "button", id: "return-void", className: "ghost", textContent: "Void sale…" }),
        el("button", { type: "button", id: "return-exchange", textContent: "Exchange for items in the sale" }),
        el("button", { type: "button", id: "return-refund", className: "primary big", textContent: "Refund" }))),
    el("section", { id: "void-form", hidden: true },
      el("h3", { textContent: "Void this sale" }),
      el("p", { className: "note", textContent: "A void returns every item and refunds every payment. It needs a supervisor's PIN." }),
      el("label", { htmlFor: "void-reason", textContent: "Reason" }),
      select("void-reason", VOID_REASONS, "Reason for the void"),
      el("div", { className: "actions" },
        el("button", { type: "button", className: "ghost", id: "void-back", textContent: "Back" }),
        el("button", { type: "button", className: "primary big", id: "void-confirm", textContent: "Void sale" }))),
    el("section", { id: "exchange-pay", hidden: true },
      el("h3", { id: "exchange-due" }),
      el("label", { htmlFor: "exchange-cash", textContent: "Cash received" }),
      el("input", { id: "exchange-cash", inputMode: "decimal", autocomplete: "off" }),
      el("div", { className: "actions" },
        el("button", { type: "button", className: "ghost", id: "exchange-back", textContent: "Back" }),
        el("button", { type: "button", className: "big", id: "exchange-card", textContent: "Charge card" }),
        el("button", { type: "button", className: "primary big", id: "exchange-take-cash", textContent: "Take cash" }))),
    el("section", { id: "return-result", hidden: true },
      el("p", { id: "return-result-text", className: "summary", role: "status" }),
      el("iframe", { id: "return-receipt", title: "Receipt", sandbox: "" })),
    el("p", { className: "error", id: "return-error", role: "alert" }),
    el("div", { className: "actions" },
      el("button", { type: "button", id: "reprint-last", textContent: "Reprint last receipt" }),
      el("button", { type: "button", className: "primary", id: "returns-close", textContent: "Close" })));
  dialog.setAttribute("aria-labelledby", "returns-title");
  document.body.append(dialog);

  $("return-find-form").addEventListener("submit", (e) => { e.preventDefault(); find($("return-find").value); });
  $("returns-close").addEventListener("click", () => dialog.close());
  $("return-refund").addEventListener("click", () => submitReturn(false));
  $("return-exchange").addEventListener("click", () => submitReturn(true));
  $("return-reprint").addEventListener("click", () => reprint(ctx.order));
  $("reprint-last").addEventListener("click", () => {
    const last = lastSale();
    if (last) reprint(last);
    else $("return-find-error").textContent = "This lane has not completed a sale yet.";
  });
  $("return-void").addEventListener("click", () => { $("return-order").hidden = true; $("void-form").hidden = false; });
  $("void-back").addEventListener("click", () => { $("void-form").hidden = true; $("return-order").hidden = false; });
  $("void-confirm").addEventListener("click", voidSale);
  $("exchange-back").addEventListener("click", () => { ctx.exchangeDue = 0; show("return-order"); });
  $("exchange-card").addEventListener("click", () => payDifference("card"));
  $("exchange-take-cash").addEventListener("click", () => payDifference("cash"));
  dialog.addEventListener("close", () => ctx.hooks.closed());
}

function show(section) {
  for (const id of ["return-order", "void-form", "exchange-pay", "return-result"]) $(id).hidden = id !== section;
  $("return-recent").hidden = section !== null;
}

/** Open the returns screen; `code` is what was scanned, if the lane was handed a receipt QR. */
export async function openReturns(code = "") {
  ctx.order = null;
  show(null);
  $("return-find").value = code;
  $("return-find-error").textContent = "";
  $("returns-dialog").showModal();
  $("return-find").focus();
  if (code) await find(code);
  else loadRecent();
}

async function loadRecent() {
  try {
    const page = await get(`/api/v1/orders?lane_id=${encodeURIComponent(ctx.laneId())}&limit=8`);
    $("return-recent-list").replaceChildren(...page.items.map((o) => el("li", {},
      el("button", { type: "button", className: "link", textContent:
        `${o.number} · ${new Date(o.created_at).toLocaleTimeString()} · ${formatCents(o.total_cents, o.currency)} · ${o.status}`,
        onclick: () => find(o.number) }))));
  } catch {
    $("return-recent-list").replaceChildren(el("li", { className: "note", textContent: "Recent sales need the store server." }));
  }
}

/** A receipt QR holds a link ending in the order id; a typed number looks like 1-000123. */
function orderPath(text) {
  const value = text.trim();
  if (value.includes("/")) {
    const id = value.split(/[?#]/)[0].replace(/\/+$/, "").split("/").pop();
    return `/api/v1/orders/${encodeURIComponent(id)}`;
  }
  return null;
}

async function find(text) {
  $("return-find-error").textContent = "";
  if (!text.trim()) { $("return-find-error").textContent = "Scan the receipt's QR code or type the sale number."; return; }
  try {
    let order;
    const path = orderPath(text);
    if (path) {
      order = await get(path);
    } else {
      const page = await get(`/api/v1/orders?number=${encodeURIComponent(text.trim())}&limit=1`);
      if (!page.items.length) throw new Error(`No sale numbered ${text.trim()}. Check the number on the receipt.`);
      order = page.items[0];
    }
    showOrder(order);
  } catch (err) {
    $("return-find-error").textContent = err instanceof ApiError && err.status === 404
      ? "That receipt is not from this store, or the sale does not exist."
      : err instanceof NetworkError ? "Returns need the store server, which cannot be reached right now." : messageOf(err);
  }
}

function showOrder(order) {
  ctx.order = order;
  ctx.key = null;
  ctx.exchangeDue = 0;
  show("return-order");
  $("return-error").textContent = "";
  $("return-reason").value = "";
  $("return-note").value = "";
  const when = new Date(order.created_at).toLocaleString();
  $("return-order-summary").textContent =
    `Sale ${order.number} · ${when} · lane ${order.lane_id} · ${formatCents(order.total_cents, order.currency)} · ${order.status}`;
  const tenders = [...new Set(order.tenders.filter((t) => ["approved", "partially_approved"].includes(t.status) || t.method === "cash")
    .map((t) => t.method))];
  $("return-tender-note").textContent = tenders.length
    ? `The refund goes back to the original payment (${tenders.join(" and ")}).` : "";
  $("return-lines").replaceChildren(...order.lines.map((line) => {
    const left = line.quantity - (line.returned_quantity || 0);
    return el("tr", { dataset: { line: line.id } },
      el("td", { textContent: `${line.name} (${line.sku})` }),
      el("td", { className: "num", textContent: line.weight_grams ? `${line.weight_grams} g` : String(line.quantity) }),
      el("td", { className: "num", textContent: String(line.returned_quantity || 0) }),
      el("td", {}, el("input", { type: "number", min: 0, max: left, value: 0, className: "qty-input", disabled: left <= 0,
                                 ariaLabel: `Return quantity of ${line.name}` })),
      el("td", {}, el("input", { type: "checkbox", checked: true, ariaLabel: `Put ${line.name} back on the shelf` })));
  }));
  const returnable = ["COMPLETED", "PARTIALLY_REFUNDED"].includes(order.status);
  for (const id of ["return-refund", "return-exchange"]) $(id).disabled = !returnable;
  $("return-void").disabled = order.status !== "COMPLETED";
  $("return-exchange").disabled = !returnable || ctx.hooks.cartLines().length === 0;
  $("return-exchange").title = ctx.hooks.cartLines().length ? "" : "Scan the new items into the sale first";
}

function pickedLines() {
  const picked = [];
  const problems = [];
  for (const row of $("return-lines").querySelectorAll("tr")) {
    const [qtyInput, shelf] = row.querySelectorAll("input");
    const quantity = Number(qtyInput.value);
    if (!quantity) continue;
    if (!Number.isInteger(quantity) || quantity < 0 || quantity > Number(qtyInput.max)) {
      problems.push(`${row.firstChild.textContent}: 0 to ${qtyInput.max}`);
      continue;
    }
    picked.push({ line_id: row.dataset.line, quantity, restock: shelf.checked });
  }
  return { picked, problems };
}

async function submitReturn(exchange, tenders = null) {
  $("return-error").textContent = "";
  const { picked, problems } = pickedLines();
  const reason = [$("return-reason").value, $("return-note").value.trim()].filter(Boolean).join(": ");
  if (problems.length) { $("return-error").textContent = `Check the quantities (${problems.join("; ")}).`; return; }
  if (!picked.length) { $("return-error").textContent = "Type how many of which items come back."; return; }
  if (!$("return-reason").value) { $("return-error").textContent = "Choose the reason for the return."; return; }
  const body = { lines: picked, reason };
  if (exchange) body.exchange = { lines: ctx.hooks.cartLines(), tenders: tenders || [] };
  const json = JSON.stringify(body);
  if (ctx.keyFor !== json) { ctx.key = newIdempotencyKey(); ctx.keyFor = json; }
  const result = await withApproval(`/api/v1/orders/${ctx.order.id}/returns`, body, ctx.key,
    exchange ? "This exchange needs a supervisor." : "This return needs a supervisor.", null,
    exchange ? askForDifference : null);
  if (!result) return;
  ctx.key = null;
  ctx.keyFor = null;
  await showReturned(result);
}

/** The new items cost more than the return pays: the edge refused the exchange (nothing was
 * written) and said how much is short. The customer pays that difference with the exchange. */
function askForDifference(err) {
  const short = /(\d+) cents short/.exec(err.errors.map((e) => e.message).join(" "));
  if (err.code !== "tender-insufficient" || !short) return false;
  ctx.exchangeDue = Number(short[1]);
  const currency = ctx.order.currency;
  $("exchange-due").textContent = `The new items cost ${formatCents(ctx.exchangeDue, currency)} more than the return: `
    + "take the difference.";
  $("exchange-cash").value = (ctx.exchangeDue / 100).toFixed(2);
  show("exchange-pay");
  $("exchange-cash").focus();
  return true;
}

async function payDifference(method) {
  $("return-error").textContent = "";
  let amount = ctx.exchangeDue;
  if (method === "cash") {
    amount = parseAmount($("exchange-cash").value);
    if (amount == null || amount < ctx.exchangeDue) {
      $("return-error").textContent = `Type the cash received: at least ${formatCents(ctx.exchangeDue, ctx.order.currency)}.`;
      return;
    }
  }
  show("return-order");
  await submitReturn(true, [{ method, amount_cents: amount }]);
}

/** POST with the supervisor's PIN when the edge asks for one; null when not approved or refused
 * (`handled(err)` may take a refusal over, e.g. an exchange that needs the difference paid). */
async function withApproval(path, body, key, why, pin = null, handled = null) {
  let override = pin;
  for (;;) {
    try {
      const { data } = await call(path, { method: "POST", body: override ? { ...body, override_pin: override } : body,
                                          headers: { "Idempotency-Key": key } });
      return data;
    } catch (err) {
      if (!(err instanceof ApiError && APPROVAL_CODES.has(err.code))) {
        if (!(err instanceof ApiError && handled?.(err))) $("return-error").textContent = messageOf(err);
        return null;
      }
      override = await ctx.hooks.askSupervisor(`${why} ${err.code === "override-invalid" ? "" : err.message}`.trim(),
                                               err.code === "override-invalid" ? err.message : "");
      if (override == null) {
        $("return-error").textContent = "Not approved: nothing was refunded.";
        return null;
      }
    }
  }
}

function refundText(refunds, currency) {
  return refunds.map((r) => `${formatCents(r.amount_cents, currency)} to ${r.method}${r.status === "failed" ? " (refused)" : ""}`)
    .join(", ");
}

async function showReturned(ret) {
  const order = ctx.order;
  const exchange = ret.exchange_order;
  const parts = [`Returned on sale ${order.number}: ${formatCents(ret.refund_cents, order.currency)}`];
  if (ret.fee_cents) parts.push(`after a restocking fee of ${formatCents(ret.fee_cents, order.currency)}`);
  if (ret.credit_cents) parts.push(`${formatCents(ret.credit_cents, order.currency)} paid for the new items`);
  if (ret.refunds.length) parts.push(`refund: ${refundText(ret.refunds, order.currency)}`);
  if (ret.refunds.some((r) => r.method === "cash")) parts.push("give the cash back from this drawer");
  if (exchange) {
    parts.push(`new sale ${exchange.number}: ${exchange.status}`);
    if (exchange.change_due_cents) parts.push(`change due ${formatCents(exchange.change_due_cents, order.currency)}`);
  }
  show("return-result");
  $("return-result-text").textContent = `${parts.join(" · ")}.`;
  if (exchange) ctx.hooks.exchangeSettled(exchange);
  await showReceipt(exchange ? exchange.id : order.id);
}

async function showReceipt(orderId) {
  try {
    $("return-receipt").srcdoc = await get(`/api/v1/orders/${orderId}/receipt?format=html&original=true`);
  } catch (err) {
    $("return-result-text").textContent += ` The receipt could not be loaded: ${messageOf(err)}`;
  }
}

async function voidSale() {
  $("return-error").textContent = "";
  const reason = $("void-reason").value;
  if (!reason) { $("return-error").textContent = "Choose the reason for the void."; show("void-form"); return; }
  const pin = await ctx.hooks.askSupervisor(`Void sale ${ctx.order.number} (${formatCents(ctx.order.total_cents, ctx.order.currency)}).`);
  if (pin == null) return;
  const order = await withApproval(`/api/v1/orders/${ctx.order.id}/void`, { reason }, newIdempotencyKey(),
                                   "Voiding a sale needs a supervisor.", pin);
  if (!order) { show("return-order"); return; }
  show("return-result");
  $("return-result-text").textContent = `Sale ${order.number} voided.`
    + (order.refunds.length ? ` Refund: ${refundText(order.refunds, order.currency)}.` : "");
  await showReceipt(order.id);
}

/** Issue a receipt again (counted and audited by the edge; every reprint says COPY). */
async function reprint(order) {
  if (!order) return;
  $("return-find-error").textContent = "";
  try {
    const { data } = await call(`/api/v1/orders/${order.id}/receipt/prints?format=html`, { method: "POST" });
    show("return-result");
    $("return-result-text").textContent = `Receipt of sale ${order.number} reprinted (marked COPY).`;
    $("return-receipt").srcdoc = data;
  } catch (err) {
    $("return-find-error").textContent = `The receipt could not be reprinted: ${messageOf(err)}`;
  }
}

/** hooks: {askSupervisor(reason, error), cartLines(), exchangeSettled(order), closed()}. */
export function initReturns({ laneId, hooks }) {
  ctx.laneId = laneId;
  ctx.hooks = hooks;
  build();
  const tools = el("div", { className: "lane-tools", id: "lane-tools" },
    el("button", { type: "button", id: "open-returns", textContent: "Returns & receipts" }));
  $("sale-view").querySelector(".cart-pane").prepend(tools);
  $("open-returns").addEventListener("click", () => openReturns());
}

/** Whether a scanned code is a receipt's QR (the lane opens the return screen for it). */
export const isReceiptCode = (code) => /^https?:\/\/[^\s]+\/[A-Za-z0-9-]{8,}$/.test(code.trim()) && code.includes("receipt");
