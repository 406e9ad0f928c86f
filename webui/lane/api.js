// The lane's edge API client: the shared client with the lane's own session.
import { ApiError, createClient } from "/common/api.js";

export { ApiError, NetworkError, newIdempotencyKey } from "/common/api.js";

const client = createClient("novapos.lane.session");
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
