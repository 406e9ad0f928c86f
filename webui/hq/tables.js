// The dashboard's tables: one row per item, a column per [label, value, class] (a value may be a
// DOM node; the class may depend on the row), and "None." when there is nothing to show.

import { el, $ } from "/common/dom.js";

export function fillTable(id, cols, rows) {
  const node = $(id);
  node.replaceChildren();
  const head = node.insertRow();
  for (const [label] of cols) head.append(el("th", { scope: "col", textContent: label }));
  for (const row of rows) {
    const tr = node.insertRow();
    for (const [, get, cls] of cols) {
      const td = tr.insertCell();
      const v = get(row);
      if (v instanceof Node) td.append(v); else td.textContent = v ?? "";
      if (cls) td.className = typeof cls === "function" ? cls(row) : cls;
    }
  }
  if (!rows.length) node.insertRow().append(el("td", { colSpan: cols.length, className: "empty", textContent: "None." }));
}
