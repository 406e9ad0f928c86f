// Store admin: inventory (with low stock), users, devices (with test actions), the audit log
// and sync status. Read-mostly pages over the edge API; every error shows the server's detail.

import { ApiError, call, get, post, session } from "./api.js";

const $ = (id) => document.getElementById(id);
const cursors = { inventory: null, audit: null };

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((c) => c != null));
  return node;
}

const cell = (text, className = "") => el("td", { textContent: text ?? "–", className });
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "–");

function showError(err) {
  $("tab-error").textContent = err ? (err instanceof ApiError ? err.message : `The store server cannot be reached (${err.message}).`) : "";
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
  openTab(location.hash.slice(1) || "inventory");
}

// -- tabs ------------------------------------------------------------------------------------
const LOADERS = { inventory: () => loadInventory(true), users: loadUsers, devices: loadDevices,
                  audit: () => loadAudit(true), sync: loadSync };

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
}

wire();
if (session.get()) enter();
else $("username").focus();
