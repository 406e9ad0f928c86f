// A virtualised list: a spacer as tall as every row, and only the rows in view (plus a small
// overscan) in the DOM. A 100k-item catalog scrolls with about 30 row elements alive.

export class VirtualList {
  constructor(container, { rowHeight, renderRow, onPick }) {
    this.container = container;
    this.rowHeight = rowHeight;
    this.renderRow = renderRow;
    this.items = [];
    this.active = -1;
    this.spacer = document.createElement("div");
    this.spacer.className = "vlist-spacer";
    this.rows = document.createElement("div");
    this.rows.className = "vlist-rows";
    this.spacer.append(this.rows);
    container.replaceChildren(this.spacer);
    container.setAttribute("role", "listbox");
    let frame = 0;
    container.addEventListener("scroll", () => {
      if (!frame) frame = requestAnimationFrame(() => { frame = 0; this.draw(); });
    }, { passive: true });
    container.addEventListener("click", (event) => {
      const row = event.target.closest("[data-index]");
      if (row) onPick(this.items[Number(row.dataset.index)]);
    });
    new ResizeObserver(() => this.draw()).observe(container);
  }

  setItems(items) {
    this.items = items;
    this.active = items.length ? 0 : -1;
    this.container.scrollTop = 0;
    this.spacer.style.height = `${items.length * this.rowHeight}px`;
    this.draw();
  }

  move(delta) {
    if (!this.items.length) return;
    this.active = Math.max(0, Math.min(this.items.length - 1, this.active + delta));
    const top = this.active * this.rowHeight;
    if (top < this.container.scrollTop) this.container.scrollTop = top;
    else if (top + this.rowHeight > this.container.scrollTop + this.container.clientHeight) {
      this.container.scrollTop = top + this.rowHeight - this.container.clientHeight;
    }
    this.draw();
  }

  current() {
    return this.items[this.active];
  }

  draw() {
    const height = this.container.clientHeight || 400;
    const first = Math.max(0, Math.floor(this.container.scrollTop / this.rowHeight) - 4);
    const last = Math.min(this.items.length, first + Math.ceil(height / this.rowHeight) + 8);
    this.rows.style.transform = `translateY(${first * this.rowHeight}px)`;
    const nodes = [];
    for (let i = first; i < last; i += 1) {
      const row = this.renderRow(this.items[i]);
      row.dataset.index = String(i);
      row.style.height = `${this.rowHeight}px`;
      row.setAttribute("role", "option");
      if (i === this.active) row.setAttribute("aria-selected", "true");
      nodes.push(row);
    }
    this.rows.replaceChildren(...nodes);
  }
}
