// HQ loyalty program editor: the tenant's program (earn rule, tiers, redemption, expiry, the
// offline allowance) is part of the store policy, so saving it here is a policy edit (PATCH
// /api/v1/hq/policies with `loyalty`, If-Match the version read) that reaches every store as
// the usual versioned policy command. Hooked into the dashboard by one <script> line.

import { $, el, messageOf } from "/common/dom.js";
import { api, client, isAdmin } from "/hq/session.js";

let version = null;
let loads = 0; // the newest load() fills the form; an older answer arriving late is dropped
const MAX_TIERS = 10;

function panel() {
  let node = $("loyalty-program");
  if (node) return node;
  const num = (name, label, props = {}) => el("label", { textContent: `${label} ` },
    el("input", { name, type: "number", step: "1", required: true, ...props }));
  node = el("article", { id: "loyalty-program", className: "wide" },
    el("h2", {}, "Loyalty program ", el("small", { id: "loyalty-version" })),
    el("form", { id: "loyalty-form", noValidate: false },
      el("label", {}, el("input", { name: "enabled", type: "checkbox" }), " Program on"),
      num("points_per_unit", "Points per currency unit", { min: 0, max: 1000 }),
      el("label", { textContent: "Points rounding " }, el("select", { name: "rounding" },
        el("option", { value: "floor", textContent: "down" }), el("option", { value: "half_up", textContent: "half up" }))),
      el("label", { textContent: "Tax categories that earn nothing (comma-separated) " },
        el("input", { name: "excluded_tax_categories", maxLength: 2000 })),
      el("label", { textContent: "SKUs that earn nothing (comma-separated) " },
        el("input", { name: "excluded_skus", maxLength: 20000 })),
      num("tier_window_days", "Tier window (days)", { min: 1, max: 1095 }),
      el("fieldset", { id: "loyalty-tiers" }, el("legend", { textContent: "Tiers (the first starts at 0 points)" }),
        el("table", { id: "loyalty-tier-rows" }),
        el("button", { type: "button", id: "loyalty-add-tier", textContent: "Add tier" })),
      el("label", { textContent: "One point is worth (currency) " },
        el("input", { name: "point_value_cents", type: "number", min: 0.01, max: 100, step: 0.01, required: true })),
      num("min_redeem_points", "Redeem at least (points)", { min: 1, max: 1000000 }),
      num("expiry_days", "Points expire after (days, 0: never)", { min: 0, max: 3650 }),
      num("offline_cap_points", "Offline allowance (points a store may redeem while HQ is unreachable)", { min: 0, max: 1000000 }),
      el("div", {}, el("button", { id: "loyalty-save", textContent: "Save the loyalty program" }), " ",
        el("span", { id: "loyalty-status", role: "status" }))));
  document.querySelector("#dash .grid")?.append(node);
  $("loyalty-form").addEventListener("submit", save);
  $("loyalty-add-tier").addEventListener("click", () => {
    const rows = tierRows();
    if (rows.length >= MAX_TIERS) return;
    const last = rows[rows.length - 1];
    drawTiers([...rows, { name: "", threshold_points: (last?.threshold_points ?? 0) + 1000, earn_multiplier_bps: 10000 }]);
  });
  return node;
}

function tierRow(tier, index) {
  const input = (name, value, props) => el("input", { name, value: String(value), required: true, ...props });
  return el("tr", { dataset: { tier: String(index) } },
    el("td", {}, input("tier_name", tier.name, { maxLength: 40, ariaLabel: `Tier ${index + 1} name` })),
    el("td", {}, input("tier_threshold", tier.threshold_points, { type: "number", min: 0, step: 1, readOnly: index === 0,
                                                                   ariaLabel: `Tier ${index + 1} threshold (points)` })),
    el("td", {}, input("tier_multiplier", tier.earn_multiplier_bps / 10000, { type: "number", min: 0, max: 10, step: 0.01,
                                                                             ariaLabel: `Tier ${index + 1} earn multiplier` })),
    el("td", {}, index === 0 ? null : el("button", { type: "button", textContent: "Remove",
      onclick: () => drawTiers(tierRows().filter((_, i) => i !== index)) })));
}

