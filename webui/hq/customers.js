// HQ customers panel: masked search (phone, email or card code, looked up by blind index at
// the hub), the customer's 360 at HQ, the data subject's requests — Export (one JSON document,
// downloaded) and Erase (a confirm dialog, then the request with each store's confirmation) —
// and the GDPR request log. Hooked into the dashboard by one <script> line; shares its session.
// Contact details are shown masked: the hub's search answers masked, and the 360 here masks too.

import { $, el, messageOf } from "/common/dom.js";
import { formatAmount } from "/common/money.js";
import { api, client, isAdmin } from "/hq/session.js";
import { fillTable } from "/hq/tables.js";

const POLL_MS = 3000;
let shown = null; // the customer whose 360 is open
let pollTimer = 0;

function panel() {
  let node = $("customers");
  if (node) return node;
  node = el("article", { id: "customers", className: "wide" },
    el("h2", { textContent: "Customers" }),
    el("form", { id: "customer-search" },
      el("label", { textContent: "Phone, email or card " },
        el("input", { id: "customer-q", type: "search", maxLength: 254, autocomplete: "off", required: true })),
      " ", el("button", { textContent: "Search" })),
    el("p", { id: "customers-error", role: "alert", className: "bad", hidden: true }),
    el("table", { id: "customer-results" }),
    el("section", { id: "customer-detail", hidden: true }),
    el("h3", { textContent: "Data subject requests" }),
    el("table", { id: "gdpr-requests" }));
  document.querySelector("#dash .grid")?.append(node);
  document.body.append(eraseDialog());
  $("customer-search").addEventListener("submit", (ev) => { ev.preventDefault(); search(); });
  return node;
}

function showError(err) {
  $("customers-error").textContent = err ? messageOf(err) : "";
  $("customers-error").hidden = !err;
}

const maskEmail = (v) => { if (!v) return "–"; const [u, d = ""] = String(v).split("@"); return `${u.slice(0, 1)}***@${d}`; };
const maskPhone = (v) => (v ? `${"•".repeat(Math.max(0, String(v).length - 4))}${String(v).slice(-4)}` : "–");
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "–");

async function search() {
  showError(null);
  const q = $("customer-q").value.trim();
  if (!q) return;
  try {
    const { items } = await api(`/api/v1/hq/customers?q=${encodeURIComponent(q)}`);
    fillTable("customer-results", [
      ["Name", (c) => c.name], ["Email", (c) => c.email_masked ?? "–"], ["Phone", (c) => c.phone_masked ?? "–"],
      ["Card", (c) => c.card_code ?? "–"], ["Home store", (c) => c.home_store_id ?? "–"],
      ["Points", (c) => Number(c.balance_points ?? 0).toLocaleString(), "num"],
      ["", (c) => el("button", { type: "button", textContent: "Open", onclick: () => open(c.customer_id) })],
    ], items);
  } catch (err) {
    showError(err);
  }
}

async function open(customerId) {
  showError(null);
  try {
    shown = await api(`/api/v1/hq/customers/${encodeURIComponent(customerId)}`);
  } catch (err) {
    showError(err);
    return;
  }
  render(shown);
}

function render(v) {
  const box = $("customer-detail");
  const l = v.loyalty ?? {};
  const consent = (given, at) => (given ? `yes (${when(at)})` : "no");
  const facts = [
    ["Customer id", v.customer_id], ["Email", v.email_masked ?? maskEmail(v.email)],
    ["Phone", v.phone_masked ?? maskPhone(v.phone)], ["Card", v.card_code],
    ["Points", Number(l.balance_points ?? v.balance_points ?? 0).toLocaleString()], ["Tier", l.tier],
    ["Marketing", consent(v.consents?.marketing, v.consents?.marketing_at)],
    ["E-receipts", consent(v.consents?.e_receipts, v.consents?.e_receipts_at)],
    ["Home store", v.home_store_id], ["Joined", when(v.created_at)],
    ["Stores holding it", (v.stores ?? []).join(", ") || "–"],
  ];
  const admin = isAdmin();
  box.replaceChildren(
    el("h3", { id: "customer-name", textContent: v.name ?? v.customer_id }),
    el("dl", { className: "facts", id: "customer-facts" }, ...facts.flatMap(([k, value]) =>
      [el("dt", { textContent: k }), el("dd", { textContent: value ?? "–" })])),
    el("h4", { textContent: "Recent purchases" }), el("table", { id: "customer-purchases" }),
    el("h4", { textContent: "Open pickups" }), el("table", { id: "customer-pickups" }),
    el("h4", { textContent: "Returns" }), el("table", { id: "customer-returns" }),
    el("h4", { textContent: "Points ledger" }), el("table", { id: "customer-ledger" }),
    admin ? adjustForm(v) : el("p", { className: "note", textContent: "Points adjustments need a tenant admin." }),
    el("div", { className: "actions" },
      el("button", { type: "button", id: "customer-export", textContent: "Export (JSON)", disabled: !admin,
                     onclick: () => exportCustomer(v) }),
      " ", el("button", { type: "button", id: "customer-erase", className: "danger", textContent: "Erase…", disabled: !admin,
                          onclick: () => askErase(v) }),
      " ", el("button", { type: "button", textContent: "Close", onclick: () => { box.hidden = true; shown = null; } }),
      " ", el("span", { id: "customer-status", role: "status" }),
      admin ? null : el("p", { className: "note", textContent: "Export and erase need a tenant admin." })));
  fillTable("customer-purchases", [["When", (p) => when(p.at)], ["Store", (p) => p.store_id], ["Order", (p) => p.order_id],
    ["Total", (p) => formatAmount(p.total_cents), "num"], ["Points", (p) => p.points_earned ?? "", "num"]], v.recent_purchases ?? []);
  fillTable("customer-pickups", [["Order", (p) => p.order_id], ["Store", (p) => p.store_id], ["Status", (p) => p.status],
    ["Since", (p) => when(p.at)]], v.open_pickups ?? []);
  fillTable("customer-returns", [["When", (r) => when(r.at)], ["Store", (r) => r.store_id], ["Order", (r) => r.order_id],
    ["Refund", (r) => formatAmount(r.refund_cents), "num"]], v.returns ?? []);
  box.hidden = false;
  loadLedger(v.customer_id);
}

