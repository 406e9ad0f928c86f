// Store admin: the Settlement tab. Each business day, every payment provider's settlement is
// compared with what the store recorded (captured and refunded totals, payment by payment);
// the differences are listed here and each one is a review case in the Reviews tab.
//
// The module registers its own tab (tabs.js); admin.js imports it with one line.

import { get, post } from "./api.js";
import { registerTab } from "./tabs.js";
import { $, el, messageOf } from "/common/dom.js";
import { formatCents } from "/common/money.js";

const KIND = {
  missing_at_provider: "Recorded here, not at the provider",
  missing_here: "At the provider, not recorded here",
  amount_differs: "Amounts differ",
};

function panel() {
  const today = new Date();
  const yesterday = new Date(today.getTime() - 86400000).toISOString().slice(0, 10);
  return el("section", { id: "tab-settlement", role: "tabpanel", hidden: true },
    el("form", { id: "settlement-form", className: "filters" },
      el("label", { htmlFor: "settlement-day", textContent: "Business day" }),
      el("input", { id: "settlement-day", name: "business_day", type: "date", value: yesterday, required: true }),
      el("label", { htmlFor: "settlement-provider", textContent: "Provider" }),
      el("select", { id: "settlement-provider", name: "provider" }, el("option", { value: "", textContent: "All" })),
      el("button", { type: "submit", id: "settlement-run", textContent: "Reconcile now" })),
    el("p", { className: "note", textContent:
      "The day that ended is reconciled automatically; reconcile again when a provider corrects its figures." }),
    el("p", { className: "error", id: "settlement-error", role: "alert" }),
    el("table", { id: "settlement-table" },
      el("thead", {}, el("tr", {}, ...["Business day", "Provider", "Status", "Captured (store / provider)",
                                       "Refunded (store / provider)", "Differences"].map((t) => el("th", { textContent: t })))),
      el("tbody", { id: "settlement-rows" })));
}

function amounts(report, ours, theirs) {
  const text = `${formatCents(report[ours], report.currency)} / ${formatCents(report[theirs], report.currency)}`;
  return el("td", { textContent: text, className: report[ours] === report[theirs] ? "" : "mismatch" });
}

function row(report) {
  const differences = report.differences.map((d) => el("li", {
    textContent: `${KIND[d.kind] || d.kind}: ${d.item} ${d.ref} (store ${formatCents(d.ours_cents, report.currency)}, `
      + `provider ${formatCents(d.provider_cents, report.currency)})`,
  }));
  return el("tr", { dataset: { provider: report.provider, status: report.status } },
    el("td", { textContent: report.business_day }),
    el("td", { textContent: report.provider }),
    el("td", { textContent: report.status === "matched" ? "Matched" : "Differences", className: `status-${report.status}` }),
    amounts(report, "captured_cents", "provider_captured_cents"),
    amounts(report, "refunded_cents", "provider_refunded_cents"),
    el("td", {}, differences.length ? el("ul", {}, ...differences) : "None"));
}

async function load() {
  $("settlement-error").textContent = "";
  const { items, providers } = await get("/api/v1/settlement/reports?limit=60");
  const select = $("settlement-provider");
  if (select.options.length === 1) {
    select.append(...providers.map((p) => el("option", { value: p, textContent: p })));
  }
  $("settlement-rows").replaceChildren(...(items.length ? items.map(row)
    : [el("tr", {}, el("td", { colSpan: 6, textContent: "No settlement reports yet." }))]));
}

async function reconcile(event) {
  event.preventDefault();
  const form = new FormData($("settlement-form"));
  const body = { business_day: form.get("business_day") };
  if (form.get("provider")) body.provider = form.get("provider");
  $("settlement-run").disabled = true;
  try {
    await post("/api/v1/settlement/reports", body);
    await load();
  } catch (err) {
    $("settlement-error").textContent = messageOf(err);
  } finally {
    $("settlement-run").disabled = false;
  }
}

// One tab among the admin's (tabs.js): its panel is filled once, on the first sign-in that may see it.
function wire() {
  $("tab-settlement").replaceChildren(...panel().children);
  $("settlement-form").addEventListener("submit", reconcile);
}

registerTab({
  id: "settlement", label: "Settlement", needs: "listSettlementReports", wire,
  load: () => load().catch((err) => { $("settlement-error").textContent = messageOf(err); }),
});
