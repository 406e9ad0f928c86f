// NovaPOS HQ dashboard: plain JS modules, no build step. Talks only to /api/v1 through the web
// apps' shared client (bearer token, one shared refresh when it expires, problem+json details).
// Every failure is shown to the analyst: a panel that could not be loaded says so and why,
// rather than keeping figures that look current.
//
// This module signs in and out, holds the panels and refreshes them; the views with more to
// them live beside it: charts.js, stock.js (stock across locations), conflicts.js (the case
// dialog), mfa.js (two-step sign-in set-up), session.js (the API client and session).

import { ApiError } from "/common/api.js";
import { $, el, messageOf } from "/common/dom.js";
import { formatAmount } from "/common/money.js";
import { CHART_PANELS, resizeCharts, setChartStores, setCurrency } from "/hq/charts.js";
import { caseActions } from "/hq/conflicts.js";
import { installMfaSetup, openMfaSetup } from "/hq/mfa.js";
import { api, client, currentUser, onSessionEnded, query } from "/hq/session.js";
import { installStockBrowser, setStores, STOCK_PANEL } from "/hq/stock.js";
import { fillTable as table } from "/hq/tables.js";

const REFRESH_MS = 15000;

/** The range form's own check, before anything is asked of the hub (which checks again). */
function rangeProblem() {
  const from = $("from").value, to = $("to").value;
  if ($("from").validity.badInput || $("to").validity.badInput) return "Type a whole date, or leave it empty.";
  if (from && to && from > to) return `The range starts (${from}) after it ends (${to}).`;
  return "";
}

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
  ["Sync health", () => "/api/v1/hq/stores", (data) => {
    table("stores",
      [["Store", (x) => x.store_id], ["Last seen", (x) => x.last_seen_at], ["Lag s", (x) => x.lag_s, "num"],
       ["Events", (x) => x.events_received, "num"],
       ["Gaps", (x) => x.missing_seqs, (x) => (x.missing_seqs ? "num bad" : "num")],
       ["Conflicts", (x) => x.pending_conflicts, "num"]], data.items);
    setStores(data.items.map((x) => x.store_id));
    setChartStores(data.items.map((x) => x.store_id));
  }],
  ["Low stock", () => "/api/v1/hq/stock?low_stock=true", (data) => table("lowstock",
    [["SKU", (x) => x.sku], ["Location", (x) => x.location_id], ["On hand", (x) => x.on_hand, "num bad"]], data.items)],
  STOCK_PANEL,
  ["Transfers", () => "/api/v1/hq/transfers", (data) => table("transfers",
    [["Transfer", (x) => x.transfer_id], ["SKU", (x) => x.sku], ["From", (x) => x.from_location],
     ["To", (x) => x.to_location], ["Out", (x) => x.qty_out, "num"], ["In", (x) => x.qty_in, "num"],
     ["Status", (x) => x.status]], data.items)],
  ["Conflict queue", () => "/api/v1/hq/conflicts", (data) => table("conflicts",
    [["Kind", (x) => x.kind], ["Store", (x) => x.store_id], ["Summary", (x) => x.summary], ["Status", (x) => x.status],
     ["Assignee", (x) => x.assignee], ["", (x) => caseActions(x, refresh)]], data.items)],
  ...CHART_PANELS,
];

// Only the newest load is drawn: an older, slower answer may arrive last.
let loadTicket = 0;

async function refresh() {
  const problem = rangeProblem();
  $("range-error").textContent = problem;
  $("range-hint").hidden = Boolean($("from").value || $("to").value);
  if (problem) return;
  const ticket = ++loadTicket;
  const r = query();
  const answers = await Promise.allSettled(PANELS.map(([, path]) => api(path(r))));
  if (ticket !== loadTicket || !client.session.get()) return;
  const failed = [];
  answers.forEach((answer, i) => {
    const [title, , draw] = PANELS[i];
    if (answer.status !== "fulfilled") { failed.push([title, answer.reason]); return; }
    try { draw(answer.value); } catch (err) { failed.push([title, err]); } // one panel never stops the others
  });
  if (failed.length) {
    const reasons = [...new Set(failed.map(([, err]) => messageOf(err)))].join(" · ");
    showError(`Could not load ${failed.map(([title]) => title).join(", ")}: ${reasons}`);
  } else {
    showError("");
    $("updated").textContent = `Updated ${new Date().toLocaleTimeString()}`;
  }
}

