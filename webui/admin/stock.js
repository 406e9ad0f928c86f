// Stock: levels (found by part of a SKU or name), adjustments with a reason, the movement
// history of a product, and the stock sheets: a count (variance shown line by line before it is
// posted), a delivery received, a transfer out (with its printable slip) and a transfer in.

import { get } from "./api.js";
import { can, currentUser, registerTab } from "./tabs.js";
import { button, cell, emptyRow, loadStore, newLoad, postOnce, printOnly, showError, submitting, when } from "./ui.js";
import { $, el } from "/common/dom.js";

let cursor = null;

async function loadInventory(reset) {
  const form = new FormData($("inventory-filters"));
  const params = new URLSearchParams({ limit: "100" });
  const q = String(form.get("q") ?? "").trim();
  if (q) params.set("q", q);
  if (form.get("low_stock")) params.set("low_stock", "true");
  if (!reset && cursor) params.set("cursor", cursor);
  const current = newLoad("inventory");
  const page = await get(`/api/v1/inventory?${params}`);
  if (!current()) return;
  cursor = page.next_cursor;
  const rows = page.items.map(stockRow);
  if (reset) $("inventory-rows").replaceChildren(...rows);
  else $("inventory-rows").append(...rows);
  if (reset && !rows.length) $("inventory-rows").replaceChildren(emptyRow(7, "No stock rows match."));
  $("inventory-more").hidden = !page.next_cursor;
}

function stockRow(item) {
  const low = item.threshold > 0 && item.available <= item.threshold;
  return el("tr", { className: low ? "low" : "", dataset: { sku: item.sku } },
    cell(item.sku, "mono"), cell(item.name),
    cell(String(item.on_hand), "num"), cell(String(item.reserved), "num"),
    el("td", { className: "num" }, String(item.available), low ? el("span", { className: "pill warn", textContent: "low" }) : null),
    cell(String(item.threshold), "num"),
    el("td", { className: "actions" },
      can("adjustStock") ? button("Adjust", () => askAdjustment(item)) : null,
      button("History", () => showHistory(item, true).catch(showError))));
}

function notice(text) {
  $("stock-notice").textContent = text;
}

// -- adjustments -------------------------------------------------------------------------------
let adjusting = null;

function askAdjustment(item) {
  adjusting = item;
  $("adjust-form").reset();
  $("adjust-error").textContent = "";
  $("adjust-product").textContent = `${item.sku} · ${item.name} · ${item.on_hand} on hand`;
  $("adjust-dialog").showModal();
  $("adjust-delta").focus();
}

async function submitAdjustment(event) {
  const delta = Number($("adjust-delta").value);
  if (!Number.isInteger(delta) || delta === 0) {
    event.preventDefault();
    $("adjust-error").textContent = "Type the change in whole units: 3 adds three, -2 removes two.";
    return;
  }
  const body = { sku: adjusting.sku, delta, reason: $("adjust-reason").value };
  const note = $("adjust-note").value.trim();
  if (note) body.note = note;
  const done = await submitting(event, "adjust-error", () => postOnce("/api/v1/inventory/adjustments", body));
  if (!done) return;
  $("adjust-dialog").close();
  notice(`${adjusting.sku}: ${delta > 0 ? "+" : ""}${delta} (${body.reason.replace(/_/g, " ")}) posted.`);
  await loadInventory(true);
}

// -- movement history --------------------------------------------------------------------------
const KIND_NAMES = { sale: "Sale", return: "Return", adjustment: "Adjustment", count: "Count", receive: "Received",
                     transfer_out: "Transfer out", transfer_in: "Transfer in", write_off: "Write-off", void: "Void" };
let historyOf = null;
let historyCursor = null;

async function showHistory(item, reset) {
  historyOf = item;
  const params = new URLSearchParams({ product_id: item.product_id, limit: "50", order: "newest" });
  if (!reset && historyCursor) params.set("cursor", historyCursor);
  const current = newLoad("history");
  const page = await get(`/api/v1/inventory/movements?${params}`);
  if (!current()) return;
  historyCursor = page.next_cursor;
  $("history-title").textContent = `Movements · ${item.sku} ${item.name}`;
  const rows = page.items.map((m) => el("tr", {},
    cell(when(m.at)), cell(KIND_NAMES[m.kind] || m.kind),
    cell(`${m.delta > 0 ? "+" : ""}${m.delta}`, `num ${m.delta < 0 ? "minus" : "plus"}`),
    cell([m.reason?.replace(/_/g, " "), m.ref, m.counted != null ? `counted ${m.counted}, expected ${m.expected_at_count}` : null]
      .filter(Boolean).join(" · ") || null),
    cell(m.actor)));
  if (reset) $("history-rows").replaceChildren(...rows);
  else $("history-rows").append(...rows);
  if (reset && !rows.length) $("history-rows").replaceChildren(emptyRow(5, "No movements yet."));
  $("history-more").hidden = !page.next_cursor;
  $("stock-history").hidden = false;
  if (reset) $("stock-history").scrollIntoView({ block: "nearest" });
}