async function loadLedger(customerId) {
  try {
    const { items } = await api(`/api/v1/hq/customers/${encodeURIComponent(customerId)}/loyalty/ledger`);
    fillTable("customer-ledger", [["When", (e) => when(e.at)], ["Kind", (e) => e.kind],
      ["Points", (e) => (e.points > 0 ? `+${e.points}` : String(e.points)), "num"], ["Store", (e) => e.store_id ?? "HQ"],
      ["Order", (e) => e.order_id ?? ""], ["Reason", (e) => e.reason ?? ""]], items);
  } catch (err) {
    fillTable("customer-ledger", [["", (x) => x]], [`The ledger could not be loaded: ${messageOf(err)}`]);
  }
}

// A tenant admin's points adjustment, with the reason the audit keeps (HQ's ledger, by id).
function adjustForm(v) {
  const form = el("form", { id: "hq-points-adjust", noValidate: true },
    el("label", { textContent: "Adjust points (+ or −) " },
      el("input", { id: "hq-adjust-points", inputMode: "numeric", maxLength: 9, autocomplete: "off" })),
    " ", el("label", { textContent: "Reason " }, el("input", { id: "hq-adjust-reason", maxLength: 200, autocomplete: "off" })),
    " ", el("button", { textContent: "Adjust" }),
    " ", el("span", { id: "hq-adjust-status", role: "status" }));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const status = $("hq-adjust-status");
    const text = $("hq-adjust-points").value.trim();
    const reason = $("hq-adjust-reason").value.trim();
    if (!/^[+-]?\d{1,9}$/.test(text) || Number(text) === 0) { status.textContent = "Type a whole number of points, e.g. 50 or -50."; return; }
    if (!reason) { status.textContent = "Say why (the audit keeps it)."; return; }
    try {
      await api(`/api/v1/hq/customers/${encodeURIComponent(v.customer_id)}/loyalty/adjustments`,
                { method: "POST", body: { points: Number(text), reason } });
      form.reset();
      await open(v.customer_id);
      $("hq-adjust-status").textContent = `Adjusted by ${Number(text) > 0 ? "+" : ""}${Number(text)} points.`;
    } catch (err) {
      status.textContent = messageOf(err);
    }
  });
  return form;
}

