// The conflict queue's actions: assign a case to one of the tenant's HQ users, or resolve it
// with one of the resolutions its kind allows, each with a note for the case trail. Both are
// forms in one dialog with a closed list to choose from; the hub refuses anything else anyway.
// A refusal (say, a case a colleague resolved meanwhile) is shown in the dialog, which stays open.

import { $, el, messageOf } from "/common/dom.js";
import { api, isAdmin } from "/hq/session.js";

const ACTIONS = {
  assign: { label: "Assign to", field: "assignee", title: "Assign the case" },
  resolve: { label: "Resolution", field: "resolution", title: "Resolve the case" },
};

/** The cell of a case's row: the resolution once resolved, else the admin's buttons. */
export function caseActions(c, afterChange) {
  if (c.status === "resolved") {
    const text = c.resolution_note ? `${c.resolution_label} — ${c.resolution_note}` : c.resolution_label;
    return el("span", { textContent: text });
  }
  if (!isAdmin()) return null;
  const button = (label, action) => el("button", {
    type: "button", textContent: label, onclick: () => openCaseDialog(c, action, afterChange),
  });
  return el("span", { className: "actions" }, button("Assign", "assign"), " ", button("Resolve", "resolve"));
}

async function choicesFor(c, action) {
  if (action === "resolve") return c.resolutions.map((r) => [r.code, r.label]);
  const { items } = await api("/api/v1/hq/users");
  return items.map((u) => [u.username, `${u.username} (${u.roles.join(", ")})`]);
}

async function openCaseDialog(c, action, afterChange) {
  const { label, field, title } = ACTIONS[action];
  const dialog = $("conflict-dialog");
  const choice = $("conflict-choice");
  $("conflict-heading").textContent = title;
  $("conflict-title").textContent = `${c.kind} · ${c.store_id ?? "all stores"}: ${c.summary}`;
  $("conflict-label").textContent = label;
  $("conflict-error").textContent = "";
  $("conflict-note").value = "";
  choice.replaceChildren(new Option("Choose…", ""));
  $("conflict-form").onsubmit = async (event) => {
    event.preventDefault();
    if (!choice.value) return;
    const body = { [field]: choice.value };
    const note = $("conflict-note").value.trim();
    if (note) body.note = note;
    try {
      await api(`/api/v1/hq/conflicts/${encodeURIComponent(c.id)}/${action}`, { method: "POST", body });
      dialog.close("ok");
    } catch (err) {
      $("conflict-error").textContent = messageOf(err);
      return;
    }
    await afterChange();
  };
  dialog.showModal();
  try {
    for (const [value, text] of await choicesFor(c, action)) {
      choice.append(new Option(text, value, false, action === "assign" && value === c.assignee));
    }
  } catch (err) {
    $("conflict-error").textContent = `Could not load the user list: ${messageOf(err)}`;
  }
  choice.focus();
}
