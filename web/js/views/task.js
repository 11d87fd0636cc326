// One task: its fields, its runs, and the actions (start a run, edit, delete).

import { get, post, del, taskPath, ApiError } from "../api.js";
import { h, mount, empty, notice } from "../dom.js";
import { confirmDialog } from "../dialog.js";
import { statusBadge, timeAgo, duration, originLabel, userName } from "../format.js";
import { navigate } from "../router.js";
import { taskForm } from "./taskform.js";

export function runHref(pid, tid, rid) {
  return `/projects/${encodeURIComponent(pid)}/tasks/${encodeURIComponent(tid)}/runs/${encodeURIComponent(rid)}`;
}

function meta(label, value) {
  return h("div", { class: "meta-item" }, h("dt", { text: label }), h("dd", {}, value));
}

function runsTable(pid, tid, runs) {
  if (!runs.length) {
    return empty("No runs yet", "Start a run to queue this task for an agent. Its status, log and artifacts appear here as it works.");
  }
  return h(
    "table",
    { class: "table runs-table" },
    h("thead", {}, h("tr", {}, ["Run", "Status", "Stage", "Branch", "Started", "Duration"].map((c) => h("th", { scope: "col", text: c })))),
    h(
      "tbody",
      {},
      runs.map((r) =>
        h(
          "tr",
          {},
          h("td", {}, h("a", { href: runHref(pid, tid, r.id), class: "mono", text: r.id.slice(0, 8) })),
          h("td", { dataset: { label: "Status" } }, statusBadge(r.status)),
          h("td", { dataset: { label: "Stage" }, text: r.stage || "—" }),
          h("td", { class: "mono", dataset: { label: "Branch" }, text: r.branch || "—" }),
          h("td", { dataset: { label: "Started" } }, timeAgo(r.created_at)),
          h("td", { dataset: { label: "Duration" }, text: duration(r.created_at, r.completed_at) }),
        ),
      ),
    ),
  );
}

export async function taskView({ main, params, ctx }) {
  const { pid, tid } = params;
  let task;
  let runs;
  try {
    [task, runs] = await Promise.all([get(taskPath(pid, tid)), get(`${taskPath(pid, tid)}runs/?limit=100`)]);
  } catch (err) {
    const gone = err instanceof ApiError && err.status === 404;
    mount(
      main,
      gone
        ? empty("Task not found", "It may have been deleted, or it belongs to a project you cannot reach.", h("a", { class: "button", href: ctx.tasksHref(pid), text: "Back to tasks" }))
        : notice("error", err.message),
    );
    return;
  }
  document.title = `${task.slug} · ${task.title}`;

  const start = h("button", { type: "button", class: "button primary", text: "Start run" });
  const edit = h("button", { type: "button", class: "button", text: "Edit" });
  const remove = h("button", { type: "button", class: "button danger-outline", text: "Delete" });
  const message = h("div", { role: "alert" });

  start.addEventListener("click", async () => {
    start.disabled = true;
    try {
      const updated = await post(`${taskPath(pid, tid)}run/`);
      navigate(runHref(pid, tid, updated.latest_run.id));
    } catch (err) {
      start.disabled = false;
      mount(message, notice("error", err.message));
    }
  });
  edit.addEventListener("click", () => taskForm(ctx, pid, task, () => taskView({ main, params, ctx })));
  remove.addEventListener("click", async () => {
    const ok = await confirmDialog(`Delete ${task.slug}?`, "The task disappears from lists and cannot be run again. Its past runs and logs stay readable.", "Delete task");
    if (!ok) return;
    try {
      await del(taskPath(pid, tid));
      navigate(ctx.tasksHref(pid));
    } catch (err) {
      mount(message, notice("error", err.message));
    }
  });

  mount(
    main,
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: ctx.tasksHref(pid), text: "Tasks" }), h("span", { "aria-hidden": "true", text: "/" }), h("span", { class: "mono", text: task.slug })),
    h(
      "div",
      { class: "page-head" },
      h("div", { class: "head-text" }, h("p", { class: "slug mono", text: task.slug }), h("h1", { class: "task-heading", text: task.title || "Untitled Task" })),
      h("div", { class: "actions" }, remove, edit, start),
    ),
    message,
    h(
      "div",
      { class: "card" },
      h(
        "dl",
        { class: "meta" },
        meta("Latest run", statusBadge(task.latest_run && task.latest_run.status)),
        meta("Repository", task.repository ? h("span", { class: "mono", text: task.repository }) : "—"),
        meta("Origin", originLabel(task.origin_product)),
        meta("Assignee", task.assignee || "—"),
        meta("Created by", userName(task.created_by)),
        meta("Created", timeAgo(task.created_at)),
        meta("Updated", timeAgo(task.updated_at)),
      ),
      h("h2", { class: "section-title", text: "Description" }),
      h("div", { class: "prose", text: task.description }),
    ),
    h("section", { class: "card flush" }, h("div", { class: "card-head" }, h("h2", { text: "Runs" }), h("span", { class: "muted", text: `${runs.count}` })), runsTable(pid, tid, runs.results)),
  );
}
