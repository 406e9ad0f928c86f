// Money in the web apps: integer cents end to end, formatted only for display, and the cart
// estimate priced by the domain's own rules (edge/domain/pricing.py and money.py), step by
// step and rounding for rounding. The estimate is what the lane shows while the edge's quote
// is on its way, or offline; it must not differ from the edge's price by a cent, or the
// cashier reads out one total and the tender asks for another.
//
// Arithmetic runs on BigInt where a product of two amounts could pass 2^53 (a float would
// round silently); results come back as Numbers. This module imports nothing, so node can
// load it to compare it with the Python domain (tests/webui/test_money_js.py).

const formatters = new Map();

/** 1234, "EUR" → "€12.34" in the browser's locale; null or undefined → "–". */
export function formatCents(cents, currency = "USD") {
  if (cents == null) return "–";
  if (!formatters.has(currency)) {
    formatters.set(currency, new Intl.NumberFormat(undefined, { style: "currency", currency }));
  }
  return formatters.get(currency).format(cents / 100);
}

const plain = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** 1234 → "12.34" without a currency: HQ tables sum stores, and a column states the unit. */
export function formatAmount(cents) {
  return cents == null ? "–" : plain.format(cents / 100);
}

/** "12.5" or "12,50" typed by a cashier → 1250 cents; null when it is not an amount. */
export function parseAmount(text) {
  const clean = String(text).trim().replace(",", ".");
  if (!/^\d+(\.\d{0,2})?$/.test(clean)) return null;
  const [whole, frac = ""] = clean.split(".");
  return Number(whole) * 100 + Number(frac.padEnd(2, "0"));
}

// -- the domain's arithmetic (edge/domain/money.py) ---------------------------------------------
export const BPS_PER_UNIT = 10000;
const GRAMS_PER_KG = 1000;
export const HALF_UP = "half_up"; // 0.5 away from zero: the default (SalesPolicy.rounding)
export const HALF_EVEN = "half_even"; // banker's rounding, where a jurisdiction requires it

/** numerator / denominator rounded to an integer, symmetric about zero (money.round_div). */
export function roundDiv(numerator, denominator, rounding = HALF_UP) {
  let n = BigInt(numerator);
  let d = BigInt(denominator);
  if (d === 0n) throw new RangeError("roundDiv by zero");
  if (d < 0n) { n = -n; d = -d; }
  const negative = n < 0n;
  const magnitude = negative ? -n : n;
  let quotient = magnitude / d; // BigInt division truncates: the floor of a non-negative quotient
  const twice = 2n * (magnitude % d);
  if (twice > d || (twice === d && (rounding === HALF_UP || quotient % 2n === 1n))) quotient += 1n;
  return Number(negative ? -quotient : quotient);
}

/** amount × rate in basis points, rounded (money.apply_bps). */
export function applyBps(amountCents, rateBps, rounding = HALF_UP) {
  return roundDiv(BigInt(amountCents) * BigInt(rateBps), BPS_PER_UNIT, rounding);
}

/** Split total over weights; the parts sum to total, leftover cents go to the largest
 * remainders, ties to the earlier part (money.allocate). */
export function allocate(totalCents, weights) {
  const weightSum = weights.reduce((sum, w) => sum + BigInt(w), 0n);
  if (weightSum === 0n) {
    if (totalCents === 0) return weights.map(() => 0);
    throw new RangeError("cannot allocate a non-zero amount over zero weights");
  }
  const sign = totalCents < 0 ? -1 : 1;
  const magnitude = BigInt(Math.abs(totalCents));
  const shares = weights.map((w) => [magnitude * BigInt(w) / weightSum, magnitude * BigInt(w) % weightSum]);
  const parts = shares.map(([floor]) => floor);
  const leftover = Number(magnitude - parts.reduce((sum, p) => sum + p, 0n));
  const byRemainder = weights.map((_, i) => i)
    .sort((a, b) => (shares[a][1] === shares[b][1] ? a - b : shares[a][1] > shares[b][1] ? -1 : 1));
  for (const i of byRemainder.slice(0, leftover)) parts[i] += 1n;
  return parts.map((p) => sign * Number(p));
}

// -- the domain's pricing (edge/domain/pricing.py) ----------------------------------------------

/** A cart line's price before any discount: unit price × quantity, or price per kg × grams
 * rounded (pricing.extended_price). A line is {price_cents, quantity, weight_grams?}. */
export function extendedCents(line, rounding = HALF_UP) {
  if (line.weight_grams != null) return roundDiv(BigInt(line.price_cents) * BigInt(line.weight_grams), GRAMS_PER_KG, rounding);
  return line.price_cents * line.quantity;
}

/** The tax contained in (inclusive) or due on top of (exclusive) an amount (pricing.tax_of):
 * inclusive tax is backed out as amount × rate / (10000 + rate), rounded once. */
export function taxOf(amountCents, { rate_bp: rateBps = 0, inclusive = false } = {}, rounding = HALF_UP) {
  if (inclusive) return roundDiv(BigInt(amountCents) * BigInt(rateBps), BPS_PER_UNIT + rateBps, rounding);
  return applyBps(amountCents, rateBps, rounding);
}

/**
 * The cart priced as checkout prices it (pricing.price_order): extended price, line discount
 * (cents, or basis points of the extended price) capped at the price, the order discount
 * allocated over what is left of each line, then tax per line on what remains. taxRates maps a
 * tax category to {rate_bp, inclusive}; a category the store has not configured is taxed at 0 %,
 * as at the edge. Returns the order's figures and each line's.
 */
export function estimateTotals(lines, taxRates, { discountCents = 0, rounding = HALF_UP } = {}) {
  const extended = lines.map((line) => extendedCents(line, rounding));
  const lineDiscounts = lines.map((line, i) => Math.min(
    line.discount_cents || applyBps(extended[i], line.discount_bps || 0, rounding), extended[i]));
  const afterLine = extended.map((price, i) => price - lineDiscounts[i]);
  const base = afterLine.reduce((sum, cents) => sum + cents, 0);
  const orderDiscount = Math.min(discountCents, base);
  const shares = base ? allocate(orderDiscount, afterLine) : lines.map(() => 0);
  const priced = lines.map((line, i) => {
    const rate = taxRates.get(line.tax_category) || { rate_bp: 0, inclusive: false };
    const charged = afterLine[i] - shares[i]; // at shelf-price basis: tax included if inclusive
    const tax = taxOf(charged, rate, rounding);
    const [net, total] = rate.inclusive ? [charged - tax, charged] : [charged, charged + tax];
    return { extended_cents: extended[i], discount_cents: lineDiscounts[i] + shares[i], net_cents: net,
             tax_cents: tax, total_cents: total };
  });
  const sum = (key) => priced.reduce((total, line) => total + line[key], 0);
  return {
    lines: priced,
    extended_cents: sum("extended_cents"),
    discount_cents: sum("discount_cents"),
    subtotal_cents: sum("net_cents"),
    tax_cents: sum("tax_cents"),
    total_cents: sum("total_cents"),
  };
}
