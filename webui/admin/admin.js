// Store admin: sign-in, the back-office gate, and the tabs. Each tab lives in its own module
// and registers itself (tabs.js); one import line below adds a tab, and the order of the
// imports is the order of the navigation.

import { ApiError, call, get, post, session } from "./api.js";
import { allow, buildNav, openTab } from "./tabs.js";
import { loadStore, showError } from "./ui.js";
import { $ } from "/common/dom.js";

import "./stock.js";
import "./catalog.js";
import "./orders.js";
import "./pickups.js";
import "./customers.js";
import "./reviews.js";
import "./tills.js";
import "./settlement.js";
import "./users.js";
import "./pairing.js";
import "./devices.js";
import "./audit.js";
import "./sync.js";
import "./policy.js";

// -- sign-in ---------------------------------------------------------------------------------
async function signIn(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const body = { username: form.get("username"), password: form.get("password") };
  if (form.get("totp")) body.totp = form.get("totp");
  $("login-error").textContent = "";
  try {
    const { data } = await call("/api/v1/auth/login", { method: "POST", body, auth: false });
    session.set(data);
  } catch (err) {
    if (err instanceof ApiError && err.code === "mfa-required") {
      $("totp-row").hidden = false;
      $("totp").focus();
    }
    $("login-error").textContent = err.message;
    return;
  }
  await enter();
}

function endSession() {
  const current = session.get();
  session.set(null);
  if (current?.refresh_token) post("/api/v1/auth/logout", { refresh_token: current.refresh_token }).catch(() => {});
}

/** The server decides who may use the store admin and what they may do here. */
async function enter() {
  let gate;
  try {
    gate = await get("/api/v1/backoffice/session");
  } catch (err) {
    const refused = err instanceof ApiError && (err.status === 403 || err.status === 401);
    const roles = session.get()?.user?.roles?.join(", ");
    endSession();
    showLogin();
    $("login-error").textContent = refused && err.status === 403
      ? `This account${roles ? ` (${roles})` : ""} cannot use the store admin. Cashiers sign in at a lane.`
      : err.message;
    return;
  }
  allow(gate);
  const { user } = gate;
  $("who").textContent = `${user.username} · ${user.roles.join(", ").replace(/_/g, " ")} · ${user.store_id}`;
  $("login-view").hidden = true;
  $("app").hidden = false;
  $("sign-out").hidden = false;
  buildNav();
  loadStore().catch(showError);
  openTab(location.hash.slice(1) || "inventory");
}

function showLogin() {
  $("app").hidden = true;
  $("sign-out").hidden = true;
  $("login-view").hidden = false;
  $("login-form").reset();
  $("username").focus();
}

$("login-form").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", () => {
  endSession();
  location.hash = "";
  location.reload();
});

if (session.get()) enter();
else $("username").focus();
