// Hub events for this lane over a WebSocket (scans from a USB/serial scanner the hub owns,
// scale weights). Browsers cannot set an Authorization header on a WebSocket, so the token
// rides in the subprotocol `bearer.<token>`. If the edge has no such endpoint the lane simply
// works without it (keyboard-wedge scanners still type into the scan field).

import { session } from "./api.js";

export function connectLaneEvents(laneId, onEvent, onState) {
  let socket = null;
  let stopped = false;
  let delay = 1000;
  const seqKey = `novapos.lane.${laneId}.seq`;
  const epochKey = `novapos.lane.${laneId}.epoch`;
  let since = Number(localStorage.getItem(seqKey) || 0);

  function open() {
    const token = session.get()?.access_token;
    if (stopped || !token) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    // The epoch names the hub's numbering: after a hub restart the edge replays from 0 itself.
    const epoch = localStorage.getItem(epochKey);
    const query = new URLSearchParams({ since: String(since), ...(epoch ? { epoch } : {}) });
    const url = `${scheme}://${location.host}/api/v1/lanes/${encodeURIComponent(laneId)}/events?${query}`;
    let opened = false;
    try {
      socket = new WebSocket(url, [`bearer.${token}`]);
    } catch {
      onState("unavailable");
      return;
    }
    socket.onopen = () => { opened = true; delay = 1000; onState("connected"); };
    socket.onmessage = (message) => {
      let event;
      try { event = JSON.parse(message.data); } catch { return; }
      if (event.type === "hello") {
        if (event.epoch && event.epoch !== localStorage.getItem(epochKey)) {
          localStorage.setItem(epochKey, event.epoch);
          since = 0;
        }
        return;
      }
      if (typeof event.seq === "number") {
        since = Math.max(since, event.seq);
        localStorage.setItem(seqKey, String(since));
      }
      onEvent(event);
    };
    socket.onclose = () => {
      onState(opened ? "reconnecting" : "unavailable");
      // Back off hard when the endpoint is absent, so an older edge is not hammered.
      delay = Math.min(opened ? delay * 2 : delay * 4, 60000);
      if (!stopped) setTimeout(open, delay);
    };
  }

  open();
  return () => { stopped = true; socket?.close(); };
}
