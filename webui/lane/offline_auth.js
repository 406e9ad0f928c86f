// Offline sign-in. After each online PIN sign-in the lane keeps a verifier of that cashier's
// PIN: a salted PBKDF2-SHA256 hash bound (inside the salt) to this lane, the user and an expiry;
// the edge issues the salt, the lane derives the hash from the PIN the edge accepted. While the
// store server is unreachable, a PIN typed here is checked against the verifiers this lane
// holds, with WebCrypto; a match opens an offline session that can only queue cash sales. A few
// wrong PINs wipe the verifiers: the lane then waits for the server.
// Nothing here is a credential the edge accepts: queued sales are sent once the cashier's
// session is upgraded by an online PIN sign-in, and the edge checks them as offline sales.

import { getMeta, putMeta } from "./db.js";

const VERIFIERS = "offline_pins";
const FAILURES = "offline_pin_failures";
const KEEP_PER_LANE = 8;

export class OfflineSignInError extends Error {}

export const available = () => Boolean(globalThis.crypto?.subtle);

const fromB64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const toB64 = (bytes) => btoa(String.fromCharCode(...bytes));

async function derive(pin, verifier) {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(pin), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: fromB64(verifier.salt), iterations: verifier.iterations }, key, 256);
  return toB64(new Uint8Array(bits));
}

// The salt ends with what the verifier was issued for; the fields stored beside it are trusted
// only if they say the same (an edited expiry or lane then never matches).
function bound(v) {
  const binding = ["novapos-offline-pin-v1", v.user.tenant_id, v.user.store_id, v.lane_id, v.user.id, v.expires_at];
  const expected = new TextEncoder().encode(binding.join("\x1f"));
  const salt = fromB64(v.salt);
  return salt.length === 16 + expected.length && expected.every((byte, i) => salt[16 + i] === byte);
}

const live = (v, laneId) => v.lane_id === laneId && Date.parse(v.expires_at) > Date.now() && bound(v);

/** Keep the verifier from an online sign-in (replacing that cashier's older one on this lane).
 * The edge sends its salt and iterations; the hash is derived here from the PIN the edge has just
 * accepted, so the store server does not spend a few hundred ms of its CPU on every sign-in. */
export async function remember(granted, laneId, attempts, pin) {
  await putMeta(`${FAILURES}:${laneId}`, 0);
  if (attempts) await putMeta(`${FAILURES}:limit`, attempts);
  let fresh = granted.offline_pin;
  if (fresh && !fresh.hash) fresh = pin && available() ? { ...fresh, hash: await derive(pin, fresh) } : null;
  const kept = ((await getMeta(VERIFIERS)) || []).filter((v) => Date.parse(v.expires_at) > Date.now()
    && !(fresh && v.lane_id === fresh.lane_id && v.user.id === fresh.user.id));
  if (fresh?.algorithm === "PBKDF2-SHA256" && fresh.lane_id === laneId) kept.unshift(fresh);
  const perLane = {};
  await putMeta(VERIFIERS, kept.filter((v) => (perLane[v.lane_id] = (perLane[v.lane_id] || 0) + 1) <= KEEP_PER_LANE));
}

/** Whether this lane could sign anyone in offline right now. */
export async function possible(laneId) {
  return available() && ((await getMeta(VERIFIERS)) || []).some((v) => live(v, laneId));
}

/** The user whose PIN this is on this lane, or an OfflineSignInError saying what to do. */
export async function verify(laneId, pin) {
  if (!available()) {
    throw new OfflineSignInError("Offline sign-in needs the lane to be opened over https (or on the store box itself).");
  }
  const verifiers = ((await getMeta(VERIFIERS)) || []).filter((v) => live(v, laneId));
  if (!verifiers.length) {
    throw new OfflineSignInError("The store server cannot be reached, and no cashier has signed in on this lane "
      + "recently enough to sign in offline. Check the network, then try again.");
  }
  for (const verifier of verifiers) {
    if ((await derive(pin, verifier)) === verifier.hash) {
      await putMeta(`${FAILURES}:${laneId}`, 0);
      return verifier.user;
    }
  }
  const failures = ((await getMeta(`${FAILURES}:${laneId}`)) || 0) + 1;
  const limit = (await getMeta(`${FAILURES}:limit`)) || 5;
  await putMeta(`${FAILURES}:${laneId}`, failures);
  if (failures >= limit) {
    // Locked: the verifiers go, so nobody can keep guessing here; the next online sign-in brings one back.
    await putMeta(VERIFIERS, ((await getMeta(VERIFIERS)) || []).filter((v) => v.lane_id !== laneId));
    throw new OfflineSignInError("Too many wrong PINs: offline sign-in is locked on this lane until the store server is back.");
  }
  throw new OfflineSignInError(`Wrong PIN (offline sign-in, ${limit - failures} tries left).`);
}

// The PIN of the current offline session, in this page's memory only (never stored): it signs
// the cashier in online as soon as the store server answers, so the queued sales can be sent.
let heldPin = null;
export const holdPin = (pin) => { heldPin = pin; };
export function takePin() {
  const pin = heldPin;
  heldPin = null;
  return pin;
}
