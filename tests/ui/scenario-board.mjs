// The task board: tasks in columns by their latest run's status (no run, queued, running,
// needs input, completed, failed or cancelled), live moves without a reload (a run that
// completes, a question that is answered), the filters and the choice kept in the URL,
// keyboard focus kept across a redraw, and the phone layout. Tasks and runs are made
// through the API.

import { assert, eq, apiClient, signIn } from "./lib.mjs";

const XSS = "<img src=x onerror=window.__xss=1>";

export async function boardScenario({ base, page, steps, shot, args }) {
  const [email, password, key] = args;
  const api = apiClient(base, key);
  const tasks = {};
  const runs = {};
  const column = (name) => page.locator(`.board-col[data-column="${name}"]`);
  const slugsIn = (name) => column(name).locator(".board-card .slug").allTextContents();

  async function task(name, repository, status, state) {
    const t = await api("POST", "/projects/1/tasks/", { title: name, description: "d", origin_product: "user_created", repository });
    tasks[name] = t;
    if (!status) return;
    const runsPath = `/projects/1/tasks/${t.id}/runs/`;
    const run = await api("POST", runsPath, { status: status === "queued" ? "queued" : "in_progress" });
    runs[name] = `${runsPath}${run.id}/`;
    if (state) await api("PATCH", runs[name], { state });
    if (status === "cancelled") await api("POST", `${runs[name]}cancel/`, {});
    else if (status !== "queued" && status !== "in_progress") await api("PATCH", runs[name], { status, ...(status === "failed" ? { error_message: "tests failed" } : {}) });
  }

  await steps.run("tasks in every state, made through the API", async () => {
    await task("Write the docs", "acme/docs");
    await task("Queue me", "acme/web", "queued");
    await task("Fix the login", "acme/web", "in_progress");
    await task(`Ask first ${XSS}`, "acme/web", "in_progress", { pending_permission: { request_id: "r1", tool_call: { title: "git push" }, options: [{ optionId: "allow", name: "Allow", kind: "allow_once" }] } });
    await task("Ship it", "acme/api", "completed");
    await task("Broken build", "acme/api", "failed");
    await task("Never mind", "acme/api", "cancelled");
  });

  await steps.run("the Board tab shows every task in its column, and the URL says so", async () => {
    await signIn(page, base, email, password);
    await page.getByRole("tab", { name: "Board" }).click();
    await page.getByRole("tab", { name: "Board", selected: true }).waitFor();
    assert(new URL(page.url()).searchParams.get("view") === "board", `the URL keeps the view: ${page.url()}`);
    await column("completed").locator(".board-card").first().waitFor();
    const s = (name) => tasks[name].slug;
    eq((await slugsIn("none")).join(), s("Write the docs"), "no run");
    eq((await slugsIn("queued")).join(), s("Queue me"), "queued");
    eq((await slugsIn("in_progress")).join(), s("Fix the login"), "running");
    eq((await slugsIn("needs_input")).join(), s(`Ask first ${XSS}`), "needs input");
    eq((await slugsIn("completed")).join(), s("Ship it"), "completed");
    eq((await slugsIn("ended")).sort().join(), [s("Broken build"), s("Never mind")].sort().join(), "failed or cancelled");
    eq((await column("ended").locator(".badge").allTextContents()).sort().join(), "Cancelled,Failed", "which of the two");
    const card = column("in_progress").locator(".board-card");
    eq(await card.locator(".board-repo").textContent(), "acme/web", "the repository");
    eq(await card.locator("time").textContent(), "just now", "how long ago the run changed");
    eq(await card.locator("a").getAttribute("href"), `/projects/1/tasks/${tasks["Fix the login"].id}/runs/${runs["Fix the login"].split("/runs/")[1].replace("/", "")}`, "the card opens the run");
    eq(await column("needs_input").locator("img").count(), 0, "no element from a title");
    eq(await page.evaluate(() => window.__xss), undefined, "window.__xss");
    await shot(page, "18-task-board");
  });

  await steps.run("cards move live: a run completes, a question is answered", async () => {
    // Keyboard focus on a card survives the redraw.
    await column("in_progress").locator(".board-card a").focus();
    await api("PATCH", runs["Fix the login"], { status: "completed" });
    await column("completed").locator(".board-card", { hasText: "Fix the login" }).waitFor();
    eq((await slugsIn("in_progress")).length, 0, "it left Running");
    eq(await page.evaluate(() => document.activeElement.textContent), "Fix the login", "focus stayed on its card");
    await api("POST", `${runs[`Ask first ${XSS}`]}permission/`, { request_id: "r1", option_id: "allow" });
    await column("in_progress").locator(".board-card", { hasText: "Ask first" }).waitFor();
    await column("needs_input").locator(".board-empty").waitFor();
  });

  await steps.run("the filters apply to the board and stay in the URL with it", async () => {
    await page.getByLabel("Search").fill("ship");
    await page.waitForFunction(() => document.querySelectorAll(".board-card").length === 1, null, { polling: 50 });
    eq((await slugsIn("completed")).join(), tasks["Ship it"].slug, "only the match");
    await page.reload();
    await page.getByRole("tab", { name: "Board", selected: true }).waitFor();
    await column("completed").locator(".board-card", { hasText: "Ship it" }).waitFor();
    eq(await page.locator(".board-card").count(), 1, "the filter came back with the page");
    eq(await page.getByLabel("Search").inputValue(), "ship", "the search box too");
    await page.getByLabel("Search").fill("nothing like this");
    await page.getByText("No tasks match these filters").waitFor();
    await page.getByRole("button", { name: "Clear filters" }).first().click();
    await page.waitForFunction(() => document.querySelectorAll(".board-card").length === 7, null, { polling: 50 });
    await page.getByRole("tab", { name: "List" }).click();
    await page.locator(".tasks-table tbody tr").first().waitFor();
    assert(!new URL(page.url()).searchParams.has("view"), "the list is the default");
  });

  await steps.run("phone width: the board is one column of columns", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/projects/1/tasks?view=board`);
    await column("completed").locator(".board-card").first().waitFor();
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(wide <= 390, `fits a phone (scrollWidth ${wide})`);
    await shot(page, "19-task-board-phone", { fullPage: false });
    await page.setViewportSize({ width: 1280, height: 860 });
  });
}