// -- stock sheets: count, receive, transfer out, transfer in -----------------------------------
const SHEETS = {
  count: { title: "Stock count", help: "Type what is on the shelf. The variance against the system's figure is shown "
           + "for each line before you post; sales rung up meanwhile still count.", qty: "Counted", post: "Post count",
           path: "/api/v1/inventory/counts" },
  receive: { title: "Receive a delivery", help: "The delivery note or purchase order number, then each product and "
             + "quantity received.", qty: "Received", post: "Post delivery", path: "/api/v1/inventory/receipts" },
  transfer_out: { title: "Transfer out", help: "Stock leaving this store. Posting prints a transfer slip to travel with "
                  + "the goods.", qty: "Sending", post: "Post transfer", path: "/api/v1/inventory/transfers/out" },
  transfer_in: { title: "Transfer in", help: "Stock arriving from another store: the number and lines from its "
                 + "transfer slip.", qty: "Received", post: "Post transfer in", path: "/api/v1/inventory/transfers/in" },
};
let sheet = null; // {mode, lines: Map(sku -> {item, input})}

function openSheet(mode) {
  sheet = { mode, lines: new Map() };
  const spec = SHEETS[mode];
  $("sheet-title").textContent = spec.title;
  $("sheet-help").textContent = spec.help;
  $("sheet-qty-head").textContent = spec.qty;
  $("sheet-post").textContent = spec.post;
  for (const node of $("stock-sheet").querySelectorAll("[data-for]")) {
    node.hidden = !node.dataset.for.split(" ").includes(mode);
  }
  for (const id of ["sheet-ref", "sheet-to", "sheet-transfer", "sheet-from", "sheet-find"]) $(id).value = "";
  $("sheet-rows").replaceChildren(emptyRow(6, "Add the products below."));
  $("sheet-choices").replaceChildren();
  $("sheet-error").textContent = "";
  $("transfer-slip").hidden = true;
  $("stock-sheet").hidden = false;
  updateTotals();
  $("sheet-find").focus();
}

function closeSheet() {
  sheet = null;
  $("stock-sheet").hidden = true;
}

async function findForSheet(event) {
  event.preventDefault();
  const text = $("sheet-find").value.trim();
  $("sheet-choices").replaceChildren();
  if (!text) return;
  const { items } = await get(`/api/v1/inventory?${new URLSearchParams({ q: text, limit: "20" })}`);
  const exact = items.find((i) => i.sku.toLowerCase() === text.toLowerCase());
  if (exact || items.length === 1) {
    addLine(exact || items[0]);
  } else if (!items.length) {
    $("sheet-error").textContent = `No product matches “${text}”.`;
  } else {
    $("sheet-choices").replaceChildren(...items.map((i) => button(`${i.sku} · ${i.name}`, () => addLine(i),
                                                                 { className: "choice" })));
  }
}

function addLine(item) {
  $("sheet-choices").replaceChildren();
  $("sheet-find").value = "";
  $("sheet-error").textContent = "";
  if (!sheet.lines.size) $("sheet-rows").replaceChildren();
  const existing = sheet.lines.get(item.sku);
  if (existing) {
    existing.input.focus();
    return;
  }
  const input = el("input", { type: "number", min: "0", step: "1", className: "qty", required: true,
                              value: sheet.mode === "count" ? "" : "1", oninput: updateTotals });
  input.setAttribute("aria-label", `${SHEETS[sheet.mode].qty} ${item.sku}`);
  const variance = el("td", { className: "num variance" });
  variance.hidden = sheet.mode !== "count";
  const row = el("tr", { dataset: { sku: item.sku } }, cell(item.sku, "mono"), cell(item.name),
    cell(String(item.on_hand), "num"), el("td", { className: "num" }, input), variance,
    el("td", {}, button("Remove", () => {
      sheet.lines.delete(item.sku);
      row.remove();
      updateTotals();
    })));
  sheet.lines.set(item.sku, { item, input, variance });
  $("sheet-rows").append(row);
  updateTotals();
  input.focus();
}

const signed = (n) => (n > 0 ? `+${n}` : String(n));

function updateTotals() {
  if (!sheet) return;
  let units = 0;
  let over = 0;
  let under = 0;
  for (const { item, input, variance } of sheet.lines.values()) {
    const value = input.value === "" ? null : Number(input.value);
    units += value ?? 0;
    if (sheet.mode === "count") {
      const diff = value == null ? null : value - item.on_hand;
      variance.textContent = diff == null ? "–" : signed(diff);
      variance.className = `num variance ${diff > 0 ? "plus" : diff < 0 ? "minus" : ""}`;
      if (diff > 0) over += diff;
      if (diff < 0) under += diff;
    }
  }
  $("sheet-summary").textContent = `${sheet.lines.size} product${sheet.lines.size === 1 ? "" : "s"}`;
  $("sheet-total").textContent = String(units);
  $("sheet-variance").textContent = sheet.mode === "count" ? `${signed(over)} / ${signed(under)}` : "";
}

