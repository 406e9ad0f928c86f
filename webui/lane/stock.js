// Stock levels as this lane last heard them, kept for the offline catalog: shown with each
// product, and checked before an item the lane believes is out of stock goes into a sale.
// The edge is the authority (it refuses an online sale it cannot fill); this cache lets the
// cashier see the problem at the scan, and stays usable while the server is unreachable.

import { ApiError, get, post } from "./api.js";
import { messageOf } from "/common/dom.js";

const KEY = "novapos.lane.stock";
const PAGE = 1000;
const cache = { levels: new Map(), at: null };

function load() {
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) || "null");
    if (saved) {
      cache.levels = new Map(Object.entries(saved.levels));
      cache.at = saved.at;
    }
  } catch {
    cache.levels = new Map();
  }
}

function save() {
  try {
    localStorage.setItem(KEY, JSON.stringify({ at: cache.at, levels: Object.fromEntries(cache.levels) }));
  } catch {
    // Storage full: the levels still serve this page; the next start fetches them again.
  }
}

/** Fetch every level from the edge (a page of 1,000 products per request). */
export async function syncStock() {
  const levels = new Map();
  let cursor = null;
  do {
    const params = new URLSearchParams({ limit: String(PAGE), ...(cursor ? { cursor } : {}) });
    const page = await get(`/api/v1/inventory?${params}`);
    for (const item of page.items) levels.set(item.product_id, item.available);
    cursor = page.next_cursor;
  } while (cursor);
  cache.levels = levels;
  cache.at = new Date().toISOString();
  save();
}

/** Units available as the lane believes, or null when unknown (or sold by weight, counted in grams). */
export function available(product) {
  if (!product || product.sold_by_weight || !cache.levels.has(product.id)) return null;
  return cache.levels.get(product.id);
}

/** Short text for a product row: "12 in stock", "Out of stock". */
export function stockLabel(product) {
  const units = available(product);
  if (units == null) return "";
  return units > 0 ? `${units} in stock` : "Out of stock";
}

/** A sale this lane completed takes its units off the lane's own count until the next sync. */
export function sold(lines) {
  for (const line of lines) {
    if (line.weight_grams != null || !cache.levels.has(line.product_id)) continue;
    cache.levels.set(line.product_id, cache.levels.get(line.product_id) - line.quantity);
  }
  save();
}

/** Whether `product` may go into the sale: yes when the lane counts one left (beyond what the
 * sale already holds), else only with a supervisor's PIN, checked and recorded by the edge.
 * Offline the PIN cannot be checked: the item goes in and the offline sale's stock conflict is
 * reviewed when it is sent. hooks: {laneId(), offline(), approved: Set, askSupervisor, toast, refused}. */
export async function allows(product, cart, hooks) {
  const units = available(product);
  const inCart = cart.filter((l) => l.product_id === product.id).reduce((n, l) => n + l.quantity, 0);
  if (units == null || units - inCart >= 1 || hooks.approved.has(product.id)) return true;
  if (hooks.offline()) {
    hooks.toast(`${product.name} is out of stock by this lane's last count; the sale is reviewed when it is sent.`, "warn");
    return true;
  }
  let error = "";
  for (;;) {
    const pin = await hooks.askSupervisor(`${product.name} is out of stock (${Math.max(units, 0)} left by this lane's `
                                          + "count). A supervisor can allow the sale.", error);
    if (pin == null) {
      hooks.refused(`${product.name} is out of stock: not added.`);
      return false;
    }
    try {
      await post(`/api/v1/lanes/${encodeURIComponent(hooks.laneId())}/approvals`,
                 { pin, action: "sell_out_of_stock", product_id: product.id, quantity: 1 });
      hooks.approved.add(product.id);
      return true;
    } catch (err) {
      if (!(err instanceof ApiError) || err.status === 401) { hooks.refused(messageOf(err)); return false; }
      error = messageOf(err);
    }
  }
}

load();
