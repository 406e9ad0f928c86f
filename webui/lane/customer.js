// The customer at the lane: find them by phone, email or a scan of their loyalty card, sign them
// up, see their 360 (points, tier, progress, purchases, pickups, returns, consents), attach them
// to the sale at any point before the tender, and detach them. The sale's order carries the
// attached customer's id, online and in the offline queue alike.
//
// What the lane keeps: the attached customer's view for this sale, and (for this tab only, in
// memory, never in storage) the card codes it resolved this session, so a card scanned again
// while the store server is out of reach still attaches. Contact details show masked until the
// cashier taps "Show"; nothing about a customer is written to localStorage or IndexedDB.
// Mounts its own button, strip and dialog when imported; app.js wires the hooks.

import { ApiError, NetworkError, call, get, newIdempotencyKey, post } from "./api.js";
import { $, el, messageOf } from "/common/dom.js";
import { formatCents } from "/common/money.js";

// A printable card code: NP and 12 digits (edge/contracts/pii.py new_card_code).
const CARD_CODE = /^NP\d{12}$/i;
const MAX_QUERY = 254;

const state = {
  attached: null, // the 360 view of the customer attached to the sale
  shown: null, // the 360 view open in the dialog
  revealed: false,
  signUpKey: null, // one idempotency key per sign-up attempt with the same body
  signUpBody: "",
};
const seenCards = new Map(); // card code → summary, this tab's session only
let hooks = { changed: () => {}, offline: () => false, closed: () => {} };

export const isCardCode = (code) => CARD_CODE.test(String(code).trim());
export const attachedCustomerId = () => state.attached?.customer_id ?? null;
export const attachedCustomer = () => state.attached;

/** What a points tender may take now: {max, value_cents, offline, min}, or null (no customer, no points). */
export function redeemable() {
  const loyalty = state.attached?.loyalty;
  if (!loyalty || !(loyalty.redeemable_points > 0)) return null;
  return { max: loyalty.redeemable_points, valueCents: loyalty.point_value_cents || 0, offline: Boolean(loyalty.offline),
           min: loyalty.min_redeem_points ?? 1, balance: loyalty.balance_points };
}

export function maskEmail(email) {
  if (!email) return "";
  const [user, domain = ""] = String(email).split("@");
  return `${user.slice(0, 1)}***@${domain}`;
}

export function maskPhone(phone) {
  if (!phone) return "";
  const text = String(phone);
  return `${"•".repeat(Math.max(0, text.length - 4))}${text.slice(-4)}`;
}

