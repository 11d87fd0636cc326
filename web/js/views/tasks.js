// The task list: filters and free-text search kept in the URL, limit/offset paging, and a
// row per task with its latest run's status; or, with the same filters, the live board.

import { get, query, taskPath } from "../api.js";
import { h, mount, empty, notice } from "../dom.js";
import { count, statusBadge, timeAgo, ORIGINS, originLabel, userName } from "../format.js";
import { setQuery } from "../router.js";
import { taskForm } from "./taskform.js";
import { Board } from "./board.js";

const PAGE = 50;
const FILTERS = ["search", "origin_product", "repository", "organization", "stage", "created_by"];

function filterControls(values, ctx, users) {
  const text = (name, label, placeholder) =>
    h("label", { class: "filter" }, h("span", { text: label }), h("input", { name, type: "text", placeholder, value: values[name] || "", autocomplete: "off" }));
  const select = (name, label, options) =>
    h(
      "label",
      { class: "filter" },
      h("span", { text: label }),
      h("select", { name }, options.map(([v, l]) => h("option", { value: v, selected: String(values[name] || "") === String(v), text: l }))),
    );
  const people = [["", "Anyone"], [String(ctx.user.id), "Me"]];
  users.filter((u) => u.id !== ctx.user.id).forEach((u) => people.push([String(u.id), userName(u)]));
  return [
    h(
      "label",
      { class: "filter filter-search" },
      h("span", { text: "Search" }),
      h("input", { name: "search", type: "search", placeholder: "Title or description", value: values.search || "", autocomplete: "off" }),
    ),
    select("origin_product", "Origin", [["", "Any origin"], ...ORIGINS]),
    text("repository", "Repository", "org/repo or repo"),
    text("organization", "Organization", "e.g. posthog"),
    text("stage", "Stage", "e.g. build"),
    select("created_by", "Created by", people),
  ];
}

function row(pid, t) {
  const href = `/projects/${encodeURIComponent(pid)}/tasks/${encodeURIComponent(t.id)}`;
  const run = t.latest_run;
  return h(
    "tr",
    { class: "task-row", dataset: { taskId: t.id } },
    h(
      "td",
      { class: "cell-task" },
      h("span", { class: "slug mono", text: t.slug }),
      h("a", { href, class: "task-title", text: t.title || "Untitled Task" }),
      h("span", { class: "task-sub muted", text: originLabel(t.origin_product) }),
    ),
    h("td", { class: "cell-repo", dataset: { label: "Repository" } }, t.repository ? h("span", { class: "mono", text: t.repository }) : h("span", { class: "muted", text: "—" })),
    h("td", { class: "cell-status", dataset: { label: "Latest run" } }, statusBadge(run && run.status)),
    h("td", { class: "cell-time", dataset: { label: "Updated" } }, timeAgo((run && run.updated_at) || t.updated_at)),
  );
}

