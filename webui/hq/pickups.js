// HQ pickup orders (BOPIS): each web order's status and store, newest first, and on demand its
// history (every status with the store, the reason a store gave when it rejected it, and when).
// A module of its own, hooked into the dashboard by one <script> line: it shares the dashboard's
// session and draws into its own panel, which says so when it cannot load.

import { $, el, messageOf } from "/common/dom.js";
// The dashboard's own client: one session, one refresh (see session.js).
import { api, client } from "/hq/session.js";

const REFRESH_MS = 15000;
const SHOWN = 50; // the newest orders; older ones stay reachable through the API
let opened = null; // the order whose history is on screen, redrawn at each refresh

function panel() {
  let node = $("pickups");
  if (node) return node;
  node = el("article", { id: "pickups", className: "wide" },
    el("h2", { textContent: "Pickup orders" }),
    el("p", { id: "pickups-error", role: "alert", hidden: true, className: "bad" }),
    el("table", { id: "pickup-orders" }),
    el("h3", { id: "pickup-history-title", hidden: true }),
    el("table", { id: "pickup-history", hidden: true }));
  document.querySelector("#dash .grid")?.append(node);
  return node;
}

function table(id, labels, rows, cells) {
  const node = $(id);
  node.replaceChildren();
  const head = node.insertRow();
  for (const label of labels) head.append(el("th", { scope: "col", textContent: label }));
  for (const row of rows) {
    const tr = node.insertRow();
    for (const value of cells(row)) {
      const td = tr.insertCell();
      if (value instanceof Node) td.append(value); else td.textContent = value ?? "–";
    }
  }
  if (!rows.length) node.insertRow().append(el("td", { colSpan: labels.length, className: "empty",
    textContent: "No pickup orders yet." }));
}

function historyButton(order) {
  const button = el("button", { type: "button", textContent: "History" });
  button.addEventListener("click", () => { opened = order.order_id; showHistory(); });
  return button;
}

async function showHistory() {
  if (!opened) return;
  try {
    const order = await api(`/api/v1/hq/bopis/${encodeURIComponent(opened)}`);
    const title = $("pickup-history-title");
    title.textContent = `History of ${order.order_id} (${order.status})`;
    title.hidden = false;
    $("pickup-history").hidden = false;
    table("pickup-history", ["Status", "Store", "Reason", "At"], order.history,
      (h) => [h.status, h.store_id, h.reason, h.at]);
  } catch (err) {
    showError(err);
  }
}

function showError(err) {
  const node = $("pickups-error");
  node.textContent = `Pickup orders could not be loaded: ${messageOf(err)}`;
  node.hidden = false;
}

async function refresh() {
  if ($("dash")?.hidden || !client.session.get()) return;
  panel();
  try {
    const answer = await api("/api/v1/hq/bopis");
    $("pickups-error").hidden = true;
    const orders = [...answer.items].sort((a, b) => (a.updated_at < b.updated_at ? 1 : -1)).slice(0, SHOWN);
    table("pickup-orders", ["Order", "Status", "Store", "Updated", ""], orders,
      (o) => [o.order_id, el("span", { className: o.status === "cancelled" ? "bad" : "", textContent: o.status }),
        o.store_id, o.updated_at, historyButton(o)]);
    await showHistory();
  } catch (err) {
    showError(err);
  }
}

setInterval(refresh, REFRESH_MS);
// The dashboard shows itself after sign-in; draw as soon as it does.
new MutationObserver(refresh).observe($("dash"), { attributes: true, attributeFilter: ["hidden"] });
refresh();
