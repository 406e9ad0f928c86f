// The lane: PIN sign-in, scanning and search, the cart, tenders, receipts and the offline queue.
// The cart's totals are an estimate for the cashier's eyes; what is charged is what the edge
// computed (the order it created), except offline, where the sale is queued for replay.

import {
  ApiError, NetworkError, ServerTimeout, call, get, newIdempotencyKey, post, rememberServerTimeout, session, whenSignedOut,
} from "./api.js";
import { Catalog } from "./catalog.js";
import { installCryptoCheckout } from "./crypto_checkout.js";
import { connectLaneEvents } from "./events.js";
import { $, el, messageOf } from "/common/dom.js";
import { estimateTotals, extendedCents, formatCents, parseAmount } from "/common/money.js";
import * as offlineAuth from "./offline_auth.js";
import * as offlineQueue from "./queue.js";
import { clearCardPrompts, endCardWait, showTerminalPrompt, startCardWait } from "./terminal_prompts.js";
import "./pickup.js"; // the Pickup button: hand over web orders ready for pickup
import { attachByCard, attachedCustomerId, initCustomers, isCardCode, redeemable, resetForNewSale }
  from "./customer.js"; // the Customer button: lookup, sign-up, the 360 view, attach to the sale
import { VirtualList } from "./vlist.js";
import { clearCart, editQuantity, initCartEdit, removeCartLine } from "./cart_edit.js";
import { startKiosk, stopKiosk, touched } from "./kiosk.js";
import { deviceCredential, forget as forgetPairing, initPairing } from "./pairing.js";
import { initReturns, isReceiptCode, openReturns, rememberLastSale } from "./returns.js";
import * as stock from "./stock.js";

const catalog = new Catalog();
const state = {
  laneId: localStorage.getItem("novapos.lane.id") || "1",
  cart: [],
  discountCents: 0, // an order discount, in cents; the edge decides whether it needs a supervisor
  checkout: null, // {key, order}: the edge's order for the current cart, once created
  tenderAttempt: null, // {body, key}: a retried tender reuses its key, a changed one gets a new key
  offline: !navigator.onLine,
  lastWeightGrams: null,
  stopEvents: null,
};

function toast(message, kind = "info") {
  const box = $("toast");
  box.textContent = message;
  box.dataset.kind = kind;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 4000);
}

/** Why the edge is out of reach: it did not answer in time (hung), or it could not be reached. */
const offlineReason = (err) => (err instanceof ServerTimeout ? "timeout" : "unreachable");

function setOffline(offline, reason = "unreachable") {
  const backOnline = state.offline && !offline;
  state.offline = offline;
  if (backOnline && state.cart.length) cartPriced(); // the estimate gives way to the edge's price
  const badge = $("net-status");
  badge.dataset.state = offline ? "offline" : "online";
  badge.textContent = !offline ? "Online"
    : reason === "timeout" ? "Server not answering – sales are queued" : "Offline – sales are queued";
  $("pay-card").title = offline ? "Card payments need the store server" : "";
}

// -- waiting for the store server ------------------------------------------------------------
// From the moment a payment is asked of the edge until it answers (or the lane gives up after
// its server timeout and takes the offline path), the pressed button spins, the payment
// buttons are disabled and the badge says the lane is waiting.
function setWaiting(button, waiting) {
  if (button) {
    button.classList.toggle("busy", waiting);
    button.setAttribute("aria-busy", String(waiting));
  }
  for (const id of ["pay-cash", "pay-card", "pay-crypto", "add-discount", "clear-cart"]) {
    $(id).disabled = waiting || state.cart.length === 0;
  }
  const badge = $("net-status");
  if (waiting) {
    badge.dataset.state = "waiting";
    badge.textContent = "Waiting for the store server…";
  } else if (badge.dataset.state === "waiting") {
    setOffline(state.offline);
  }
}

// -- sign-in ---------------------------------------------------------------------------------
function showLanes() {
  for (const button of $("lane-buttons").querySelectorAll("button")) {
    button.setAttribute("aria-pressed", String(button.dataset.lane === state.laneId));
  }
}

async function signIn(event) {
  event.preventDefault();
  const pin = $("pin-input").value;
  $("login-error").textContent = "";
  if (!pin) return;
  const button = $("pin-form").querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await signInOnline(state.laneId, pin);
    $("pin-input").value = "";
    await enterSale();
  } catch (err) {
    $("pin-input").value = "";
    // Unreachable, hung, or up but unable to serve (a proxy's 502-504): sign in offline.
    if (err instanceof NetworkError || (err instanceof ApiError && err.status >= 502)) await signInOffline(pin);
    else if (err instanceof ApiError && err.code === "device-not-paired") forgetPairing(messageOf(err));
    else $("login-error").textContent = messageOf(err);
  } finally {
    button.disabled = false;
  }
}

async function signInOnline(laneId, pin) {
  const { data } = await call("/api/v1/auth/pin", { method: "POST", body: { lane_id: laneId, pin, ...deviceCredential() },
                                                    auth: false });
  // The verifier goes to IndexedDB (offline_auth.js), never into the tab's session.
  const { offline_pin: _verifier, lane, ...granted } = data;
  session.set({ ...granted, lane_id: laneId });
  localStorage.setItem("novapos.lane.id", laneId);
  rememberServerTimeout(lane?.server_timeout_ms);
  // Storage refused (private mode, quota): the lane still works online, just not offline. The
  // verifier's hash is derived here, on the lane's CPU, from the PIN the edge just accepted.
  await offlineAuth.remember(data, laneId, lane?.offline_sign_in_attempts, pin).catch(() => {});
}

