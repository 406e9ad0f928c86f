// The lane's edge API client: the shared client with the lane's own session, and the lane's
// patience: how long to wait for the store server before taking the offline path. The edge
// says how long at each sign-in (lane.server_timeout_s); it is remembered for the next start.
import { ApiError, createClient } from "/common/api.js";

export { ApiError, NetworkError, ServerTimeout, newIdempotencyKey } from "/common/api.js";

const TIMEOUT_KEY = "novapos.lane.server_timeout_ms";

export function serverTimeoutMs() {
  const stored = Number.parseInt(localStorage.getItem(TIMEOUT_KEY), 10);
  return stored >= 1000 && stored <= 120000 ? stored : 8000;
}

export function rememberServerTimeout(ms) {
  if (Number.isFinite(ms)) localStorage.setItem(TIMEOUT_KEY, String(ms));
}

const client = createClient("novapos.lane.session", { timeoutMs: serverTimeoutMs });
export const { session } = client;

let signedOut = () => {};

/** What the lane does when the edge stops accepting its session: signed out elsewhere, the
 * cashier disabled or locked out. The shared client has already tried one refresh, so a 401
 * here means the session itself is gone. */
export function whenSignedOut(handler) {
  signedOut = handler;
}

export async function call(path, options = {}) {
  try {
    return await client.call(path, options);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401 && options.auth !== false && session.get()) signedOut(err);
    throw err;
  }
}

export const get = (path) => call(path).then((r) => r.data);
export const post = (path, body, headers) => call(path, { method: "POST", body, headers }).then((r) => r.data);
