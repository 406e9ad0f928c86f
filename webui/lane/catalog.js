// The lane's catalog: every product in memory (loaded from IndexedDB), kept current with the
// edge's `since=` deltas. Scans and searches never wait for the network when the cache has
// the item; a miss on a barcode falls back to one indexed lookup on the edge.

import { get } from "./api.js";
import { applyCatalogPage, getAll, getMeta } from "./db.js";

const PAGE = 500;

export class Catalog {
  constructor() {
    this.byId = new Map();
    this.byBarcode = new Map();
    this.bySku = new Map();
    this.list = []; // active products sorted by name, for search
    this.version = 0;
    this.taxRates = new Map();
  }

  async load() {
    this.version = (await getMeta("catalog_version")) || 0;
    // The last tax rates seen, so that a lane started during an outage still prices with tax.
    const taxes = JSON.parse(localStorage.getItem("novapos.lane.taxes") || "[]");
    this.taxRates = new Map(taxes.map((t) => [t.code, t]));
    for (const product of await getAll("products")) this.index(product);
    this.rebuild();
  }

  index(product) {
    const previous = this.byId.get(product.id);
    if (previous) {
      for (const code of previous.barcodes || []) this.byBarcode.delete(code);
      this.bySku.delete(previous.sku);
    }
    product.search = `${product.name} ${product.sku} ${(product.barcodes || []).join(" ")}`.toLowerCase();
    this.byId.set(product.id, product);
    for (const code of product.barcodes || []) this.byBarcode.set(code, product);
    this.bySku.set(product.sku, product);
  }

  rebuild() {
    const collator = new Intl.Collator(undefined, { numeric: true }); // far faster than localeCompare on 100k
    this.list = [...this.byId.values()].filter((p) => p.active).sort((a, b) => collator.compare(a.name, b.name));
  }

  /** Fetch what changed since the cached version; returns how many products changed. */
  async sync() {
    try {
      const taxes = await get("/api/v1/tax-categories");
      this.taxRates = new Map(taxes.items.map((t) => [t.code, t]));
      localStorage.setItem("novapos.lane.taxes", JSON.stringify(taxes.items));
    } catch {
      const cached = JSON.parse(localStorage.getItem("novapos.lane.taxes") || "[]");
      this.taxRates = new Map(cached.map((t) => [t.code, t]));
      if (!cached.length) throw new Error("no tax rates cached");
    }
    let changed = 0;
    let cursor = null;
    const since = this.version;
    do {
      const params = new URLSearchParams({ since: String(since), limit: String(PAGE), include_inactive: "true" });
      if (cursor) params.set("cursor", cursor);
      const page = await get(`/api/v1/products?${params}`);
      for (const item of page.items) this.index(item);
      const version = Math.max(this.version, page.catalog_version ?? 0);
      await applyCatalogPage(page.items.map(stripSearch), version);
      this.version = version;
      changed += page.items.length;
      cursor = page.next_cursor;
    } while (cursor);
    if (changed) this.rebuild();
    return changed;
  }

  /** Case-insensitive match on name, SKU or barcode; every word must match. */
  search(text) {
    const words = text.toLowerCase().split(/\s+/).filter(Boolean);
    if (!words.length) return this.list;
    return this.list.filter((p) => words.every((w) => p.search.includes(w)));
  }

  async byCode(code) {
    const cached = this.byBarcode.get(code) || this.bySku.get(code);
    if (cached) return cached.active ? cached : null;
    const params = new URLSearchParams(/^\d+$/.test(code) ? { barcode: code } : { sku: code });
    const page = await get(`/api/v1/products?${params}`);
    return page.items[0] || null;
  }
}

function stripSearch({ search, ...product }) {
  return product;
}