/** The store server is unreachable: sign in against a verifier this lane holds, for offline sales only. */
async function signInOffline(pin) {
  try {
    const user = await offlineAuth.verify(state.laneId, pin);
    offlineAuth.holdPin(pin);
    session.set({ offline: true, user, lane_id: state.laneId });
    localStorage.setItem("novapos.lane.id", state.laneId);
    await enterSale();
  } catch (err) {
    $("login-error").textContent = err instanceof offlineAuth.OfflineSignInError ? err.message : messageOf(err);
  }
}

/** An offline session becomes an online one as soon as the store server answers again. */
let upgradeTimer = 0;
function watchForServer() {
  clearTimeout(upgradeTimer);
  upgradeTimer = setTimeout(async () => {
    const current = session.get();
    if (!current?.offline) return;
    try {
      await call("/healthz", { auth: false });
    } catch {
      watchForServer();
      return;
    }
    const pin = offlineAuth.takePin();
    try {
      if (!pin) throw new ApiError(401, { detail: "Sign in again to send the sales queued offline." });
      await signInOnline(current.lane_id, pin);
    } catch (err) {
      if (err instanceof NetworkError) { offlineAuth.holdPin(pin); watchForServer(); return; }
      // The PIN no longer works online (changed, disabled): the queued sales wait for the next sign-in.
      session.set(null);
      sessionStorage.setItem("novapos.lane.notice", `${messageOf(err)} Sign in to send the sales queued offline.`);
      location.reload();
      return;
    }
    toast("The store server is back: sending the sales queued offline.");
    await enterSale();
  }, 3000);
}

async function signOut() {
  const current = session.get();
  offlineAuth.takePin();
  state.stopEvents?.();
  stopKiosk();
  session.set(null);
  if (current?.refresh_token) post("/api/v1/auth/logout", { refresh_token: current.refresh_token }).catch(() => {});
  location.reload();
}

/** The edge refused the session (signed out elsewhere, disabled, locked out): back to sign-in,
 * keeping the cart, so that whoever signs in next finishes the sale. The edge prices it again
 * under the new sign-in. */
function sessionEnded(err) {
  stopKiosk();
  state.stopEvents?.();
  state.stopEvents = null;
  session.set(null);
  state.checkout = null;
  state.tenderAttempt = null;
  for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close("cancel");
  $("sale-view").hidden = true;
  $("sign-out").hidden = true;
  $("who").textContent = "";
  $("login-view").hidden = false;
  const kept = state.cart.length ? " The sale in progress is kept: sign in to finish it." : "";
  $("login-error").textContent = `Signed out: ${err.message}.${kept}`;
  showLanes();
  $("pin-input").focus();
}

// -- the sale screen -------------------------------------------------------------------------
let results;

async function enterSale() {
  const current = session.get();
  state.laneId = current.lane_id;
  $("who").textContent = `Lane ${current.lane_id} · ${current.user.username}${current.offline ? " (offline sign-in)" : ""}`;
  $("login-view").hidden = true;
  $("sale-view").hidden = false;
  $("sign-out").hidden = false;
  results ??= new VirtualList($("results"), { rowHeight: 56, renderRow: productRow, onPick: (p) => addProduct(p) });
  await catalog.load();
  runSearch();
  startKiosk({ laneId: state.laneId, session: () => session.get(), hooks: kioskHooks });
  if (current.offline) {
    // No token: only the cached catalog and the offline queue, until the server answers again.
    setOffline(true);
    $("catalog-status").textContent = catalog.list.length ? `cached catalog v${catalog.version}` : "catalog unavailable";
    await refreshQueue();
    watchForServer();
    focusScan();
    return;
  }
  syncCatalog();
  syncStock();
  state.stopEvents?.();
  state.stopEvents = connectLaneEvents(state.laneId, onHubEvent, showHubState);
  await refreshQueue();
  replayQueue();
  checkRefundsOwed();
  focusScan();
}

const kioskHooks = {
  cartSize: () => state.cart.reduce((n, l) => n + (l.weight_grams != null ? 1 : l.quantity), 0),
  expired: (reason) => {
    const current = session.get();
    if (current?.refresh_token) post("/api/v1/auth/logout", { refresh_token: current.refresh_token }).catch(() => {});
    sessionEnded(new Error(reason));
  },
  switchCashier: () => sessionEnded(new Error("the lane is free for another cashier")),
  unlocked: focusScan,
};

async function syncStock() {
  try {
    await stock.syncStock();
    runSearch();
  } catch {
    // Offline: the levels this lane last heard stay shown.
  }
}

async function syncCatalog() {
  $("catalog-status").textContent = "updating catalog…";
  try {
    const changed = await catalog.sync();
    setOffline(false);
    $("catalog-status").textContent = `catalog v${catalog.version}`;
    if (changed) runSearch();
  } catch (err) {
    if (err instanceof NetworkError) setOffline(true, offlineReason(err));
    $("catalog-status").textContent = catalog.list.length ? `cached catalog v${catalog.version}` : "catalog unavailable";
  }
}

function productRow(product) {
  return el("div", { className: "result" },
    el("span", { className: "name", textContent: product.name }),
    el("span", { className: "sku", textContent: product.sold_by_weight ? `${product.sku} · per kg` : product.sku }),
    el("span", { className: "price", textContent: formatCents(product.price_cents) }),
    el("span", { className: "stock", dataset: { out: String(stock.available(product) === 0 || stock.available(product) < 0) },
                 textContent: stock.stockLabel(product) }));
}

let searchTimer = 0;
function runSearch() {
  const items = catalog.search($("search-input").value);
  results.setItems(items);
  $("result-count").textContent = `${items.length.toLocaleString()} product${items.length === 1 ? "" : "s"}`;
}

function focusScan() {
  if (document.querySelector("dialog[open]") || $("sale-view").hidden) return;
  const input = $("scan-input");
  // Chromium can leave typing bound to the control of a dialog that just closed while reporting
  // the scan field as focused; a real blur and focus hands the scanner's keystrokes back to it.
  if (document.activeElement === input) input.blur();
  input.focus();
}

