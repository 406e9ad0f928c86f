// Devices: what the hardware hub reports, with the test actions a technician runs.

import { ApiError, get, post } from "./api.js";
import { can, registerTab } from "./tabs.js";
import { cell } from "./ui.js";
import { $, el } from "/common/dom.js";

async function loadDevices() {
  let body;
  try {
    body = await get("/api/v1/devices");
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      $("devices-note").textContent = "This store server does not manage devices yet.";
      $("device-rows").replaceChildren();
      return;
    }
    throw err;
  }
  $("devices-note").textContent = body.items.length ? `Hardware hub: ${body.mode || "connected"}` :
    `No devices reported${body.mode ? ` (hardware hub: ${body.mode})` : ""}.`;
  $("device-rows").replaceChildren(...body.items.map((d) => {
    const result = el("span", { className: "result" });
    const buttons = (can("testDevice") ? d.actions || [] : []).map((action) => el("button", {
      type: "button", textContent: action.replace(/_/g, " "),
      onclick: async (e) => {
        e.target.disabled = true;
        result.textContent = "…";
        try {
          const r = await post(`/api/v1/devices/${encodeURIComponent(d.id)}/actions/${encodeURIComponent(action)}`);
          result.textContent = `${r.ok ? "OK" : "failed"}${r.detail ? `: ${r.detail}` : ""}`;
          result.className = `result ${r.ok ? "ok" : "bad"}`;
        } catch (err) {
          result.textContent = err.message;
          result.className = "result bad";
        } finally {
          e.target.disabled = false;
        }
      },
    }));
    return el("tr", {}, cell(d.name), cell(d.kind), cell(d.lane_id),
      el("td", {}, el("span", { className: `pill ${d.status === "ok" ? "ok" : "warn"}`, textContent: d.status })),
      cell(d.address, "mono"), el("td", { className: "actions" }, ...buttons, result));
  }));
}

registerTab({ id: "devices", label: "Devices", needs: "listDevices", load: loadDevices });
