// The lane's edge API client: the shared client with the lane's own session, and the lane's
// patience: how long to wait for the store server before taking the offline path. The edge
// says how long at each sign-in (lane.server_timeout_s); it is remembered for the next start.
import { createClient } from "/common/api.js";

export { ApiError, NetworkError, ServerTimeout, newIdempotencyKey } from "/common/api.js";

const TIMEOUT_KEY = "novapos.lane.server_timeout_ms";

export function serverTimeoutMs() {
  const stored = Number.parseInt(localStorage.getItem(TIMEOUT_KEY), 10);
  return stored >= 1000 && stored <= 120000 ? stored : 8000;
}

export function rememberServerTimeout(ms) {
  if (Number.isFinite(ms)) localStorage.setItem(TIMEOUT_KEY, String(ms));
}

export const { session, call, get, post } = createClient("novapos.lane.session", { timeoutMs: serverTimeoutMs });
