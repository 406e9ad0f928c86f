// The dashboard's charts, drawn by Apache ECharts (webui/vendor/echarts, fetched from the npm
// registry at install and loaded by index.html as the global `echarts`). Every figure comes
// from /api/v1/hq/analytics; amounts are cents and are shown with their currency. A chart with
// nothing to show says so in words, naming the days it looked at.
//
// Tooltips are HTML in ECharts: any text from the data goes through its encodeHTML first.

import { $ } from "/common/dom.js";
import { formatCents } from "/common/money.js";
import { query } from "/hq/session.js";

const TIME_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
const LOW_COVER_DAYS = 7; // under a week of cover is drawn as urgent
const charts = new Map();
let currency = ""; // the currency the charts show; a tenant may sell in several
const store = () => $("chart-store").value; // one store's charts, or "" for the tenant

const enc = (text) => globalThis.echarts.format.encodeHTML(String(text)); // only called once a chart exists
const pct = (bp) => (bp / 100).toFixed(1);

function chart(id) {
  if (!globalThis.echarts) throw new Error("the chart library is missing on the HQ server (run make install there)");
  if (!charts.has(id)) {
    charts.set(id, globalThis.echarts.init($(id), null, { renderer: "canvas" }));
  }
  return charts.get(id);
}

/** Show the chart, or in its place the sentence that says why there is nothing to draw. */
function draw(id, empty, option) {
  const box = $(id);
  const note = $(`${id}-empty`);
  note.textContent = empty || "";
  note.hidden = !empty;
  box.hidden = Boolean(empty);
  if (empty) { charts.get(id)?.clear(); return; }
  chart(id).setOption({ animation: false, ...option }, true);
  chart(id).resize();
}

const between = (answer) => `between ${answer.from} and ${answer.to}`;

/** The currencies the tenant's stores sell in; one store's charts are in that store's own. */
function pickCurrency(items) {
  const select = $("currency");
  const list = [...new Set(items.map((i) => i.currency))].sort();
  const own = items.find((i) => i.store_id === store())?.currency;
  if (own) currency = own;
  else if (!list.includes(currency)) currency = list[0] || "";
  select.replaceChildren(...list.map((c) => new Option(c, c, false, c === currency)));
  $("currency-pick").hidden = list.length < 2 || Boolean(own);
}

function drawSales(answer) {
  const rows = answer.items.filter((i) => i.currency === currency);
  $("chart-range").textContent = `${answer.from} to ${answer.to}${store() ? ` · store ${store()}` : ""}`;
  draw("chart-sales", rows.length ? "" : `No sales ${between(answer)}.`, {
    tooltip: { trigger: "axis" },
    legend: { data: [`Net sales (${currency})`, "Orders"], top: 0 },
    grid: { left: 80, right: 40, top: 36, bottom: 28 },
    xAxis: { type: "category", data: rows.map((r) => r.day) },
    yAxis: [
      { type: "value", name: currency, axisLabel: { formatter: (v) => formatCents(v, currency) } },
      { type: "value", name: "Orders", minInterval: 1, splitLine: { show: false } },
    ],
    series: [
      { name: `Net sales (${currency})`, type: "line", smooth: false, areaStyle: { opacity: 0.15 },
        data: rows.map((r) => r.gross_cents), tooltip: { valueFormatter: (v) => formatCents(v, currency) } },
      { name: "Orders", type: "bar", yAxisIndex: 1, barMaxWidth: 14, data: rows.map((r) => r.orders) },
    ],
  });
}

function drawStores(answer) {
  const rows = answer.items.filter((i) => i.currency === currency).reverse(); // best at the top
  draw("chart-stores", rows.length ? "" : `No store sold anything ${between(answer)}.`, {
    tooltip: {
      trigger: "item",
      formatter: (p) => {
        const r = rows[p.dataIndex];
        return `${enc(r.store_id)}<br>${enc(formatCents(r.gross_cents, currency))} · ${r.orders} orders` +
          `<br>average ticket ${enc(formatCents(r.avg_ticket_cents, currency))} · ${pct(r.share_bp)}%`;
      },
    },
    grid: { left: 110, right: 150, top: 10, bottom: 10 },
    xAxis: { type: "value", axisLabel: { show: false } }, // each bar carries its amount
    yAxis: { type: "category", data: rows.map((r) => r.store_id) },
    series: [{
      type: "bar", barMaxWidth: 22, data: rows.map((r) => r.gross_cents),
      label: { show: true, position: "right",
        formatter: (p) => `${formatCents(p.value, currency)} · ${pct(rows[p.dataIndex].share_bp)}%` },
    }],
  });
}

function drawTenders(answer) {
  const rows = answer.items.filter((i) => i.currency === currency && i.amount_cents !== 0);
  const total = rows.reduce((sum, r) => sum + r.amount_cents, 0);
  const amounts = new Map(rows.map((r) => [r.method, r.amount_cents]));
  draw("chart-tenders", rows.length ? "" : `No payments ${between(answer)}.`, {
    tooltip: { trigger: "item", valueFormatter: (v) => formatCents(v, currency) },
    legend: { orient: "vertical", left: 0, top: "middle",
      formatter: (name) => `${name}  ${formatCents(amounts.get(name), currency)}` +
        (total > 0 ? `  ${(amounts.get(name) * 100 / total).toFixed(1)}%` : "") },
    series: [{
      type: "pie", radius: ["38%", "68%"], center: ["70%", "50%"], label: { show: false },
      data: rows.map((r) => ({ name: r.method, value: r.amount_cents })),
    }],
  });
}

