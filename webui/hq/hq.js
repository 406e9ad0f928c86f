// NovaPOS HQ dashboard: plain JS, no build step. Talks only to /api/v1 with a bearer token.
"use strict";
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem("hq_token");
const money = (c) => (c / 100).toLocaleString(undefined, {minimumFractionDigits: 2});

async function api(path, opts = {}) {
  const headers = {"Content-Type": "application/json", ...(opts.headers || {})};
  if (token) headers.Authorization = "Bearer " + token;
  const tenant = $("tenant").value.trim();
  if (tenant) headers["X-Tenant-ID"] = tenant;
  const r = await fetch(path, {...opts, headers});
  if (r.status === 401) { logout(); throw new Error("signed out"); }
  const body = r.status === 204 ? null : await r.json();
  if (!r.ok) throw new Error(body?.detail || r.statusText);
  return body;
}

function table(id, cols, rows) {
  const el = $(id);
  el.replaceChildren();
  const head = el.insertRow();
  for (const [label] of cols) { const th = document.createElement("th"); th.textContent = label; head.append(th); }
  for (const row of rows) {
    const tr = el.insertRow();
    for (const [, get, cls] of cols) {
      const td = tr.insertCell();
      const v = get(row);
      if (v instanceof Node) td.append(v); else td.textContent = v ?? "";
      if (cls) td.className = typeof cls === "function" ? cls(row) : cls;
    }
  }
}

function range() {
  const q = new URLSearchParams();
  if ($("from").value) q.set("from", $("from").value);
  if ($("to").value) q.set("to", $("to").value);
  return q.toString() ? "?" + q : "";
}

async function refresh() {
  const r = range();
  const [summary, compare, byday, byhour, tenders, top, stores, low, stock, transfers, conflicts] = await Promise.all([
    api("/api/v1/hq/sales/summary" + r), api("/api/v1/hq/sales/compare" + r), api("/api/v1/hq/sales/by-day" + r),
    api("/api/v1/hq/sales/by-hour" + r), api("/api/v1/hq/sales/tenders" + r), api("/api/v1/hq/sales/top-products" + r),
    api("/api/v1/hq/stores"), api("/api/v1/hq/stock?low_stock=true"), api("/api/v1/hq/stock"),
    api("/api/v1/hq/transfers"), api("/api/v1/hq/conflicts"),
  ]);
  table("summary", [["Store", (x) => x.store_id], ["Orders", (x) => x.orders, "num"], ["Gross", (x) => money(x.gross_cents), "num"]], summary.items);
  table("compare", [["Store", (x) => x.store_id], ["Avg ticket", (x) => money(x.avg_ticket_cents), "num"], ["Share %", (x) => (x.share_bp / 100).toFixed(2), "num"]], compare.items);
  table("byday", [["Day", (x) => x.day], ["Orders", (x) => x.orders, "num"], ["Gross", (x) => money(x.gross_cents), "num"]], byday.items);
  table("byhour", [["Hour", (x) => x.hour], ["Orders", (x) => x.orders, "num"], ["Gross", (x) => money(x.gross_cents), "num"]], byhour.items);
  table("tenders", [["Method", (x) => x.method], ["Count", (x) => x.count, "num"], ["Amount", (x) => money(x.amount_cents), "num"]], tenders.items);
  table("top", [["SKU", (x) => x.sku], ["Name", (x) => x.name], ["Qty", (x) => x.quantity, "num"], ["Gross", (x) => money(x.gross_cents), "num"]], top.items);
  table("stores", [["Store", (x) => x.store_id], ["Last seen", (x) => x.last_seen_at], ["Lag s", (x) => x.lag_s, "num"],
    ["Events", (x) => x.events_received, "num"], ["Gaps", (x) => x.missing_seqs, (x) => x.missing_seqs ? "num bad" : "num"],
    ["Conflicts", (x) => x.pending_conflicts, "num"]], stores.items);
  table("lowstock", [["SKU", (x) => x.sku], ["Location", (x) => x.location_id], ["On hand", (x) => x.on_hand, "num bad"]], low.items);
  table("stock", [["SKU", (x) => x.sku], ["Location", (x) => x.location_id], ["On hand", (x) => x.on_hand, "num"]], stock.items);
  table("transfers", [["Transfer", (x) => x.transfer_id], ["SKU", (x) => x.sku], ["From", (x) => x.from_location], ["To", (x) => x.to_location],
    ["Out", (x) => x.qty_out, "num"], ["In", (x) => x.qty_in, "num"], ["Status", (x) => x.status]], transfers.items);
  table("conflicts", [["Kind", (x) => x.kind], ["Store", (x) => x.store_id], ["Summary", (x) => x.summary], ["Status", (x) => x.status],
    ["Assignee", (x) => x.assignee], ["", (x) => actions(x)]], conflicts.items);
}

function actions(c) {
  const span = document.createElement("span");
  if (c.status === "resolved") { span.textContent = c.resolution; return span; }
  const assign = document.createElement("button"); assign.textContent = "Assign";
  assign.onclick = async () => { const who = prompt("Assign to"); if (who) { await api(`/api/v1/hq/conflicts/${c.id}/assign`, {method: "POST", body: JSON.stringify({assignee: who})}); refresh(); } };
  const resolve = document.createElement("button"); resolve.textContent = "Resolve";
  resolve.onclick = async () => { const how = prompt("Resolution"); if (how) { await api(`/api/v1/hq/conflicts/${c.id}/resolve`, {method: "POST", body: JSON.stringify({resolution: how})}); refresh(); } };
  span.append(assign, " ", resolve);
  return span;
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
    const saved = await api("/api/v1/hq/policies", {method: "PATCH", body: JSON.stringify(body),
      headers: {"If-Match": `"${policyVersion}"`}});
    await loadPolicy();
    $("policy-status").textContent = `Saved as version ${saved.version}; the stores apply it with their next command.`;
  } catch (e) { $("policy-status").textContent = e.message; }
}

function show(user) {
  $("login").hidden = true; $("dash").hidden = false; $("logout").hidden = false;
  $("who").textContent = user ? `${user.username} · ${user.tenant_id}` : "";
  $("tenant-switch").hidden = !(user && user.roles.includes("super_admin"));
  refresh().catch((e) => console.error(e));
  loadPolicy().catch((e) => { $("policy-status").textContent = e.message; });
}

function logout() {
  token = null; sessionStorage.removeItem("hq_token");
  $("login").hidden = false; $("dash").hidden = true; $("logout").hidden = true; $("who").textContent = "";
}

$("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const creds = {username: f.get("username"), password: f.get("password")};
  if (f.get("totp")) creds.totp = f.get("totp");
  try {
    // Not through api(): a 401 here is an answer to show (wrong code, locked out), not a sign-out.
    const r = await fetch("/api/v1/auth/login", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(creds)});
    const body = await r.json();
    if (!r.ok) { $("login-error").textContent = body.detail || "Sign-in failed"; return; }
    token = body.access_token; sessionStorage.setItem("hq_token", token);
    sessionStorage.setItem("hq_user", JSON.stringify(body.user));
    show(body.user);
  } catch (e) { $("login-error").textContent = "Sign-in failed"; }
});
$("range").addEventListener("submit", (ev) => { ev.preventDefault(); refresh(); });
$("policy-form").addEventListener("submit", savePolicy);
$("logout").addEventListener("click", logout);
$("tenant").addEventListener("change", () => { refresh(); loadPolicy().catch(() => {}); });
if (token) show(JSON.parse(sessionStorage.getItem("hq_user") || "null"));
setInterval(() => { if (token) refresh().catch(() => {}); }, 15000);
