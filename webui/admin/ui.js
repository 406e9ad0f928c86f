// What every admin tab shares: table cells, times, pills, the tab error line, the store's
// currency and lanes, "newest answer wins" loads, and one idempotency key per distinct write.

import { get, newIdempotencyKey, post } from "./api.js";
import { $, el, messageOf } from "/common/dom.js";

export const cell = (text, className = "") => el("td", { textContent: text ?? "–", className });
export const when = (iso) => (iso ? new Date(iso).toLocaleString() : "–");
export const pill = (text, kind = "") => el("span", { className: `pill ${kind}`, textContent: text });
export const emptyRow = (colSpan, text) => el("tr", {}, el("td", { colSpan, className: "empty", textContent: text }));
export const button = (text, onclick, props = {}) => el("button", { type: "button", textContent: text, onclick, ...props });

export function showError(err) {
  $("tab-error").textContent = err ? messageOf(err) : "";
}

// The store's currency and lanes, read once per sign-in (lane pickers, money, till cards).
let storeInfo = null;

export function loadStore() {
  storeInfo ??= get("/api/v1/store").then((store) => {
    for (const select of document.querySelectorAll("select.lane-select")) {
      select.append(...store.lanes.map((lane) => el("option", { value: lane.id, textContent: lane.name })));
    }
    return store;
  }).catch((err) => {
    storeInfo = null; // the next tab that needs it asks again
    throw err;
  });
  return storeInfo;
}

// A tab loads on opening and again on every search or filter change; only the newest answer is
// shown, since an older, slower one can arrive last.
const loads = {};

export function newLoad(name) {
  const ticket = (loads[name] ?? 0) + 1;
  loads[name] = ticket;
  return () => loads[name] === ticket;
}

// One idempotency key per distinct request: a retry of the same body (after a lost answer)
// reuses its key, so the server replays the first outcome instead of acting twice; a changed
// body gets a new key, since the server refuses a key reused with another body.
const pendingKeys = new Map();

export async function postOnce(path, body) {
  const request = `${path} ${JSON.stringify(body)}`;
  if (!pendingKeys.has(request)) pendingKeys.set(request, newIdempotencyKey());
  const result = await post(path, body, { "Idempotency-Key": pendingKeys.get(request) });
  pendingKeys.delete(request);
  return result;
}

/** Run a dialog's submit: its button disabled meanwhile, the server's refusal shown in `errorId`.
 * Returns the action's result, or undefined when it failed. */
export async function submitting(event, errorId, action) {
  event.preventDefault();
  const submit = event.submitter;
  if (submit) submit.disabled = true;
  $(errorId).textContent = "";
  try {
    return await action();
  } catch (err) {
    $(errorId).textContent = messageOf(err);
    return undefined;
  } finally {
    if (submit) submit.disabled = false;
  }
}

/** Print one element: the page's print stylesheet shows only what carries `.printing`. */
export function printOnly(node) {
  node.classList.add("printing");
  document.body.classList.add("print-one");
  const done = () => {
    node.classList.remove("printing");
    document.body.classList.remove("print-one");
    window.removeEventListener("afterprint", done);
  };
  window.addEventListener("afterprint", done);
  window.print();
}
