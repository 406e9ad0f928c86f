// The API client of every web app (the lane and the store admin against the edge, the HQ
// dashboard against the cloud hub): bearer auth with one refresh on 401, and problem+json turned
// into an ApiError whose message is the server's `detail` (what the person at the screen should
// read).

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.code = String(problem.type || "").split("/").pop();
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
    this.problem = problem; // extension members a caller may act on (e.g. an enrolment token)
  }
}

// The request never reached the edge (offline, server down): the caller may queue instead.
export class NetworkError extends Error {}

// The edge did not answer in time (hung, overloaded, or a cut link). The request may still
// complete there: a write must be retried with the same idempotency key, never with a new one.
export class ServerTimeout extends NetworkError {}

const DEFAULT_TIMEOUT_MS = 30000;

async function send(path, { method = "GET", body, headers = {}, token, timeoutMs = DEFAULT_TIMEOUT_MS,
                             server = "the store server" } = {}) {
  const init = { method, headers: { Accept: "application/json, application/problem+json", ...headers } };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  // Reads are abandoned on timeout. A write with an idempotency key is left to finish: if a
  // slow server commits it after all, its replay (same key) is answered as a duplicate.
  const abortable = !("Idempotency-Key" in init.headers);
  const controller = abortable ? new AbortController() : null;
  if (controller) init.signal = controller.signal;
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => {
      controller?.abort();
      reject(new ServerTimeout(`${server} did not answer within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
  });
  const answered = fetch(path, init).catch((err) => {
    throw new NetworkError(`${server} cannot be reached (${err.message})`);
  });
  try {
    return await Promise.race([answered, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A client for one web app. Each app keeps its own session (lane and admin sign in separately
 * in the same browser) under its own storage key; `server` names the server in messages.
 */
export function createClient(sessionKey, { timeoutMs = () => DEFAULT_TIMEOUT_MS, server = "the store server" } = {}) {
  const session = {
    get() {
      try { return JSON.parse(sessionStorage.getItem(sessionKey)); } catch { return null; }
    },
    set(value) {
      if (value) sessionStorage.setItem(sessionKey, JSON.stringify(value));
      else sessionStorage.removeItem(sessionKey);
    },
  };

  // Refresh tokens rotate, and the servers revoke the whole session when a used one is shown
  // again. So the calls that find the access token expired together share one refresh, and a
  // call refused with a token that has been replaced meanwhile just retries with the new one.
  let refreshing = null;

  async function rotate() {
    const current = session.get();
    if (!current?.refresh_token) return false;
    const response = await send("/api/v1/auth/refresh", { method: "POST", body: { refresh_token: current.refresh_token },
                                                          timeoutMs: timeoutMs(), server });
    if (!response.ok) return false;
    const pair = await response.json();
    const now = session.get();
    if (!now) return false; // signed out while the refresh was on its way
    session.set({ ...now, access_token: pair.access_token, refresh_token: pair.refresh_token });
    return true;
  }

  async function refreshed(refusedToken) {
    const current = session.get()?.access_token;
    if (current && current !== refusedToken) return true;
    refreshing ??= rotate().finally(() => { refreshing = null; });
    return refreshing;
  }

  /** JSON call. Returns {data, response}; throws ApiError (answered) or NetworkError (not reached). */
  async function call(path, options = {}) {
    const opts = { timeoutMs: timeoutMs(), server, ...options };
    const token = session.get()?.access_token;
    let response = await send(path, { ...opts, token });
    if (response.status === 401 && options.auth !== false && (await refreshed(token))) {
      response = await send(path, { ...opts, token: session.get()?.access_token });
    }
    if (!response.ok) {
      let problem = {};
      try { problem = await response.json(); } catch { problem = { detail: `${response.status} ${response.statusText}` }; }
      throw new ApiError(response.status, problem);
    }
    const type = response.headers.get("content-type") || "";
    const data = response.status === 204 ? null : type.includes("json") ? await response.json() : await response.text();
    return { data, response };
  }

  const get = (path) => call(path).then((r) => r.data);
  const post = (path, body, headers) => call(path, { method: "POST", body, headers }).then((r) => r.data);
  return { session, call, get, post };
}

// crypto.randomUUID() exists only in secure contexts, and lanes reach the store box over plain
// http on the LAN; getRandomValues works everywhere.
export function newIdempotencyKey() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
