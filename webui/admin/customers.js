// Store admin: customers. Search by phone, email or card code (the list shows contact details
// masked), the customer's 360 (points, tier, purchases, pickups, returns, consents, the points
// ledger), and a supervisor's points adjustment with a reason (audited at the edge with the
// customer's id, never their details). Registers its own tab, loaded by one import line.

import { get } from "./api.js";
import { can, registerTab } from "./tabs.js";
import { cell, emptyRow, postOnce, submitting, when } from "./ui.js";
import { $, el, messageOf } from "/common/dom.js";
import { formatCents } from "/common/money.js";

// The operation ids of the edge routes this tab uses (the back-office gate lists those the
// signed-in user's roles pass).
const LIST_OP = "searchCustomers";
const ADJUST_OP = "loyaltyAdjust";

let shown = null; // the customer whose 360 is open

function mount() {
  $("tab-customers").replaceChildren(
    el("form", { className: "filters", id: "customer-filters", autocomplete: "off" },
      el("input", { name: "q", id: "customers-q", type: "search", maxLength: 254, placeholder: "Phone, email or card code",
                    ariaLabel: "Find a customer" }),
      el("button", { type: "submit", textContent: "Find" })),
    el("p", { className: "error", id: "customers-error", role: "alert" }),
    el("table", { id: "customer-table" },
      el("thead", {}, el("tr", {}, ...["Name", "Email", "Phone", "Card", "Tier", "Points", ""]
        .map((t) => el("th", { textContent: t, className: t === "Points" ? "num" : "" })))),
      el("tbody", { id: "customer-rows" }, emptyRow(7, "Search by phone, email or card code."))),
    el("section", { id: "customer-360", className: "sheet", hidden: true }));
  $("customer-filters").addEventListener("submit", (e) => { e.preventDefault(); search().catch(showError); });
}

function showError(err) {
  $("customers-error").textContent = err ? messageOf(err) : "";
}

async function search() {
  showError(null);
  const q = $("customers-q").value.trim();
  if (!q) { showError(new Error("Type a phone number, an email or a card code.")); return; }
  const { items } = await get(`/api/v1/customers?q=${encodeURIComponent(q)}`);
  $("customer-rows").replaceChildren(...items.map((c) => el("tr", { dataset: { customer: c.customer_id } },
    cell(c.name), cell(c.email_masked), cell(c.phone_masked), cell(c.card_code, "mono"), cell(c.tier),
    cell(Number(c.balance_points ?? 0).toLocaleString(), "num"),
    el("td", {}, el("button", { type: "button", textContent: "Open", onclick: () => open(c.customer_id).catch(showError) })))));
  if (!items.length) $("customer-rows").append(emptyRow(7, `No customer found for “${q}”.`));
}

async function open(customerId) {
  showError(null);
  const id = encodeURIComponent(customerId);
  const [view, ledger] = await Promise.all([
    get(`/api/v1/customers/${id}`),
    get(`/api/v1/customers/${id}/loyalty/ledger`).catch((err) => ({ error: err, items: [] })),
  ]);
  shown = view;
  render(view, ledger);
}

const masked = (value, kind) => {
  if (!value) return "–";
  if (kind === "email") { const [u, d = ""] = value.split("@"); return `${u.slice(0, 1)}***@${d}`; }
  return `${"•".repeat(Math.max(0, value.length - 4))}${value.slice(-4)}`;
};

