// The entry point: asks who is signed in, then shows first-run set-up, the sign-in page, or
// the app shell (header, project switcher, navigation) with the routed page inside.

import { get, post, setCsrf } from "./api.js";
import { h, mount, empty } from "./dom.js";
import { keepTimesFresh, userName } from "./format.js";
import { route, match, navigate, start } from "./router.js";
import { setupView, loginView } from "./views/auth.js";
import { tasksView } from "./views/tasks.js";
import { taskView } from "./views/task.js";
import { runView } from "./views/run.js";
import { keysView } from "./views/keys.js";
import { webhooksView, hooksHref } from "./views/webhooks.js";
import { webhookView } from "./views/webhook.js";
import { adminView } from "./views/admin.js";

const root = document.getElementById("app");
const LAST_PROJECT = "burrow.project";

/** What every page can reach: the user, their projects, the current project. */
const ctx = {
  user: null,
  projects: [],
  projectId: null,
  async reload(asked) {
    const me = await (asked || get("/users/@me"));
    ctx.projects = me.teams || [];
    if (!ctx.projects.some((p) => p.id === ctx.projectId)) {
      const saved = Number(localStorage.getItem(LAST_PROJECT));
      const pick = ctx.projects.find((p) => p.id === saved) || me.team || ctx.projects[0];
      ctx.projectId = pick ? pick.id : null;
    }
    drawHeader();
  },
  useProject(pid) {
    const id = Number(pid);
    if (ctx.projectId !== id && ctx.projects.some((p) => p.id === id)) {
      ctx.projectId = id;
      localStorage.setItem(LAST_PROJECT, String(id));
      drawHeader();
    }
  },
  tasksHref(pid = ctx.projectId) {
    return `/projects/${encodeURIComponent(pid)}/tasks`;
  },
};

const header = h("header", { class: "topbar" });
const main = h("main", { id: "main", class: "page", tabindex: "-1" });

function navLink(href, label) {
  const path = location.pathname;
  const here = path === href || (href.endsWith("/tasks") && path.startsWith(href)) || (href.endsWith("/webhooks") && path.startsWith(`${href}/`));
  return h("a", { href, class: "nav-link", "aria-current": here ? "page" : null, text: label });
}

function projectSwitcher() {
  const select = h(
    "select",
    { id: "project-switcher", class: "project-select", "aria-label": "Project" },
    ctx.projects.map((p) => h("option", { value: p.id, selected: p.id === ctx.projectId, text: p.name })),
  );
  select.addEventListener("change", () => {
    ctx.useProject(select.value);
    navigate(ctx.tasksHref());
  });
  return h("div", { class: "project-switch" }, h("span", { class: "project-label", "aria-hidden": "true", text: "Project" }), select);
}

function drawHeader() {
  if (!ctx.user) return mount(header);
  const signOut = h("button", { type: "button", class: "button ghost", text: "Sign out" });
  signOut.addEventListener("click", async () => {
    signOut.disabled = true;
    try {
      await post("/auth/logout");
    } finally {
      location.assign("/");
    }
  });
  mount(
    header,
    h("a", { href: "/", class: "brand", "aria-label": "Burrow home" }, h("span", { class: "brand-mark", "aria-hidden": "true" }), "Burrow"),
    ctx.projects.length ? projectSwitcher() : null,
    h(
      "nav",
      { class: "nav", "aria-label": "Main" },
      ctx.projectId ? navLink(ctx.tasksHref(), "Tasks") : null,
      ctx.projectId ? navLink(hooksHref(ctx.projectId), "Webhooks") : null,
      navLink("/keys", "API keys"),
      ctx.user.is_admin ? navLink("/admin", "People & projects") : null,
    ),
    h("div", { class: "account" }, h("span", { class: "account-name", title: ctx.user.email, text: userName(ctx.user) }), signOut),
  );
}

function notFound() {
  mount(main, empty("Page not found", "There is nothing at this address.", h("a", { class: "button", href: "/", text: "Go to tasks" })));
}

route("/", () => {
  if (ctx.projectId) navigate(ctx.tasksHref(), { replace: true });
  else mount(main, empty("No projects", "You are not a member of any project yet. Ask an administrator to add one."));
});
route("/login", () => navigate("/", { replace: true }));
route("/setup", () => navigate("/", { replace: true }));
route("/projects/:pid/tasks", tasksView);
route("/projects/:pid/tasks/:tid", taskView);
route("/projects/:pid/tasks/:tid/runs/:rid", runView);
route("/projects/:pid/webhooks", webhooksView);
route("/projects/:pid/webhooks/:wid", webhookView);
route("/keys", keysView);
route("/admin", adminView);

function onRoute(pathname, query, onLeave) {
  const found = match(pathname);
  if (found && found.params.pid) ctx.useProject(found.params.pid);
  drawHeader();
  main.replaceChildren();
  window.scrollTo(0, 0);
  if (!found) return notFound();
  found.view({ main, params: found.params, query, ctx, onLeave });
}

async function boot() {
  keepTimesFresh();
  let state;
  // Asked beside the state rather than after it: a signed-out visitor's 401 is ignored.
  const me = get("/users/@me");
  me.catch(() => {});
  try {
    state = await get("/auth/state");
  } catch (err) {
    mount(root, h("main", { class: "page" }, empty("Burrow is not answering", err.message)));
    return;
  }
  if (state.needs_setup) return setupView(root, state);
  if (!state.user) return loginView(root, state);
  setCsrf(state.csrf_token);
  ctx.user = state.user;
  await ctx.reload(me);
  mount(root, h("a", { href: "#main", class: "skip-link", text: "Skip to content" }), header, main);
  window.addEventListener("burrow:signed-out", () => location.assign(location.pathname));
  start(onRoute);
}

boot();