async function addByCode(code) {
  code = code.trim();
  if (!code) return;
  $("sale-error").textContent = "";
  if (isReceiptCode(code)) { openReturns(code); return; }
  if (isCardCode(code)) { await attachByCard(code, (message) => { $("sale-error").textContent = message; }); return; }
  try {
    const product = await catalog.byCode(code);
    if (!product) {
      $("sale-error").textContent = `No product with barcode or SKU ${code}.`;
      return;
    }
    await addProduct(product);
  } catch (err) {
    $("sale-error").textContent = err instanceof NetworkError
      ? `${code} is not in this lane's catalog cache and the store server cannot be reached.` : messageOf(err);
  }
}

async function addProduct(product) {
  if (!(await stock.allows(product, state.cart, stockHooks))) return;
  if (product.sold_by_weight) {
    const grams = await askWeight(product);
    if (!grams) return;
    state.cart.push(cartLine(product, { quantity: 1, weight_grams: grams }));
  } else {
    const existing = state.cart.find((l) => l.product_id === product.id && l.weight_grams == null);
    if (existing) existing.quantity += 1;
    else state.cart.push(cartLine(product, { quantity: 1 }));
  }
  cartChanged();
}

function cartLine(product, extra) {
  return { product_id: product.id, sku: product.sku, name: product.name, price_cents: product.price_cents,
           tax_category: product.tax_category, weight_grams: null, ...extra };
}

function cartChanged() {
  state.checkout = null; // a different cart is a different order
  cartPriced();
  renderCart();
  focusScan();
}

function renderCart() {
  const list = $("cart-lines");
  list.replaceChildren(...state.cart.map((line, index) => {
    const qty = line.weight_grams != null
      ? el("span", { className: "qty weight", textContent: `${line.weight_grams} g` })
      : el("span", { className: "qty" },
          el("button", { type: "button", className: "step", textContent: "−", ariaLabel: `One less ${line.name}`,
                         onclick: () => changeQuantity(index, -1) }),
          el("button", { type: "button", className: "qty-edit", ariaLabel: `Type the quantity of ${line.name}`,
                         onclick: () => typeQuantity(index) }, el("output", { textContent: String(line.quantity) })),
          el("button", { type: "button", className: "step", textContent: "+", ariaLabel: `One more ${line.name}`,
                         onclick: () => changeQuantity(index, +1) }));
    return el("li", { className: "line" },
      el("span", { className: "name", textContent: line.name }),
      qty,
      el("span", { className: "amount", textContent: formatCents(extendedCents(line)) }),
      el("button", { type: "button", className: "remove", textContent: "×", ariaLabel: `Remove ${line.name}`,
                     onclick: () => removeLine(index) }));
  }));
  const empty = state.cart.length === 0;
  if (empty) state.discountCents = 0;
  $("cart-empty").hidden = !empty;
  showTotals(empty);
  for (const id of ["pay-cash", "pay-card", "pay-crypto", "clear-cart", "add-discount"]) $(id).disabled = empty;
}

// -- the cart's total: the edge's price, or a marked estimate --------------------------------
// The edge prices the cart with checkout's own code (POST /orders/quote, which writes nothing),
// so the total the cashier reads out is the total the tender will ask for. Offline, or until
// the edge answers, the lane's own arithmetic is shown and marked as an estimate.
const QUOTE_DELAY_MS = 250;
const pricing = { version: 0, quote: null, quotedVersion: -1, timer: 0, error: "" };

function cartPriced() {
  pricing.version += 1;
  pricing.error = "";
  clearTimeout(pricing.timer);
  if (!state.cart.length || state.offline) return;
  pricing.timer = setTimeout(requestQuote, QUOTE_DELAY_MS);
}

async function requestQuote() {
  const version = pricing.version;
  const body = { lines: orderLines(), ...(state.discountCents ? { discount_cents: state.discountCents } : {}) };
  try {
    const quote = await post("/api/v1/orders/quote", body);
    if (version !== pricing.version) return; // the cart changed meanwhile: a newer quote is coming
    pricing.quote = quote;
    pricing.quotedVersion = version;
  } catch (err) {
    if (err instanceof NetworkError) setOffline(true, offlineReason(err));
    if (version !== pricing.version) return;
    pricing.quote = null;
    pricing.error = err instanceof NetworkError ? "" : messageOf(err);
  }
  showTotals(state.cart.length === 0);
}

function showTotals(empty) {
  const quote = pricing.quotedVersion === pricing.version ? pricing.quote : null;
  let totals;
  if (quote) {
    totals = { tax_cents: quote.tax_cents, total_cents: quote.total_cents, discount_cents: quote.discount_cents };
  } else {
    totals = estimateTotals(state.cart, catalog.taxRates, { discountCents: state.discountCents });
  }
  // Subtotal − discount + tax = total, whichever figures are shown.
  const subtotal = totals.total_cents - totals.tax_cents + totals.discount_cents;
  $("totals").dataset.priced = empty ? "empty" : quote ? "edge" : "estimate";
  $("totals-note").textContent = empty || quote ? "" : state.offline
    ? "Estimate: the store server is not reachable; the sale is priced when it is sent"
    : pricing.error ? `Estimate: ${pricing.error}` : "Checking the price…";
  $("tax-note").textContent = empty || quote ? "" : "(estimate)";
  $("subtotal").textContent = empty ? "–" : formatCents(subtotal);
  $("tax").textContent = empty ? "–" : formatCents(totals.tax_cents);
  $("discount-label").hidden = $("discount").hidden = !totals.discount_cents;
  $("discount").textContent = `−${formatCents(totals.discount_cents)}`;
  $("total").textContent = empty ? "–" : formatCents(totals.total_cents);
}

