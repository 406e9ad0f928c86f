// Card terminal prompts at the lane. While a card payment runs, the terminal's own prompts
// (present the card, PIN entry, signature required, chip fallback, approved, declined...) arrive
// as `terminal_prompt` hub events on the lane's socket and are shown in the payment dialog as
// they happen, newest first in a short log. The cashier can stop the payment from here: the
// store server asks the terminal to abort, and the payment request then comes back cancelled
// (or, if the card was approved as the cancel arrived, reversed at once).

import { call, newIdempotencyKey } from "./api.js";
import { $, el, messageOf } from "/common/dom.js";

const MAX_LOG = 8;
let waiting = null; // {orderId, cancelKey}

function panel() {
  let box = document.getElementById("card-prompts");
  if (box) return box;
  box = el("section", { id: "card-prompts", hidden: true, ariaLabel: "Card terminal" },
    el("p", { id: "card-prompt", role: "status", ariaLive: "polite" }),
    el("ol", { id: "card-prompt-log", reversed: true }),
    el("p", { id: "card-cancel-error", className: "error", role: "alert" }),
    el("button", { type: "button", id: "card-cancel", className: "ghost" }, "Cancel card payment"));
  $("tender-note").after(box);
  $("card-cancel").addEventListener("click", cancelCardPayment);
  return box;
}

/** A card payment for `orderId` was just asked of the store server. */
export function startCardWait(orderId) {
  const box = panel();
  waiting = { orderId, cancelKey: newIdempotencyKey() };
  box.hidden = false;
  box.dataset.kind = "starting";
  $("card-prompt").textContent = "Starting the card payment on the terminal…";
  $("card-prompt-log").replaceChildren();
  $("card-cancel-error").textContent = "";
  $("card-cancel").disabled = false;
  $("card-cancel").hidden = false;
}

/** The payment request answered: the last prompt stays on screen, the cancel button goes. */
export function endCardWait() {
  waiting = null;
  const cancel = document.getElementById("card-cancel");
  if (cancel) cancel.hidden = true;
}

/** The dialog closed (sale done, or the cashier went back): nothing of this payment stays. */
export function clearCardPrompts() {
  endCardWait();
  const box = document.getElementById("card-prompts");
  if (box) box.hidden = true;
}

/** A `terminal_prompt` hub event: `{ref, kind, text}`. */
export function showTerminalPrompt(data) {
  if (!data || !data.text) return;
  const box = panel();
  box.hidden = false;
  box.dataset.kind = String(data.kind || "info");
  $("card-prompt").textContent = String(data.text);
  const log = $("card-prompt-log");
  // The store server announces the start itself and the terminal may echo it: show it once.
  if (log.firstElementChild?.textContent === String(data.text)) return;
  log.prepend(el("li", { dataset: { kind: String(data.kind || "info") } }, String(data.text)));
  while (log.children.length > MAX_LOG) log.lastElementChild.remove();
}

async function cancelCardPayment() {
  if (!waiting) return;
  const { orderId, cancelKey } = waiting;
  $("card-cancel").disabled = true;
  $("card-cancel-error").textContent = "";
  $("card-prompt").textContent = "Cancelling the card payment…";
  try {
    await call(`/api/v1/orders/${orderId}/card/cancel`, {
      method: "POST", body: {}, headers: { "Idempotency-Key": cancelKey },
    });
  } catch (err) {
    // The payment's own answer still says how it ended; the cashier may press Cancel on the terminal.
    $("card-cancel-error").textContent = messageOf(err);
    $("card-cancel").disabled = false;
  }
}