// -- export -----------------------------------------------------------------------------------
async function exportCustomer(v) {
  const status = $("customer-status");
  status.textContent = "Exporting…";
  try {
    const document_ = await api(`/api/v1/hq/customers/${encodeURIComponent(v.customer_id)}/export`, { method: "POST" });
    const blob = new Blob([JSON.stringify(document_, null, 2)], { type: "application/json" });
    const url = URL.createObjectURL(blob);
    const link = el("a", { href: url, download: `customer-${v.customer_id}.json`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    status.textContent = "Exported: the download holds everything HQ and the stores have on this customer (logged).";
    loadRequests();
  } catch (err) {
    status.textContent = messageOf(err);
  }
}

// -- erase ------------------------------------------------------------------------------------
function eraseDialog() {
  const dialog = el("dialog", { id: "erase-dialog" },
    el("form", { id: "erase-form" },
      el("h2", { id: "erase-heading", textContent: "Erase a customer" }),
      el("p", { id: "erase-who" }),
      el("p", { textContent: "Erasing destroys the customer's key: their details become unreadable everywhere at once, "
        + "in HQ, in every store, in event history and in backups. Orders keep their amounts and lose the link; the "
        + "points ledger is anonymised. This cannot be undone." }),
      el("label", {}, el("input", { type: "checkbox", id: "erase-sure", required: true }),
        " I have checked this is the person who asked to be erased"),
      el("p", { id: "erase-error", role: "alert" }),
      el("section", { id: "erase-progress", hidden: true },
        el("p", { id: "erase-request" }),
        el("table", { id: "erase-stores" })),
      el("div", {},
        el("button", { type: "submit", id: "erase-confirm", textContent: "Erase" }), " ",
        el("button", { type: "button", id: "erase-close", textContent: "Cancel" }))));
  dialog.setAttribute("aria-labelledby", "erase-heading");
  dialog.querySelector("#erase-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => { clearTimeout(pollTimer); pollTimer = 0; });
  dialog.querySelector("#erase-form").addEventListener("submit", erase);
  return dialog;
}

let erasing = null;

function askErase(v) {
  erasing = v;
  $("erase-who").textContent = `${v.name ?? ""} · ${v.customer_id}${v.card_code ? ` · card ${v.card_code}` : ""}`;
  $("erase-sure").checked = false;
  $("erase-error").textContent = "";
  $("erase-progress").hidden = true;
  $("erase-confirm").hidden = false;
  $("erase-close").textContent = "Cancel";
  $("erase-dialog").showModal();
}

async function erase(ev) {
  ev.preventDefault();
  if (!erasing || !$("erase-sure").checked) return;
  $("erase-error").textContent = "";
  $("erase-confirm").disabled = true;
  try {
    const request = await api(`/api/v1/hq/customers/${encodeURIComponent(erasing.customer_id)}/erase`, { method: "POST" });
    $("erase-confirm").hidden = true;
    $("erase-close").textContent = "Close";
    $("erase-progress").hidden = false;
    showRequest(request);
    $("customer-detail").hidden = true;
    shown = null;
    pollRequest(request.request_id);
  } catch (err) {
    $("erase-error").textContent = messageOf(err);
  } finally {
    $("erase-confirm").disabled = false;
  }
}

function confirmationsOf(request) {
  // Each store of the tenant, confirmed (with when) or still to confirm.
  const done = new Map((request.confirmations ?? []).map((c) => [c.store_id, c.confirmed_at ?? c.at]));
  const stores = [...new Set([...(request.stores ?? []), ...done.keys()])];
  return stores.map((store) => ({ store_id: store, confirmed_at: done.get(store) ?? null }));
}

function showRequest(request) {
  const stores = confirmationsOf(request);
  const confirmed = stores.filter((s) => s.confirmed_at).length;
  $("erase-request").textContent = `Request ${request.request_id}: erased at HQ ${when(request.requested_at ?? request.at)}; `
    + `${confirmed} of ${stores.length} store${stores.length === 1 ? "" : "s"} confirmed.`;
  fillTable("erase-stores", [["Store", (s) => s.store_id],
    ["Confirmed", (s) => (s.confirmed_at ? when(s.confirmed_at) : "waiting (applied when the store is back)"),
     (s) => (s.confirmed_at ? "" : "bad")]], stores);
}

function pollRequest(requestId) {
  clearTimeout(pollTimer);
  pollTimer = setTimeout(async () => {
    if (!$("erase-dialog").open) return;
    try {
      const { items } = await api("/api/v1/hq/gdpr/requests");
      const request = items.find((r) => r.request_id === requestId);
      if (request) showRequest(request);
      drawRequests(items);
    } catch (err) {
      $("erase-error").textContent = messageOf(err);
    }
    pollRequest(requestId);
  }, POLL_MS);
}

// -- the request log --------------------------------------------------------------------------
function drawRequests(items) {
  fillTable("gdpr-requests", [
    ["Request", (r) => r.request_id], ["Kind", (r) => r.kind], ["Customer", (r) => r.customer_id],
    ["Asked by", (r) => r.requested_by ?? r.actor], ["When", (r) => when(r.requested_at ?? r.at)],
    ["Stores confirmed", (r) => {
      const stores = confirmationsOf(r);
      return r.kind === "erase" ? `${stores.filter((s) => s.confirmed_at).length} / ${stores.length}` : "–";
    }, "num"],
  ], items);
}

async function loadRequests() {
  if (!isAdmin()) {
    fillTable("gdpr-requests", [["", (x) => x]], ["The request log is for tenant admins."]);
    return;
  }
  try {
    drawRequests((await api("/api/v1/hq/gdpr/requests")).items);
  } catch (err) {
    showError(err);
  }
}

function refresh() {
  if ($("dash")?.hidden || !client.session.get()) return;
  panel();
  loadRequests();
}

// The dashboard shows itself after sign-in; draw as soon as it does.
new MutationObserver(refresh).observe($("dash"), { attributes: true, attributeFilter: ["hidden"] });
refresh();