function askDiscount() {
  const dialog = $("discount-dialog");
  $("discount-input").value = state.discountCents ? (state.discountCents / 100).toFixed(2) : "";
  $("discount-error").textContent = "";
  dialog.returnValue = "";
  dialog.showModal();
  $("discount-input").focus();
}

function applyDiscount(event) {
  event.preventDefault();
  const cents = parseAmount($("discount-input").value);
  const total = estimateTotals(state.cart, catalog.taxRates).total_cents;
  if (cents == null || cents > total) {
    $("discount-error").textContent = `Type an amount from 0 to ${formatCents(total)}, for example 2.50.`;
    return;
  }
  state.discountCents = cents;
  $("discount-dialog").close("ok");
  cartChanged();
}

/** The supervisor keys in their PIN on the cashier's screen; resolves to the PIN, or null. */
function askSupervisor(reason, error = "") {
  const dialog = $("approval-dialog");
  $("approval-reason").textContent = reason;
  $("approval-error").textContent = error;
  $("approval-pin").value = "";
  dialog.returnValue = "";
  dialog.showModal();
  $("approval-pin").focus();
  return new Promise((resolve) => {
    dialog.onclose = () => {
      const pin = $("approval-pin").value.trim();
      $("approval-pin").value = "";
      resolve(dialog.returnValue === "ok" && pin ? pin : null);
    };
  });
}

function changeQuantity(index, delta) {
  const line = state.cart[index];
  if (line.quantity + delta <= 0) { removeLine(index); return; }
  line.quantity += delta;
  cartChanged();
}

// Typed quantities, removals with a reason, and supervisor approval of out-of-stock items live in
// cart_edit.js and stock.js; these hooks give them the sale.
const editHooks = {
  laneId: () => state.laneId,
  reasonRequired: () => session.get()?.lane_session?.line_removal_reason_required ?? true,
  offline: () => Boolean(session.get()?.offline),
  changed: cartChanged,
  cancelled: focusScan,
  toast,
};
const stockHooks = { ...editHooks, offline: () => state.offline, approved: new Set(), askSupervisor,
                     refused: (message) => { $("sale-error").textContent = message; } };
const typeQuantity = (index) => editQuantity(state.cart, index, editHooks);
const removeLine = (index) => removeCartLine(state.cart, index, editHooks);
const clearSale = () => clearCart(state, editHooks);

function askWeight(product) {
  const dialog = $("weight-dialog");
  $("weight-product").textContent = `${product.name} – ${formatCents(product.price_cents)} per kg`;
  $("weight-input").value = state.lastWeightGrams ?? "";
  dialog.showModal();
  $("weight-input").focus();
  // A stable reading from the lane's scale fills the field; without a scale, the cashier types it.
  get(`/api/v1/lanes/${encodeURIComponent(state.laneId)}/weight`)
    .then((r) => { if (dialog.open && !$("weight-input").value) $("weight-input").value = String(r.weight_grams); })
    .catch(() => {});
  return new Promise((resolve) => {
    dialog.onclose = () => {
      const grams = Number.parseInt($("weight-input").value, 10);
      resolve(dialog.returnValue === "cancel" || !(grams > 0) ? null : grams);
      focusScan();
    };
  });
}

// -- checkout --------------------------------------------------------------------------------
function orderLines() {
  return state.cart.map((l) => ({ product_id: l.product_id, quantity: l.quantity,
                                  ...(l.weight_grams != null ? { weight_grams: l.weight_grams } : {}) }));
}

/** The edge prices the cart: an OPEN order whose total is what the customer pays. A discount
 * the edge says needs a supervisor is retried with the supervisor's PIN (a refused request
 * changed nothing, so the same idempotency key is reused). */
async function ensureOrder() {
  if (state.checkout?.order) return state.checkout.order;
  state.checkout ??= { key: newIdempotencyKey(), order: null };
  const body = { lane_id: state.laneId, lines: orderLines(),
                 ...(state.discountCents ? { discount_cents: state.discountCents } : {}),
                 ...(attachedCustomerId() ? { customer_id: attachedCustomerId() } : {}) };
  let pin = null;
  for (;;) {
    try {
      const { data } = await call("/api/v1/orders", {
        method: "POST", body: pin ? { ...body, override_pin: pin } : body,
        headers: { "Idempotency-Key": state.checkout.key },
      });
      state.checkout.order = data;
      return data;
    } catch (err) {
      const approval = err instanceof ApiError && ["discount-override-required", "override-invalid"].includes(err.code);
      if (!approval) throw err;
      pin = await askSupervisor(`${formatCents(state.discountCents)} off this sale needs a supervisor.`,
                                err.code === "override-invalid" ? err.message : "");
      if (pin == null) throw new ApiError(403, { detail: "The discount was not approved: change it or ask a supervisor." });
    }
  }
}

async function startPayment(method) {
  $("sale-error").textContent = "";
  if (state.offline && state.discountCents) {
    $("sale-error").textContent = "A discount needs the store server: remove it, or wait until the server is back.";
    return;
  }
  let order = null;
  if (!state.offline) {
    const button = $(method === "card" ? "pay-card" : "pay-cash");
    setWaiting(button, true);
    try {
      order = await ensureOrder();
      setOffline(false);
    } catch (err) {
      if (!(err instanceof NetworkError)) {
        $("sale-error").textContent = messageOf(err);
        return;
      }
      // Pricing the cart moved no money: the sale simply continues offline.
      state.checkout = null;
      setOffline(true, offlineReason(err));
    } finally {
      setWaiting(button, false);
    }
  }
  openTender(order, method);
}

