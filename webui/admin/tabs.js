// The admin's tabs. A tab module registers itself with one call, and admin.js imports the
// module with one line:
//
//   registerTab({ id: "pickups", label: "Pickups", needs: "listPickups", load: loadPickups });
//
// `needs` is the operation id of the route the tab cannot work without. After sign-in the
// server lists the operations the user's roles pass (GET /api/v1/backoffice/session, derived
// from the route guards), and the navigation shows only the tabs whose operation is listed.
// The server still refuses everything else on its own: hiding a tab is courtesy, not security.
// The panel is `<section id="tab-<id>">` from index.html, or an empty one made here for a tab
// that builds its own content.

import { $, el } from "/common/dom.js";
import { showError } from "./ui.js";

const tabs = [];
let operations = new Set();
let user = null;

export function registerTab(tab) {
  tabs.push(tab);
}

/** May the signed-in user call this operation (as the server's guards say)? */
export const can = (operation) => operations.has(operation);

/** The signed-in user as the server's gate answered: {id, username, roles, tenant_id, store_id}. */
export const currentUser = () => user;

export function allow(gate) {
  operations = new Set(gate.operations);
  user = gate.user;
}

const visible = () => tabs.filter((tab) => !tab.needs || can(tab.needs));

function panelOf(tab) {
  let panel = $(`tab-${tab.id}`);
  if (!panel) {
    panel = el("section", { id: `tab-${tab.id}`, hidden: true });
    $("app").append(panel);
  }
  panel.setAttribute("role", "tabpanel");
  return panel;
}

/** Build the navigation for the signed-in user's operations. */
export function buildNav() {
  const shown = visible();
  $("tab-nav").replaceChildren(...shown.map((tab) => el("button", {
    type: "button", textContent: tab.label, dataset: { tab: tab.id }, onclick: () => openTab(tab.id),
  })));
  for (const button of $("tab-nav").children) button.setAttribute("role", "tab");
  for (const tab of tabs) panelOf(tab).hidden = true;
  for (const tab of shown) if (!tab.wired) { tab.wire?.(); tab.wired = true; }
}

export function openTab(id) {
  const shown = visible();
  const tab = shown.find((t) => t.id === id) ?? shown[0];
  if (!tab) return;
  for (const button of $("tab-nav").children) button.setAttribute("aria-selected", String(button.dataset.tab === tab.id));
  for (const other of tabs) panelOf(other).hidden = other !== tab;
  history.replaceState(null, "", `#${tab.id}`);
  showError(null);
  Promise.resolve().then(() => tab.load()).catch(showError);
}
