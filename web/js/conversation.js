// The run log read as the agent's session, virtualised for items of varying height: each
// item has an estimated height until it has been drawn and measured; offsets are prefix sums
// recomputed from the first height that changed; only the items in view (plus a margin) are
// in the DOM, and an item is redrawn only when its version changes. Follows new items until
// the reader scrolls up, keeping the item at the top of the view still while heights settle.
// A long log's tail can be drawn (a model of its own) while the whole log is merged behind it.

import { h } from "./dom.js";
import { count } from "./format.js";
import { Conversation } from "./convmodel.js";
import { renderItem, estimate } from "./convitems.js";

const MARGIN = 600; // px drawn above and below the view
const GAP = 100; // ms between draws, at least

export class ConversationView {
  constructor({ onSummary, onAnswer } = {}) {
    this.whole = new Conversation(); // the whole log, as far as it has come
    this.model = this.whole; // what is drawn: the whole log, or for a while its tail
    this.onAnswer = onAnswer || null;
    this.asked = null; // the run's state.pending_permission, which a person can answer
    this.askedKey = "";
    this.heights = [];
    this.offsets = new Float64Array(1024);
    this.valid = 0; // offsets[0..valid] are right
    this.drawn = new Map(); // item index → {el, v}
    this.follow = true;
    this.frame = 0;
    this.onSummary = onSummary || (() => {});
    this.active = true;
    this.placed = -1;
    this.drawnAt = -GAP;
    this.timer = 0;

    this.counter = h("span", { class: "conv-count muted", "aria-live": "polite" });
    this.spacer = h("div", { class: "conv-spacer" });
    this.list = h("div", { class: "conv-items" });
    this.placeholder = h("div", { class: "log-empty muted", text: "Nothing yet. The agent's messages, tool calls and plan appear here live." });
    this.viewport = h("div", { class: "conv-viewport", tabindex: "0", role: "log", "aria-label": "Conversation" }, this.spacer, this.list, this.placeholder);
    this.jump = h("button", { type: "button", class: "button small jump", hidden: true, text: "Jump to latest" });
    this.permission = h("div", { class: "conv-permission", hidden: true });
    this.head = h("div", { class: "card-head log-head" }, h("h2", { text: "Conversation" }), this.counter);
    this.el = h("section", { class: "card flush log-card conv-card", "aria-label": "Conversation" }, this.head, h("div", { class: "log-frame" }, this.viewport, this.jump), this.permission);

    this.viewport.addEventListener("scroll", () => {
      const vp = this.viewport;
      // A scroll the view made itself (following, or holding the anchor) changes nothing.
      if (Math.abs(vp.scrollTop - this.placed) < 1) return;
      this.follow = vp.scrollTop + vp.clientHeight >= vp.scrollHeight - 8;
      this.schedule();
    });
    this.jump.addEventListener("click", () => {
      this.follow = true;
      this.schedule();
      this.viewport.focus();
    });
    // Opening a thought or a tool card changes its height: measure again.
    this.list.addEventListener("toggle", () => this.schedule(), true);
    this.list.addEventListener("click", (e) => {
      if (e.target.closest("button")) requestAnimationFrame(() => this.schedule());
    });
  }

  /** Adds entries: [{seq, entry}] with `entry` the parsed JSON. */
  push(batch) {
    const before = this.whole.items.length;
    const changed = this.whole.push(batch);
    // Behind a tail, the whole log only builds its model; endTail() draws it.
    if (this.model !== this.whole) return;
    this.measureFrom(before, changed);
    this.summarize(this.model);
    this.schedule(true);
  }

  /** Heights for the items from `before` on, and a redraw of the changed ones in view. */
  measureFrom(before, changed) {
    const items = this.model.items;
    for (let i = before; i < items.length; i += 1) this.heights.push(estimate(items[i]));
    if (items.length >= this.offsets.length) {
      const grown = new Float64Array(Math.max(items.length + 1, this.offsets.length * 2));
      grown.set(this.offsets.subarray(0, this.valid + 1));
      this.offsets = grown;
    }
    for (const i of changed) {
      const d = this.drawn.get(i);
      if (d) d.v = -1;
    }
  }