function openTender(order, method) {
  const due = order ? order.due_cents : estimateTotals(state.cart, catalog.taxRates).total_cents;
  state.tenderDue = due;
  state.tenderDueFull = due;
  state.pointsApplied = 0;
  $("amount-due").textContent = formatCents(due);
  $("tender-note").textContent = order
    ? `Order ${order.number}` : "Offline: this sale is saved on the lane and sent when the store server is back.";
  $("tender-error").textContent = "";
  $("tendered-input").value = "";
  $("tender-card").disabled = !order;
  showQuickAmounts(due);
  clearCardPrompts();
  showPointsTender(order, due);
  $("tender-dialog").showModal();
  if (method === "card" && order) $("tender-card").focus();
  else $("tendered-input").focus();
}

function showQuickAmounts(due) {
  const options = [...new Set([due, ...[500, 1000, 2000, 5000, 10000].map((n) => Math.ceil(due / n) * n)])]
    .filter((c) => c >= due).slice(0, 5);
  $("quick-amounts").replaceChildren(...options.map((cents, i) => el("button", {
    type: "button", textContent: i === 0 ? `Exact ${formatCents(cents)}` : formatCents(cents),
    onclick: () => { $("tendered-input").value = (cents / 100).toFixed(2); $("tendered-input").focus(); },
  })));
}

/** `method` "cash" or "card" pays what is due (after any points applied), "points" only the points. */
async function tender(method) {
  $("tender-error").textContent = "";
  const order = state.checkout?.order;
  let amount = state.tenderDue;
  if (method === "cash") {
    amount = parseAmount($("tendered-input").value || (state.tenderDue / 100).toFixed(2));
    if (amount == null) {
      $("tender-error").textContent = "Type the cash received, for example 20 or 20.00.";
      return;
    }
    if (amount < state.tenderDue) {
      $("tender-error").textContent = `That is ${formatCents(state.tenderDue - amount)} short.`;
      return;
    }
  }
  // The edge takes a sale's tenders together: the money first (its change is the cash's),
  // then the points applied, which pay the rest.
  const tenders = [
    ...(method !== "points" && state.tenderDue > 0 ? [{ method, amount_cents: amount }] : []),
    ...(state.pointsApplied && order ? [{ method: "points", points: state.pointsApplied }] : []),
  ];
  if (!order) return queueOffline(tenders);
  const body = { tenders };
  if (JSON.stringify(body) !== state.tenderAttempt?.json) {
    state.tenderAttempt = { json: JSON.stringify(body), key: newIdempotencyKey() };
  }
  setBusy(true, method);
  if (method === "card") startCardWait(order.id);
  const path = `/api/v1/orders/${order.id}/tenders`;
  try {
    const { data } = await call(path, {
      method: "POST", body, headers: { "Idempotency-Key": state.tenderAttempt.key },
      // A card payment waits for the customer at the terminal; it never goes offline.
      ...(method === "card" ? { timeoutMs: 180000 } : {}),
    });
    state.checkout.order = data;
    if (data.status === "COMPLETED") {
      $("tender-dialog").close("done");
      await showReceipt(data);
    } else {
      // A decline, a timeout or a partial approval: the tender's guidance says what to do next.
      const last = data.tenders[data.tenders.length - 1];
      state.tenderDue = state.tenderDueFull = data.due_cents;
      state.pointsApplied = 0;
      showPointsTender(data, data.due_cents);
      $("amount-due").textContent = formatCents(data.due_cents);
      $("tender-error").textContent = last?.guidance || `The order is ${data.status}.`;
    }
  } catch (err) {
    if (err instanceof NetworkError && method === "cash") {
      // The edge may have recorded this payment (it hung, or the link broke after the request
      // left): the very same request is queued, same key, and its replay is answered duplicate
      // if it was. The cash is in the drawer either way.
      setOffline(true, offlineReason(err));
      await queueTimedOut({ path, body, key: state.tenderAttempt.key }, tenders);
    } else {
      $("tender-error").textContent = messageOf(err);
    }
  } finally {
    setBusy(false);
    endCardWait();
  }
}

// -- points: a tender of the attached customer's loyalty points --------------------------------
// Redeeming is a tender (method "points"): the edge values the points at the program's rate,
// books them off the customer's ledger, and a refund of the sale restores them. The cashier
// applies points first; they go to the edge with the cash or card that pays the rest (the edge
// takes a sale's tenders together), or alone when they cover it all. Only online: the edge
// checks the balance (and, while HQ is out of reach, the offline allowance).
function showPointsTender(order, due) {
  const points = redeemable();
  const row = $("points-row");
  row.hidden = !attachedCustomerId();
  if (row.hidden) return;
  $("points-input").value = "";
  $("points-value").textContent = "";
  const usable = points && order && points.valueCents > 0;
  $("points-input").disabled = $("tender-points").disabled = !usable;
  if (!order) { $("points-note").textContent = "Points need the store server."; return; }
  if (!usable) { $("points-note").textContent = "No points to redeem on this customer's card."; return; }
  const most = Math.min(points.max, Math.floor(due / points.valueCents));
  $("points-input").max = String(most);
  $("points-note").textContent = `Up to ${most.toLocaleString()} points (${formatCents(most * points.valueCents)}); `
    + `1 point = ${formatCents(points.valueCents)}`
    + (points.min > 1 ? `, at least ${points.min.toLocaleString()} at a time` : "")
    + (points.offline ? ". HQ is out of reach: the offline allowance applies." : ".");
}

function pointsTyped() {
  const points = redeemable();
  const n = Number.parseInt($("points-input").value, 10);
  $("points-value").textContent = points && n > 0 ? `= ${formatCents(n * points.valueCents)}` : "";
}

