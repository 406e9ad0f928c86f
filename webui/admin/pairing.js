// Store admin: pairing lane devices. A manager picks a lane and shows a one-time pairing code as
// a QR code; the tablet at that lane scans it (its camera opens the pairing link, a 2D scanner
// types it) or someone types the code. The list shows each lane's paired devices, and a device
// can be unpaired (lost, replaced, moved to another lane: it must then be paired again).

import { get, post } from "./api.js";
import { registerTab } from "./tabs.js";
import { $, el, messageOf } from "/common/dom.js";

// One tab among the admin's (tabs.js): its panel is filled once, on the first sign-in that may see it.
function wire() {
  $("tab-lanes").replaceChildren(
    el("h2", { textContent: "Lanes and their devices" }),
    el("p", { className: "note", textContent: "Each lane device is paired once with a one-time code. A paired device signs "
      + "cashiers in to its own lane only." }),
    el("p", { className: "error", id: "lanes-error", role: "alert" }),
    el("div", { id: "lanes-list", className: "lanes-list" }),
    el("section", { id: "pairing-box", className: "pairing-box", hidden: true, ariaLive: "polite" },
      el("h3", { id: "pairing-title" }),
      el("img", { id: "pairing-qr", alt: "Pairing QR code", width: 240, height: 240 }),
      el("p", {}, "Code: ", el("strong", { id: "pairing-code", className: "pairing-code" })),
      el("p", { className: "note", id: "pairing-note" }),
      el("button", { type: "button", id: "pairing-done", textContent: "Done" })));
  $("pairing-done").addEventListener("click", () => { $("pairing-box").hidden = true; load(); });
}

async function load() {
  $("lanes-error").textContent = "";
  try {
    const [store, devices] = await Promise.all([get("/api/v1/store"), get("/api/v1/lanes/devices")]);
    $("lanes-list").replaceChildren(...store.lanes.map((lane) => {
      const paired = devices.items.filter((d) => String(d.lane_id) === String(lane.id));
      return el("article", { className: "lane-card", dataset: { lane: lane.id } },
        el("h3", { textContent: lane.name || `Lane ${lane.id}` }),
        paired.length ? el("ul", { className: "plain" }, ...paired.map((d) => el("li", {},
          el("span", { textContent: `${d.label} · paired ${new Date(d.paired_at).toLocaleString()}`
            + (d.last_sign_in_at ? ` · last sign-in ${new Date(d.last_sign_in_at).toLocaleString()}` : "") }),
          el("button", { type: "button", className: "ghost", textContent: "Unpair",
                         ariaLabel: `Unpair ${d.label} from ${lane.name || `lane ${lane.id}`}`, onclick: () => unpair(d) }))))
          : el("p", { className: "note", textContent: "No device paired." }),
        el("button", { type: "button", className: "primary", textContent: "Pair a device",
                       ariaLabel: `Pair a device with ${lane.name || `lane ${lane.id}`}`, onclick: () => issue(lane) }));
    }));
  } catch (err) {
    $("lanes-error").textContent = messageOf(err);
  }
}

async function issue(lane) {
  $("lanes-error").textContent = "";
  try {
    const code = await post(`/api/v1/lanes/${encodeURIComponent(lane.id)}/pairing-codes`, {});
    $("pairing-title").textContent = `Pair a device with ${lane.name || `lane ${lane.id}`}`;
    $("pairing-qr").src = code.qr; // an SVG data: URL; an <img> never runs what is inside it
    $("pairing-code").textContent = code.code;
    $("pairing-note").textContent = `Scan this with the lane's tablet, or open ${location.origin}/ on it and type the `
      + `code. It works once, until ${new Date(code.expires_at).toLocaleTimeString()}.`;
    $("pairing-box").hidden = false;
  } catch (err) {
    $("lanes-error").textContent = messageOf(err);
  }
}

async function unpair(device) {
  if (!confirm(`Unpair ${device.label}? It will need a new pairing code to sign cashiers in again.`)) return;
  try {
    await post(`/api/v1/lanes/devices/${encodeURIComponent(device.id)}/unpair`, {});
  } catch (err) {
    $("lanes-error").textContent = messageOf(err);
  }
  await load();
}

registerTab({ id: "lanes", label: "Lanes", needs: "listLaneDevices", load, wire });
