// The task board: the filtered tasks in columns by their latest run's status (no run,
// queued, running, needs input, completed, failed or cancelled), kept live by polling the
// task list every few seconds. An unfiltered board is the page the server keeps cached, so
// a poll that finds nothing new costs it one cache lookup.

import { get, query, taskPath } from "../api.js";
import { h, mount, empty, notice } from "../dom.js";
import { count, statusBadge, timeAgo } from "../format.js";

const LIMIT = 200;
const POLL_MS = 4000;
const COLUMNS = [
  ["none", "No run", "Tasks nobody has started."],
  ["queued", "Queued", "Waiting for a runner."],
  ["in_progress", "Running", "Nothing running."],
  ["needs_input", "Needs input", "No agent is waiting on a person."],
  ["completed", "Completed", "Nothing finished yet."],
  ["ended", "Failed or cancelled", "Nothing failed."],
];

/** The column a task belongs in, from its latest run. */
export function columnOf(task) {
  const run = task.latest_run;
  if (!run) return "none";
  const state = run.state && typeof run.state === "object" ? run.state : {};
  if ((run.status === "queued" || run.status === "in_progress") && state.pending_permission) return "needs_input";
  if (run.status === "failed" || run.status === "cancelled") return "ended";
  return COLUMNS.some(([key]) => key === run.status) ? run.status : "none";
}

function card(pid, t) {
  const run = t.latest_run;
  const taskHref = `/projects/${encodeURIComponent(pid)}/tasks/${encodeURIComponent(t.id)}`;
  const href = run ? `${taskHref}/runs/${encodeURIComponent(run.id)}` : taskHref;
  return h(
    "li",
    { class: "board-card", dataset: { taskId: t.id } },
    h("div", { class: "board-card-top" }, h("span", { class: "slug mono", text: t.slug }), run && columnOf(t) === "ended" ? statusBadge(run.status) : null),
    h("a", { href, class: "board-title", text: t.title || "Untitled Task" }),
    h(
      "div",
      { class: "board-card-foot muted" },
      t.repository ? h("span", { class: "mono board-repo", text: t.repository }) : h("span", { text: "No repository" }),
      h("span", { class: "board-time" }, timeAgo((run && run.updated_at) || t.updated_at)),
    ),
  );
}

export class Board {
  constructor(pid) {
    this.pid = pid;
    this.values = {};
    this.last = "";
    this.timer = 0;
    this.seq = 0;
    this.lists = {};
    this.counts = {};
    this.note = h("p", { class: "board-note muted", "aria-live": "polite" });
    this.error = h("div", { class: "run-error" });
    this.columns = h(
      "div",
      { class: "board", role: "list", "aria-label": "Tasks by their latest run" },
      COLUMNS.map(([key, title]) => {
        this.counts[key] = h("span", { class: "board-count muted", text: "0" });
        this.lists[key] = h("ul", { class: "board-list" });
        return h("section", { class: "board-col", role: "listitem", dataset: { column: key }, "aria-label": title }, h("h2", { class: "board-col-head" }, h("span", { text: title }), this.counts[key]), this.lists[key]);
      }),
    );
    this.el = h("div", { class: "board-area" }, this.error, this.columns, this.note);
    this.onVisible = () => document.visibilityState === "visible" && this.refresh();
  }

  /** Shows the tasks matching `values` and keeps them live until `stop()`. */
  async show(values) {
    this.values = { ...values };
    this.last = "";
    this.stop();
    document.addEventListener("visibilitychange", this.onVisible);
    await this.refresh();
    this.timer = setInterval(() => document.visibilityState === "visible" && this.refresh(), POLL_MS);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = 0;
    document.removeEventListener("visibilitychange", this.onVisible);
  }

  async refresh() {
    const mine = ++this.seq;
    let page;
    try {
      page = await get(`${taskPath(this.pid)}${query({ ...this.values, limit: LIMIT })}`);
    } catch (err) {
      if (mine === this.seq) mount(this.error, notice("error", `The board cannot update: ${err.message}`));
      return;
    }
    if (mine !== this.seq) return;
    mount(this.error);
    const key = JSON.stringify(page.results.map((t) => [t.id, t.title, t.repository, t.updated_at, t.latest_run && [t.latest_run.id, t.latest_run.status, t.latest_run.updated_at, columnOf(t)]]));
    if (key === this.last) return;
    this.last = key;
    this.draw(page);
  }

  draw(page) {
    // A redraw keeps the keyboard where it was: on the same task's link.
    const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest(".board-card");
    const focusId = focused ? focused.dataset.taskId : null;
    const by = Object.fromEntries(COLUMNS.map(([k]) => [k, []]));
    for (const t of page.results) by[columnOf(t)].push(t);
    for (const [k, , emptyText] of COLUMNS) {
      this.counts[k].textContent = String(by[k].length);
      mount(this.lists[k], by[k].length ? by[k].map((t) => card(this.pid, t)) : h("li", { class: "board-empty muted", text: emptyText }));
    }
    const filtered = Object.values(this.values).some(Boolean);
    if (page.count === 0) {
      this.note.textContent = filtered ? "No tasks match these filters: clear them to see every task." : "No tasks yet: create one with “New task”, or through the API.";
    } else if (page.count > page.results.length) {
      this.note.textContent = `Showing the ${count(page.results.length)} newest of ${count(page.count)} tasks: narrow them with the filters.`;
    } else {
      this.note.textContent = `${count(page.count)} ${page.count === 1 ? "task" : "tasks"} · updates live`;
    }
    if (focusId) {
      const again = this.columns.querySelector(`.board-card[data-task-id="${CSS.escape(focusId)}"] a`);
      if (again) again.focus();
    }
  }
}
