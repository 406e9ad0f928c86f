// The dashboard's one API client and session: bearer auth with one shared refresh, the tenant a
// super-admin switched to, and the hook that returns to sign-in when the session has ended.

import { ApiError, createClient } from "/common/api.js";
import { $ } from "/common/dom.js";

export const client = createClient("novapos.hq.session", { server: "the HQ server" });
const ADMIN_ROLES = ["tenant_admin", "super_admin"];

let ended = () => {};

/** Called once a call finds the session gone (signed out elsewhere, revoked, expired). */
export function onSessionEnded(fn) { ended = fn; }

export async function api(path, { method = "GET", body, headers: extra = {} } = {}) {
  const tenant = $("tenant").value;
  const headers = tenant ? { ...extra, "X-Tenant-ID": tenant } : extra;
  try {
    return (await client.call(path, { method, body, headers })).data;
  } catch (err) {
    // The client has already tried a refresh: a 401 now means the session itself has ended.
    if (err instanceof ApiError && err.status === 401 && client.session.get()) ended(err);
    throw err;
  }
}

export const currentUser = () => client.session.get()?.user || null;
export const isAdmin = () => (currentUser()?.roles || []).some((r) => ADMIN_ROLES.includes(r));

/** "?from=…&to=…&extra=…" from the range form and `extra`, or "" when nothing is set. */
export function query(extra = {}) {
  const q = new URLSearchParams();
  if ($("from").value) q.set("from", $("from").value);
  if ($("to").value) q.set("to", $("to").value);
  for (const [k, v] of Object.entries(extra)) if (v !== "" && v != null && v !== false) q.set(k, String(v));
  return q.toString() ? "?" + q : "";
}
