// The lane as a kiosk: it locks itself when left alone, ends the cashier's session at the time
// the edge fixed at sign-in (maximum length or shift change), and keeps the screen awake.
//
// - Idle lock: after the policy's idle time without a touch, a key or a scan the lane locks.
//   The sale in progress stays as it is behind the lock; the cashier's own PIN or a supervisor's
//   unlocks it (checked by the edge, or against this lane's offline verifier when the edge is
//   unreachable). A reload does not get past the lock.
// - Forced re-auth: at `lane_session.ends_at` the lane goes back to sign-in, whatever the
//   activity; the edge refuses to refresh the session after that instant anyway.
// - Screen Wake Lock while the lane is open, taken again whenever the page becomes visible.

import { ApiError, NetworkError, call } from "./api.js";
import * as offlineAuth from "./offline_auth.js";
import { $, el, messageOf } from "/common/dom.js";

const LOCKED_KEY = "novapos.lane.locked";
const ACTIVITY = ["pointerdown", "keydown", "touchstart", "wheel", "input"];
const kiosk = { session: null, laneId: null, idleTimer: 0, endTimer: 0, wakeLock: null, hooks: null, running: false };

function buildLock() {
  if ($("lock-dialog")) return;
  const pad = el("div", { className: "pinpad", id: "lock-pad" },
    ...["1", "2", "3", "4", "5", "6", "7", "8", "9"].map((k) => el("button", { type: "button", textContent: k, dataset: { key: k } })),
    el("button", { type: "button", className: "muted", textContent: "C", ariaLabel: "Clear", dataset: { key: "clear" } }),
    el("button", { type: "button", textContent: "0", dataset: { key: "0" } }),
    el("button", { type: "submit", className: "primary", textContent: "OK", ariaLabel: "Unlock" }));
  const dialog = el("dialog", { id: "lock-dialog", className: "lock" },
    el("form", { id: "lock-form", method: "dialog", autocomplete: "off" },
      el("h2", { id: "lock-title", textContent: "Lane locked" }),
      el("p", { id: "lock-note", className: "note" }),
      el("label", { htmlFor: "lock-pin", textContent: "Your PIN or a supervisor's PIN" }),
      el("input", { id: "lock-pin", type: "password", inputMode: "numeric", maxLength: 16, autocomplete: "off" }),
      pad,
      el("p", { className: "error", id: "lock-error", role: "alert" }),
      el("div", { className: "actions" },
        el("button", { type: "button", className: "ghost", id: "lock-switch", textContent: "Another cashier" }))));
  dialog.setAttribute("aria-labelledby", "lock-title");
  document.body.append(dialog);
  // Escape must not get past the lock.
  dialog.addEventListener("cancel", (e) => e.preventDefault());
  pad.addEventListener("click", (e) => {
    const key = e.target.closest("button")?.dataset.key;
    if (!key) return;
    $("lock-pin").value = key === "clear" ? "" : $("lock-pin").value + key;
    $("lock-pin").focus();
  });
  $("lock-form").addEventListener("submit", (e) => { e.preventDefault(); unlock(); });
  $("lock-switch").addEventListener("click", () => {
    closeLock();
    kiosk.hooks?.switchCashier();
  });
}

function closeLock() {
  sessionStorage.removeItem(LOCKED_KEY);
  document.body.dataset.locked = "false";
  if ($("lock-dialog")?.open) $("lock-dialog").close();
}

/** Lock the lane now (idle, or a reload of a locked lane). */
export function lock() {
  if (!kiosk.running || $("lock-dialog").open) return;
  sessionStorage.setItem(LOCKED_KEY, "1");
  document.body.dataset.locked = "true";
  const items = kiosk.hooks?.cartSize() || 0;
  $("lock-note").textContent = items
    ? `The sale in progress (${items} item${items === 1 ? "" : "s"}) is kept. Unlock to finish it.`
    : "Unlock to continue.";
  $("lock-error").textContent = "";
  $("lock-pin").value = "";
  $("lock-dialog").showModal();
  $("lock-pin").focus();
}

