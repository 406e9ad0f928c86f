// Lane pairing: this device is paired with one lane, once, with a one-time code from the store
// admin (its QR holds a link `/?pair=CODE`: a tablet's camera opens it, a 2D scanner types it).
// The device credential the edge hands back is kept in this browser's storage and sent with
// every PIN sign-in; the edge refuses it for any other lane. Where the store requires pairing,
// an unpaired device sees only the pairing form; elsewhere (the demo) it may pick a lane.

import { call } from "./api.js";
import { $, el, messageOf } from "/common/dom.js";

const KEY = "novapos.lane.device";
const view = { required: false, form: null, laneChosen: () => {} };

function stored() {
  try {
    return JSON.parse(localStorage.getItem(KEY) || "null");
  } catch {
    return null;
  }
}

/** What a PIN sign-in sends for this device: its credential, if it has one. */
export function deviceCredential() {
  const device = stored();
  return device?.device_token ? { device_token: device.device_token } : {};
}

/** The lane this device is paired with, or null. */
export const pairedLane = () => stored()?.lane_id ?? null;

/** The edge no longer knows this device's pairing (a manager unpaired it): forget it. */
export function forget(notice = "") {
  localStorage.removeItem(KEY);
  render(notice);
}

async function pair(text) {
  const { data } = await call("/api/v1/lanes/pair", {
    method: "POST", auth: false, body: { code: text.trim(), label: $("pair-label").value.trim() },
  });
  // The credential is shown once; the edge keeps only its hash.
  localStorage.setItem(KEY, JSON.stringify({ device_token: data.device_token, lane_id: data.lane_id,
                                             label: data.label, device_id: data.device_id }));
  view.laneChosen(data.lane_id);
  render(`Paired with lane ${data.lane_id}. Sign in with your PIN.`);
}

function buildForm() {
  const form = el("form", { id: "pair-form", className: "pair", autocomplete: "off", hidden: true },
    el("h2", { textContent: "Pair this device with a lane" }),
    el("p", { className: "note", textContent: "In the store admin, open Lanes and choose “Pair a device”. "
      + "Scan the QR code it shows with this device, or type the code." }),
    el("label", { htmlFor: "pair-code", textContent: "Pairing code" }),
    el("input", { id: "pair-code", autocomplete: "off", spellcheck: false, maxLength: 512,
                  placeholder: "ABCDE-12345" }),
    el("label", { htmlFor: "pair-label", textContent: "Name of this device (optional)" }),
    el("input", { id: "pair-label", autocomplete: "off", maxLength: 80, placeholder: "Tablet by the door" }),
    el("div", { className: "actions" },
      el("button", { type: "button", className: "ghost", id: "pair-cancel", textContent: "Cancel" }),
      el("button", { type: "submit", className: "primary big", textContent: "Pair" })),
    el("p", { className: "error", id: "pair-error", role: "alert" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    $("pair-error").textContent = "";
    const text = $("pair-code").value;
    if (!text.trim()) { $("pair-error").textContent = "Type or scan the pairing code."; return; }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await pair(text);
      $("pair-code").value = "";
    } catch (err) {
      $("pair-error").textContent = messageOf(err);
    } finally {
      button.disabled = false;
    }
  });
  form.querySelector("#pair-cancel").addEventListener("click", () => render());
  const start = el("button", { type: "button", className: "ghost", id: "pair-start",
                               textContent: "Pair this device with a lane" });
  start.addEventListener("click", () => showForm());
  const badge = el("p", { id: "paired-lane", className: "paired-lane", hidden: true });
  $("login-view").append(badge, form, start);
  view.form = form;
}

function showForm() {
  $("login-view").querySelector(".lanes").hidden = true;
  $("pin-form").hidden = true;
  $("pair-start").hidden = true;
  $("paired-lane").hidden = true;
  view.form.hidden = false;
  $("pair-cancel").hidden = view.required;
  $("login-title").textContent = "Pair this device";
  $("pair-code").focus();
}

/** Show the sign-in screen as this device's pairing allows: its own lane only once paired. */
function render(notice = "") {
  const device = stored();
  if (!device && view.required) {
    showForm();
    $("pair-error").textContent = notice;
    return;
  }
  view.form.hidden = true;
  $("pin-form").hidden = false;
  $("login-view").querySelector(".lanes").hidden = Boolean(device);
  $("pair-start").hidden = Boolean(device);
  $("paired-lane").hidden = !device;
  $("paired-lane").textContent = device ? `Lane ${device.lane_id} · ${device.label || "this device"} (paired)` : "";
  $("login-title").textContent = device ? `Sign in to lane ${device.lane_id}` : "Sign in to a lane";
  if (notice) $("login-error").textContent = notice;
}

/** Before the sign-in screen: claim a pairing link this page was opened with, and ask the edge
 * whether pairing is required and whether this device's pairing still stands. */
export async function initPairing({ laneChosen }) {
  view.laneChosen = laneChosen;
  buildForm();
  const params = new URLSearchParams(location.search);
  const code = params.get("pair");
  if (code) history.replaceState(null, "", location.pathname); // a code is spent once; never keep it in the bar
  let notice = "";
  try {
    const device = stored();
    const headers = device ? { "X-Device-Token": device.device_token } : {};
    const { data } = await call("/api/v1/lanes/device", { auth: false, headers });
    view.required = data.pairing_required;
    if (device && !data.paired) {
      localStorage.removeItem(KEY);
      notice = "This device is no longer paired with a lane: pair it again.";
    } else if (device) {
      laneChosen(device.lane_id);
    }
  } catch {
    // Offline: the pairing this device holds stands until the edge says otherwise.
    if (pairedLane()) laneChosen(pairedLane());
  }
  if (code && !stored()) {
    try {
      await pair(code);
      return;
    } catch (err) {
      notice = `Pairing failed: ${messageOf(err)}`;
    }
  }
  render(notice);
}