  summarize(model) {
    if (!model.changed) return;
    model.changed = false;
    this.renderPermission();
    this.onSummary({ plan: model.planText(), usage: model.usageText() });
  }

  /** Shows the log's last entries (a model of their own) while the whole log loads behind
   * them, so a long session opens on its end at once. */
  showTail(batch) {
    if (this.model !== this.whole) return;
    this.model = new Conversation();
    this.reset();
    this.model.push(batch);
    this.measureFrom(0, []);
    this.summarize(this.model);
    this.viewport.setAttribute("aria-busy", "true");
    this.schedule();
  }

  /** The whole log is in: it replaces the tail, still on its end unless the reader left it. */
  endTail() {
    if (this.model === this.whole) return;
    this.model = this.whole;
    this.reset();
    this.model.changed = true;
    this.measureFrom(0, []);
    this.summarize(this.model);
    this.viewport.removeAttribute("aria-busy");
    this.schedule();
  }

  /** Forgets every height and drawn item (the model changed under them). */
  reset() {
    for (const d of this.drawn.values()) d.el.remove();
    this.drawn.clear();
    this.heights = [];
    this.valid = 0;
  }

  setActive(active) {
    this.active = active;
    if (active) this.schedule();
  }

  /** Draws at the next frame. New entries draw at most every GAP ms (`soon`): while a long
   * history pours in, each frame's layout would cost more than the entries it shows. What
   * the reader does (scrolling, opening a card) draws at once. */
  schedule(soon = false) {
    if (this.frame || !this.active) return;
    const wait = this.drawnAt + GAP - performance.now();
    if (soon && wait > 0) {
      if (!this.timer) this.timer = setTimeout(() => ((this.timer = 0), this.schedule()), wait);
      return;
    }
    clearTimeout(this.timer);
    this.timer = 0;
    this.frame = requestAnimationFrame(() => this.render());
  }

  setHeight(i, px) {
    if (this.heights[i] === px) return;
    this.heights[i] = px;
    if (i < this.valid) this.valid = i;
  }

  /** Brings offsets up to date through item `upto`. */
  offsetsTo(upto) {
    const n = this.heights.length;
    upto = Math.min(upto, n);
    for (let i = this.valid; i < upto; i += 1) this.offsets[i + 1] = this.offsets[i] + this.heights[i];
    if (upto > this.valid) this.valid = upto;
  }

  /** The item at pixel `y` (binary search over the offsets). */
  indexAt(y) {
    const n = this.heights.length;
    this.offsetsTo(n);
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.offsets[mid] <= y) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  render() {
    this.frame = 0;
    this.drawnAt = performance.now();
    const n = this.heights.length;
    const vp = this.viewport;
    this.placeholder.hidden = n > 0;
    this.counter.textContent = `${count(this.model.items.length)} ${this.model.items.length === 1 ? "item" : "items"}`;
    if (!n) return;
    // The item at the top of the view, and how far into it the view starts.
    this.offsetsTo(n);
    const anchor = this.indexAt(vp.scrollTop);
    const into = vp.scrollTop - this.offsets[anchor];
    for (let pass = 0; pass < 4; pass += 1) {
      this.offsetsTo(n);
      const total = this.offsets[n];
      this.spacer.style.height = `${total}px`;
      if (this.follow) vp.scrollTop = total - vp.clientHeight;
      else vp.scrollTop = this.offsets[anchor] + into;
      this.placed = vp.scrollTop;
      const top = vp.scrollTop;
      const first = this.indexAt(Math.max(0, top - MARGIN));
      const last = this.indexAt(top + vp.clientHeight + MARGIN);
      const keep = new Set();
      for (let i = first; i <= last; i += 1) {
        keep.add(i);
        const item = this.model.items[i];
        let d = this.drawn.get(i);
        if (!d || d.v !== item.v) {
          const el = renderItem(item);
          el.classList.add("conv-item");
          el.dataset.index = String(i);
          if (d) d.el.replaceWith(el);
          else this.list.appendChild(el);
          d = { el, v: item.v };
          this.drawn.set(i, d);
        }
        d.el.style.transform = `translateY(${this.offsets[i]}px)`;
      }
      for (const [i, d] of this.drawn) {
        if (!keep.has(i)) {
          d.el.remove();
          this.drawn.delete(i);
        }
      }
      // Measure what is drawn (one layout), then settle again if any estimate was off.
      let moved = false;
      for (const i of keep) {
        const px = this.drawn.get(i).el.offsetHeight;
        if (px && px !== this.heights[i]) {
          this.setHeight(i, px);
          moved = true;
        }
      }
      if (!moved) break;
    }
    this.jump.hidden = this.follow;
  }