function applyPoints() {
  $("tender-error").textContent = "";
  const points = redeemable();
  if (!state.checkout?.order || !points) return;
  const text = $("points-input").value.trim();
  const n = Number.parseInt(text, 10);
  const most = Number.parseInt($("points-input").max, 10);
  if (!/^\d+$/.test(text) || n <= 0) { $("tender-error").textContent = "Type a whole number of points."; return; }
  if (n > most) { $("tender-error").textContent = `At most ${most.toLocaleString()} points on this sale.`; return; }
  if (n < points.min) { $("tender-error").textContent = `At least ${points.min.toLocaleString()} points at a time.`; return; }
  state.pointsApplied = n;
  state.tenderDue = state.tenderDueFull - n * points.valueCents;
  $("amount-due").textContent = formatCents(state.tenderDue);
  $("points-note").textContent = `${n.toLocaleString()} points (${formatCents(n * points.valueCents)}) applied: `
    + (state.tenderDue ? `${formatCents(state.tenderDue)} left to pay in cash or by card.` : "they pay the whole sale.");
  showQuickAmounts(state.tenderDue);
  if (state.tenderDue === 0) { tender("points"); return; }
  $("tendered-input").value = "";
  $("tendered-input").focus();
}

/** Back from the tender: an order with nothing paid is cancelled on the edge, so its stock is
 * free again at once (not when its hold expires); the cart stays for the cashier to change. */
async function leaveTender() {
  const order = state.checkout?.order;
  $("tender-dialog").close("cancel");
  if (!order || order.paid_cents > 0 || !["OPEN", "PENDING"].includes(order.status)) return;
  state.checkout.cancelKey ??= newIdempotencyKey();
  try {
    await call(`/api/v1/orders/${order.id}/cancel`, {
      method: "POST", body: { reason: "left the tender at the lane" },
      headers: { "Idempotency-Key": state.checkout.cancelKey },
    });
  } catch (err) {
    // Offline the hold simply expires on the edge; an order that took money meanwhile stays.
    if (!(err instanceof NetworkError)) toast(`Order ${order.number} was kept: ${messageOf(err)}`, "warn");
    if (err instanceof ApiError) return;
  }
  state.checkout = null;
  state.tenderAttempt = null;
}

function setBusy(busy, method) {
  for (const id of ["tender-cash", "tender-card", "tender-cancel", "tender-points"]) $(id).disabled = busy;
  if (!busy) {
    $("tender-card").disabled = !state.checkout?.order;
    $("tender-points").disabled = !state.checkout?.order || !redeemable();
  }
  for (const id of ["tender-cash", "tender-card"]) {
    const pressed = busy && id === (method === "card" ? "tender-card" : "tender-cash");
    $(id).classList.toggle("busy", pressed);
    $(id).setAttribute("aria-busy", String(pressed));
  }
  const badge = $("net-status");
  if (busy) {
    badge.dataset.state = "waiting";
    badge.textContent = "Waiting for the store server…";
  } else if (badge.dataset.state === "waiting") {
    setOffline(state.offline);
  }
}

async function queueOffline(tenders) {
  const estimate = estimateTotals(state.cart, catalog.taxRates);
  const sale = await offlineQueue.enqueueSale(state.laneId, state.cart, tenders, estimate, attachedCustomerId());
  await showSavedOffline(tenders[0].amount_cents - estimate.total_cents,
    `It will be sent to the store server when it is reachable (ref ${sale.idempotency_key.slice(0, 8)}). The receipt can be printed then.`);
}

async function queueTimedOut(request, tenders) {
  const due = state.tenderDue;
  const sale = await offlineQueue.enqueueRequest(state.laneId, request, state.cart, tenders, due, attachedCustomerId());
  await showSavedOffline(tenders[0].amount_cents - due,
    `The store server did not confirm this payment. It is sent again, unchanged, when the server answers `
    + `(ref ${sale.idempotency_key.slice(0, 8)}); if it was already recorded, it is not recorded twice.`);
}

async function showSavedOffline(changeCents, note) {
  state.saleDone = true;
  $("tender-dialog").close("done");
  $("receipt-title").textContent = "Sale saved offline";
  $("change-due").textContent = formatCents(changeCents);
  $("receipt-note").textContent = note;
  $("receipt-frame").hidden = true;
  $("receipt-dialog").showModal();
  $("new-sale").focus();
  await refreshQueue();
}

async function showReceipt(order) {
  state.saleDone = true;
  rememberLastSale(order);
  stock.sold(state.cart);
  $("receipt-title").textContent = `Sale ${order.number} complete`;
  $("change-due").textContent = formatCents(order.change_due_cents);
  // The frame's srcdoc is set once: replacing a placeholder srcdoc while Chromium is still
  // loading it can leave the frame blank when the receipt arrives quickly.
  $("receipt-note").textContent = "Loading receipt…";
  const frame = $("receipt-frame");
  frame.hidden = true;
  $("receipt-dialog").showModal();
  $("new-sale").focus();
  try {
    frame.srcdoc = await get(`/api/v1/orders/${order.id}/receipt?format=html&original=true`);
    frame.hidden = false;
    $("receipt-note").textContent = "";
  } catch (err) {
    $("receipt-note").textContent = `The receipt could not be loaded: ${messageOf(err)}`;
  }
}

function newSale() {
  state.saleDone = false;
  stockHooks.approved.clear();
  state.cart = [];
  state.discountCents = 0;
  state.checkout = null;
  state.tenderAttempt = null;
  resetForNewSale();
  if ($("receipt-dialog").open) $("receipt-dialog").close();
  cartChanged();
}

// -- refunds the processor refused -----------------------------------------------------------
// A void or return on this lane whose card refund was refused leaves money owed to a customer.
// The lane says so until it is settled: retry it, or pay it in cash with a supervisor's PIN.
async function checkRefundsOwed() {
  let owed;
  try {
    owed = (await get(`/api/v1/orders/refunds-owed?lane_id=${encodeURIComponent(state.laneId)}`)).items;
  } catch {
    return; // offline or refused: the banner keeps what it last knew
  }
  $("refunds-owed").hidden = owed.length === 0;
  $("refunds-owed-list").replaceChildren(...owed.map((o) => el("li", { dataset: { order: o.number } },
    el("strong", { textContent: `Order ${o.number}: ${formatCents(o.refund_owed_cents, o.currency)} owed. ` }),
    el("span", { textContent: o.refund_guidance }),
    el("span", { className: "buttons" },
      el("button", { type: "button", textContent: "Retry refund", onclick: () => settleRefund(o, "original") }),
      el("button", { type: "button", textContent: "Paid in cash", onclick: () => settleRefund(o, "cash") })))));
}