// -- mounting ---------------------------------------------------------------------------------
function mount() {
  const pay = document.querySelector(".pay");
  if (!pay) return;
  pay.append(el("button", { type: "button", className: "ghost", id: "open-customer", textContent: "Customer",
                            onclick: () => openDialog() }));
  const strip = el("section", { id: "sale-customer", className: "sale-customer", hidden: true, ariaLabel: "Customer on this sale" },
    el("span", { className: "who", id: "sale-customer-name" }),
    el("span", { className: "points", id: "sale-customer-points" }),
    el("button", { type: "button", className: "ghost", id: "sale-customer-view", textContent: "View",
                   onclick: () => openDialog(state.attached) }),
    el("button", { type: "button", className: "ghost", id: "sale-customer-detach", textContent: "Detach",
                   onclick: () => detach() }));
  document.querySelector(".cart-pane > h2")?.after(strip);

  // The error sits outside the label: the field's accessible name stays its label alone.
  const field = (id, label, props = {}) => el("div", { className: "field" },
    el("label", { htmlFor: id, textContent: label }),
    el("input", { id, autocomplete: "off", spellcheck: false, ...props }),
    el("span", { className: "field-error", id: `${id}-error`, role: "alert" }));
  const dialog = el("dialog", { id: "customer-dialog", className: "customer" },
    el("h2", { id: "customer-title", textContent: "Customer" }),
    el("form", { id: "customer-search", className: "row", autocomplete: "off" },
      el("label", { htmlFor: "customer-q", className: "grow" }, "Phone, email or card",
        el("input", { id: "customer-q", maxLength: MAX_QUERY, autocomplete: "off", spellcheck: false })),
      el("button", { type: "submit", className: "primary", textContent: "Find" }),
      el("button", { type: "button", id: "customer-new", textContent: "New customer" })),
    el("p", { className: "error", id: "customer-error", role: "alert" }),
    el("ul", { className: "customer-results plain", id: "customer-results" }),
    el("form", { id: "customer-signup", className: "signup", hidden: true, autocomplete: "off", noValidate: true },
      el("h3", { textContent: "Sign up" }),
      field("signup-name", "Name", { maxLength: 200, required: true }),
      field("signup-email", "Email", { maxLength: MAX_QUERY, type: "email", inputMode: "email" }),
      field("signup-phone", "Phone", { maxLength: 32, type: "tel", inputMode: "tel" }),
      el("p", { className: "note", textContent: "An email or a phone number is needed." }),
      el("label", { className: "choice" }, el("input", { type: "checkbox", id: "signup-marketing" }),
        " Wants offers by email or text (marketing)"),
      el("label", { className: "choice" }, el("input", { type: "checkbox", id: "signup-ereceipts" }),
        " Wants e-receipts"),
      el("p", { className: "error", id: "signup-error", role: "alert" }),
      el("div", { className: "actions" },
        el("button", { type: "button", className: "ghost", id: "signup-cancel", textContent: "Back" }),
        el("button", { type: "submit", className: "primary big", id: "signup-submit", textContent: "Sign up and attach" }))),
    el("section", { id: "customer-view", className: "customer-view", hidden: true }),
    el("div", { className: "actions" },
      el("button", { type: "button", className: "ghost", id: "customer-close", textContent: "Close" })));
  document.body.append(dialog);
  dialog.setAttribute("aria-labelledby", "customer-title");
  $("customer-search").addEventListener("submit", (e) => { e.preventDefault(); search($("customer-q").value); });
  $("customer-new").addEventListener("click", showSignUp);
  $("signup-cancel").addEventListener("click", () => { $("customer-signup").hidden = true; $("customer-q").focus(); });
  $("customer-signup").addEventListener("submit", signUp);
  $("customer-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => hooks.closed());
}

/** app.js hands in what the panel needs of the sale: `changed` (the order must be priced again
 * with the customer), `offline` (is the store server out of reach), `closed` (focus the scanner). */
export function initCustomers(given) {
  hooks = { ...hooks, ...given };
}

function openDialog(view = null) {
  const dialog = $("customer-dialog");
  showError("");
  $("customer-signup").hidden = true;
  $("customer-results").replaceChildren();
  if (view) showView(view);
  else { $("customer-view").hidden = true; $("customer-q").value = ""; }
  if (!dialog.open) dialog.showModal();
  if (!view) $("customer-q").focus();
}

function showError(text) {
  $("customer-error").textContent = text;
}

// -- lookup -----------------------------------------------------------------------------------
async function search(raw) {
  const q = String(raw).trim();
  showError("");
  $("customer-view").hidden = true;
  $("customer-signup").hidden = true;
  if (!q) { showError("Type a phone number, an email or a card code."); return; }
  let items;
  try {
    ({ items } = await get(`/api/v1/customers?q=${encodeURIComponent(q)}`));
  } catch (err) {
    const cached = seenCards.get(q.toUpperCase());
    if (err instanceof NetworkError && cached) { items = [cached]; }
    else { showError(lookupFailure(err)); return; }
  }
  for (const c of items) if (c.card_code) seenCards.set(c.card_code.toUpperCase(), c);
  $("customer-results").replaceChildren(...items.map(resultRow));
  if (!items.length) {
    $("customer-results").append(el("li", { className: "none", textContent: `No customer found for “${q}”.` },
      " ", el("button", { type: "button", textContent: "Sign them up", onclick: () => showSignUp(q) })));
  }
}

function lookupFailure(err) {
  if (err instanceof NetworkError) return "The store server cannot be reached: only a card scanned earlier today can be attached.";
  return messageOf(err);
}

function resultRow(c) {
  const contact = [c.email_masked, c.phone_masked].filter(Boolean).join(" · ");
  return el("li", { className: "customer-result", dataset: { customer: c.customer_id } },
    el("strong", { textContent: c.name }),
    el("span", { className: "contact", textContent: contact }),
    el("span", { className: "card", textContent: c.card_code ?? "" }),
    el("span", { className: "tier", textContent: `${c.tier ?? ""} · ${points(c.balance_points)}` }),
    el("span", { className: "buttons" },
      el("button", { type: "button", textContent: "Open", onclick: () => open360(c.customer_id).catch((e) => showError(messageOf(e))) }),
      el("button", { type: "button", className: "primary", textContent: "Attach",
                     onclick: () => attachById(c.customer_id, c).catch((e) => showError(messageOf(e))) })));
}

const points = (n) => `${Number(n ?? 0).toLocaleString()} pts`;

async function fetch360(customerId) {
  return get(`/api/v1/customers/${encodeURIComponent(customerId)}`);
}

async function open360(customerId) {
  showView(await fetch360(customerId));
}

/** A scanned loyalty card (the scanner's path for barcodes) attaches its customer at once. */
export async function attachByCard(code, report) {
  const card = String(code).trim().toUpperCase();
  try {
    const { items } = await get(`/api/v1/customers?q=${encodeURIComponent(card)}`);
    if (!items.length) { report(`No customer has the card ${card}.`); return; }
    seenCards.set(card, items[0]);
    await attachById(items[0].customer_id, items[0]);
  } catch (err) {
    const cached = seenCards.get(card);
    if (err instanceof NetworkError && cached) { attachOffline(cached); return; }
    report(err instanceof NetworkError
      ? `Card ${card}: the store server cannot be reached and this lane has not seen the card today.` : messageOf(err));
  }
}

async function attachById(customerId, summary) {
  let view;
  try {
    view = await fetch360(customerId);
  } catch (err) {
    if (!(err instanceof NetworkError) || !summary) throw err;
    attachOffline(summary);
    return;
  }
  attach(view);
}

/** The store server is out of reach: the sale (queued offline) still carries the customer's id. */
function attachOffline(summary) {
  attach({ customer_id: summary.customer_id, name: summary.name, card_code: summary.card_code, email: null, phone: null,
           loyalty: { balance_points: summary.balance_points, tier: summary.tier, redeemable_points: 0, offline: true },
           lane_offline: true });
}

function attach(view) {
  const changed = state.attached?.customer_id !== view.customer_id;
  state.attached = view;
  showStrip();
  if ($("customer-dialog").open) $("customer-dialog").close();
  if (changed) hooks.changed();
}

export function detach() {
  if (!state.attached) return;
  state.attached = null;
  showStrip();
  if ($("customer-dialog").open) $("customer-dialog").close();
  hooks.changed();
}

/** A new sale starts with nobody attached. */
export function resetForNewSale() {
  state.attached = null;
  showStrip();
}

/** After a sale or a points tender: the balance the edge now holds. */
export async function refreshAttached() {
  if (!state.attached || state.attached.lane_offline) return;
  try {
    state.attached = await fetch360(state.attached.customer_id);
    showStrip();
  } catch {
    // keep what the lane last heard
  }
}

function showStrip() {
  const c = state.attached;
  $("sale-customer").hidden = !c;
  $("open-customer").textContent = c ? "Change customer" : "Customer";
  if (!c) return;
  $("sale-customer-name").textContent = c.name;
  const tier = c.loyalty?.tier ? `${c.loyalty.tier} · ` : "";
  $("sale-customer-points").textContent = `${tier}${points(c.loyalty?.balance_points)}${c.lane_offline ? " (as last seen)" : ""}`;
}

// -- the 360 view -----------------------------------------------------------------------------
function showView(view) {
  state.shown = view;
  state.revealed = false;
  $("customer-results").replaceChildren();
  $("customer-signup").hidden = true;
  renderView();
}

function renderView() {
  const v = state.shown;
  const box = $("customer-view");
  const loyalty = v.loyalty ?? {};
  const attached = state.attached?.customer_id === v.customer_id;
  const consent = (given, at) => (given ? `yes${at ? ` (since ${new Date(at).toLocaleDateString()})` : ""}` : "no");
  const contact = (full, masked) => (state.revealed ? full : masked) || "–";
  const progress = loyalty.next_tier
    ? el("p", { className: "progress", id: "cv-progress" },
      el("span", { textContent: `${points(loyalty.points_to_next_tier)} to ${loyalty.next_tier}` }),
      el("progress", { max: 100, value: progressPercent(loyalty) }))
    : el("p", { className: "progress", id: "cv-progress", textContent: loyalty.tier ? "Top tier" : "" });
  const source = v.offline
    ? el("p", { className: "note", id: "cv-source",
                textContent: "HQ is not reachable: this is the store's copy. Points redeemed now count against the offline allowance." })
    : null;
  box.replaceChildren(...[
    el("header", {},
      el("h3", { id: "cv-name", textContent: v.name }),
      el("span", { className: "card", id: "cv-card", textContent: v.card_code ? `Card ${v.card_code}` : "" })),
    source,
    el("dl", { className: "cv-facts" },
      el("dt", { textContent: "Email" }), el("dd", { id: "cv-email", textContent: contact(v.email, maskEmail(v.email)) }),
      el("dt", { textContent: "Phone" }), el("dd", { id: "cv-phone", textContent: contact(v.phone, maskPhone(v.phone)) }),
      el("dt", { textContent: "Points" }), el("dd", { id: "cv-balance", textContent: points(loyalty.balance_points) }),
      el("dt", { textContent: "Tier" }), el("dd", { id: "cv-tier", textContent: loyalty.tier ?? "–" }),
      el("dt", { textContent: "Redeemable now" }), el("dd", { id: "cv-redeemable",
        textContent: loyalty.redeemable_points != null
          ? `${points(loyalty.redeemable_points)} = ${formatCents((loyalty.redeemable_points || 0) * (loyalty.point_value_cents || 0))}`
          : "–" }),
      el("dt", { textContent: "Marketing" }), el("dd", {},
        el("span", { id: "cv-marketing", textContent: consent(v.consents?.marketing, v.consents?.marketing_at) }), " ",
        consentButton(v, "marketing", "marketing")),
      el("dt", { textContent: "E-receipts" }), el("dd", {},
        el("span", { id: "cv-ereceipts", textContent: consent(v.consents?.e_receipts, v.consents?.e_receipts_at) }), " ",
        consentButton(v, "e_receipts", "e-receipts")),
      el("dt", { textContent: "Joined" }), el("dd", { textContent: v.home_store_id
        ? `${v.home_store_id}${v.created_at ? `, ${new Date(v.created_at).toLocaleDateString()}` : ""}` : "–" })),
    progress,
    listSection("cv-purchases", "Recent purchases", v.recent_purchases, (p) =>
      `${when(p.at)} · ${p.store_id} · ${formatCents(p.total_cents, p.currency)}${p.points_earned ? ` · +${p.points_earned} pts` : ""}`),
    listSection("cv-pickups", "Open pickups", v.open_pickups, (p) => `${p.order_id} · ${p.store_id} · ${p.status}`),
    listSection("cv-returns", "Returns", v.returns, (r) =>
      `${when(r.at)} · ${r.store_id} · ${formatCents(r.refund_cents, r.currency)} refunded`),
    el("div", { className: "actions" },
      v.lane_offline ? null
        : el("button", { type: "button", className: "ghost", id: "cv-edit", textContent: "Edit details",
                         onclick: () => showEdit(v) }),
      el("button", { type: "button", className: "ghost", id: "cv-reveal",
                     textContent: state.revealed ? "Hide contact" : "Show contact",
                     onclick: () => { state.revealed = !state.revealed; renderView(); } }),
      attached
        ? el("button", { type: "button", id: "cv-detach", textContent: "Detach from sale", onclick: () => detach() })
        : el("button", { type: "button", className: "primary big", id: "cv-attach", textContent: "Attach to sale",
                         onclick: () => attach(v) }))].filter(Boolean));
  box.hidden = false;
}

const when = (iso) => (iso ? new Date(iso).toLocaleDateString() : "");

/** The customer changes their mind at the counter: the edge records the answer and its time. */
function consentButton(v, field, label) {
  const given = Boolean(v.consents?.[field]);
  if (v.lane_offline) return null;
  return el("button", { type: "button", className: "ghost small", textContent: given ? `Withdraw ${label}` : `Agree to ${label}`,
    onclick: async (event) => {
      event.target.disabled = true;
      try {
        const view = await call(`/api/v1/customers/${encodeURIComponent(v.customer_id)}`, {
          method: "PATCH", body: { consents: { [field]: !given } } }).then((r) => r.data);
        if (state.attached?.customer_id === view.customer_id) { state.attached = view; showStrip(); }
        const revealed = state.revealed;
        showView(view);
        if (revealed) { state.revealed = true; renderView(); }
      } catch (err) {
        showError(messageOf(err));
        event.target.disabled = false;
      }
    } });
}

function progressPercent(loyalty) {
  // Earned over the tier window against the next tier's threshold (earned + still to go).
  const done = Number(loyalty.earned_in_window ?? 0);
  const left = Number(loyalty.points_to_next_tier ?? 0);
  return done + left > 0 ? Math.round((100 * done) / (done + left)) : 0;
}

function listSection(id, title, items, describe) {
  const list = items ?? [];
  return el("section", { id, className: "cv-list" },
    el("h4", { textContent: `${title} (${list.length})` }),
    list.length ? el("ul", { className: "plain" }, ...list.slice(0, 10).map((x) => el("li", { textContent: describe(x) })))
      : el("p", { className: "note", textContent: "None." }));
}

// -- editing name, email, phone -----------------------------------------------------------------
// Built in the 360's place while it is open (so the sign-up form's labels stay the only ones
// of their name in the dialog otherwise). Only changed fields are sent; an emptied email or
// phone is sent as null (the edge removes it, and refuses if neither would remain).
function editField(id, label, value, props) {
  return el("div", { className: "field" },
    el("label", { htmlFor: id, textContent: label }),
    el("input", { id, value: value ?? "", autocomplete: "off", spellcheck: false, ...props }),
    el("span", { className: "field-error", id: `${id}-error`, role: "alert" }));
}

function showEdit(v) {
  showError("");
  const form = el("form", { id: "customer-edit", className: "signup", autocomplete: "off", noValidate: true },
    el("h3", { textContent: "Edit details" }),
    editField("edit-name", "Name", v.name, { maxLength: 200, required: true }),
    editField("edit-email", "Email", v.email, { maxLength: MAX_QUERY, type: "email", inputMode: "email" }),
    editField("edit-phone", "Phone", v.phone, { maxLength: 32, type: "tel", inputMode: "tel" }),
    el("p", { className: "note", textContent: "An email or a phone number is needed." }),
    el("p", { className: "error", id: "edit-error", role: "alert" }),
    el("div", { className: "actions" },
      el("button", { type: "button", className: "ghost", id: "edit-cancel", textContent: "Cancel",
                     onclick: () => renderView() }),
      el("button", { type: "submit", className: "primary big", id: "edit-submit", textContent: "Save" })));
  form.addEventListener("submit", (event) => { event.preventDefault(); saveEdit(v); });
  $("customer-view").replaceChildren(form);
  $("customer-view").hidden = false;
  $("edit-name").focus();
}

async function saveEdit(v) {
  const form = $("customer-edit");
  for (const node of form.querySelectorAll(".field-error")) node.textContent = "";
  $("edit-error").textContent = "";
  const name = $("edit-name").value.trim();
  const email = $("edit-email").value.trim();
  const phone = $("edit-phone").value.trim();
  if (!name) { $("edit-name-error").textContent = "The customer's name is needed."; $("edit-name").focus(); return; }
  if (!email && !phone) { $("edit-error").textContent = "Give an email or a phone number (or both)."; $("edit-email").focus(); return; }
  const body = {};
  if (name !== v.name) body.name = name;
  if (email !== (v.email ?? "")) body.email = email || null;
  if (phone !== (v.phone ?? "")) body.phone = phone || null;
  if (!Object.keys(body).length) { renderView(); return; }
  const submit = $("edit-submit");
  submit.disabled = true;
  try {
    const view = await call(`/api/v1/customers/${encodeURIComponent(v.customer_id)}`, { method: "PATCH", body })
      .then((r) => r.data);
    if (state.attached?.customer_id === view.customer_id) { state.attached = view; showStrip(); }
    for (const [code, seen] of seenCards) if (seen.customer_id === view.customer_id) seenCards.delete(code);
    showView(view);
    hooks.toast?.(`${view.name}'s details saved.`);
  } catch (err) {
    submit.disabled = false;
    editRefused(err);
  }
}

function editRefused(err) {
  if (err instanceof NetworkError) {
    $("edit-error").textContent = "The store server cannot be reached: change the details when it is back.";
    return;
  }
  if (!(err instanceof ApiError)) { $("edit-error").textContent = messageOf(err); return; }
  let named = false;
  for (const e of err.errors) {
    const field = String(e.field || e.key || "").split(".").pop();
    const node = $(`edit-${field}-error`);
    if (node) { node.textContent = e.message || "Check this field."; named = true; }
  }
  const existing = err.problem.customer_id || err.errors.find((e) => e.customer_id)?.customer_id;
  if (err.status === 409 && existing && existing !== state.shown?.customer_id) {
    $("edit-error").replaceChildren(
      el("span", { textContent: `${err.message} ` }),
      el("button", { type: "button", id: "edit-use-existing", textContent: "Open that customer",
                     onclick: () => open360(existing).catch((e) => showError(messageOf(e))) }));
    return;
  }
  if (!named || err.status !== 422) $("edit-error").textContent = messageOf(err);
}

// -- sign-up ----------------------------------------------------------------------------------
function showSignUp(prefill = "") {
  showError("");
  $("customer-results").replaceChildren();
  $("customer-view").hidden = true;
  const form = $("customer-signup");
  form.reset();
  for (const node of form.querySelectorAll(".field-error")) node.textContent = "";
  $("signup-error").textContent = "";
  const text = typeof prefill === "string" ? prefill.trim() : "";
  if (text.includes("@")) $("signup-email").value = text;
  else if (/^[+\d][\d\s().-]{5,}$/.test(text)) $("signup-phone").value = text;
  form.hidden = false;
  $("signup-name").focus();
}

async function signUp(event) {
  event.preventDefault();
  const form = $("customer-signup");
  for (const node of form.querySelectorAll(".field-error")) node.textContent = "";
  $("signup-error").textContent = "";
  const name = $("signup-name").value.trim();
  const email = $("signup-email").value.trim();
  const phone = $("signup-phone").value.trim();
  if (!name) { $("signup-name-error").textContent = "The customer's name is needed."; $("signup-name").focus(); return; }
  if (!email && !phone) { $("signup-error").textContent = "Give an email or a phone number (or both)."; $("signup-email").focus(); return; }
  const body = { name, ...(email ? { email } : {}), ...(phone ? { phone } : {}),
                 consents: { marketing: $("signup-marketing").checked, e_receipts: $("signup-ereceipts").checked } };
  const json = JSON.stringify(body);
  if (json !== state.signUpBody) { state.signUpBody = json; state.signUpKey = newIdempotencyKey(); }
  const submit = $("signup-submit");
  submit.disabled = true;
  try {
    const view = await post("/api/v1/customers", body, { "Idempotency-Key": state.signUpKey });
    state.signUpBody = "";
    if (view.card_code) seenCards.set(view.card_code.toUpperCase(), { ...view, tier: view.loyalty?.tier });
    attach(view);
    hooks.toast?.(`${view.name} signed up${view.card_code ? ` – card ${view.card_code}` : ""}.`);
  } catch (err) {
    signUpRefused(err);
  } finally {
    submit.disabled = false;
  }
}

function signUpRefused(err) {
  if (err instanceof NetworkError) {
    $("signup-error").textContent = "The store server cannot be reached: sign the customer up when it is back.";
    return;
  }
  if (!(err instanceof ApiError)) { $("signup-error").textContent = messageOf(err); return; }
  let named = false;
  for (const e of err.errors) {
    const field = String(e.field || e.key || "").split(".").pop();
    const node = $(`signup-${field}-error`);
    if (node) { node.textContent = e.message || "Check this field."; named = true; }
  }
  const existing = err.problem.customer_id || err.errors.find((e) => e.customer_id)?.customer_id;
  if (err.status === 409 && existing) {
    $("signup-error").replaceChildren(
      el("span", { textContent: `${err.message} ` }),
      el("button", { type: "button", id: "signup-use-existing", textContent: "Open that customer",
                     onclick: () => open360(existing).catch((e) => showError(messageOf(e))) }));
    return;
  }
  if (!named || err.status !== 422) $("signup-error").textContent = messageOf(err);
}

mount();
