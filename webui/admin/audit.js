// The audit log: who changed what, when and where, with filters.

import { get } from "./api.js";
import { registerTab } from "./tabs.js";
import { cell, showError, when } from "./ui.js";
import { $, el } from "/common/dom.js";

let cursor = null;

function summarise(entry) {
  const after = entry.after && typeof entry.after === "object" ? entry.after : null;
  if (!after) return "";
  return Object.entries(after).slice(0, 4).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" ");
}

async function loadAudit(reset) {
  const form = new FormData($("audit-filters"));
  const params = new URLSearchParams({ limit: "100" });
  for (const key of ["actor", "action", "entity", "lane_id", "from", "to"]) {
    if (form.get(key)) params.set(key, form.get(key));
  }
  if (!reset && cursor) params.set("cursor", cursor);
  const page = await get(`/api/v1/audit?${params}`);
  cursor = page.next_cursor;
  const rows = page.items.map((a) => el("tr", {},
    cell(when(a.at)), cell(a.actor), cell(a.action, "mono"), cell(`${a.entity} ${String(a.entity_id ?? "").slice(0, 8)}`),
    cell(a.lane_id), el("td", { className: "change", textContent: summarise(a), title: JSON.stringify({ before: a.before, after: a.after }) })));
  if (reset) $("audit-rows").replaceChildren(...rows);
  else $("audit-rows").append(...rows);
  $("audit-more").hidden = !page.next_cursor;
}


function wire() {
  $("audit-filters").addEventListener("submit", (e) => { e.preventDefault(); loadAudit(true).catch(showError); });
  $("audit-more").addEventListener("click", () => loadAudit(false).catch(showError));
}

registerTab({ id: "audit", label: "Audit log", needs: "listAudit", load: () => loadAudit(true), wire });
