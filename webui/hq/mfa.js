// Two-step sign-in (TOTP) set up in the dashboard: a new secret as a QR code and as text, then
// the first code from the authenticator app confirms it. A signed-in user replaces theirs; an
// admin whose sign-in was refused for want of one uses the enrolment token that refusal carried.
// The secret is shown once, in this dialog, and never stored by the page.

import { $, messageOf } from "/common/dom.js";
import { client } from "/hq/session.js";

let enrolmentToken = null;
let onDone = () => {};

function call(path, body) {
  // An enrolment token is not a session: a 401 means it expired, and there is nothing to refresh.
  const options = enrolmentToken ? { headers: { Authorization: `Bearer ${enrolmentToken}` }, auth: false } : {};
  return client.call(path, { method: "POST", body, ...options }).then((r) => r.data);
}

/** Opens the set-up; `token` is a sign-in refusal's enrolment token, or null when signed in. */
export async function openMfaSetup({ token = null, done = () => {} } = {}) {
  enrolmentToken = token;
  onDone = done;
  const dialog = $("mfa-dialog");
  $("mfa-error").textContent = "";
  $("mfa-code").value = "";
  $("mfa-secret").textContent = "";
  $("mfa-qr").hidden = true;
  $("mfa-intro").textContent = token
    ? "Your role signs in with a one-time code. Set up an authenticator app now, then sign in with it."
    : "A new authenticator replaces your current one once you confirm it with its first code.";
  dialog.showModal();
  try {
    const started = await call("/api/v1/auth/mfa/enroll");
    $("mfa-qr").src = started.qr_svg;
    $("mfa-qr").hidden = false;
    $("mfa-secret").textContent = started.secret.replace(/(.{4})/g, "$1 ").trim();
    $("mfa-code").focus();
  } catch (err) {
    $("mfa-error").textContent = messageOf(err);
  }
}

async function confirm(ev) {
  ev.preventDefault();
  $("mfa-error").textContent = "";
  try {
    await call("/api/v1/auth/mfa/confirm", { code: $("mfa-code").value.trim() });
  } catch (err) {
    $("mfa-error").textContent = messageOf(err);
    return;
  }
  const wasEnrolling = Boolean(enrolmentToken);
  enrolmentToken = null;
  $("mfa-secret").textContent = "";
  $("mfa-qr").removeAttribute("src");
  $("mfa-dialog").close("ok");
  onDone(wasEnrolling);
}

export function installMfaSetup() {
  $("mfa-form").addEventListener("submit", confirm);
  $("mfa-cancel").addEventListener("click", () => { enrolmentToken = null; $("mfa-dialog").close("cancel"); });
}
