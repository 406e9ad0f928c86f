// Tills: each lane's drawer (open it with a float, cash in and out, an X report while it is
// open, and a blind close: the cash is counted before the expected amount is shown, then the
// Z report says over or short), and the history of drawer sessions with their reports.

import { get } from "./api.js";
import { can, registerTab } from "./tabs.js";
import { button, cell, emptyRow, loadStore, newLoad, pill, postOnce, printOnly, showError, submitting, when } from "./ui.js";
import { $, el } from "/common/dom.js";
import { formatCents, parseAmount } from "/common/money.js";

// Notes and coins, largest first, in cents: the count sheet of a blind close. A currency not
// listed is counted as one total.
const DENOMINATIONS = {
  USD: [10000, 5000, 2000, 1000, 500, 100, 25, 10, 5, 1],
  EUR: [50000, 20000, 10000, 5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5, 2, 1],
  GBP: [5000, 2000, 1000, 500, 200, 100, 50, 20, 10, 5, 2, 1],
};

let currency = "USD";
const money = (cents) => formatCents(cents, currency);

async function loadTills() {
  const current = newLoad("tills");
  const store = await loadStore();
  currency = store.currency;
  const form = new FormData($("till-filters"));
  const params = new URLSearchParams();
  for (const key of ["status", "lane_id"]) if (form.get(key)) params.set(key, form.get(key));
  const [{ items }, open] = await Promise.all([get(`/api/v1/tills?${params}`), get("/api/v1/tills?status=open")]);
  if (!current()) return;
  showLanes(store.lanes, open.items);
  await showDayClose(store.lanes, open.items);
  $("till-rows").replaceChildren(...items.map(sessionRow));
  if (!items.length) $("till-rows").replaceChildren(emptyRow(9, "No drawer sessions match."));
}

function showLanes(lanes, openSessions) {
  const byLane = new Map(openSessions.map((s) => [s.lane_id, s]));
  $("till-lanes").replaceChildren(...lanes.map((lane) => {
    const session = byLane.get(lane.id);
    const card = el("article", { className: `lane-card ${session ? "open" : ""}`, dataset: { lane: lane.id } },
      el("h3", { textContent: lane.name }));
    card.setAttribute("aria-label", lane.name);
    if (session) {
      card.append(el("p", {}, pill("Drawer open", "ok")),
        el("p", { className: "note", textContent: `Since ${when(session.opened_at)} · ${session.opened_by} · float ${money(session.float_cents)}` }),
        el("div", { className: "actions" },
          can("tillCashMovement") ? button("Cash in/out", () => ask("cash", session)) : null,
          can("tillXReport") ? button("X report", () => showReport(session.id, "X").catch(showError)) : null,
          can("closeTill") ? button("Close and count", () => ask("close", session), { className: "primary" }) : null));
    } else {
      card.append(el("p", {}, pill("No drawer open", "warn")),
        el("p", { className: "note", textContent: "Cash taken on this lane is in no drawer until one is opened." }),
        el("div", { className: "actions" },
          can("openTill") ? button("Open drawer", () => ask("open", { lane_id: lane.id, lane_name: lane.name }), { className: "primary" }) : null));
    }
    return card;
  }));
}

// What stands between the store and a clean end of day: drawers still open, sales still queued
// at a lane (a Z report refuses while any are), review cases, and the day's over/short so far.
async function showDayClose(lanes, openSessions) {
  const names = new Map(lanes.map((lane) => [lane.id, lane.name]));
  const [queues, reviews, closed] = await Promise.all([
    get("/api/v1/lanes/queue-status"),
    can("listReviews") ? get("/api/v1/reviews?status=open&limit=100") : null,
    get("/api/v1/tills?status=closed")]);
  const today = openSessions[0]?.business_day ?? closed.items[0]?.business_day;
  const closedToday = closed.items.filter((s) => s.business_day === today);
  const variance = closedToday.reduce((sum, s) => sum + (s.variance_cents ?? 0), 0);
  const queued = queues.items.filter((q) => q.queued > 0);
  const item = (ok, text) => el("li", { className: ok ? "ok" : "warn" }, pill(ok ? "done" : "to do", ok ? "ok" : "warn"), ` ${text}`);
  const items = [
    item(!openSessions.length, openSessions.length
      ? `Drawers still open: ${openSessions.map((s) => names.get(s.lane_id) || `lane ${s.lane_id}`).join(", ")}`
      : "Every drawer is closed"),
    item(!queued.length, queued.length
      ? `Sales queued offline, not yet received: ${queued.map((q) => `${names.get(q.lane_id) || q.lane_id} (${q.queued})`).join(", ")}`
      : "No lane has sales waiting to be sent"),
  ];
  if (reviews) {
    const count = reviews.items.length;
    items.push(item(!count, count ? `Review cases open: ${count}${reviews.next_cursor ? "+" : ""}` : "No review case is open"));
  }
  items.push(el("li", {}, `Closed today: ${closedToday.length} drawer${closedToday.length === 1 ? "" : "s"}, over/short `,
                el("strong", { textContent: money(variance) }), closedToday.length ? overShort(variance) : null));
  $("day-close-items").replaceChildren(...items);
}

