// One run, live: status and details, error, the streaming log, artifacts, output and state.

import { get, post, runPath, taskPath, ApiError } from "../api.js";
import { h, mount, empty, notice, field, showError } from "../dom.js";
import { absolute, duration, statusBadge, timeAgo } from "../format.js";
import { LogView } from "../logview.js";
import { ConversationView } from "../conversation.js";
import { followRun } from "../logstream.js";
import { confirmDialog } from "../dialog.js";
import { setQuery } from "../router.js";
import { renderArtifacts } from "./artifacts.js";

const ACTIVE = new Set(["queued", "in_progress"]);

function parsed(items) {
  return items.map(({ seq, data }) => {
    let entry;
    try {
      entry = JSON.parse(data);
    } catch {
      entry = { message: data };
    }
    return { seq, data, entry };
  });
}

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

/** The box that sends a live run's agent a follow-up message (`runs/:id/message/`). */
function composer(path, onSent) {
  const text = h("textarea", { name: "text", rows: 3, maxlength: 100000, required: true, placeholder: "Ask for a change, answer a question, or give the next step…" });
  const send = h("button", { type: "submit", class: "button primary", text: "Send" });
  const fallback = h("div", { class: "notice notice-error", role: "alert", hidden: true });
  const waiting = h("p", { class: "composer-waiting muted", "aria-live": "polite" });
  const form = h(
    "form",
    { class: "card composer", "aria-label": "Message the agent" },
    field("Message the agent", text, "The agent reads it when its current turn ends. Ctrl+Enter sends."),
    fallback,
    h("div", { class: "composer-foot" }, waiting, send),
  );
  text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    send.disabled = true;
    fallback.hidden = true;
    try {
      const run = await post(`${path}message/`, { text: text.value });
      form.querySelectorAll(".field-error").forEach((p) => (p.textContent = ""));
      text.removeAttribute("aria-invalid");
      text.value = "";
      onSent(run);
    } catch (err) {
      showError(form, err, fallback);
    } finally {
      send.disabled = false;
    }
  });
  /** Shows what waits for the agent (`state.pending_user_message`). */
  form.setWaiting = (pending) => {
    waiting.textContent = typeof pending === "string" && pending ? `Waiting for the agent to read: “${pending.length > 140 ? `${pending.slice(0, 140)}…` : pending}”` : "";
  };
  return form;
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

export async function runView({ main, params, query, ctx, onLeave }) {
  const { pid, tid, rid } = params;
  const ids = { pid, tid, rid };
  let run;
  let task;
  // The log's history is asked for at once, beside the run: a long one takes the longest.
  const logUrl = `/api${runPath(pid, tid, rid)}logs/`;
  const history = fetch(logUrl, { credentials: "same-origin", headers: { Accept: "application/jsonl" } });
  history.catch(() => {}); // read (and its failure handled) by followRun
  try {
    [run, task] = await Promise.all([get(runPath(pid, tid, rid)), get(taskPath(pid, tid)).catch(() => null)]);
  } catch (err) {
    const gone = err instanceof ApiError && err.status === 404;
    history.then((r) => r.body && r.body.cancel()).catch(() => {});
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
  const progress = h("span", { class: "run-progress muted", "aria-live": "polite" });
  const conv = new ConversationView({
    onSummary: ({ plan, usage }) => (progress.textContent = [plan, usage].filter(Boolean).join(" · ")),
    onAnswer: async (question, optionId) => update(await post(`${runPath(pid, tid, rid)}permission/`, { request_id: question.request_id, option_id: optionId })),
  });
  const message = composer(runPath(pid, tid, rid), (r) => update(r));
  const cancel = h("button", { type: "button", class: "button small danger", text: "Cancel run" });
  cancel.addEventListener("click", async () => {
    const sure = await confirmDialog("Cancel this run?", "The agent is stopped (its command gets SIGTERM, then SIGKILL after the grace period) and the run ends as cancelled.", "Cancel run");
    if (!sure) return;
    cancel.disabled = true;
    try {
      update(await post(`${runPath(pid, tid, rid)}cancel/`));
    } catch (err) {
      mount(errorBox, notice("error", err.message));
    } finally {
      cancel.disabled = false;
    }
  });

  // Two views of one log: the conversation (default) and the raw lines. Each keeps its
  // scroll position while the other is shown.
  const views = { conversation: conv, raw: log };
  let shown = query && query.get("view") === "raw" ? "raw" : "conversation";
  const tabs = {};
  const saved = {};
  const viewport = (v) => v.viewport;
  function show(name) {
    if (views[shown] && shown !== name) saved[shown] = viewport(views[shown]).scrollTop;
    shown = name;
    for (const [key, v] of Object.entries(views)) {
      const on = key === name;
      v.el.hidden = !on;
      v.setActive(on);
      tabs[key].setAttribute("aria-selected", String(on));
      if (on && saved[key] !== undefined && !v.follow) viewport(v).scrollTop = saved[key];
    }
    setQuery(name === "raw" ? { view: "raw" } : {});
  }
  const tabBar = h(
    "div",
    { class: "view-tabs", role: "tablist", "aria-label": "Log view" },
    ["conversation", "raw"].map((key) => {
      tabs[key] = h("button", { type: "button", role: "tab", class: "view-tab", text: key === "raw" ? "Raw" : "Conversation" });
      tabs[key].addEventListener("click", () => show(key));
      return tabs[key];
    }),
    log.state, // one live indicator for both views
    progress,
  );

  let artifactsKey = "";
  function update(r) {
    run = r;
    mount(badge, statusBadge(r.status));
    cancel.hidden = !ACTIVE.has(r.status);
    message.hidden = !ACTIVE.has(r.status);
    const state = r.state && typeof r.state === "object" ? r.state : {};
    conv.setQuestion(ACTIVE.has(r.status) ? state.pending_permission : null);
    message.setWaiting(state.pending_user_message);
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
      h(
        "div",
        { class: "actions" },
        badge,
        cancel,
        h("a", { class: "button small", href: run.log_url, target: "_blank", rel: "noopener", text: "Raw log" }),
        h("a", { class: "button small ghost", href: `${run.log_url}${run.log_url.includes("?") ? "&" : "?"}download=1`, download: `${slug}-${rid}.jsonl`, text: "Download" }),
      ),
    ),
    errorBox,
    summaryCard,
    tabBar,
    conv.el,
    log.el,
    message,
    artifactsCard,
    panels,
  );
  update(run);
  show(shown);

  const stop = followRun(`/api${runPath(pid, tid, rid)}stream/`, {
    log: logUrl,
    history,
    onTail: (items) => conv.showTail(parsed(items)),
    onHistory: () => conv.endTail(),
    onEntries: (items) => {
      const batch = parsed(items);
      log.push(batch);
      conv.push(batch);
    },
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