function drawTiers(tiers) {
  const table = $("loyalty-tier-rows");
  table.replaceChildren(el("tr", {}, ...["Name", "From (points in window)", "Earn ×", ""].map((t) => el("th", { textContent: t }))),
    ...tiers.map(tierRow));
}

function tierRows() {
  return [...$("loyalty-tier-rows").querySelectorAll("tr[data-tier]")].map((tr) => ({
    name: tr.querySelector("[name=tier_name]").value.trim(),
    threshold_points: Number.parseInt(tr.querySelector("[name=tier_threshold]").value, 10),
    earn_multiplier_bps: Math.round(Number(tr.querySelector("[name=tier_multiplier]").value) * 10000),
  }));
}

async function load() {
  const form = $("loyalty-form");
  // Nothing can be typed until the program in force is shown: a late answer would otherwise
  // overwrite what the admin had already entered, and Save would send the old program back.
  for (const input of form.elements) input.disabled = true;
  const mine = ++loads;
  const { items: [current] } = await api("/api/v1/hq/policies");
  if (mine !== loads) return;  // a newer load is on its way: it fills the form and enables it
  version = current.version;
  const program = current.policy.loyalty ?? {};
  $("loyalty-version").textContent = current.version ? `policy version ${current.version}` : "defaults, not sent yet";
  form.elements.enabled.checked = Boolean(program.enabled);
  for (const name of ["points_per_unit", "tier_window_days", "min_redeem_points", "expiry_days", "offline_cap_points"]) {
    form.elements[name].value = String(program[name] ?? "");
  }
  form.elements.rounding.value = program.rounding ?? "floor";
  form.elements.excluded_tax_categories.value = (program.excluded_tax_categories ?? []).join(", ");
  form.elements.excluded_skus.value = (program.excluded_skus ?? []).join(", ");
  form.elements.point_value_cents.value = program.point_value_cents ? String(program.point_value_cents / 100) : "";
  drawTiers(program.tiers?.length ? program.tiers : [{ name: "Member", threshold_points: 0, earn_multiplier_bps: 10000 }]);
  for (const input of form.elements) input.disabled = !isAdmin();
}

function problem(form, tiers) {
  const thresholds = tiers.map((t) => t.threshold_points);
  if (tiers.some((t) => !t.name)) return "Every tier needs a name.";
  if (thresholds[0] !== 0 || thresholds.some((t, i) => !Number.isInteger(t) || (i > 0 && t <= thresholds[i - 1]))) {
    return "Tiers need rising thresholds, the first at 0.";
  }
  if (!form.checkValidity()) return "Check the highlighted fields.";
  return "";
}

async function save(ev) {
  ev.preventDefault();
  const form = ev.target;
  const tiers = tierRows();
  const status = $("loyalty-status");
  status.textContent = problem(form, tiers);
  if (status.textContent) { form.reportValidity(); return; }
  const list = (text) => text.split(",").map((s) => s.trim()).filter(Boolean);
  const int = (name) => Number.parseInt(form.elements[name].value, 10);
  const loyalty = {
    enabled: form.elements.enabled.checked, points_per_unit: int("points_per_unit"), rounding: form.elements.rounding.value,
    excluded_tax_categories: list(form.elements.excluded_tax_categories.value),
    excluded_skus: list(form.elements.excluded_skus.value), tier_window_days: int("tier_window_days"), tiers,
    point_value_cents: Math.round(Number(form.elements.point_value_cents.value) * 100),
    min_redeem_points: int("min_redeem_points"), expiry_days: int("expiry_days"), offline_cap_points: int("offline_cap_points"),
  };
  try {
    // If-Match: another admin's change in between is refused (412), not silently overwritten.
    const saved = await api("/api/v1/hq/policies", { method: "PATCH", body: { loyalty },
                                                    headers: { "If-Match": `"${version}"` } });
    await load();
    status.textContent = `Saved as policy version ${saved.version}; the stores apply it with their next command.`;
  } catch (err) {
    status.textContent = messageOf(err);
  }
}

function refresh() {
  if ($("dash")?.hidden || !client.session.get()) return;
  panel();
  load().catch((err) => { $("loyalty-status").textContent = messageOf(err); });
}

new MutationObserver(refresh).observe($("dash"), { attributes: true, attributeFilter: ["hidden"] });
refresh();