function overShort(cents) {
  if (cents == null) return null;
  if (cents === 0) return pill("Balanced", "ok");
  return pill(`${cents > 0 ? "Over" : "Short"} ${money(Math.abs(cents))}`, "bad");
}

function sessionRow(till) {
  const report = till.status === "open"
    ? (can("tillXReport") ? button("X report", () => showReport(till.id, "X").catch(showError)) : null)
    : (can("tillZReport") ? button("Z report", () => showReport(till.id, "Z").catch(showError)) : null);
  return el("tr", { dataset: { session: till.id } },
    cell(till.lane_id), el("td", {}, pill(till.status, till.status === "open" ? "ok" : "")),
    cell(till.business_day), cell(`${when(till.opened_at)} · ${till.opened_by}`),
    cell(money(till.float_cents), "num"),
    cell(till.closed_at && `${when(till.closed_at)} · ${till.closed_by}`),
    cell(till.counted_cents == null ? null : money(till.counted_cents), "num"),
    el("td", { className: "num" }, overShort(till.variance_cents)),
    el("td", {}, report));
}

// -- the drawer dialog: open, cash in/out, close --------------------------------------------------
let acting = null; // {mode, session}

function ask(mode, session) {
  acting = { mode, session };
  $("till-form").reset();
  $("till-error").textContent = "";
  for (const part of $("till-form").querySelectorAll("[data-mode]")) part.hidden = part.dataset.mode !== mode;
  const lane = session.lane_name || `lane ${session.lane_id}`;
  $("till-title").textContent = { open: `Open the drawer · ${lane}`, cash: `Cash in or out · ${lane}`,
                                  close: `Close and count · ${lane}` }[mode];
  $("till-submit").textContent = { open: "Open drawer", cash: "Record", close: "Close drawer" }[mode];
  if (mode === "close") fillDenominations();
  $("till-dialog").showModal();
  ({ open: $("till-float"), cash: $("till-amount"), close: $("denom-rows").querySelector("input") || $("till-counted") })[mode]?.focus();
}

function fillDenominations() {
  const values = DENOMINATIONS[currency] || [];
  $("denom-rows").replaceChildren(...values.map((cents) => {
    const input = el("input", { type: "number", min: "0", step: "1", className: "qty", dataset: { cents: String(cents) },
                                oninput: sumDenominations });
    input.setAttribute("aria-label", `Number of ${money(cents)}`);
    return el("tr", {}, el("th", { scope: "row", textContent: money(cents) }), el("td", {}, input),
      el("td", { className: "num subtotal" }));
  }));
}

function sumDenominations() {
  let total = 0;
  for (const input of $("denom-rows").querySelectorAll("input")) {
    const count = Number(input.value || 0);
    const subtotal = Number.isInteger(count) && count > 0 ? count * Number(input.dataset.cents) : 0;
    input.closest("tr").querySelector(".subtotal").textContent = subtotal ? money(subtotal) : "";
    total += subtotal;
  }
  $("till-counted").value = (total / 100).toFixed(2);
}

function amountOf(id, label) {
  const cents = parseAmount($(id).value);
  if (cents == null) throw new Error(`Type the ${label} as an amount, e.g. 150.00.`);
  return cents;
}

