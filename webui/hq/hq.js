// NovaPOS HQ dashboard: plain JS modules, no build step. Talks only to /api/v1 through the web
// apps' shared client (bearer token, one shared refresh when it expires, problem+json details).
// Every failure is shown to the analyst: a panel that could not be loaded says so and why,
// rather than keeping figures that look current.

import { ApiError, createClient } from "/common/api.js";
import { $, el, messageOf } from "/common/dom.js";
import { formatAmount } from "/common/money.js";

const client = createClient("novapos.hq.session", { server: "the HQ server" });
const REFRESH_MS = 15000;
const ADMIN_ROLES = ["tenant_admin", "super_admin"];

async function api(path, { method = "GET", body, headers: extra = {} } = {}) {
  const tenant = $("tenant").value.trim();
  const headers = tenant ? { ...extra, "X-Tenant-ID": tenant } : extra;
  try {
    return (await client.call(path, { method, body, headers })).data;
  } catch (err) {
    // The client has already tried a refresh: a 401 now means the session itself has ended
    // (signed out elsewhere, revoked, expired).
    if (err instanceof ApiError && err.status === 401 && client.session.get()) sessionEnded(err);
    throw err;
  }
}

function table(id, cols, rows) {
  const node = $(id);
  node.replaceChildren();
  const head = node.insertRow();
  for (const [label] of cols) head.append(el("th", { scope: "col", textContent: label }));
  for (const row of rows) {
    const tr = node.insertRow();
    for (const [, get, cls] of cols) {
      const td = tr.insertCell();
      const v = get(row);
      if (v instanceof Node) td.append(v); else td.textContent = v ?? "";
      if (cls) td.className = typeof cls === "function" ? cls(row) : cls;
    }
  }
  if (!rows.length) node.insertRow().append(el("td", { colSpan: cols.length, className: "empty", textContent: "None." }));
}

function range() {
  const q = new URLSearchParams();
  if ($("from").value) q.set("from", $("from").value);
  if ($("to").value) q.set("to", $("to").value);
  return q.toString() ? "?" + q : "";
}

const isAdmin = () => (client.session.get()?.user?.roles || []).some((r) => ADMIN_ROLES.includes(r));

// Each panel: its title (for messages), what it reads, and how it draws the answer.
const PANELS = [
  ["Sales by store", (r) => `/api/v1/hq/sales/summary${r}`, (data) => table("summary",
    [["Store", (x) => x.store_id], ["Orders", (x) => x.orders, "num"], ["Gross", (x) => formatAmount(x.gross_cents), "num"]],
    data.items)],
  ["Store comparison", (r) => `/api/v1/hq/sales/compare${r}`, (data) => table("compare",
    [["Store", (x) => x.store_id], ["Avg ticket", (x) => formatAmount(x.avg_ticket_cents), "num"],
     ["Share %", (x) => (x.share_bp / 100).toFixed(2), "num"]], data.items)],
  ["By day", (r) => `/api/v1/hq/sales/by-day${r}`, (data) => table("byday",
    [["Day", (x) => x.day], ["Orders", (x) => x.orders, "num"], ["Gross", (x) => formatAmount(x.gross_cents), "num"]],
    data.items)],
  ["By hour", (r) => `/api/v1/hq/sales/by-hour${r}`, (data) => table("byhour",
    [["Hour", (x) => x.hour], ["Orders", (x) => x.orders, "num"], ["Gross", (x) => formatAmount(x.gross_cents), "num"]],
    data.items)],
  ["Tender mix", (r) => `/api/v1/hq/sales/tenders${r}`, (data) => table("tenders",
    [["Method", (x) => x.method], ["Count", (x) => x.count, "num"], ["Amount", (x) => formatAmount(x.amount_cents), "num"]],
    data.items)],
  ["Top products", (r) => `/api/v1/hq/sales/top-products${r}`, (data) => table("top",
    [["SKU", (x) => x.sku], ["Name", (x) => x.name], ["Qty", (x) => x.quantity, "num"],
     ["Gross", (x) => formatAmount(x.gross_cents), "num"]], data.items)],
  ["Sync health", () => "/api/v1/hq/stores", (data) => table("stores",
    [["Store", (x) => x.store_id], ["Last seen", (x) => x.last_seen_at], ["Lag s", (x) => x.lag_s, "num"],
     ["Events", (x) => x.events_received, "num"], ["Gaps", (x) => x.missing_seqs, (x) => (x.missing_seqs ? "num bad" : "num")],
     ["Conflicts", (x) => x.pending_conflicts, "num"]], data.items)],
  ["Low stock", () => "/api/v1/hq/stock?low_stock=true", (data) => table("lowstock",
    [["SKU", (x) => x.sku], ["Location", (x) => x.location_id], ["On hand", (x) => x.on_hand, "num bad"]], data.items)],
  ["Stock across locations", () => "/api/v1/hq/stock", (data) => table("stock",
    [["SKU", (x) => x.sku], ["Location", (x) => x.location_id], ["On hand", (x) => x.on_hand, "num"]], data.items)],
  ["Transfers", () => "/api/v1/hq/transfers", (data) => table("transfers",
    [["Transfer", (x) => x.transfer_id], ["SKU", (x) => x.sku], ["From", (x) => x.from_location],
     ["To", (x) => x.to_location], ["Out", (x) => x.qty_out, "num"], ["In", (x) => x.qty_in, "num"],
     ["Status", (x) => x.status]], data.items)],
  ["Conflict queue", () => "/api/v1/hq/conflicts", (data) => table("conflicts",
    [["Kind", (x) => x.kind], ["Store", (x) => x.store_id], ["Summary", (x) => x.summary], ["Status", (x) => x.status],
     ["Assignee", (x) => x.assignee], ["", (x) => actions(x)]], data.items)],
];

