// A virtualised log: fixed-height rows, only the visible ones in the DOM, so 100,000 entries
// scroll as smoothly as ten. Follows new entries until the user scrolls up; a button jumps
// back. A filter box narrows the rows; clicking a row shows the whole entry below.

import { h } from "./dom.js";
import { count } from "./format.js";
import { describe, entryTime } from "./logformat.js";

const ROW = 24; // must match .log-row height in log.css
const OVERSCAN = 10;

export class LogView {
  constructor() {
    this.entries = [];
    this.shown = null; // indices into entries when a filter is set
    this.query = "";
    this.follow = true;
    this.unseen = 0;
    this.pool = [];
    this.frame = 0;
    this.selected = null;
    this.lower = []; // the filter's text of entries 0, 1, 2…, filled when first filtered

    this.filter = h("input", { type: "search", class: "log-filter", placeholder: "Filter the log", "aria-label": "Filter the log", autocomplete: "off" });
    this.counter = h("span", { class: "log-count muted", "aria-live": "polite" });
    this.state = h("span", { class: "live-state", dataset: { state: "connecting" }, text: "Connecting…" });
    this.spacer = h("div", { class: "log-spacer" });
    this.rows = h("div", { class: "log-rows" });
    this.placeholder = h("div", { class: "log-empty muted", text: "No log entries yet. They appear here live as the agent appends them." });
    this.viewport = h("div", { class: "log-viewport", tabindex: "0", role: "log", "aria-label": "Run log" }, this.spacer, this.rows, this.placeholder);
    this.jump = h("button", { type: "button", class: "button small jump", hidden: true, text: "Jump to latest" });
    this.detail = h("div", { class: "log-detail", hidden: true });
    this.el = h(
      "section",
      { class: "card flush log-card", "aria-label": "Log" },
      h("div", { class: "card-head log-head" }, h("h2", { text: "Log" }), this.state, this.counter, this.filter),
      h("div", { class: "log-frame" }, this.viewport, this.jump),
      this.detail,
    );

    this.viewport.addEventListener("scroll", () => {
      const vp = this.viewport;
      this.follow = vp.scrollTop + vp.clientHeight >= vp.scrollHeight - ROW / 2;
      if (this.follow) this.unseen = 0;
      this.schedule();
    });
    this.jump.addEventListener("click", () => {
      this.follow = true;
      this.unseen = 0;
      this.toBottom();
      this.viewport.focus();
    });
    let debounce = 0;
    this.filter.addEventListener("input", () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => this.setFilter(this.filter.value), 120);
    });
    this.rows.addEventListener("click", (e) => {
      const row = e.target.closest(".log-row");
      if (row) this.select(Number(row.dataset.index));
    });
  }

  /** Adds entries: [{seq, data}], each entry's JSON text. Only the text is kept; a row is
   * described when it is drawn, and the lower-case text for the filter exists only once a
   * filter has been set. */
  push(items) {
    for (const { seq, data } of items) {
      this.entries.push({ seq, data });
      const index = this.entries.length - 1;
      const match = !this.shown || this.lowerAt(index).includes(this.query);
      if (this.shown && match) this.shown.push(index);
      if (!this.follow && match) this.unseen += 1;
    }
    this.schedule();
  }

  /** The entry at `index` as the row shows it: {seq, data, time, level, kind, text}. */
  row(index) {
    const { seq, data } = this.entries[index];
    let entry;
    try {
      entry = JSON.parse(data);
    } catch {
      entry = { message: data };
    }
    const d = describe(entry);
    return { seq, data, time: entryTime(entry), level: d.level, kind: d.kind, text: d.text };
  }

  lowerAt(index) {
    const lower = this.lower;
    while (lower.length <= index) {
      const r = this.row(lower.length);
      lower.push(`${r.kind} ${r.text}`.toLowerCase());
    }
    return lower[index];
  }

  setFilter(text) {
    this.query = text.trim().toLowerCase();
    if (!this.query) this.shown = null;
    else {
      const q = this.query;
      this.shown = [];
      for (let i = 0; i < this.entries.length; i += 1) if (this.lowerAt(i).includes(q)) this.shown.push(i);
    }
    this.unseen = 0;
    this.follow = true;
    this.schedule();
  }

  /** "connecting", "live", "reconnecting", "ended". */
  setState(state) {
    const labels = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", ended: "Complete" };
    this.state.dataset.state = state;
    this.state.textContent = labels[state] || state;
  }

  schedule() {
    if (!this.frame && this.active !== false) this.frame = requestAnimationFrame(() => this.render());
  }

  /** A hidden view does no work; shown again, it draws where it was. */
  setActive(active) {
    this.active = active;
    if (active) this.schedule();
  }

  size() {
    return this.shown ? this.shown.length : this.entries.length;
  }

  toBottom() {
    this.viewport.scrollTop = this.viewport.scrollHeight;
    this.schedule();
  }

  render() {
    this.frame = 0;
    const n = this.size();
    const vp = this.viewport;
    this.spacer.style.height = `${n * ROW}px`;
    if (this.follow) vp.scrollTop = vp.scrollHeight;
    this.placeholder.hidden = n > 0;
    if (!n && this.query) this.placeholder.textContent = "No entries match this filter.";
    else this.placeholder.textContent = "No log entries yet. They appear here live as the agent appends them.";
    const first = Math.max(0, Math.floor(vp.scrollTop / ROW) - OVERSCAN);
    const last = Math.min(n, Math.ceil((vp.scrollTop + vp.clientHeight) / ROW) + OVERSCAN);
    const needed = Math.max(0, last - first);
    while (this.pool.length < needed) {
      const row = h("div", { class: "log-row" }, h("span", { class: "log-seq" }), h("span", { class: "log-time" }), h("span", { class: "log-kind" }), h("span", { class: "log-text" }));
      this.pool.push(row);
      this.rows.appendChild(row);
    }
    for (let k = 0; k < this.pool.length; k += 1) {
      const row = this.pool[k];
      if (k >= needed) {
        row.hidden = true;
        continue;
      }
      const pos = first + k;
      const index = this.shown ? this.shown[pos] : pos;
      row.hidden = false;
      row.style.transform = `translateY(${pos * ROW}px)`;
      if (row.dataset.index !== String(index)) {
        const e = this.row(index);
        row.dataset.index = String(index);
        row.dataset.level = e.level;
        row.children[0].textContent = String(e.seq);
        row.children[1].textContent = e.time;
        row.children[2].textContent = e.kind;
        row.children[3].textContent = e.text;
        row.title = e.text.length > 120 ? e.text.slice(0, 1000) : "";
      }
      row.classList.toggle("selected", index === this.selected);
    }
    const total = this.entries.length;
    this.counter.textContent = this.shown ? `${count(n)} of ${count(total)} entries` : `${count(total)} ${total === 1 ? "entry" : "entries"}`;
    this.jump.hidden = this.follow || n === 0;
    this.jump.textContent = this.unseen ? `Jump to latest (${count(this.unseen)} new)` : "Jump to latest";
  }

  select(index) {
    this.selected = index === this.selected ? null : index;
    const e = this.selected === null ? null : this.row(this.selected);
    this.detail.hidden = !e;
    if (e) {
      let pretty = e.data;
      try {
        pretty = JSON.stringify(JSON.parse(e.data), null, 2);
      } catch {
        /* show as received */
      }
      const close = h("button", { type: "button", class: "button ghost small", text: "Close" });
      close.addEventListener("click", () => this.select(this.selected));
      this.detail.replaceChildren(
        h("div", { class: "log-detail-head" }, h("strong", { text: `Entry #${e.seq}` }), h("span", { class: "muted", text: e.kind }), close),
        h("pre", { class: "json", text: pretty }),
      );
    }
    this.schedule();
  }
}
