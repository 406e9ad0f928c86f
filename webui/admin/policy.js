// The policy in force (read-only: HQ decides it).

import { get } from "./api.js";
import { registerTab } from "./tabs.js";
import { cell, loadStore, showError, when } from "./ui.js";
import { $, el } from "/common/dom.js";
import { formatCents } from "/common/money.js";

const POLICY_ROWS = [
  ["Discount a cashier may give without a supervisor", (p) => `${p.discount_supervisor_over_bps / 100} %`],
  ["Return window", (p) => `${p.return_window_days} days`],
  ["Restocking fee", (p, c) => (p.restocking_fee_cents ? formatCents(p.restocking_fee_cents, c) : `${p.restocking_fee_bps / 100} %`)],
  ["Refunds above this need a manager", (p, c) => limit(p.return_supervisor_over_cents, c)],
  ["Reservation hold", (p) => `${Math.round(p.reservation_ttl_s / 60)} min`],
  ["Rounding", (p) => (p.rounding === "half_even" ? "half to even" : "half up")],
  ["Pay-outs above this need a supervisor", (p, c) => (p.payout_supervisor_over_cents == null ? "store default"
    : formatCents(p.payout_supervisor_over_cents, c))],
];
const limit = (cents, currency) => (cents == null ? "no limit" : formatCents(cents, currency));

async function loadPolicy() {
  const [shown, { currency }] = await Promise.all([get("/api/v1/policy"), loadStore()]);
  $("policy-source").textContent = shown.source === "hq"
    ? `From HQ: version ${shown.version}, applied ${when(shown.applied_at)} (command ${shown.command_id}).`
    : "Built-in defaults: HQ has not sent a policy to this store yet.";
  const rows = POLICY_ROWS.map(([label, show]) => el("tr", {}, cell(label), cell(show(shown.effective, currency))));
  rows.push(el("tr", {}, cell("Managers need two-factor sign-in"), cell(shown.policy.manager_mfa_required ? "yes" : "no")));
  $("policy-rows").replaceChildren(...rows);
}

registerTab({ id: "policy", label: "Policy", needs: "policyInForce", load: loadPolicy,
              wire: () => $("policy-refresh").addEventListener("click", () => loadPolicy().catch(showError)) });
