// Users: create an account, change its roles, disable or enable it, reset its password, lane
// PIN or two-factor sign-in. The roles offered are the ones the signed-in administrator may
// grant; the server checks the same rule, and refuses anyone disabling or demoting themselves.

import { call, get, post } from "./api.js";
import { can, currentUser, registerTab } from "./tabs.js";
import { button, cell, pill, submitting } from "./ui.js";
import { $, el } from "/common/dom.js";

const ROLE_NAMES = { cashier: "Cashier", supervisor: "Supervisor", technician: "Technician",
                     store_manager: "Store manager", tenant_admin: "Tenant admin", hq_analyst: "HQ analyst" };
// What a store manager may grant (edge/service/users.py: STORE_MANAGER_GRANTS); a tenant admin
// grants every role.
const STORE_MANAGER_GRANTS = ["cashier", "supervisor", "technician"];

const grantable = () => (currentUser().roles.includes("tenant_admin") ? Object.keys(ROLE_NAMES) : STORE_MANAGER_GRANTS);

async function loadUsers() {
  const { items } = await get("/api/v1/users");
  $("user-rows").replaceChildren(...items.map(userRow));
}

function userRow(user) {
  const me = user.id === currentUser().id;
  const mayEdit = can("updateUser") && (currentUser().roles.includes("tenant_admin")
    || user.roles.every((role) => STORE_MANAGER_GRANTS.includes(role)));
  const actions = mayEdit ? [
    me ? null : button("Roles", () => ask("roles", user)),
    button("Reset password", () => ask("password", user)),
    button("Reset PIN", () => ask("pin", user)),
    user.mfa_enabled ? button("Reset MFA", () => ask("mfa", user)) : null,
    me ? null : button(user.disabled ? "Enable" : "Disable", () => ask(user.disabled ? "enable" : "disable", user),
                       { className: user.disabled ? "" : "danger" }),
  ] : [];
  return el("tr", { dataset: { username: user.username } },
    cell(user.username), cell(user.roles.map((r) => ROLE_NAMES[r] || r).join(", ")),
    cell(user.mfa_enabled ? "enrolled" : "–"), cell(user.has_pin ? "set" : "–"),
    el("td", {}, pill(user.disabled ? "disabled" : "active", user.disabled ? "bad" : "ok")),
    el("td", { className: "actions" }, ...actions));
}

// -- the user dialog ------------------------------------------------------------------------------
let editing = null; // {mode, user}

const TITLES = { create: "New user", roles: "Change roles", password: "Reset password", pin: "Reset lane PIN",
                 mfa: "Reset two-factor sign-in", disable: "Disable account", enable: "Enable account" };
const SUBMITS = { create: "Create user", roles: "Save roles", password: "Set password", pin: "Set PIN",
                  mfa: "Reset MFA", disable: "Disable", enable: "Enable" };
const MESSAGES = {
  mfa: (u) => `${u.username} will set up two-factor sign-in again at their next sign-in.`,
  disable: (u) => `${u.username} is signed out everywhere at once and cannot sign in until enabled again.`,
  enable: (u) => `${u.username} may sign in again with their current password.`,
  password: (u) => `${u.username} is signed out everywhere and signs in with the new password.`,
  pin: (u) => `The PIN ${u.username} types at a lane. It must differ from every other PIN at this store.`,
};

function ask(mode, user = null) {
  editing = { mode, user };
  $("user-dialog").replaceChildren($("user-form-template").content.cloneNode(true));
  $("user-form").addEventListener("submit", submitUser);
  $("user-cancel").addEventListener("click", () => $("user-dialog").close());
  $("user-error").textContent = "";
  $("user-title").textContent = user ? `${TITLES[mode]} · ${user.username}` : TITLES[mode];
  $("user-submit").textContent = SUBMITS[mode];
  $("user-submit").className = mode === "disable" ? "danger" : "primary";
  $("user-message").textContent = MESSAGES[mode]?.(user) ?? "";
  for (const part of $("user-form").querySelectorAll("[data-mode]")) part.hidden = !part.dataset.mode.split(" ").includes(mode);
  const offered = new Set([...grantable(), ...(user?.roles ?? [])]);
  $("user-roles").replaceChildren(...[...offered].map((role) => el("label", { className: "check" },
    el("input", { type: "checkbox", name: "roles", value: role, checked: Boolean(user?.roles.includes(role)),
                  disabled: !grantable().includes(role) }),
    ` ${ROLE_NAMES[role] || role}`)));
  $("user-dialog").showModal();
  $("user-form").querySelector("[data-mode]:not([hidden]) input")?.focus();
}

function chosenRoles() {
  return [...$("user-roles").querySelectorAll("input:checked")].map((box) => box.value);
}

function bodyFor(mode) {
  const password = $("user-password").value;
  const pin = $("user-pin").value.trim();
  switch (mode) {
    case "create": {
      const body = { username: $("user-username").value.trim().toLowerCase(), password, roles: chosenRoles() };
      if (pin) body.pin = pin;
      return body;
    }
    case "roles": return { roles: chosenRoles() };
    case "password": return { password };
    case "pin": return { pin };
    case "mfa": return { reset_mfa: true };
    case "disable": return { disabled: true };
    default: return { disabled: false };
  }
}

async function submitUser(event) {
  const { mode, user } = editing;
  const body = bodyFor(mode);
  const done = await submitting(event, "user-error", () => (mode === "create"
    ? post("/api/v1/users", body)
    : call(`/api/v1/users/${encodeURIComponent(user.id)}`, { method: "PATCH", body })));
  if (!done) return;
  $("user-dialog").close();
  await loadUsers();
}

function wire() {
  $("user-new").hidden = !can("createUser");
  $("user-new").addEventListener("click", () => ask("create"));
  $("user-dialog").addEventListener("close", () => $("user-dialog").replaceChildren());
}

registerTab({ id: "users", label: "Users", needs: "listUsers", load: loadUsers, wire });
