// HQ partner panel: each partner app's health (requests, 429s, errors, mean latency over the
// last hour, summed over every hub instance), its webhook backlog and dead letters, and replay.
// A module of its own, hooked into the dashboard by one <script> line: it shares the dashboard's
// session and draws into its own panel, which says so when it cannot load.

import { $, el, messageOf } from "/common/dom.js";
// The dashboard's own client: one session, one refresh (two clients refreshing the same token
// would look like a stolen refresh token, and the hub would end the session).
import { api, client, isAdmin } from "/hq/session.js";
import { fillTable as fill } from "/hq/tables.js";

const REFRESH_MS = 15000;

function panel() {
  let node = $("partners");
  if (node) return node;
  node = el("article", { id: "partners", className: "wide" },
    el("h2", { textContent: "Partner apps" }),
    el("p", { id: "partners-error", role: "alert", hidden: true, className: "bad" }),
    el("table", { id: "partner-health" }),
    el("h3", { textContent: "Webhook dead letters" }),
    el("table", { id: "partner-dead" }),
    el("form", { id: "partner-replay-range" },
      el("label", { textContent: "Replay deliveries from " }, el("input", { type: "datetime-local", id: "replay-since", required: true })),
      el("label", { textContent: " to " }, el("input", { type: "datetime-local", id: "replay-until", required: true })),
      " ", el("button", { textContent: "Replay range" }),
      " ", el("span", { id: "partner-replay-status", role: "status" })));
  document.querySelector("#dash .grid")?.append(node);
  $("partner-replay-range").addEventListener("submit", replayRange);
  return node;
}

function replayButton(delivery) {
  const button = el("button", { type: "button", textContent: "Replay", disabled: !isAdmin() });
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api(`/api/v1/partner-admin/deliveries/${encodeURIComponent(delivery.delivery_id)}/replay`, { method: "POST" });
      button.textContent = "Queued";
    } catch (err) {
      button.disabled = false;
      showError(err);
    }
  });
  return button;
}

async function replayRange(event) {
  event.preventDefault();
  const iso = (id) => new Date($(id).value).toISOString();
  const status = $("partner-replay-status");
  try {
    const body = { since: iso("replay-since"), until: iso("replay-until") };
    const answer = await api("/api/v1/partner-admin/replay", { method: "POST", body });
    status.textContent = `${answer.replayed} deliveries queued again`;
  } catch (err) {
    status.textContent = messageOf(err);
  }
}

function showError(err) {
  const node = $("partners-error");
  node.textContent = `Partner apps could not be loaded: ${messageOf(err)}`;
  node.hidden = false;
}

async function refresh() {
  if ($("dash")?.hidden || !client.session.get()) return;
  panel();
  try {
    const [health, dead] = await Promise.all([
      api("/api/v1/partner-admin/health?minutes=60"),
      api("/api/v1/partner-admin/deliveries?status=dead&limit=50"),
    ]);
    $("partners-error").hidden = true;
    fill("partner-health", [
      ["App", (x) => x.name], ["Status", (x) => x.status, (x) => (x.status === "active" ? "" : "bad")],
      ["Requests (1 h)", (x) => x.requests, "num"], ["429s", (x) => x.throttled, (x) => (x.throttled ? "num bad" : "num")],
      ["Errors", (x) => x.errors, (x) => (x.errors ? "num bad" : "num")],
      ["Mean ms", (x) => (x.avg_latency_ms == null ? "–" : x.avg_latency_ms.toFixed(1)), "num"],
      ["Webhook backlog", (x) => x.pending, "num"], ["Dead letters", (x) => x.dead, (x) => (x.dead ? "num bad" : "num")],
    ], health.items);
    fill("partner-dead", [
      ["Delivery", (x) => x.delivery_id], ["Event", (x) => x.event_type], ["Attempts", (x) => x.attempts, "num"],
      ["Last answer", (x) => x.last_status_code ?? x.last_error], ["Created", (x) => x.created_at],
      ["", (x) => replayButton(x)],
    ], dead.items);
  } catch (err) {
    showError(err);
  }
}

setInterval(refresh, REFRESH_MS);
// The dashboard shows itself after sign-in; draw as soon as it does.
new MutationObserver(refresh).observe($("dash"), { attributes: true, attributeFilter: ["hidden"] });
refresh();