// Only the newest load is drawn: an older, slower answer may arrive last.
let loadTicket = 0;

async function refresh() {
  const ticket = ++loadTicket;
  const r = range();
  const answers = await Promise.allSettled(PANELS.map(([, path]) => api(path(r))));
  if (ticket !== loadTicket || !client.session.get()) return;
  const failed = [];
  answers.forEach((answer, i) => {
    const [title, , draw] = PANELS[i];
    if (answer.status === "fulfilled") draw(answer.value);
    else failed.push([title, answer.reason]);
  });
  if (failed.length) {
    const reasons = [...new Set(failed.map(([, err]) => messageOf(err)))].join(" · ");
    showError(`Could not load ${failed.map(([title]) => title).join(", ")}: ${reasons}`);
  } else {
    showError("");
    $("updated").textContent = `Updated ${new Date().toLocaleTimeString()}`;
  }
}

function showError(message) {
  $("dash-error").textContent = message;
  $("dash-error").hidden = !message;
}

function actions(c) {
  if (c.status === "resolved") return el("span", { textContent: c.resolution });
  if (!isAdmin()) return null;
  const act = (label, ask, path, field) => el("button", {
    type: "button", textContent: label,
    onclick: () => conflictAction(c, ask, path, field),
  });
  return el("span", { className: "actions" },
    act("Assign", "Assign to", "assign", "assignee"), " ",
    act("Resolve", "Resolution", "resolve", "resolution"));
}

// -- store policy: edited here, sent to every store as a versioned command -----------------------
let policyVersion = null;

async function loadPolicy() {
  const {items: [current]} = await api("/api/v1/hq/policies");
  policyVersion = current.version;
  $("policy-version").textContent = current.version
    ? `version ${current.version}, by ${current.updated_by} at ${current.updated_at}` : "defaults, not sent yet";
  for (const input of $("policy-form").elements) {
    if (!input.name) continue;
    const value = current.policy[input.name];
    if (input.type === "checkbox") input.checked = Boolean(value);
    else if (value == null) input.value = "";
    else input.value = input.dataset.scale ? String(value / Number(input.dataset.scale)) : String(value);
  }
}

