// Stock across locations: filtered by SKU, store and low stock, and paged with the hub's
// cursors (a page never repeats or skips a row when levels move between two clicks). The
// dashboard's refresh reloads the page being looked at, not the first one.

import { $, el } from "/common/dom.js";

const PAGE = 25;
let cursors = [null]; // cursors[i] opens page i; the last one is the page on screen
let next = null;
let reload = () => {};

function filters() {
  return {
    q: $("stock-q").value.trim(),
    store_id: $("stock-store").value,
    low_stock: $("stock-low").checked,
    limit: PAGE,
    cursor: cursors.at(-1) || "",
  };
}

function drawStock(answer) {
  const table = $("stock");
  table.replaceChildren();
  const head = table.insertRow();
  for (const label of ["SKU", "Store", "Location", "On hand", "Reorder at"]) {
    head.append(el("th", { scope: "col", textContent: label }));
  }
  for (const r of answer.items) {
    const tr = table.insertRow();
    tr.append(el("td", { textContent: r.sku }), el("td", { textContent: r.store_id }),
      el("td", { textContent: r.location_id }),
      el("td", { className: r.low ? "num bad" : "num", textContent: String(r.on_hand) }),
      el("td", { className: "num", textContent: String(r.threshold) }));
  }
  if (!answer.items.length) {
    const anyFilter = $("stock-q").value || $("stock-store").value || $("stock-low").checked;
    table.insertRow().append(el("td", { colSpan: 5, className: "empty",
      textContent: anyFilter ? "No stock level matches these filters." : "No stock reported by any store yet." }));
  }
  next = answer.next_cursor;
  const first = (cursors.length - 1) * PAGE + 1;
  $("stock-page").textContent = answer.total
    ? `${first}–${first + answer.items.length - 1} of ${answer.total}` : "";
  $("stock-prev").disabled = cursors.length < 2;
  $("stock-next").disabled = !next;
}

/** The stores a filter can name, from the sync-health answer the dashboard already loads. */
export function setStores(storeIds) {
  const select = $("stock-store");
  const chosen = select.value;
  select.replaceChildren(new Option("All stores", ""),
    ...storeIds.map((id) => new Option(id, id, false, id === chosen)));
}

function stockPath() {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filters())) if (v !== "" && v !== false && v != null) q.set(k, String(v));
  return `/api/v1/hq/stock/levels?${q}`; // levels are as of now: the date range does not apply
}

export const STOCK_PANEL = ["Stock across locations", stockPath, drawStock];

export function installStockBrowser(refresh) {
  reload = refresh;
  $("stock-filters").addEventListener("submit", (ev) => { ev.preventDefault(); cursors = [null]; reload(); });
  $("stock-low").addEventListener("change", () => { cursors = [null]; reload(); });
  $("stock-store").addEventListener("change", () => { cursors = [null]; reload(); });
  $("stock-next").addEventListener("click", () => { if (next) { cursors.push(next); reload(); } });
  $("stock-prev").addEventListener("click", () => { if (cursors.length > 1) { cursors.pop(); reload(); } });
}
