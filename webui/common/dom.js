// DOM helpers and error wording shared by the lane, the store admin and the HQ dashboard.
// No markup is ever built from strings: text goes in as textContent, so a product name or a
// server message can never become HTML.

import { ApiError } from "/common/api.js";

export const $ = (id) => document.getElementById(id);

/** el("td", {className: "num", textContent: "3", dataset: {sku: "A"}}, child, …): null children are skipped. */
export function el(tag, { dataset, ...props } = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  Object.assign(node.dataset, dataset);
  node.append(...children.filter((c) => c != null));
  return node;
}

/** What the person at the screen should read about a failure: the server's detail with the
 * fields it names, or why the server could not be asked. */
export function messageOf(err) {
  if (err instanceof ApiError) {
    const fields = err.errors.map((e) => e.message).filter(Boolean).join("; ");
    return fields ? `${err.message} (${fields})` : err.message;
  }
  return err?.message || String(err);
}