async function settleRefund(owed, settle) {
  let body = { settle };
  if (settle === "cash") {
    const pin = await askSupervisor(`Pay ${formatCents(owed.refund_owed_cents, owed.currency)} for order ${owed.number} `
                                    + "out of this drawer.");
    if (pin == null) return;
    body = { settle, reason: "refund refused by the processor, paid in cash at the lane", override_pin: pin };
  }
  try {
    const order = await post(`/api/v1/orders/${owed.order_id}/refunds/settle`, body,
                              { "Idempotency-Key": newIdempotencyKey() });
    toast(order.refund_state === "failed" ? `Order ${owed.number}: ${order.refund_guidance}`
      : `Order ${owed.number}: refund settled`, order.refund_state === "failed" ? "warn" : "info");
  } catch (err) {
    toast(`Order ${owed.number}: ${messageOf(err)}`, "warn");
  }
  await checkRefundsOwed();
}

// -- the offline queue -----------------------------------------------------------------------
const VERDICT_TEXT = {
  accepted: "accepted",
  accepted_with_price_variance: "accepted with a price variance",
  accepted_with_stock_conflict: "accepted with a stock conflict",
  duplicate: "duplicate (already recorded)",
  rejected: "rejected",
};

async function refreshQueue() {
  const [waiting, settled] = await Promise.all([offlineQueue.queued(), offlineQueue.verdicts()]);
  const open = settled.filter((v) => v.needs_operator);
  $("queue-count").textContent = String(waiting.length + open.length);
  $("queue-badge").hidden = waiting.length + settled.length === 0;
  $("queue-badge").dataset.attention = String(open.length > 0);
  $("queue-summary").textContent = `${waiting.length} waiting · ${open.length} to resolve · ${settled.length - open.length} done`;
  const describe = (s) => `${new Date(s.offline_created_at).toLocaleTimeString()} · ${s.display?.names.join(", ")}`;
  $("queue-list").replaceChildren(...waiting.map((s) => el("li", {},
    el("span", { textContent: describe(s) }),
    el("strong", { textContent: formatCents(s.display?.total_cents ?? 0) }))));
  const verdictRow = (v) => el("li", { className: "verdict", dataset: { verdict: v.verdict } },
    el("span", { className: "verdict-label", textContent: VERDICT_TEXT[v.verdict] || v.verdict }),
    el("span", { textContent: `${v.number ? `Order ${v.number} · ` : ""}${describe(v)}${v.detail ? ` – ${v.detail}` : ""}` }),
    v.needs_operator ? el("span", { className: "buttons" },
      v.code === offlineQueue.NEEDS_SUPERVISOR ? el("button", { type: "button", textContent: "Supervisor approves",
        onclick: () => approveOfflineSale(v) })
        : v.verdict === "rejected" ? el("button", { type: "button", textContent: "Retry",
          onclick: async () => { await offlineQueue.requeue(v); await refreshQueue(); replayQueue(); } }) : null,
      // The cash of a sale awaiting approval is in the drawer: only recording it resolves it.
      v.code === offlineQueue.NEEDS_SUPERVISOR ? null : el("button", { type: "button", textContent: "Resolved",
        onclick: async () => { await offlineQueue.dismissVerdict(v.idempotency_key); await refreshQueue(); } }))
      : null);
  $("resolution-list").replaceChildren(...open.map(verdictRow));
  $("verdict-list").replaceChildren(...settled.filter((v) => !v.needs_operator).slice(0, 50).map(verdictRow));
  return waiting.length;
}

/** A sale made offline at a price far below today's is recorded only with a supervisor's PIN. */
async function approveOfflineSale(verdict) {
  const pin = await askSupervisor(`${verdict.detail || "This offline sale needs a supervisor."} ` +
                                  `(${formatCents(verdict.display?.total_cents ?? 0)})`);
  if (pin == null) return;
  try {
    await offlineQueue.replayApproved(verdict, pin, (v) => toast(
      `Offline sale ${v.number || ""} ${VERDICT_TEXT[v.verdict] || v.verdict}`, v.needs_operator ? "warn" : "info"));
  } catch (err) {
    toast(`The sale could not be sent: ${messageOf(err)}`, "warn");
  }
  await refreshQueue();
  offlineQueue.reportDepth(state.laneId).catch(() => {});
}

async function replayQueue() {
  if (!session.get() || session.get().offline) return;
  try {
    await offlineQueue.replay((v) => toast(`Offline sale ${v.number || ""} ${VERDICT_TEXT[v.verdict] || v.verdict}`,
                                            v.needs_operator ? "warn" : "info"));
    setOffline(false);
  } catch (err) {
    if (err instanceof NetworkError) setOffline(true, offlineReason(err));
    else toast(`Queued sales could not be sent: ${messageOf(err)}`, "warn");
  }
  await refreshQueue();
  if (!state.offline) offlineQueue.reportDepth(state.laneId).catch(() => {});
}

// -- hub events ------------------------------------------------------------------------------
function onHubEvent(event) {
  const data = event.data || event;
  if (event.type === "scan" && data.barcode) {
    if (!document.querySelector("dialog[open]")) { touched(); addByCode(String(data.barcode)); }
  } else if (event.type === "weight" && Number.isFinite(data.grams ?? data.weight_grams)) {
    state.lastWeightGrams = data.grams ?? data.weight_grams;
  } else if (event.type === "terminal_prompt") {
    showTerminalPrompt(data);
  }
}