  /** The run's `state.pending_permission` (or null): the question a person answers here. */
  setQuestion(question) {
    const valid = question && typeof question === "object" && question.request_id && Array.isArray(question.options) ? question : null;
    const key = valid ? JSON.stringify(valid) : "";
    if (key === this.askedKey) return;
    this.askedKey = key;
    this.asked = valid;
    this.renderPermission();
  }

  renderPermission() {
    if (this.asked) return this.renderQuestion(this.asked);
    // A question in the log only (PostHog's own agent records its wire traffic): shown,
    // but answered where that agent runs, not here.
    const p = this.model.permission;
    this.permission.hidden = !p;
    if (!p) {
      this.permission.replaceChildren();
      return;
    }
    this.permission.replaceChildren(
      h("p", {}, h("strong", { text: "The agent asks: " }), String(p.toolCall.title || "May it run this tool call?")),
      h(
        "div",
        { class: "conv-permission-options" },
        p.options.map((o) => h("button", { type: "button", class: `button small${/allow/.test(o.kind || "") ? " primary" : ""}`, disabled: true, title: "This agent was not started by Burrow: answer it where it runs", dataset: { option: o.optionId || "" }, text: o.name || o.optionId })),
      ),
    );
  }

  /** The run's waiting question, one button per option; a click answers it. */
  renderQuestion(q) {
    const call = q.tool_call && typeof q.tool_call === "object" ? q.tool_call : {};
    const error = h("p", { class: "conv-permission-error", role: "alert" });
    const buttons = q.options.map((o) =>
      h("button", {
        type: "button",
        class: `button small${/^allow/.test(o.kind || "") ? " primary" : /^reject/.test(o.kind || "") ? " danger-outline" : ""}`,
        dataset: { option: String(o.optionId ?? "") },
        text: String(o.name || o.optionId || "?"),
      }),
    );
    const locs = (Array.isArray(call.locations) ? call.locations : []).filter((l) => l && l.path).map((l) => String(l.path));
    this.permission.hidden = false;
    this.permission.replaceChildren(
      h("p", { class: "conv-permission-ask" }, h("strong", { text: "The agent asks: " }), String(call.title || "May it run this tool call?")),
      locs.length ? h("p", { class: "conv-permission-locs mono muted", text: locs.join(", ") }) : null,
      h("div", { class: "conv-permission-options", role: "group", "aria-label": "Answer the agent" }, buttons),
      error,
    );
    buttons.forEach((b, i) =>
      b.addEventListener("click", async () => {
        if (!this.onAnswer) return;
        buttons.forEach((x) => (x.disabled = true));
        b.setAttribute("aria-busy", "true");
        error.textContent = "";
        try {
          await this.onAnswer(q, q.options[i].optionId);
        } catch (err) {
          error.textContent = `Your answer was not taken: ${err.message}`;
          buttons.forEach((x) => (x.disabled = false));
          b.removeAttribute("aria-busy");
        }
      }),
    );
  }
}