function render(v, ledger) {
  const l = v.loyalty ?? {};
  const consent = (given, at) => (given ? `yes (${when(at)})` : "no");
  const box = $("customer-360");
  const facts = [
    ["Email", masked(v.email, "email")], ["Phone", masked(v.phone, "phone")], ["Card", v.card_code],
    ["Points", Number(l.balance_points ?? 0).toLocaleString()], ["Tier", l.tier],
    ["Next tier", l.next_tier ? `${l.next_tier}: ${Number(l.points_to_next_tier ?? 0).toLocaleString()} points to go` : "top tier"],
    ["Marketing", consent(v.consents?.marketing, v.consents?.marketing_at)],
    ["E-receipts", consent(v.consents?.e_receipts, v.consents?.e_receipts_at)],
    ["Joined", `${v.home_store_id ?? "–"}, ${when(v.created_at)}`],
    ["Source", v.offline ? "this store's copy (HQ not reachable)" : "current"],
  ];
  const table = (id, heads, rows) => el("table", { id },
    el("thead", {}, el("tr", {}, ...heads.map((h) => el("th", { textContent: h })))),
    el("tbody", {}, ...(rows.length ? rows : [emptyRow(heads.length, "None.")])));
  box.replaceChildren(...[
    el("div", { className: "dialog-head" },
      el("h2", { id: "customer-360-name", textContent: v.name }),
      el("button", { type: "button", textContent: "Close", onclick: () => { box.hidden = true; shown = null; } })),
    el("dl", { className: "cards", id: "customer-facts" }, ...facts.map(([k, value]) =>
      el("div", { className: "card" }, el("dt", { textContent: k }), el("dd", { textContent: value ?? "–" })))),
    el("h3", { textContent: "Recent purchases" }),
    table("customer-purchases", ["When", "Store", "Order", "Total", "Points"], (v.recent_purchases ?? []).map((p) =>
      el("tr", {}, cell(when(p.at)), cell(p.store_id), cell(p.order_id, "mono"),
        cell(formatCents(p.total_cents, p.currency), "num"), cell(p.points_earned, "num")))),
    el("h3", { textContent: "Open pickups" }),
    table("customer-pickups", ["Order", "Store", "Status", "Since"], (v.open_pickups ?? []).map((p) =>
      el("tr", {}, cell(p.order_id, "mono"), cell(p.store_id), cell(p.status), cell(when(p.at))))),
    el("h3", { textContent: "Returns" }),
    table("customer-returns", ["When", "Store", "Order", "Refund"], (v.returns ?? []).map((r) =>
      el("tr", {}, cell(when(r.at)), cell(r.store_id), cell(r.order_id, "mono"), cell(formatCents(r.refund_cents, r.currency), "num")))),
    el("h3", { textContent: "Points ledger" }),
    ledger.error ? el("p", { className: "error", textContent: `The ledger could not be loaded: ${messageOf(ledger.error)}` }) : null,
    table("customer-ledger", ["When", "Kind", "Points", "Store", "Order", "Reason"], (ledger.items ?? []).map((e) =>
      el("tr", {}, cell(when(e.at)), cell(e.kind), cell(e.points > 0 ? `+${e.points}` : String(e.points), "num"),
        cell(e.store_id), cell(e.order_id, "mono"), cell(e.reason)))),
    can(ADJUST_OP) ? adjustForm(v) : el("p", { className: "note", textContent: "A supervisor can adjust points here." }),
  ].filter(Boolean));
  box.hidden = false;
}

function adjustForm(v) {
  const form = el("form", { className: "filters", id: "points-adjust", autocomplete: "off", noValidate: true },
    el("strong", { textContent: "Adjust points" }),
    el("label", { className: "field", textContent: "Points (+ or −) " },
      el("input", { name: "points", id: "points-adjust-points", inputMode: "numeric", maxLength: 9, required: true })),
    el("label", { className: "field", textContent: "Reason " },
      el("input", { name: "reason", id: "points-adjust-reason", maxLength: 200, required: true })),
    el("button", { type: "submit", className: "primary", textContent: "Adjust" }),
    el("span", { className: "error", id: "points-adjust-error", role: "alert" }));
  form.addEventListener("submit", (event) => submitting(event, "points-adjust-error", async () => {
    const text = $("points-adjust-points").value.trim();
    const reason = $("points-adjust-reason").value.trim();
    if (!/^[+-]?\d{1,9}$/.test(text) || Number(text) === 0) throw new Error("Type a whole number of points, e.g. 50 or -50.");
    if (!reason) throw new Error("Say why (the audit log keeps it).");
    await postOnce(`/api/v1/customers/${encodeURIComponent(v.customer_id)}/loyalty/adjustments`,
                   { points: Number(text), reason });
    await open(v.customer_id);
    $("customers-error").textContent = `Adjusted by ${Number(text) > 0 ? "+" : ""}${Number(text)} points.`;
  }));
  return form;
}

registerTab({ id: "customers", label: "Customers", needs: LIST_OP, wire: mount,
              load: () => (shown ? open(shown.customer_id) : undefined) });
