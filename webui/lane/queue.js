// The offline sale queue. A sale rung up while the edge is unreachable gets its idempotency
// key and offline_created_at at that moment, so replaying it any number of times (a flaky
// link, two tabs, a crash mid-replay) records it exactly once; the edge answers `duplicate`
// for a sale it already has.

import { ApiError, NetworkError, call, newIdempotencyKey, post } from "./api.js";
import { getAll, put, remove, settleQueued } from "./db.js";

// Verdicts that the edge accepted but opened a review case for: a person should look.
const NEEDS_OPERATOR = new Set(["accepted_with_price_variance", "accepted_with_stock_conflict", "rejected"]);
// A refusal that only a supervisor's PIN at the lane resolves (see replayApproved).
export const NEEDS_SUPERVISOR = "offline-price-override-required";

export async function enqueueSale(laneId, cart, tenders, estimate, customerId = null) {
  const sale = {
    idempotency_key: newIdempotencyKey(),
    offline_created_at: new Date().toISOString(),
    lane_id: laneId,
    ...(customerId ? { customer_id: customerId } : {}), // the customer attached at the lane
    // The price the customer was charged stands; the edge flags a variance against its catalog.
    lines: cart.map((l) => ({
      product_id: l.product_id, quantity: l.quantity, unit_price_cents: l.price_cents,
      ...(l.weight_grams != null ? { weight_grams: l.weight_grams } : {}),
    })),
    tenders,
    display: { names: cart.map((l) => `${l.quantity}× ${l.name}`), total_cents: estimate.total_cents },
  };
  await put("queue", sale);
  return sale;
}

/**
 * A payment the edge did not answer in time: it may have been recorded there, so it is sent
 * again as the very same request (same route, body and idempotency key), which the edge answers
 * as a duplicate if it did. If the edge refuses it instead (the order expired meanwhile), it was
 * never recorded, and `fallback` (the same sale as an offline sale) is sent under the same key.
 */
export async function enqueueRequest(laneId, { path, body, key }, cart, tenders, totalCents, customerId = null) {
  const sale = {
    idempotency_key: key,
    offline_created_at: new Date().toISOString(),
    lane_id: laneId,
    request: { path, body },
    fallback: {
      lane_id: laneId,
      ...(customerId ? { customer_id: customerId } : {}),
      lines: cart.map((l) => ({
        product_id: l.product_id, quantity: l.quantity, unit_price_cents: l.price_cents,
        ...(l.weight_grams != null ? { weight_grams: l.weight_grams } : {}),
      })),
      tenders,
    },
    display: { names: cart.map((l) => `${l.quantity}× ${l.name}`), total_cents: totalCents },
  };
  await put("queue", sale);
  return sale;
}

export async function queued() {
  const sales = await getAll("queue");
  return sales.sort((a, b) => a.offline_created_at.localeCompare(b.offline_created_at));
}

export async function verdicts() {
  const all = await getAll("verdicts");
  return all.sort((a, b) => b.settled_at.localeCompare(a.settled_at));
}

export const dismissVerdict = (key) => remove("verdicts", key);

/** Put a rejected sale back in the queue with the same key (e.g. after a product was fixed). */
export async function requeue(verdict) {
  await put("queue", verdict.sale);
  await remove("verdicts", verdict.idempotency_key);
}

let running = null;

/** Send every queued sale, oldest first. Stops at the first one that cannot reach the edge. */
export function replay(onVerdict) {
  running ??= replayAll(onVerdict).finally(() => { running = null; });
  return running;
}

async function replayAll(onVerdict) {
  for (const sale of await queued()) await settle(sale, {}, onVerdict);
}

/** Send a sale the edge refused for want of a supervisor (a price far below today's) again, with
 * the supervisor's PIN keyed in now. The PIN goes in this request only and is never stored. */
export async function replayApproved(verdict, overridePin, onVerdict) {
  await settle(verdict.sale, { override_pin: overridePin }, onVerdict);
}

async function settle(sale, extra, onVerdict) {
  const key = sale.idempotency_key;
  let verdict;
  try {
    const { data, response } = await send(sale, key, extra);
    const replayed = response.headers.get("Idempotent-Replayed") === "true";
    verdict = {
      verdict: replayed ? "duplicate" : data.verdict || "accepted", order_id: data.id, number: data.number,
      total_cents: data.total_cents, status: data.status,
    };
  } catch (err) {
    // Not reached, or the edge is still busy with this very key (409): try again later.
    if (err instanceof NetworkError || (err instanceof ApiError && [401, 409, 429, 503].includes(err.status))) {
      throw err;
    }
    if (!(err instanceof ApiError) || err.status >= 500) throw err;
    verdict = { verdict: "rejected", detail: err.message, code: err.code };
  }
  const settled = {
    ...verdict, idempotency_key: key, settled_at: new Date().toISOString(), display: sale.display,
    offline_created_at: sale.offline_created_at, needs_operator: NEEDS_OPERATOR.has(verdict.verdict), sale,
  };
  await settleQueued(key, settled);
  onVerdict?.(settled);
}

/** The sale's own request; for a timed-out payment that the edge refuses, its offline fallback. */
async function send(sale, key, extra) {
  const { display, idempotency_key: _key, request, fallback, ...offlineSale } = sale;
  const headers = { "Idempotency-Key": key };
  if (!request) return call("/api/v1/orders", { method: "POST", body: { ...offlineSale, ...extra }, headers });
  try {
    return await call(request.path, { method: "POST", body: request.body, headers });
  } catch (err) {
    const refused = err instanceof ApiError && err.status >= 400 && err.status < 500 && ![401, 409, 429].includes(err.status);
    if (!refused) throw err;
    return call("/api/v1/orders", { method: "POST", headers,
                                    body: { ...fallback, offline_created_at: sale.offline_created_at, ...extra } });
  }
}

/** The edge shows managers which lanes still hold unsynced sales (a day cannot close then). */
export async function reportDepth(laneId) {
  // A sale waiting for a supervisor's approval is not recorded yet either: its cash is in the
  // drawer, so the day must not close without it.
  const held = (await verdicts()).filter((v) => v.code === NEEDS_SUPERVISOR).map((v) => v.sale);
  const sales = [...(await queued()), ...held].sort((a, b) => a.offline_created_at.localeCompare(b.offline_created_at));
  await post(`/api/v1/lanes/${encodeURIComponent(laneId)}/queue-status`, {
    queued: sales.length, oldest_queued_at: sales[0]?.offline_created_at ?? null,
  });
  return sales.length;
}
