// The run page, live: start a run, log entries appended through the API appear without a
// reload, the filter, run changes, artifacts (inline text preview and downloads), XSS probes
// in a title, a log entry and an artifact, administration and the phone layout.

import { readFile } from "node:fs/promises";
import { assert, eq, until, logRows } from "./lib.mjs";

const XSS_TITLE = "<img src=x onerror=window.__xss=1>";
const XSS_LOG = "<img src=x onerror=window.__xss=2>";
const XSS_ARTIFACT = "<script>window.__xss=3</script><img src=x onerror=window.__xss=3>";

export async function runScenario({ base, page, steps, shot, api, taskId, heading, browser }) {
  let runApi = "";
  const noXss = async () => eq(await page.evaluate(() => window.__xss), undefined, "window.__xss");

  await steps.run("start a run from the task page", async () => {
    await page.goto(`${base}/projects/1/tasks/${taskId()}`);
    await page.getByRole("button", { name: "Start run" }).click();
    await page.locator(".head-badge").getByText("Queued").waitFor();
    await page.getByText("Nothing yet. The agent").waitFor();
    await page.locator(".live-state", { hasText: "Live" }).waitFor();
    const rid = page.url().split("/runs/")[1];
    runApi = `/projects/1/tasks/${taskId()}/runs/${rid}/`;
    const run = await api("GET", runApi);
    eq(run.status, "queued", "the run is queued");
  });

  await steps.run("log entries appended through the API appear live, by kind", async () => {
    await page.getByRole("tab", { name: "Raw" }).click();
    const note = (update) => ({ type: "notification", timestamp: new Date().toISOString(), notification: { jsonrpc: "2.0", method: "session/update", params: { sessionId: "s1", update } } });
    await api("POST", `${runApi}append_log/`, {
      entries: [
        { type: "info", message: "Cloning acme/web" },
        note({ sessionUpdate: "agent_message_chunk", content: { type: "text", text: "I will look at the login test first." } }),
        note({ sessionUpdate: "tool_call", toolCallId: "t1", title: "Read tests/login.spec.ts", kind: "read", status: "pending" }),
      ],
    });
    await until(page, () => document.querySelectorAll(".log-row:not([hidden])").length === 3, null, "three rows");
    await api("POST", `${runApi}append_log/`, {
      entries: [
        { type: "notification", notification: { method: "_posthog/console", params: { level: "warn", message: "Retrying a flaky step" } } },
        { type: "error", message: "Test timed out after 30s" },
        { type: "info", message: XSS_LOG },
      ],
    });
    await until(page, () => document.querySelectorAll(".log-row:not([hidden])").length === 6, null, "six rows");
    const rows = await logRows(page);
    eq(rows.join(" | "), `Cloning acme/web | I will look at the login test first. | Read tests/login.spec.ts [pending] | Retrying a flaky step | Test timed out after 30s | ${XSS_LOG}`, "row texts in order");
    const levels = await page.$$eval(".log-row:not([hidden])", (els) => els.map((e) => `${e.dataset.level}:${e.querySelector(".log-kind").textContent}`));
    eq(levels.join(" "), "info:info info:agent tool:tool warn:console error:error info:info", "levels and kinds");
    eq(await page.locator(".log-count").textContent(), "6 entries", "counter");
    eq(await page.locator(".log-viewport img").count(), 0, "no image element from a log entry");
    await noXss();
  });

  await steps.run("run changes show live: status, stage, branch", async () => {
    await api("PATCH", runApi, { status: "in_progress", stage: "build", branch: "fix/flaky-login", state: { attempt: 1 } });
    await page.locator(".head-badge").getByText("Running").waitFor();
    await page.locator("[data-field=stage] dd", { hasText: "build" }).waitFor();
    await page.locator("[data-field=branch] dd", { hasText: "fix/flaky-login" }).waitFor();
  });

  await steps.run("filter the log", async () => {
    await page.getByLabel("Filter the log").fill("login");
    await until(page, () => document.querySelector(".log-count")?.textContent === "2 of 6 entries", null, "two matches");
    const rows = await logRows(page);
    eq(rows.length, 2, "rows shown");
    assert(rows.every((r) => r.toLowerCase().includes("login")), `only matching rows: ${rows}`);
    await api("POST", `${runApi}append_log/`, { entries: [{ type: "info", message: "login test passes 50 times in a row" }, { type: "info", message: "unrelated" }] });
    await until(page, () => document.querySelector(".log-count")?.textContent === "3 of 8 entries", null, "a new match appears under the filter");
    await page.getByLabel("Filter the log").fill("");
    await until(page, () => document.querySelector(".log-count")?.textContent === "8 entries", null, "filter cleared");
    await page.locator(".log-row", { hasText: "I will look at the login test first." }).click();
    await page.locator(".log-detail").getByText("Entry #2").waitFor();
    assert((await page.locator(".log-detail pre").textContent()).includes('"sessionUpdate": "agent_message_chunk"'), "the entry's JSON is shown");
  });

  await steps.run("a dropped stream resumes after the last id, ignoring ids already seen", async () => {
    // The page's own stream module, with a scripted EventSource that repeats ids and then
    // closes for good, as a proxy or a restarted server might.
    const result = await page.evaluate(async () => {
      const made = [];
      class Scripted {
        constructor(url) {
          this.url = url;
          this.readyState = 1;
          this.listeners = {};
          made.push(this);
        }
        addEventListener(type, fn) {
          this.listeners[type] = fn;
        }
        close() {
          this.readyState = 2;
        }
      }
      Scripted.CLOSED = 2;
      const real = window.EventSource;
      window.EventSource = Scripted;
      try {
        const { followRun } = await import("/js/logstream.js");
        const got = [];
        const stop = followRun("/stream", { onEntries: (items) => got.push(...items.map((i) => i.seq)), onRun() {}, onState() {} });
        const send = (es, id) => es.onmessage({ lastEventId: String(id), data: "{}" });
        [1, 2, 2, 1, 3].forEach((id) => send(made[0], id));
        made[0].readyState = 2;
        made[0].onerror();
        await new Promise((r) => setTimeout(r, 3300));
        [3, 4].forEach((id) => send(made[1], id));
        await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
        stop();
        return { got: got.join(","), resumed: made[1] && made[1].url };
      } finally {
        window.EventSource = real;
      }
    });
    eq(result.got, "1,2,3,4", "each id once");
    eq(result.resumed, "/stream?after=3", "the new connection starts after the last id");
  });

  const binary = Buffer.from([0, 1, 2, 254, 255]);
  await steps.run("artifacts are listed live; text previews as text; downloads save the bytes", async () => {
    await api("POST", `${runApi}artifacts/`, {
      artifacts: [
        { name: "plan.md", type: "plan", content: `# Plan\n\n${XSS_ARTIFACT}\n1. Find the race`, content_type: "text/markdown" },
        { name: "report.bin", type: "output", content: binary.toString("base64"), content_encoding: "base64", content_type: "application/octet-stream" },
      ],
    });
    const plan = page.locator(".artifact[data-name='plan.md']");
    const report = page.locator(".artifact[data-name='report.bin']");
    await plan.waitFor();
    await report.getByText("5 B").waitFor();
    eq(await report.getByRole("button", { name: "Preview" }).count(), 0, "binary files have no preview");
    await plan.getByRole("button", { name: "Preview" }).click();
    await plan.locator(".artifact-text").waitFor();
    const shown = await plan.locator(".artifact-text").textContent();
    assert(shown.includes(XSS_ARTIFACT) && shown.startsWith("# Plan"), `the Markdown is shown as written: ${shown}`);
    eq(await plan.locator("script, img").count(), 0, "no element from artifact content");
    await noXss();
    const [download] = await Promise.all([page.waitForEvent("download"), report.getByRole("button", { name: "Download" }).click()]);
    eq(download.suggestedFilename(), "report.bin", "download name");
    const bytes = await readFile(await download.path());
    assert(bytes.equals(binary), `downloaded bytes ${[...bytes]}`);
    const [md] = await Promise.all([page.waitForEvent("download"), plan.getByRole("button", { name: "Download" }).click()]);
    assert((await readFile(await md.path(), "utf8")).includes("1. Find the race"), "the Markdown downloads");
  });

  await steps.run("a finished run shows its output, state and the end of the stream", async () => {
    await api("PATCH", runApi, { status: "completed", output: { pr_url: "https://github.com/acme/web/pull/7", tests_passed: true }, state: { attempt: 2 } });
    await page.locator(".head-badge").getByText("Completed").waitFor();
    await page.locator(".live-state", { hasText: "Complete" }).waitFor();
    await page.locator(".data-panel pre", { hasText: "https://github.com/acme/web/pull/7" }).waitFor();
    await page.locator(".data-panel pre", { hasText: '"attempt": 2' }).waitFor();
    await page.reload();
    await until(page, () => document.querySelector(".log-count")?.textContent === "8 entries", null, "the whole log after a reload, once");
    await page.locator(".live-state", { hasText: "Complete" }).waitFor();
    await shot(page, "06-run");
  });

  await steps.run("a failed run shows its error message", async () => {
    const task = await api("POST", `/projects/1/tasks/${taskId()}/run/`);
    const rid = task.latest_run.id;
    await api("PATCH", `/projects/1/tasks/${taskId()}/runs/${rid}/`, { status: "failed", error_message: "Sandbox ran out of memory <b>oops</b>" });
    await page.goto(`${base}/projects/1/tasks/${taskId()}/runs/${rid}`);
    await page.locator(".run-error").getByText("Sandbox ran out of memory <b>oops</b>").waitFor();
    await page.locator(".head-badge").getByText("Failed").waitFor();
  });

  await steps.run("an XSS attempt through a task title renders as text", async () => {
    await page.getByLabel("Main").getByRole("link", { name: "Tasks" }).click();
    await page.getByRole("button", { name: "New task" }).first().click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Title").fill(XSS_TITLE);
    await dialog.getByLabel("Description").fill(`Probe ${XSS_TITLE}`);
    await dialog.getByRole("button", { name: "Create task" }).click();
    await heading(XSS_TITLE).waitFor();
    await page.getByText(`Probe ${XSS_TITLE}`).waitFor();
    await page.getByLabel("Main").getByRole("link", { name: "Tasks" }).click();
    await page.locator(".task-row").getByText(XSS_TITLE, { exact: true }).waitFor();
    eq(await page.locator("main img").count(), 0, "no image element from a title");
    await noXss();
    await page.getByLabel("Search").fill("flaky");
    await page.locator(".task-row", { hasText: "flaky login" }).getByText("Failed").waitFor();
  });

  await steps.run("the task list shows each task's latest run status", async () => {
    const seeded = (await api("GET", "/projects/1/tasks/?search=Seeded&limit=6")).results;
    const statuses = ["in_progress", "completed", "failed", "queued", "cancelled", "completed"];
    for (const [i, task] of seeded.entries()) {
      await api("POST", `/projects/1/tasks/${task.id}/runs/`, { status: statuses[i], stage: "build" });
    }
    await page.goto(`${base}/projects/1/tasks`);
    for (const label of ["Running", "Completed", "Failed", "Queued", "Cancelled", "No runs"]) {
      await page.locator(".task-row .badge", { hasText: label }).first().waitFor();
    }
    await shot(page, "04-tasks");
  });

  await steps.run("admins add people (password shown once) and projects", async () => {
    await page.getByLabel("Main").getByRole("link", { name: "People & projects" }).click();
    await page.getByLabel("Email").fill("grace@example.com");
    await page.getByLabel("First name").fill("Grace");
    await page.getByRole("button", { name: "Add person" }).click();
    const password = await page.locator(".secret-value").inputValue();
    eq(password.length, 20, "a generated password is shown");
    await page.locator("td", { hasText: "grace@example.com" }).waitFor();
    await page.getByLabel("Name", { exact: true }).fill("Web App");
    await page.getByRole("button", { name: "Add project" }).click();
    await page.locator(".simple-list").getByText("Web App").waitFor();
    await shot(page, "08-admin");
    await page.getByLabel("Project", { exact: true }).selectOption({ label: "Web App" });
    await heading("Tasks").waitFor();
    await page.getByText("No tasks yet").waitFor();
    const ctx2 = await browser.newContext();
    const other = await ctx2.newPage();
    await other.goto(`${base}/`);
    await other.getByLabel("Email").fill("grace@example.com");
    await other.getByLabel("Password").fill(password);
    await other.getByRole("button", { name: "Sign in" }).click();
    await other.getByRole("heading", { name: "Tasks", exact: true }).waitFor();
    eq(await other.getByRole("link", { name: "People & projects" }).count(), 0, "members see no admin page");
    await ctx2.close();
    await page.getByLabel("Project", { exact: true }).selectOption({ label: "Default project" });
    await heading("Tasks").waitFor();
  });

  await steps.run("phone width: no sideways scrolling", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/projects/1/tasks`);
    await page.locator(".task-row").first().waitFor();
    await shot(page, "09-tasks-phone", { fullPage: false });
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(wide <= 390, `the task list fits a phone (scrollWidth ${wide})`);
    await page.goto(`${base}${runApi.replace(/\/$/, "")}`);
    await page.locator(".conv-item").first().waitFor();
    await shot(page, "10-run-phone", { fullPage: false });
    const runWide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(runWide <= 390, `the run page fits a phone (scrollWidth ${runWide})`);
    await page.setViewportSize({ width: 1280, height: 860 });
  });
}