async function submitTill(event) {
  const { mode, session } = acting;
  let path;
  let body;
  try {
    if (mode === "open") {
      path = "/api/v1/tills";
      body = { lane_id: session.lane_id, float_cents: amountOf("till-float", "opening float") };
    } else if (mode === "cash") {
      const reason = $("till-reason").value.trim();
      if (!reason) throw new Error("Type the reason for the cash movement.");
      path = `/api/v1/tills/${encodeURIComponent(session.id)}/cash`;
      body = { kind: $("till-kind").value, amount_cents: amountOf("till-amount", "amount"), reason };
      if (body.amount_cents === 0) throw new Error("Type an amount above zero.");
    } else {
      path = `/api/v1/tills/${encodeURIComponent(session.id)}/close`;
      body = { counted_cents: amountOf("till-counted", "cash counted") };
    }
  } catch (err) {
    event.preventDefault();
    $("till-error").textContent = err.message;
    return;
  }
  const result = await submitting(event, "till-error", () => postOnce(path, body));
  if (!result) return;
  $("till-dialog").close();
  if (mode === "close") await showReport(session.id, "Z");
  else if (mode === "open") await showReport(result.session_id, "X");
  else await showReport(session.id, "X");
  await loadTills();
}

// -- X and Z reports ------------------------------------------------------------------------------
async function showReport(sessionId, kind) {
  const path = `/api/v1/tills/${encodeURIComponent(sessionId)}/${kind === "Z" ? "z-report" : "x-report"}`;
  const [report, journal] = await Promise.all([
    get(path), can("tillMovements") ? get(`/api/v1/tills/${encodeURIComponent(sessionId)}/movements`) : { items: [] }]);
  showReportBody(report, journal.items, kind);
}

const MOVEMENT_NAMES = { float: "Float", pay_in: "Cash in", pay_out: "Cash out", cash_sale: "Cash sale",
                         cash_refund: "Cash refund" };

function showReportBody(report, movements, kind) {
  // totals holds signed cents per kind of drawer movement, only for kinds that happened.
  const total = (k) => report.totals[k] ?? 0;
  const line = (label, value, className = "") => el("tr", { className },
    el("th", { scope: "row", textContent: label }), el("td", { className: "num" }, value));
  $("xreport-title").textContent = `${kind} report · lane ${report.lane_id}`;
  const read = kind === "Z" ? `closed by ${report.closed_by} at ${when(report.closed_at)}`
    : `read at ${new Date().toLocaleTimeString()}`;
  $("xreport-note").textContent = `Opened by ${report.opened_by} at ${when(report.opened_at)}, business day ` +
    `${report.business_day}; ${report.movements} drawer movements; ${read}.`;
  const rows = [
    line("Opening float", money(report.float_cents)), line("Cash sales", money(total("cash_sale"))),
    line("Cash refunds", money(total("cash_refund"))), line("Pay-ins", money(total("pay_in"))),
    line("Pay-outs", money(total("pay_out"))), line("Expected cash", money(report.expected_cents), "total")];
  if (report.counted_cents != null) {
    rows.push(line("Counted cash", money(report.counted_cents), "total"),
      line(report.variance_cents > 0 ? "Over" : report.variance_cents < 0 ? "Short" : "Over/short",
        el("span", {}, money(report.variance_cents), overShort(report.variance_cents)), "total variance"));
  }
  $("xreport-rows").replaceChildren(...rows);
  $("journal-rows").replaceChildren(...movements.map((m) => el("tr", {}, cell(when(m.at)),
    cell(MOVEMENT_NAMES[m.kind] || m.kind), cell(money(m.amount_cents), "num"), cell(m.reason || m.ref), cell(m.actor))));
  $("xreport").hidden = false;
  $("till-journal").hidden = !movements.length;
  $("xreport").scrollIntoView({ block: "nearest" });
}

function wire() {
  $("till-filters").addEventListener("submit", (e) => e.preventDefault());
  $("till-filters").addEventListener("change", () => loadTills().catch(showError));
  $("tills-refresh").addEventListener("click", () => loadTills().catch(showError));
  $("till-form").addEventListener("submit", submitTill);
  $("till-cancel").addEventListener("click", () => $("till-dialog").close());
  $("report-print").addEventListener("click", () => printOnly($("xreport")));
}

registerTab({ id: "tills", label: "Tills", needs: "listTills", load: loadTills, wire });
