// The lane's pickup counter: hand over a web order the store made ready (BOPIS). The cashier
// picks the order from the ready list; one paid online is handed over as it is (the edge records
// a sale tendered "prepaid"), one to pay at pickup takes the cash first. The sale is on this
// lane: the lane's own sign-in says which. Needs the store server: nothing is queued offline.
// Mounts its own button and dialog when imported, so the lane loads it with one import line.

import { get, newIdempotencyKey, post } from "./api.js";
import { $, el, messageOf } from "/common/dom.js";
import { formatCents, parseAmount } from "/common/money.js";

const keys = new Map(); // a retried hand-over reuses its key: the edge answers it once

function mount() {
  const pay = document.querySelector(".pay");
  if (!pay) return;
  const button = el("button", { type: "button", className: "ghost", id: "open-pickups", textContent: "Pickup" });
  pay.append(button);
  const dialog = el("dialog", { id: "pickup-dialog" },
    el("h2", { id: "pickup-title", textContent: "Web orders ready for pickup" }),
    el("p", { className: "note", id: "pickup-note", textContent: "Ask for the order number on the customer's email." }),
    el("ul", { className: "pickup-list", id: "pickup-list" }),
    el("p", { className: "error", id: "pickup-error", role: "alert" }),
    el("div", { className: "actions" },
      el("button", { type: "button", className: "ghost", id: "pickup-close", textContent: "Close" })));
  document.body.append(dialog);
  dialog.setAttribute("aria-labelledby", "pickup-title");
  button.addEventListener("click", () => open().catch(showError));
  $("pickup-close").addEventListener("click", () => dialog.close());
}

function showError(err) {
  $("pickup-error").textContent = err ? messageOf(err) : "";
}

async function open() {
  showError(null);
  $("pickup-list").replaceChildren();
  $("pickup-dialog").showModal();
  const { items } = await get("/api/v1/pickups?status=ready&limit=100");
  $("pickup-list").replaceChildren(...items.map(entry));
  if (!items.length) $("pickup-list").append(el("li", { textContent: "No web order is ready for pickup." }));
}

function entry(p) {
  const lines = p.lines.map((l) => `${l.sku} × ${l.quantity}`).join(", ");
  const cash = p.prepaid ? null
    : el("input", { inputMode: "decimal", autocomplete: "off", placeholder: "Cash received", ariaLabel: `Cash for ${p.order_id}` });
  const hand = el("button", { type: "button", className: "primary", textContent: "Hand over" });
  const item = el("li", { dataset: { order: p.order_id } },
    el("strong", { textContent: p.order_id }), " ", el("span", { textContent: lines }), " ",
    el("span", { className: "note", textContent: p.prepaid ? "paid online" : "pay now" }), " ", cash, hand);
  hand.addEventListener("click", () => handOver(p, cash, item).catch(showError));
  return item;
}

async function handOver(pickup, cashInput, item) {
  showError(null);
  const body = {};
  if (!pickup.prepaid) {
    const cents = parseAmount(cashInput.value);
    if (!cents) {
      showError(new Error("Enter the cash the customer handed over."));
      return;
    }
    body.tenders = [{ method: "cash", amount_cents: cents }];
  }
  const path = `/api/v1/pickups/${encodeURIComponent(pickup.order_id)}/complete`;
  const request = `${path} ${JSON.stringify(body)}`;
  if (!keys.has(request)) keys.set(request, newIdempotencyKey());
  const done = await post(path, body, { "Idempotency-Key": keys.get(request) });
  keys.delete(request);
  const { sale } = done;
  const change = sale.change_due_cents ? ` · change ${formatCents(sale.change_due_cents, sale.currency)}` : "";
  item.replaceChildren(el("strong", { textContent: pickup.order_id }),
    el("span", { textContent: ` handed over · sale ${sale.number} · ${formatCents(sale.total_cents, sale.currency)}${change}` }));
  item.dataset.done = "true";
}

mount();
