// Crypto checkout at the lane: the customer scans a QR code, the screen counts down the time
// the invoice stays open, and the sale completes (or the invoice expires) on screen as the
// provider's webhook reaches the store server. The lane only reads the edge's state: it never
// decides a crypto payment succeeded on its own.
//
// Leaving a waiting payment is safe: the edge asks the provider to withdraw the invoice before
// it cancels anything, and money that still arrives later becomes a refund owed to the customer.

import { NetworkError, call, get, newIdempotencyKey } from "./api.js";
import { $, messageOf } from "/common/dom.js";
import { formatCents } from "/common/money.js";

const POLL_MS = 1500;
const DONE = ["COMPLETED", "CANCELLED", "VOIDED"];

/**
 * Wire the crypto tender. `ensureOrder()` gives the edge's order for the cart; `onPaid(order)`
 * shows the receipt; `onLeft(order)` hands back the order as it now is (cancelled, or still
 * pending after an expired or underpaid payment); the cart stays for the cashier.
 */
export function installCryptoCheckout({ ensureOrder, onPaid, onLeft }) {
  const view = { order: null, payment: null, deadline: 0, timers: [], key: null, cancelKey: null };
  const dialog = $("crypto-dialog");

  function stopTimers() {
    for (const t of view.timers) clearInterval(t);
    view.timers = [];
  }

  function show(message, kind = "info") {
    const status = $("crypto-status");
    status.textContent = message;
    status.dataset.kind = kind;
  }

  function tick() {
    const left = Math.max(0, Math.round((view.deadline - Date.now()) / 1000));
    const clock = $("crypto-countdown");
    if (!view.deadline) { clock.textContent = ""; return; }
    clock.textContent = left > 0
      ? `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")} left to pay`
      : "Time is up: waiting for the provider to confirm";
    clock.dataset.state = left > 0 ? (left <= 60 ? "ending" : "open") : "over";
  }

  async function loadCheckout() {
    const checkout = await get(`/api/v1/payments/${view.payment.id}/checkout`);
    if (checkout.qr) {
      $("crypto-qr").src = checkout.qr;
      $("crypto-qr").hidden = false;
    }
    $("crypto-link").textContent = checkout.checkout_url || "";
    if (checkout.seconds_left != null) view.deadline = Date.now() + checkout.seconds_left * 1000;
    tick();
  }

  function settled(order) {
    const tender = order.tenders.find((t) => t.id === view.payment.id);
    view.order = order;
    if (order.status === "COMPLETED") {
      stopTimers();
      dialog.close("paid");
      onPaid(order);
      return true;
    }
    if (!tender || ["awaiting", "created"].includes(tender.status)) return false;
    // Expired, underpaid, failed: the payment is over; its guidance says what to do next.
    stopTimers();
    view.deadline = 0;
    tick();
    $("crypto-qr").hidden = true;
    $("crypto-amount").textContent = formatCents(order.due_cents);
    dialog.dataset.outcome = tender.status;
    show(tender.guidance || `The crypto payment is ${tender.status}.`, tender.status === "underpaid" ? "warn" : "error");
    $("crypto-cancel").textContent = "Back";
    return true;
  }

  async function poll() {
    try {
      settled(await get(`/api/v1/orders/${view.order.id}`));
    } catch (err) {
      if (!(err instanceof NetworkError)) show(messageOf(err), "error");
    }
  }

  async function start() {
    $("sale-error").textContent = "";
    let order;
    try {
      order = await ensureOrder();
    } catch (err) {
      $("sale-error").textContent = err instanceof NetworkError
        ? "Crypto payments need the store server." : messageOf(err);
      return;
    }
    view.order = order;
    view.key ??= newIdempotencyKey();
    dialog.dataset.outcome = "";
    $("crypto-cancel").textContent = "Cancel sale";
    $("crypto-qr").hidden = true;
    $("crypto-link").textContent = "";
    $("crypto-amount").textContent = formatCents(order.due_cents);
    show("Creating the payment request…");
    view.deadline = 0;
    tick();
    dialog.showModal();
    try {
      const { data } = await call(`/api/v1/orders/${order.id}/tenders`, {
        method: "POST", body: { tenders: [{ method: "crypto", amount_cents: order.due_cents }] },
        headers: { "Idempotency-Key": view.key },
      });
      view.key = null;
      view.payment = [...data.tenders].reverse().find((t) => t.method === "crypto");
      if (settled(data)) return;
      show(view.payment.guidance || "Ask the customer to scan the QR code and pay");
      await loadCheckout();
      view.timers.push(setInterval(tick, 1000), setInterval(poll, POLL_MS));
    } catch (err) {
      show(messageOf(err), "error");
      $("crypto-cancel").textContent = "Back";
    }
  }

  async function leave() {
    const order = view.order;
    const waiting = view.payment && dialog.dataset.outcome === "" && view.timers.length;
    if (!waiting) {
      stopTimers();
      dialog.close("back");
      if (order && !DONE.includes(order.status)) onLeft(order);
      return;
    }
    $("crypto-cancel").disabled = true;
    show("Withdrawing the payment request…");
    view.cancelKey ??= newIdempotencyKey();
    try {
      const { data } = await call(`/api/v1/payments/${view.payment.id}/cancel`, {
        method: "POST", body: { reason: "cancelled at the lane while waiting for a crypto payment" },
        headers: { "Idempotency-Key": view.cancelKey },
      });
      view.cancelKey = null;
      if (data.status === "COMPLETED") { settled(data); return; } // it was paid meanwhile
      stopTimers();
      dialog.close("cancelled");
      onLeft(data);
    } catch (err) {
      // The provider could not be reached: the invoice is still open, so the sale keeps waiting.
      show(messageOf(err), "error");
    } finally {
      $("crypto-cancel").disabled = false;
    }
  }

  $("pay-crypto").addEventListener("click", start);
  $("crypto-cancel").addEventListener("click", leave);
  dialog.addEventListener("cancel", (e) => { e.preventDefault(); leave(); }); // Esc cancels safely too
}