async function unlock() {
  const pin = $("lock-pin").value.trim();
  $("lock-pin").value = "";
  $("lock-error").textContent = "";
  if (!pin) return;
  const session = kiosk.session();
  try {
    if (session?.offline) {
      await offlineAuth.verify(kiosk.laneId, pin);
    } else {
      try {
        await call(`/api/v1/lanes/${encodeURIComponent(kiosk.laneId)}/unlock`, { method: "POST", body: { pin } });
      } catch (err) {
        if (!(err instanceof NetworkError)) throw err;
        await offlineAuth.verify(kiosk.laneId, pin); // the edge is unreachable: the cashier's own PIN, checked here
      }
    }
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return; // the session ended: the lane is back at sign-in
    $("lock-error").textContent = messageOf(err);
    $("lock-pin").focus();
    return;
  }
  closeLock();
  armIdle();
  kiosk.hooks?.unlocked();
}

function idleSeconds() {
  const s = kiosk.session()?.lane_session?.idle_lock_s;
  return Number.isFinite(s) ? s : 120;
}

function armIdle() {
  clearTimeout(kiosk.idleTimer);
  const seconds = idleSeconds();
  if (!kiosk.running || seconds <= 0) return;
  kiosk.idleTimer = setTimeout(() => {
    // Never while the lane waits for the store server or a card terminal: the customer is mid-payment.
    if (document.querySelector("[aria-busy='true']")) { armIdle(); return; }
    lock();
  }, seconds * 1000);
}

function onActivity() {
  if (kiosk.running && !$("lock-dialog").open) armIdle();
}

function armSessionEnd() {
  clearTimeout(kiosk.endTimer);
  const endsAt = Date.parse(kiosk.session()?.lane_session?.ends_at || "");
  if (!kiosk.running || !Number.isFinite(endsAt)) return;
  const wait = endsAt - Date.now();
  if (wait <= 0) { sessionOver(); return; }
  // Long timers are re-armed each hour: a tablet asleep for a while must not fire late by hours.
  kiosk.endTimer = setTimeout(() => (Date.now() >= endsAt ? sessionOver() : armSessionEnd()), Math.min(wait, 3600000));
}

function sessionOver() {
  closeLock();
  kiosk.hooks?.expired("your session at this lane has ended (shift change or maximum length); sign in again");
}

async function holdWakeLock() {
  if (!kiosk.running || document.visibilityState !== "visible") return;
  if (!("wakeLock" in navigator)) { document.body.dataset.wakeLock = "unsupported"; return; }
  if (kiosk.wakeLock && !kiosk.wakeLock.released) return;
  try {
    kiosk.wakeLock = await navigator.wakeLock.request("screen");
    document.body.dataset.wakeLock = "held";
    kiosk.wakeLock.addEventListener("release", () => {
      if (document.body.dataset.wakeLock === "held") document.body.dataset.wakeLock = "released";
    });
  } catch (err) {
    // Refused (battery saver, a page not in front): the tablet's own screen timeout applies.
    document.body.dataset.wakeLock = `refused: ${err.name}`;
  }
}

function onVisibility() {
  if (document.visibilityState !== "visible" || !kiosk.running) return;
  holdWakeLock();
  armSessionEnd(); // timers are throttled in the background: check the end now
}

let wired = false;

/** Start the kiosk rules for the signed-in session. hooks: {cartSize, expired(reason), switchCashier, unlocked}. */
export function startKiosk({ laneId, session, hooks }) {
  buildLock();
  Object.assign(kiosk, { laneId, session, hooks, running: true });
  if (!wired) {
    wired = true;
    for (const type of ACTIVITY) document.addEventListener(type, onActivity, { capture: true, passive: true });
    document.addEventListener("visibilitychange", onVisibility);
  }
  armIdle();
  armSessionEnd();
  holdWakeLock();
  if (sessionStorage.getItem(LOCKED_KEY)) lock();
}

/** Signed out or the session ended: no lock, no timers, the screen may sleep. */
export function stopKiosk({ keepLock = false } = {}) {
  kiosk.running = false;
  clearTimeout(kiosk.idleTimer);
  clearTimeout(kiosk.endTimer);
  if (!keepLock) closeLock();
  kiosk.wakeLock?.release().catch(() => {});
  kiosk.wakeLock = null;
  delete document.body.dataset.wakeLock;
}

/** An activity the lane saw without a DOM event (a scan from the hub) keeps it awake. */
export const touched = onActivity;
