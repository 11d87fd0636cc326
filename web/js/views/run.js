// One run, live: status and details, error, the streaming log, artifacts, output and state.

import { get, runPath, taskPath, ApiError } from "../api.js";
import { h, mount, empty, notice } from "../dom.js";
import { absolute, duration, statusBadge, timeAgo } from "../format.js";
import { LogView } from "../logview.js";
import { followRun } from "../logstream.js";
import { renderArtifacts } from "./artifacts.js";

function meta(label, value, name) {
  return h("div", { class: "meta-item", dataset: { field: name } }, h("dt", { text: label }), h("dd", {}, value));
}

function json(value) {
  return JSON.stringify(value, null, 2);
}

function summary(run) {
  const finished = run.completed_at;
  return h(
    "dl",
    { class: "meta" },
    meta("Status", statusBadge(run.status), "status"),
    meta("Stage", run.stage || "—", "stage"),
    meta("Branch", run.branch ? h("span", { class: "mono", text: run.branch }) : "—", "branch"),
    meta("Environment", run.environment, "environment"),
    meta("Created", h("span", { title: absolute(run.created_at) }, timeAgo(run.created_at)), "created"),
    meta("Updated", timeAgo(run.updated_at), "updated"),
    meta("Completed", finished ? timeAgo(finished) : "—", "completed"),
    meta("Duration", duration(run.created_at, finished), "duration"),
  );
}

function dataPanel(title, value, emptyText) {
  const isEmpty = value === null || value === undefined || (typeof value === "object" && Object.keys(value).length === 0);
  return h(
    "section",
    { class: "card flush data-panel" },
    h("div", { class: "card-head" }, h("h2", { text: title })),
    isEmpty ? h("p", { class: "panel-empty muted", text: emptyText }) : h("pre", { class: "json", text: json(value) }),
  );
}

export async function runView({ main, params, ctx, onLeave }) {
  const { pid, tid, rid } = params;
  const ids = { pid, tid, rid };
  let run;
  let task;
  try {
    [run, task] = await Promise.all([get(runPath(pid, tid, rid)), get(taskPath(pid, tid)).catch(() => null)]);
  } catch (err) {
    const gone = err instanceof ApiError && err.status === 404;
    mount(main, gone ? empty("Run not found", "This run does not exist in this project.", h("a", { class: "button", href: ctx.tasksHref(pid), text: "Back to tasks" })) : notice("error", err.message));
    return;
  }
  const slug = task ? task.slug : "Task";
  document.title = `Run ${rid.slice(0, 8)} · ${slug}`;
  const taskHref = `/projects/${encodeURIComponent(pid)}/tasks/${encodeURIComponent(tid)}`;

  const badge = h("span", { class: "head-badge" }, statusBadge(run.status));
  const summaryCard = h("div", { class: "card" }, summary(run));
  const errorBox = h("div", { class: "run-error" });
  const artifactsCard = h("section", { class: "card flush", "aria-label": "Artifacts" });
  const panels = h("div", { class: "panels" });
  const log = new LogView();

  let artifactsKey = "";
  function update(r) {
    run = r;
    mount(badge, statusBadge(r.status));
    mount(summaryCard, summary(r));
    mount(errorBox, r.error_message ? notice("error", h("strong", { text: "Error: " }), r.error_message) : null);
    const key = JSON.stringify(r.artifacts);
    if (key !== artifactsKey) {
      artifactsKey = key;
      renderArtifacts(artifactsCard, ids, r.artifacts);
    }
    mount(panels, dataPanel("Output", r.output, "No output yet."), dataPanel("State", r.state, "No state recorded."));
  }

  mount(
    main,
    h(
      "nav",
      { class: "crumbs", "aria-label": "Breadcrumb" },
      h("a", { href: ctx.tasksHref(pid), text: "Tasks" }),
      h("span", { "aria-hidden": "true", text: "/" }),
      h("a", { href: taskHref, class: "mono", text: slug }),
      h("span", { "aria-hidden": "true", text: "/" }),
      h("span", { text: `Run ${rid.slice(0, 8)}` }),
    ),
    h(
      "div",
      { class: "page-head" },
      h("div", { class: "head-text" }, h("p", { class: "slug mono", text: `${slug} · run ${rid.slice(0, 8)}` }), h("h1", { class: "task-heading", text: task ? task.title : "Run" })),
      h("div", { class: "actions" }, badge, h("a", { class: "button small", href: run.log_url, target: "_blank", rel: "noopener", text: "Raw log" })),
    ),
    errorBox,
    summaryCard,
    log.el,
    artifactsCard,
    panels,
  );
  update(run);

  const stop = followRun(`/api${runPath(pid, tid, rid)}stream/`, {
    onEntries: (items) => log.push(items),
    onRun: update,
    onState: (s) => log.setState(s),
  });
  const tick = setInterval(() => {
    if (!run.completed_at) mount(summaryCard, summary(run));
  }, 1000);
  onLeave(() => {
    stop();
    clearInterval(tick);
  });
}