function showHubState(hubState) {
  const badge = $("hub-status");
  badge.hidden = hubState === "unavailable";
  badge.textContent = hubState === "connected" ? "Scanner hub" : "Scanner hub reconnecting";
  badge.dataset.state = hubState;
}

// -- returns and exchanges -------------------------------------------------------------------
const returnsHooks = {
  askSupervisor: (reason, error) => askSupervisor(reason, error),
  cartLines: () => orderLines(),
  exchangeSettled: (order) => { rememberLastSale(order); stock.sold(state.cart); newSale(); },
  closed: focusScan,
};

// -- wiring ----------------------------------------------------------------------------------
function wire() {
  $("lane-buttons").addEventListener("click", (e) => {
    const lane = e.target.closest("button")?.dataset.lane;
    if (lane) { state.laneId = lane; showLanes(); $("pin-input").focus(); }
  });
  $("pinpad").addEventListener("click", (e) => {
    const key = e.target.closest("button")?.dataset.key;
    if (!key) return;
    const input = $("pin-input");
    input.value = key === "clear" ? "" : input.value + key;
    input.focus();
  });
  $("pin-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);

  $("scan-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const code = $("scan-input").value;
    $("scan-input").value = "";
    addByCode(code);
  });
  $("search-input").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(runSearch, 60);
  });
  $("search-input").addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") { e.preventDefault(); results.move(e.key === "ArrowDown" ? 1 : -1); }
    else if (e.key === "Enter") { e.preventDefault(); const p = results.current(); if (p) addProduct(p); }
    else if (e.key === "Escape") { $("search-input").value = ""; runSearch(); focusScan(); }
  });
  $("pay-cash").addEventListener("click", () => startPayment("cash"));
  $("pay-card").addEventListener("click", () => startPayment("card"));
  installCryptoCheckout({
    ensureOrder,
    onPaid: (order) => { state.checkout.order = order; showReceipt(order); },
    onLeft: (order) => {
      if (order.status === "CANCELLED") { state.checkout = null; state.tenderAttempt = null; return; }
      state.checkout.order = order; // still pending: another tender takes what is due
      leaveTender();
    },
  });
  $("clear-cart").addEventListener("click", clearSale);
  $("add-discount").addEventListener("click", askDiscount);
  $("discount-form").addEventListener("submit", applyDiscount);
  $("discount-cancel").addEventListener("click", () => $("discount-dialog").close("cancel"));
  $("discount-remove").addEventListener("click", () => {
    state.discountCents = 0;
    $("discount-dialog").close("ok");
    cartChanged();
  });
  $("discount-dialog").addEventListener("close", focusScan);
  $("approval-form").addEventListener("submit", () => { $("approval-dialog").returnValue = "ok"; });
  $("approval-cancel").addEventListener("click", () => $("approval-dialog").close("cancel"));
  $("approval-dialog").addEventListener("close", () => setTimeout(focusScan, 0));
  $("tender-form").addEventListener("submit", (e) => { e.preventDefault(); tender("cash"); });
  $("tender-card").addEventListener("click", () => tender("card"));
  $("tender-points").addEventListener("click", applyPoints);
  $("points-input").addEventListener("input", pointsTyped);
  $("tender-cancel").addEventListener("click", leaveTender);
  $("tender-dialog").addEventListener("close", focusScan);
  $("receipt-dialog").addEventListener("close", () => { if (state.saleDone) newSale(); });
  $("new-sale").addEventListener("click", newSale);
  $("weight-cancel").addEventListener("click", () => $("weight-dialog").close("cancel"));
  $("weight-form").addEventListener("submit", () => { $("weight-dialog").returnValue = "ok"; });
  $("queue-badge").addEventListener("click", async () => { await refreshQueue(); $("queue-dialog").showModal(); });
  $("queue-close").addEventListener("click", () => $("queue-dialog").close());
  $("queue-retry").addEventListener("click", replayQueue);
  $("queue-dialog").addEventListener("close", focusScan);

  document.addEventListener("keydown", (e) => {
    if (!$("login-view").hidden) {
      if (/^\d$/.test(e.key) && document.activeElement?.tagName !== "INPUT") {
        $("pin-input").focus();
      }
      return;
    }
    if (e.key === "F2") { e.preventDefault(); $("search-input").focus(); return; }
    // A keyboard-wedge scanner types wherever the focus is: keep it in the scan field.
    const target = document.activeElement;
    const typing = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA");
    if (!typing && !document.querySelector("dialog[open]") && e.key.length === 1) focusScan();
  });
  document.addEventListener("click", (e) => {
    if (!e.target.closest("input, dialog, .vlist")) setTimeout(focusScan, 0);
  });
  window.addEventListener("online", () => { setOffline(false); syncCatalog(); replayQueue(); });
  window.addEventListener("offline", () => setOffline(true));
  // A lane left alone keeps trying: queued sales go out as soon as the edge answers again.
  setInterval(() => { if (session.get()) { replayQueue(); checkRefundsOwed(); } }, 15000);
}

async function start() {
  wire();
  initCartEdit();
  initReturns({ laneId: () => state.laneId, hooks: returnsHooks });
  initCustomers({ changed: cartChanged, closed: focusScan, toast });
  whenSignedOut(sessionEnded);
  await initPairing({ laneChosen: (lane) => { state.laneId = String(lane); } });
  showLanes();
  setOffline(!navigator.onLine);
  if ("serviceWorker" in navigator) {
    // Needs a secure context (https or localhost); on plain http the lane still works online.
    navigator.serviceWorker.register("/sw.js").catch(() => {});
  }
  const notice = sessionStorage.getItem("novapos.lane.notice");
  if (notice) {
    sessionStorage.removeItem("novapos.lane.notice");
    $("login-error").textContent = notice;
  }
  if (session.get()) await enterSale();
  else $("pin-input").focus();
}

start();
