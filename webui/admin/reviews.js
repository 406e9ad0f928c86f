// The review queue: offline sales at an old price, stock conflicts and unresolved payments,
// each resolved with a note that is kept with the case and in the audit log.

import { get } from "./api.js";
import { openOrder } from "./orders.js";
import { registerTab } from "./tabs.js";
import { cell, emptyRow, loadStore, newLoad, pill, postOnce, showError, when } from "./ui.js";
import { $, el, messageOf } from "/common/dom.js";
import { formatCents } from "/common/money.js";

let cursor = null;
const REVIEW_KINDS = { price_variance: "Price variance", stock_conflict: "Stock conflict",
                       payment_unresolved: "Payment unresolved", payment_overpaid: "Payment overpaid" };
let resolvingCase = null;

async function loadReviews(reset) {
  const { currency } = await loadStore();
  const form = new FormData($("review-filters"));
  // status is always sent: the server lists only open cases when it is missing, all when empty.
  const params = new URLSearchParams({ limit: "100", status: form.get("status") ?? "open" });
  if (form.get("kind")) params.set("kind", form.get("kind"));
  if (!reset && cursor) params.set("cursor", cursor);
  const current = newLoad("reviews");
  const page = await get(`/api/v1/reviews?${params}`);
  if (!current()) return;
  cursor = page.next_cursor;
  const rows = page.items.map((review) => reviewRow(review, currency));
  if (reset) $("review-rows").replaceChildren(...rows);
  else $("review-rows").append(...rows);
  if (reset && !rows.length) $("review-rows").replaceChildren(emptyRow(6, "No review cases match."));
  $("reviews-more").hidden = !page.next_cursor;
}

function reviewRow(review, currency) {
  // Price and stock cases carry the receipt number in their detail; a refund case only the order.
  const number = review.detail?.number;
  const order = review.order_id
    ? el("td", {}, el("button", { type: "button", className: "link mono", textContent: number || review.order_id.slice(0, 8),
                                  onclick: () => openOrder(review.order_id) }))
    : cell(null);
  const open = review.status === "open";
  const outcome = open
    ? el("button", { type: "button", textContent: "Resolve", onclick: () => askResolution(review, currency) })
    : el("span", { className: "note", textContent: `${(review.resolution ?? "").replace(/_/g, " ")} by ${review.resolved_by}`,
                   title: review.note ?? "" });
  return el("tr", {}, cell(REVIEW_KINDS[review.kind] || review.kind), order, cell(summaryOf(review, currency)),
    cell(when(review.created_at)), el("td", {}, pill(review.status, open ? "warn" : "ok")), el("td", {}, outcome));
}

/** The server's summary gives a price variance in raw cents; its detail has the amounts to format. */
function summaryOf(review, currency) {
  const d = review.detail || {};
  if (review.kind === "price_variance" && Number.isInteger(d.charged_cents) && Number.isInteger(d.catalog_cents)) {
    return `${d.sku} sold offline at ${formatCents(d.charged_cents, currency)}; catalog price ${formatCents(d.catalog_cents, currency)}`;
  }
  return review.summary;
}

function askResolution(review, currency) {
  resolvingCase = review;
  $("resolve-form").reset();
  $("resolve-summary").textContent = `${REVIEW_KINDS[review.kind] || review.kind}: ${summaryOf(review, currency)}`;
  $("resolve-error").textContent = "";
  $("resolve-dialog").showModal();
  $("resolve-resolution").focus();
}

async function submitResolution(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const note = String(form.get("note") ?? "").trim();
  if (!note) {
    $("resolve-error").textContent = "Write a note: it is kept with the case and in the audit log.";
    return;
  }
  const button = event.submitter;
  if (button) button.disabled = true;
  try {
    await postOnce(`/api/v1/reviews/${encodeURIComponent(resolvingCase.id)}/resolve`,
      { resolution: form.get("resolution"), note });
  } catch (err) {
    $("resolve-error").textContent = messageOf(err);
    return;
  } finally {
    if (button) button.disabled = false;
  }
  $("resolve-dialog").close();
  await loadReviews(true).catch(showError); // the resolved case leaves the open list
}


function wire() {
  $("review-filters").addEventListener("submit", (e) => e.preventDefault());
  $("review-filters").addEventListener("change", () => loadReviews(true).catch(showError));
  $("reviews-more").addEventListener("click", () => loadReviews(false).catch(showError));
  $("resolve-form").addEventListener("submit", submitResolution);
  $("resolve-cancel").addEventListener("click", () => $("resolve-dialog").close());
}

registerTab({ id: "reviews", label: "Reviews", needs: "listReviews", load: () => loadReviews(true), wire });
