// Store admin: BOPIS pickups. Web orders HQ allocated to this store, and each step the store
// works through: accept (holds the stock) or reject with a reason, mark picked, mark ready, hand
// over (a sale: tendered "prepaid" for an order paid online, else the cash taken), or cancel.
// Registers its own tab (tabs.js), so the admin loads it with one import line.

import { get, newIdempotencyKey, post } from "./api.js";
import { registerTab } from "./tabs.js";
import { $, el, messageOf } from "/common/dom.js";
import { formatCents } from "/common/money.js";

const NEXT = {
  received: [["accept", "Accept"], ["reject", "Reject…"], ["cancel", "Cancel…"]],
  accepted: [["picked", "Mark picked"], ["cancel", "Cancel…"]],
  picked: [["ready", "Mark ready"], ["cancel", "Cancel…"]],
  ready: [["complete", "Hand over…"], ["cancel", "Cancel…"]],
};

const cell = (text, className = "") => el("td", { textContent: text ?? "–", className });
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "–");
const keys = new Map(); // one idempotency key per distinct request, kept until it is answered

async function postOnce(path, body) {
  const request = `${path} ${JSON.stringify(body)}`;
  if (!keys.has(request)) keys.set(request, newIdempotencyKey());
  const result = await post(path, body, { "Idempotency-Key": keys.get(request) });
  keys.delete(request);
  return result;
}

function mount() {
  $("tab-pickups").replaceChildren(
    el("form", { className: "filters", id: "pickup-filters" },
      el("label", { className: "field", textContent: "Show " },
        el("select", { name: "status", id: "pickup-status" },
          ...[["open", "Open"], ["", "All"], ["received", "Received"], ["ready", "Ready"], ["completed", "Completed"],
              ["rejected", "Rejected"], ["cancelled", "Cancelled"], ["expired", "Expired"]]
            .map(([value, text]) => el("option", { value, textContent: text })))),
      el("button", { type: "button", id: "pickups-refresh", textContent: "Refresh" })),
    el("p", { className: "error", id: "pickup-error", role: "alert" }),
    el("form", { className: "filters", id: "pickup-step", hidden: true },
      el("strong", { id: "pickup-step-title" }),
      el("label", { className: "field", id: "pickup-reason-field", textContent: "Reason " },
        el("input", { name: "reason", id: "pickup-reason", maxLength: 200 })),
      el("label", { className: "field", id: "pickup-lane-field", textContent: "Lane " },
        el("select", { name: "lane_id", id: "pickup-lane", className: "lane-select" })),
      el("label", { className: "field", id: "pickup-cash-field", textContent: "Cash taken " },
        el("input", { name: "cash", id: "pickup-cash", inputMode: "decimal", placeholder: "e.g. 25.00" })),
      el("button", { type: "submit", textContent: "Confirm" }),
      el("button", { type: "button", id: "pickup-step-cancel", textContent: "Back" })),
    el("table", {},
      el("thead", {}, el("tr", {}, ...["Order", "Status", "Lines", "Paid online", "Received", "Updated", "Note", ""]
        .map((t) => el("th", { textContent: t })))),
      el("tbody", { id: "pickup-rows" })));
  $("pickup-status").addEventListener("change", () => load().catch(showError));
  $("pickups-refresh").addEventListener("click", () => load().catch(showError));
  $("pickup-step-cancel").addEventListener("click", closeStep);
  $("pickup-step").addEventListener("submit", submitStep);
}

function showError(err) {
  $("pickup-error").textContent = err ? messageOf(err) : "";
}

function open() {
  return Promise.all([load(), loadLanes()]);
}

async function loadLanes() {
  const select = $("pickup-lane");
  if (select.options.length) return;
  const store = await get("/api/v1/store");
  select.append(...store.lanes.map((lane) => el("option", { value: lane.id, textContent: lane.name })));
}

async function load() {
  const status = $("pickup-status").value;
  const { items } = await get(`/api/v1/pickups?limit=200${status ? `&status=${encodeURIComponent(status)}` : ""}`);
  $("pickup-rows").replaceChildren(...items.map(row));
  if (!items.length) {
    $("pickup-rows").append(el("tr", {}, el("td", { colSpan: 8, textContent: "No pickup orders here." })));
  }
}

function row(p) {
  const actions = (NEXT[p.status] ?? []).map(([step, label]) =>
    el("button", { type: "button", textContent: label, onclick: () => act(p, step) }));
  return el("tr", { dataset: { order: p.order_id } },
    cell(p.order_id), cell(p.status), cell(p.lines.map((l) => `${l.sku} × ${l.quantity}`).join(", ")),
    cell(p.prepaid ? "yes" : "no"), cell(when(p.received_at)), cell(when(p.updated_at)), cell(p.reason ?? ""),
    el("td", {}, ...actions));
}

let stepping = null; // { pickup, step } while the reason or payment form is open

function act(pickup, step) {
  showError(null);
  if (step === "accept" || step === "picked" || step === "ready") {
    run(pickup, step, {}).catch(showError);
    return;
  }
  stepping = { pickup, step };
  $("pickup-step-title").textContent = `${step === "complete" ? "Hand over" : step === "reject" ? "Reject" : "Cancel"} ${pickup.order_id}`;
  $("pickup-reason-field").hidden = step === "complete";
  $("pickup-lane-field").hidden = step !== "complete";
  $("pickup-cash-field").hidden = step !== "complete" || pickup.prepaid;
  $("pickup-step").hidden = false;
}

function closeStep() {
  stepping = null;
  $("pickup-step").reset();
  $("pickup-step").hidden = true;
}

async function submitStep(event) {
  event.preventDefault();
  if (!stepping) return;
  const { pickup, step } = stepping;
  const reason = $("pickup-reason").value.trim();
  let body = {};
  if (step === "reject") {
    if (!reason) {
      showError(new Error("Say why the order is rejected (e.g. out of stock, damaged): HQ shows the reason."));
      return;
    }
    body = { reason };
  }
  if (step === "cancel") body = reason ? { reason } : {};
  if (step === "complete") {
    body = { lane_id: $("pickup-lane").value };
    if (!pickup.prepaid) {
      const cents = Math.round(Number($("pickup-cash").value.replace(",", ".")) * 100);
      if (!Number.isFinite(cents) || cents <= 0) {
        showError(new Error("Enter the cash the customer handed over."));
        return;
      }
      body.tenders = [{ method: "cash", amount_cents: cents }];
    }
  }
  try {
    const done = await run(pickup, step, body);
    closeStep();
    if (done?.sale) {
      const change = done.sale.change_due_cents ? `, change ${formatCents(done.sale.change_due_cents, done.sale.currency)}` : "";
      showError(new Error(`Handed over: sale ${done.sale.number} for ${formatCents(done.sale.total_cents, done.sale.currency)}${change}.`));
    }
  } catch (err) {
    showError(err);
  }
}

async function run(pickup, step, body) {
  const done = await postOnce(`/api/v1/pickups/${encodeURIComponent(pickup.order_id)}/${step}`, body);
  await load();
  return done;
}

registerTab({ id: "pickups", label: "Pickups", needs: "listPickups", load: open, wire: mount });