export async function tasksView({ main, params, query: urlQuery, ctx, onLeave }) {
  const pid = params.pid;
  const values = Object.fromEntries(FILTERS.map((f) => [f, urlQuery.get(f) || ""]));
  let offset = Math.max(0, Number(urlQuery.get("offset")) || 0);
  const project = ctx.projects.find((p) => String(p.id) === String(pid));
  document.title = `Tasks · ${project ? project.name : "Burrow"}`;

  let users = [];
  if (ctx.user.is_admin) {
    try {
      users = (await get("/users/")).results;
    } catch {
      users = [];
    }
  }
  const form = h("form", { class: "filters", role: "search", "aria-label": "Filter tasks" }, filterControls(values, ctx, users));
  const clear = h("button", { type: "button", class: "button ghost small", text: "Clear filters", hidden: true });
  // On phones only the search box shows until the other filters are asked for.
  const extra = FILTERS.some((f) => f !== "search" && values[f]);
  const toggle = h("button", { type: "button", class: "button ghost small filters-toggle", "aria-expanded": String(extra), text: extra ? "Fewer filters" : "More filters" });
  form.classList.toggle("collapsed", !extra);
  toggle.addEventListener("click", () => {
    const open = form.classList.toggle("collapsed") === false;
    toggle.setAttribute("aria-expanded", String(open));
    toggle.textContent = open ? "Fewer filters" : "More filters";
  });
  const summary = h("p", { class: "list-summary muted", "aria-live": "polite" });
  const tableBody = h("tbody");
  const table = h(
    "table",
    { class: "table tasks-table" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "Task" }), h("th", { scope: "col", text: "Repository" }), h("th", { scope: "col", text: "Latest run" }), h("th", { scope: "col", text: "Updated" }))),
    tableBody,
  );
  const listArea = h("div", { class: "list-area" });
  const prev = h("button", { type: "button", class: "button small", text: "← Previous" });
  const next = h("button", { type: "button", class: "button small", text: "Next →" });
  const pager = h("nav", { class: "pager", "aria-label": "Pages" }, summary, h("div", { class: "pager-buttons" }, prev, next));
  const create = h("button", { type: "button", class: "button primary", text: "New task" });
  create.addEventListener("click", () => taskForm(ctx, pid, null));
  const listCard = h("div", { class: "card flush" }, listArea, pager);
  const board = new Board(pid);
  onLeave(() => board.stop());
  let view = urlQuery.get("view") === "board" ? "board" : "list";
  const tabs = {};
  const tabBar = h(
    "div",
    { class: "view-tabs", role: "tablist", "aria-label": "Show tasks as" },
    [
      ["list", "List"],
      ["board", "Board"],
    ].map(([key, label]) => {
      tabs[key] = h("button", { type: "button", role: "tab", class: "view-tab", text: label });
      tabs[key].addEventListener("click", () => {
        if (view === key) return;
        view = key;
        load();
      });
      return tabs[key];
    }),
  );

  mount(
    main,
    h("div", { class: "page-head" }, h("div", {}, h("h1", { text: "Tasks" }), h("p", { class: "muted", text: project ? project.name : "" })), create),
    h("div", { class: "card" }, form, h("div", { class: "filters-foot" }, toggle, clear)),
    tabBar,
    listCard,
    board.el,
  );

  let seq = 0;
  const active = () => FILTERS.some((f) => values[f]);
  async function load() {
    const mine = ++seq;
    const onBoard = view === "board";
    for (const [key, tab] of Object.entries(tabs)) tab.setAttribute("aria-selected", String(key === view));
    listCard.hidden = onBoard;
    board.el.hidden = !onBoard;
    clear.hidden = !active();
    if (onBoard) {
      setQuery({ ...values, view: "board" });
      return board.show(values);
    }
    board.stop();
    setQuery({ ...values, offset: offset || "" });
    listArea.setAttribute("aria-busy", "true");
    let page;
    try {
      page = await get(`${taskPath(pid)}${query({ ...values, limit: PAGE, offset })}`);
    } catch (err) {
      if (mine === seq) mount(listArea, notice("error", err.message));
      return;
    } finally {
      if (mine === seq) listArea.removeAttribute("aria-busy");
    }
    if (mine !== seq) return;
    if (page.results.length === 0 && offset > 0 && page.count > 0) {
      offset = Math.max(0, Math.floor((page.count - 1) / PAGE) * PAGE);
      return load();
    }
    tableBody.replaceChildren(...page.results.map((t) => row(pid, t)));
    if (page.count === 0) {
      mount(
        listArea,
        active()
          ? empty("No tasks match these filters", "Try a shorter search, or clear the filters to see every task.", h("button", { type: "button", class: "button", text: "Clear filters", onclick: clearAll }))
          : empty("No tasks yet", "Create a task here, or let an agent or script create one through the API with a personal API key.", h("button", { type: "button", class: "button primary", text: "New task", onclick: () => taskForm(ctx, pid, null) })),
      );
    } else if (!listArea.contains(table)) mount(listArea, table);
    const last = Math.min(offset + page.results.length, page.count);
    summary.textContent = page.count ? `${count(offset + 1)}–${count(last)} of ${count(page.count)} tasks` : "";
    prev.disabled = offset === 0;
    next.disabled = !page.next;
    pager.hidden = page.count === 0;
  }

  function clearAll() {
    FILTERS.forEach((f) => {
      values[f] = "";
      form.elements[f].value = "";
    });
    offset = 0;
    load();
  }
  clear.addEventListener("click", clearAll);
  prev.addEventListener("click", () => {
    offset = Math.max(0, offset - PAGE);
    load().then(() => main.scrollIntoView());
  });
  next.addEventListener("click", () => {
    offset += PAGE;
    load().then(() => main.scrollIntoView());
  });
  let debounce = null;
  const changed = (e) => {
    const name = e.target.name;
    if (!FILTERS.includes(name)) return;
    const value = e.target.value.trim();
    if (values[name] === value) return;
    values[name] = value;
    offset = 0;
    clearTimeout(debounce);
    debounce = setTimeout(load, e.type === "input" ? 250 : 0);
  };
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  form.addEventListener("submit", (e) => e.preventDefault());
  await load();
}