async function savePolicy(ev) {
  ev.preventDefault();
  const body = {};
  for (const input of ev.target.elements) {
    if (!input.name) continue;
    if (input.type === "checkbox") body[input.name] = input.checked;
    else if (input.tagName === "SELECT") body[input.name] = input.value;
    else if (input.value === "" && "nullable" in input.dataset) body[input.name] = null;
    else body[input.name] = Math.round(Number(input.value) * Number(input.dataset.scale || 1));
  }
  $("policy-status").textContent = "";
  try {
    // If-Match: another admin's change in between is refused (412), not silently overwritten.
    const saved = await api("/api/v1/hq/policies", {method: "PATCH", body,
      headers: {"If-Match": `"${policyVersion}"`}});
    await loadPolicy();
    $("policy-status").textContent = `Saved as version ${saved.version}; the stores apply it with their next command.`;
  } catch (err) { $("policy-status").textContent = messageOf(err); }
}

/** Asks for the assignee or the resolution in a dialog, then sends it; a refusal (say, a case
 * another operator resolved meanwhile) is shown in the dialog, which stays open. */
function conflictAction(c, ask, path, field) {
  const dialog = $("conflict-dialog");
  $("conflict-title").textContent = `${c.kind} · ${c.store_id}: ${c.summary}`;
  $("conflict-label").textContent = ask;
  $("conflict-error").textContent = "";
  $("conflict-input").value = "";
  $("conflict-form").onsubmit = async (event) => {
    event.preventDefault();
    const value = $("conflict-input").value.trim();
    if (!value) return;
    try {
      await api(`/api/v1/hq/conflicts/${encodeURIComponent(c.id)}/${path}`, { method: "POST", body: { [field]: value } });
      dialog.close("ok");
    } catch (err) {
      $("conflict-error").textContent = messageOf(err);
      return;
    }
    await refresh();
  };
  dialog.showModal();
  $("conflict-input").focus();
}

let timer = 0;

function show(user) {
  $("login").hidden = true; $("dash").hidden = false; $("logout").hidden = false;
  $("who").textContent = user ? `${user.username} · ${user.tenant_id}` : "";
  $("tenant-switch").hidden = !(user && user.roles.includes("super_admin"));
  clearInterval(timer);
  timer = setInterval(() => { if (!document.hidden) refresh(); }, REFRESH_MS);
  refresh();
  loadPolicy().catch((err) => { $("policy-status").textContent = messageOf(err); });
}

function signedOutView(message = "") {
  clearInterval(timer);
  loadTicket += 1; // answers still on their way are not drawn
  $("login").hidden = false; $("dash").hidden = true; $("logout").hidden = true; $("who").textContent = "";
  $("tenant").value = "";
  if ($("conflict-dialog").open) $("conflict-dialog").close("cancel");
  showError("");
  $("login-error").textContent = message;
}

function logout() {
  const current = client.session.get();
  client.session.set(null);
  signedOutView();
  if (current?.refresh_token) {
    client.call("/api/v1/auth/logout", { method: "POST", body: { refresh_token: current.refresh_token }, auth: false })
      .catch((err) => { $("login-error").textContent = `Signing out at the server failed: ${messageOf(err)}`; });
  }
}

function sessionEnded(err) {
  client.session.set(null);
  signedOutView(`Signed out: ${messageOf(err)}.`);
}

$("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const creds = { username: f.get("username"), password: f.get("password") };
  if (f.get("totp")) creds.totp = f.get("totp");
  $("login-error").textContent = "";
  try {
    // auth: false: a 401 here is an answer to show (wrong code, locked out), not an expired session.
    const { data } = await client.call("/api/v1/auth/login", { method: "POST", body: creds, auth: false });
    client.session.set(data);
    ev.target.reset();
    show(data.user);
  } catch (err) {
    $("login-error").textContent = messageOf(err);
  }
});
$("range").addEventListener("submit", (ev) => { ev.preventDefault(); refresh(); });
$("policy-form").addEventListener("submit", savePolicy);
$("logout").addEventListener("click", logout);
$("tenant").addEventListener("change", () => {
  refresh();
  loadPolicy().catch((err) => { $("policy-status").textContent = messageOf(err); });
});
$("conflict-cancel").addEventListener("click", () => $("conflict-dialog").close("cancel"));
if (client.session.get()) show(client.session.get().user);
