// Editing a sale at the lane: typing a quantity (a case of 24 is not 23 presses of +), and
// taking a scanned line off with a reason when the store's policy asks for one. Each removal
// is recorded by the edge (who, what, how many, why) for loss prevention; offline it is
// noted on screen and the line still comes off, since the customer is standing there.

import { NetworkError, post } from "./api.js";
import { $, el, messageOf } from "/common/dom.js";

export const REMOVAL_REASONS = ["Scanned by mistake", "Customer changed mind", "Price too high", "Damaged item", "Other"];
const MAX_QUANTITY = 10000; // edge.domain.pricing.MAX_LINE_QUANTITY

function build() {
  const qty = el("dialog", { id: "qty-dialog" },
    el("form", { method: "dialog", id: "qty-form", autocomplete: "off" },
      el("h2", { id: "qty-title", textContent: "Quantity" }),
      el("label", { htmlFor: "qty-input", textContent: "How many" }),
      el("input", { id: "qty-input", inputMode: "numeric", autocomplete: "off", maxLength: 5 }),
      el("p", { className: "error", id: "qty-error", role: "alert" }),
      el("div", { className: "actions" },
        el("button", { type: "button", className: "ghost", id: "qty-cancel", textContent: "Cancel" }),
        el("button", { type: "submit", className: "primary big", textContent: "Set quantity" }))));
  qty.setAttribute("aria-labelledby", "qty-title");
  const removal = el("dialog", { id: "removal-dialog" },
    el("form", { method: "dialog", id: "removal-form" },
      el("h2", { id: "removal-title", textContent: "Remove item" }),
      el("p", { id: "removal-item" }),
      el("fieldset", { className: "reasons", id: "removal-reasons" },
        el("legend", { textContent: "Why does it come off the sale?" }),
        ...REMOVAL_REASONS.map((r) => el("label", { className: "choice" },
          el("input", { type: "radio", name: "removal-reason", value: r }), r))),
      el("p", { className: "error", id: "removal-error", role: "alert" }),
      el("div", { className: "actions" },
        el("button", { type: "button", className: "ghost", id: "removal-cancel", textContent: "Keep it" }),
        el("button", { type: "submit", className: "primary big", textContent: "Remove" }))));
  removal.setAttribute("aria-labelledby", "removal-title");
  document.body.append(qty, removal);
  $("qty-cancel").addEventListener("click", () => qty.close("cancel"));
  $("removal-cancel").addEventListener("click", () => removal.close("cancel"));
}

/** Ask for a line's quantity; resolves to a whole number 1..10,000, 0 (remove), or null. */
export function askQuantity(line) {
  const dialog = $("qty-dialog");
  $("qty-title").textContent = `Quantity of ${line.name}`;
  $("qty-input").value = String(line.quantity);
  $("qty-error").textContent = "";
  dialog.returnValue = "";
  dialog.showModal();
  $("qty-input").select();
  return new Promise((resolve) => {
    $("qty-form").onsubmit = (e) => {
      const value = $("qty-input").value.trim();
      const n = Number(value);
      if (!/^\d+$/.test(value) || n > MAX_QUANTITY) {
        e.preventDefault();
        $("qty-error").textContent = `Type a whole number from 0 to ${MAX_QUANTITY.toLocaleString()}.`;
        return;
      }
      dialog.returnValue = "ok";
    };
    dialog.onclose = () => resolve(dialog.returnValue === "ok" ? Number($("qty-input").value.trim()) : null);
  });
}

/** The reason a scanned line comes off, or null when the cashier keeps it. */
export function askRemovalReason(line, quantity) {
  const dialog = $("removal-dialog");
  $("removal-item").textContent = `${quantity} × ${line.name}`;
  $("removal-error").textContent = "";
  for (const input of dialog.querySelectorAll("input[name=removal-reason]")) input.checked = false;
  dialog.returnValue = "";
  dialog.showModal();
  dialog.querySelector("input[name=removal-reason]").focus();
  return new Promise((resolve) => {
    $("removal-form").onsubmit = (e) => {
      if (!dialog.querySelector("input[name=removal-reason]:checked")) {
        e.preventDefault();
        $("removal-error").textContent = "Choose a reason.";
        return;
      }
      dialog.returnValue = "ok";
    };
    dialog.onclose = () => resolve(dialog.returnValue === "ok"
      ? dialog.querySelector("input[name=removal-reason]:checked").value : null);
  });
}

/** Tell the edge a scanned line came off the sale; returns a note for the cashier if it could not. */
export async function recordRemoval(laneId, line, quantity, reason) {
  try {
    await post(`/api/v1/lanes/${encodeURIComponent(laneId)}/line-removals`,
               { product_id: line.product_id, quantity, reason });
    return "";
  } catch (err) {
    return err instanceof NetworkError ? "The removal is noted on this lane only: the store server is unreachable."
      : `The removal was not recorded: ${messageOf(err)}`;
  }
}

export function initCartEdit() {
  build();
}

// hooks: {laneId(), reasonRequired(), offline(), changed(), cancelled(), toast(message, kind)}

/** The cashier types a line's quantity; 0 takes the line off (with a reason). */
export async function editQuantity(cart, index, hooks) {
  const line = cart[index];
  const quantity = await askQuantity(line);
  if (quantity == null || cart[index] !== line) { hooks.cancelled(); return; }
  if (quantity === 0) { await removeCartLine(cart, index, hooks); return; }
  line.quantity = quantity;
  hooks.changed();
}

/** A scanned line comes off the sale: with a reason, recorded by the edge, where policy asks. */
export async function removeCartLine(cart, index, hooks) {
  const line = cart[index];
  const weighed = line.weight_grams != null;
  const quantity = weighed ? 1 : line.quantity;
  let reason = "";
  if (hooks.reasonRequired()) {
    reason = await askRemovalReason(line, weighed ? `${line.weight_grams} g` : quantity);
    if (reason == null || cart[index] !== line) { hooks.cancelled(); return; }
  }
  cart.splice(index, 1);
  hooks.changed();
  if (hooks.offline()) return;
  const note = await recordRemoval(hooks.laneId(), line, quantity, reason);
  if (note) hooks.toast(note, "warn");
}

/** "Clear sale" takes every scanned line off: one reason for all of them. */
export async function clearCart(sale, hooks) {
  const lines = [...sale.cart];
  if (!lines.length) return;
  let reason = "";
  if (hooks.reasonRequired()) {
    reason = await askRemovalReason({ name: "items (the whole sale)" }, lines.length);
    if (reason == null) { hooks.cancelled(); return; }
  }
  sale.cart = [];
  sale.discountCents = 0;
  hooks.changed();
  if (hooks.offline()) return;
  for (const line of lines) {
    const note = await recordRemoval(hooks.laneId(), line, line.weight_grams != null ? 1 : line.quantity, reason);
    if (note) { hooks.toast(note, "warn"); break; }
  }
}
