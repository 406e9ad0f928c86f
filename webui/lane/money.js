// Money is integer cents end to end; only the display formats it. The cart's tax is an
// estimate with the server's rule (tax per line, half up); the server's answer is the truth.

const formatters = new Map();

export function formatCents(cents, currency = "USD") {
  if (!formatters.has(currency)) {
    formatters.set(currency, new Intl.NumberFormat(undefined, { style: "currency", currency }));
  }
  return formatters.get(currency).format(cents / 100);
}

/** "12.5" or "12,50" typed by a cashier → 1250 cents; null when it is not an amount. */
export function parseAmount(text) {
  const clean = String(text).trim().replace(",", ".");
  if (!/^\d+(\.\d{0,2})?$/.test(clean)) return null;
  const [whole, frac = ""] = clean.split(".");
  return Number(whole) * 100 + Number(frac.padEnd(2, "0"));
}

function roundDivHalfUp(numerator, denominator) {
  const q = Math.floor(numerator / denominator);
  return (numerator - q * denominator) * 2 >= denominator ? q + 1 : q;
}

export function lineNetCents(line) {
  if (line.weight_grams != null) return roundDivHalfUp(line.price_cents * line.weight_grams, 1000);
  return line.price_cents * line.quantity;
}

/** Estimated totals for the cart; taxRates maps a tax category to {rate_bp, inclusive}. */
export function estimateTotals(lines, taxRates) {
  let subtotal = 0;
  let tax = 0;
  for (const line of lines) {
    const net = lineNetCents(line);
    const rate = taxRates.get(line.tax_category) || { rate_bp: 0, inclusive: false };
    if (rate.inclusive) {
      const preTax = roundDivHalfUp(net * 10000, 10000 + rate.rate_bp);
      subtotal += preTax;
      tax += net - preTax;
    } else {
      subtotal += net;
      tax += roundDivHalfUp(net * rate.rate_bp, 10000);
    }
  }
  return { subtotal_cents: subtotal, tax_cents: tax, total_cents: subtotal + tax };
}