function drawHeatmap(answer) {
  const cells = new Map();
  for (const c of answer.items) {
    const key = `${c.weekday}:${c.hour}`;
    const cell = cells.get(key) || { orders: 0, gross: 0 };
    cell.orders += c.orders;
    if (c.currency === currency) cell.gross += c.gross_cents;
    cells.set(key, cell);
  }
  const data = [...cells].filter(([, c]) => c.orders > 0).map(([key, c]) => {
    const [weekday, hour] = key.split(":").map(Number);
    return [hour, weekday, c.orders, c.gross];
  });
  $("heatmap-zone").textContent = `hours in ${answer.tz}`;
  draw("chart-heatmap", data.length ? "" : `No orders ${between(answer)}.`, {
    tooltip: {
      formatter: (p) => `${enc(answer.weekdays[p.value[1]])} ${String(p.value[0]).padStart(2, "0")}:00–` +
        `${String(p.value[0] + 1).padStart(2, "0")}:00<br>${p.value[2]} orders · ` +
        `${enc(formatCents(p.value[3], currency))}`,
    },
    grid: { left: 50, right: 10, top: 10, bottom: 70 },
    xAxis: { type: "category", data: [...Array(24).keys()].map((h) => String(h).padStart(2, "0")),
      splitArea: { show: true } },
    yAxis: { type: "category", data: answer.weekdays, inverse: true, splitArea: { show: true } },
    visualMap: { min: 0, max: Math.max(1, ...data.map((d) => d[2])), calculable: true, orient: "horizontal",
      left: "center", bottom: 0, text: ["more orders", "fewer"], dimension: 2 },
    series: [{ type: "heatmap", data, label: { show: true, formatter: (p) => String(p.value[2]) } }],
  });
}

function drawCover(answer) {
  const rows = [...answer.items].reverse(); // shortest cover at the top
  const products = (n) => `${n} product${n === 1 ? "" : "s"}`;
  $("cover-note").textContent = `${products(answer.selling)} selling; ${products(answer.not_selling)} in stock did ` +
    `not sell ${between(answer)}; ${answer.out_of_stock} out of stock.`;
  draw("chart-cover", rows.length ? "" : `No product was both stocked and sold ${between(answer)}.`, {
    tooltip: {
      trigger: "item",
      formatter: (p) => {
        const r = rows[p.dataIndex];
        return `${enc(r.store_id)} · ${enc(r.sku)} ${enc(r.name || "")}<br>${r.on_hand} on hand, ` +
          `${r.units_sold} sold in ${answer.days} days<br>${r.cover_days} days of cover`;
      },
    },
    grid: { left: 150, right: 50, top: 10, bottom: 28 },
    xAxis: { type: "value", name: "days", minInterval: 1 },
    yAxis: { type: "category", data: rows.map((r) => `${r.store_id} · ${r.sku}`) },
    series: [{
      type: "bar", barMaxWidth: 16,
      data: rows.map((r) => ({ value: r.cover_days,
        itemStyle: { color: r.cover_days < LOW_COVER_DAYS ? "#b3261e" : "#2f6fde" } })),
      label: { show: true, position: "right", formatter: (p) => `${p.value} d` },
      markLine: { silent: true, symbol: "none", data: [{ xAxis: LOW_COVER_DAYS }],
        label: { formatter: `${LOW_COVER_DAYS} days` } },
    }],
  });
}

// The chart panels in the dashboard's panel format: title, what it reads, how it draws. The
// store comparison comes first: its answer names the currencies the others are drawn in.
export const CHART_PANELS = [
  ["Store comparison chart", () => `/api/v1/hq/analytics/stores${query()}`, (answer) => {
    pickCurrency(answer.items);
    drawStores(answer);
  }],
  ["Sales over time", () => `/api/v1/hq/analytics/sales${query({ store_id: store() })}`, drawSales],
  ["Tender mix chart", () => `/api/v1/hq/analytics/tenders${query({ store_id: store() })}`, drawTenders],
  ["Sales by weekday and hour",
    () => `/api/v1/hq/analytics/heatmap${query({ tz: TIME_ZONE, store_id: store() })}`, drawHeatmap],
  ["Stock cover", () => `/api/v1/hq/analytics/stock-cover${query({ store_id: store() })}`, drawCover],
];

/** The stores the charts can be narrowed to, from the sync-health answer the dashboard loads. */
export function setChartStores(storeIds) {
  const select = $("chart-store");
  const chosen = select.value;
  select.replaceChildren(new Option("All stores", ""),
    ...storeIds.map((id) => new Option(id, id, false, id === chosen)));
}

export function setCurrency(value, redraw) {
  currency = value;
  redraw();
}

export function resizeCharts() {
  for (const c of charts.values()) c.resize();
}