/** One panel on its own (a stock page turned): the rest of the dashboard stays as it is. */
async function refreshPanel([title, path, draw]) {
  try {
    draw(await api(path(query())));
  } catch (err) {
    showError(`Could not load ${title}: ${messageOf(err)}`);
  }
}

function showError(message) {
  $("dash-error").textContent = message;
  $("dash-error").hidden = !message;
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

let timer = 0;

/** A super-admin works on one tenant at a time, chosen from the hub's tenant list. */
async function loadTenants(user) {
  const select = $("tenant");
  select.replaceChildren(new Option(user.tenant_id, ""));
  const canSwitch = user.roles.includes("super_admin");
  $("tenant-switch").hidden = !canSwitch;
  if (!canSwitch) return;
  try {
    const { items } = await api("/api/v1/tenants");
    select.replaceChildren(...items.map((t) => new Option(`${t.name} (${t.id})`, t.id === user.tenant_id ? "" : t.id,
      false, t.id === user.tenant_id)));
  } catch (err) {
    showError(`Could not load the tenant list: ${messageOf(err)}`);
  }
}

function show(user) {
  const form = $("login");
  form.hidden = true; form.inert = true; // nothing of the sign-in stays reachable behind the dashboard
  form.reset();
  $("dash").hidden = false; $("logout").hidden = false; $("mfa-setup").hidden = false;
  $("who").textContent = user ? `${user.username} · ${user.tenant_id}` : "";
  if (user) loadTenants(user);
  clearInterval(timer);
  timer = setInterval(() => { if (!document.hidden) refresh(); }, REFRESH_MS);
  refresh();
  loadPolicy().catch((err) => { $("policy-status").textContent = messageOf(err); });
}

function signedOutView(message = "") {
  clearInterval(timer);
  loadTicket += 1; // answers still on their way are not drawn
  $("login").hidden = false; $("login").inert = false;
  $("dash").hidden = true; $("logout").hidden = true; $("mfa-setup").hidden = true; $("who").textContent = "";
  $("tenant").replaceChildren(); $("tenant-switch").hidden = true;
  for (const id of ["conflict-dialog", "mfa-dialog"]) if ($(id).open) $(id).close("cancel");
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
onSessionEnded(sessionEnded);

/** After an admin set up two-step sign-in from a refused sign-in: back to the form, code next. */
function enrolled(fromSignIn) {
  if (fromSignIn) {
    $("login-error").textContent = "Two-step sign-in is set up. Sign in with the next code your app shows.";
    $("login").elements.totp.focus();
  } else {
    showError("");
    $("updated").textContent = "Two-step sign-in is set up: your next sign-in asks for a code from the new app.";
  }
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
    show(data.user);
  } catch (err) {
    $("login-error").textContent = messageOf(err);
    if (err instanceof ApiError && err.code === "mfa-enrollment-required" && err.problem.enrollment_token) {
      openMfaSetup({ token: err.problem.enrollment_token, done: enrolled });
    }
  } finally {
    ev.target.elements.totp.value = ""; // a code works once: never offered again
  }
});
$("range").addEventListener("submit", (ev) => { ev.preventDefault(); refresh(); });
$("policy-form").addEventListener("submit", savePolicy);
$("logout").addEventListener("click", logout);
$("tenant").addEventListener("change", () => {
  showError("");
  refresh();
  loadPolicy().catch((err) => { $("policy-status").textContent = messageOf(err); });
});
$("conflict-cancel").addEventListener("click", () => $("conflict-dialog").close("cancel"));
$("currency").addEventListener("change", () => setCurrency($("currency").value, refresh));
$("chart-store").addEventListener("change", refresh);
$("mfa-setup").addEventListener("click", () => openMfaSetup({ done: enrolled }));
window.addEventListener("resize", resizeCharts);
installStockBrowser(() => refreshPanel(STOCK_PANEL));
installMfaSetup();
if (client.session.get()) show(currentUser());