function sheetBody() {
  const problems = [];
  const items = [...sheet.lines.values()].map(({ item, input }) => {
    const value = Number(input.value);
    if (input.value === "" || !Number.isInteger(value) || value < 0 || (sheet.mode !== "count" && value === 0)) {
      problems.push(item.sku);
    }
    return sheet.mode === "count"
      ? { sku: item.sku, counted: value, expected_at_count: item.on_hand }
      : { sku: item.sku, quantity: value };
  });
  if (!items.length) throw new Error("Add at least one product.");
  if (problems.length) throw new Error(`Type a whole number ${sheet.mode === "count" ? "of 0 or more" : "above 0"} for ${problems.join(", ")}.`);
  const ref = $("sheet-ref").value.trim();
  switch (sheet.mode) {
    case "count": return ref ? { items, ref } : { items };
    case "receive":
      if (!ref) throw new Error("Type the delivery note or purchase order number.");
      return { ref, items };
    case "transfer_out": {
      const to = $("sheet-to").value.trim();
      if (!to) throw new Error("Type the store the goods go to.");
      return { to_location: to, items };
    }
    default: {
      const transfer = $("sheet-transfer").value.trim();
      const from = $("sheet-from").value.trim();
      if (!transfer || !from) throw new Error("Type the transfer number and the store it comes from, as on the slip.");
      return { transfer_id: transfer, from_location: from, items };
    }
  }
}

async function postSheet(event) {
  const mode = sheet.mode;
  let body;
  try {
    body = sheetBody();
  } catch (err) {
    $("sheet-error").textContent = err.message;
    return;
  }
  const lines = [...sheet.lines.values()].map(({ item, input }) => ({ ...item, quantity: Number(input.value) }));
  const result = await submitting(event, "sheet-error", () => postOnce(SHEETS[mode].path, body));
  if (!result) return;
  closeSheet();
  const changed = result.movements.filter((m) => m.delta !== 0).length;
  notice({
    count: `Count posted: ${changed} of ${lines.length} products corrected.`,
    receive: `Delivery ${body.ref} received: ${lines.length} products.`,
    transfer_out: `Transfer ${result.transfer_id} to ${body.to_location} posted.`,
    transfer_in: `Transfer ${body.transfer_id} from ${body.from_location} received.`,
  }[mode]);
  if (mode === "transfer_out") await showSlip(result, lines);
  await loadInventory(true);
}

async function showSlip(result, lines) {
  const store = await loadStore().catch(() => null);
  const from = store?.name ? `${store.name} (${store.store_id})` : currentUser().store_id;
  const facts = [["Transfer number", result.transfer_id], ["From", from], ["To", result.to_location],
                 ["Sent", when(result.movements[0]?.at)], ["Posted by", currentUser().username]];
  $("slip-facts").replaceChildren(...facts.flatMap(([label, value]) => [el("dt", { textContent: label }),
                                                                         el("dd", { textContent: value })]));
  $("slip-rows").replaceChildren(...lines.map((l) => el("tr", {}, cell(l.sku, "mono"), cell(l.name),
                                                         cell(String(l.quantity), "num"))));
  $("slip-total").textContent = String(lines.reduce((sum, l) => sum + l.quantity, 0));
  $("transfer-slip").hidden = false;
  $("transfer-slip").scrollIntoView({ block: "nearest" });
}

function wire() {
  $("inventory-filters").addEventListener("submit", (e) => { e.preventDefault(); loadInventory(true).catch(showError); });
  $("inventory-filters").addEventListener("change", (e) => {
    if (e.target.type === "checkbox") loadInventory(true).catch(showError);
  });
  $("inventory-more").addEventListener("click", () => loadInventory(false).catch(showError));
  $("history-more").addEventListener("click", () => showHistory(historyOf, false).catch(showError));
  for (const opener of $("inventory-filters").querySelectorAll("[data-sheet]")) {
    opener.hidden = !can(opener.dataset.op);
    opener.addEventListener("click", () => openSheet(opener.dataset.sheet));
  }
  $("sheet-add").addEventListener("submit", (e) => findForSheet(e).catch((err) => { $("sheet-error").textContent = err.message; }));
  $("sheet-cancel").addEventListener("click", closeSheet);
  $("sheet-post").addEventListener("click", (e) => postSheet(e));
  $("slip-close").addEventListener("click", () => { $("transfer-slip").hidden = true; });
  $("slip-print").addEventListener("click", () => printOnly($("transfer-slip")));
  $("adjust-form").addEventListener("submit", submitAdjustment);
  $("adjust-cancel").addEventListener("click", () => $("adjust-dialog").close());
}

registerTab({ id: "inventory", label: "Inventory", needs: "listInventory", load: () => loadInventory(true), wire });
