// Sync: the link to HQ, the outbox, and each lane's offline queue.

import { get } from "./api.js";
import { registerTab } from "./tabs.js";
import { cell, emptyRow, showError, when } from "./ui.js";
import { $, el } from "/common/dom.js";

async function loadSync() {
  const [status, queues] = await Promise.all([get("/api/v1/sync/status"), get("/api/v1/lanes/queue-status")]);
  const card = (label, value, kind = "") => el("div", { className: "card" },
    el("dt", { textContent: label }), el("dd", { textContent: value, className: kind }));
  $("sync-cards").replaceChildren(
    card("Link to HQ", status.link, status.link === "up" ? "ok" : "warn"),
    card("Events waiting to send", String(status.outbox_pending)),
    card("Oldest waiting", status.oldest_pending_age_s == null ? "–" : `${Math.round(status.oldest_pending_age_s)} s`),
    card("Last acknowledged", when(status.last_ack_at)));
  $("queue-rows").replaceChildren(...queues.items.map((q) => el("tr", { className: q.queued ? "low" : "" },
    cell(q.lane_id), cell(String(q.queued), "num"), cell(when(q.oldest_queued_at)), cell(when(q.reported_at || q.updated_at)))));
  if (!queues.items.length) $("queue-rows").replaceChildren(emptyRow(4, "No lane has reported a queue."));
}


registerTab({ id: "sync", label: "Sync", needs: "syncStatus", load: loadSync,
              wire: () => $("sync-refresh").addEventListener("click", () => loadSync().catch(showError)) });
