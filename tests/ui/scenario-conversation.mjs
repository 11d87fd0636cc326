// The run page as the agent's session, over entries written in the shape PostHog's agent
// stores ACP traffic ({"type":"notification","notification":{jsonrpc, method, params}}):
// merged message chunks as Markdown, a collapsed thought, a tool call going from pending to
// completed with a diff, a failed call, plan replacement with the header's progress, notes,
// `_posthog/*` status lines, unknown kinds, XSS probes through every kind, log levels in
// the raw view, the Raw log link, diff artifacts previewed as diffs, and Cancel. Fixtures are written from the ACP schema.

import { assert, eq, until, signIn } from "./lib.mjs";

const XSS = [
  "<script>window.__xss='script'</script>",
  "<img src=x onerror=\"window.__xss='img'\">",
  "[click me](javascript:window.__xss='link')",
  "<a href=\"javascript:window.__xss='a'\">a</a>",
  "<svg onload=\"window.__xss='svg'\"></svg>",
].join("\n\n");

let clock = Date.parse("2025-06-01T10:00:00Z");
const wrap = (notification) => ({ type: "notification", timestamp: new Date((clock += 1000)).toISOString(), notification: { jsonrpc: "2.0", ...notification } });
const update = (u) => wrap({ method: "session/update", params: { sessionId: "sess-1", update: u } });
const text = (t) => ({ type: "text", text: t });

const OLD = ["export function login(user, password) {", "  const session = createSession(user);", "  if (!password) {", "    return null;", "  }", "  return session;", "}", ""].join("\n");
const NEW = ["export async function login(user, password) {", "  if (!password) {", "    throw new Error(\"password required\");", "  }", "  const session = await createSession(user);", "  return session;", "}", ""].join("\n");

export async function conversationScenario({ base, page, steps, shot, args }) {
  const [email, password, runPath, key] = args;
  const runApi = `/api${runPath}/`;
  const post = async (path, body) => {
    const res = await fetch(`${base}${path}`, { method: "POST", headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const answer = await res.text();
    assert(res.ok, `POST ${path}: ${res.status} ${answer}`);
    return JSON.parse(answer);
  };
  const append = (entries) => post(`${runApi}append_log/`, { entries });
  const conv = page.locator(".conv-viewport");
  const noXss = async () => eq(await page.evaluate(() => window.__xss), undefined, "window.__xss");

  await steps.run("sign in and open the run: the conversation is the default view", async () => {
    await signIn(page, base, email, password);
    await page.goto(`${base}${runPath}`);
    await page.getByRole("tab", { name: "Conversation", selected: true }).waitFor();
    await page.locator(".live-state", { hasText: "Live" }).waitFor();
  });

  await steps.run("the prompt, merged message chunks as Markdown, a collapsed thought", async () => {
    await append([
      wrap({ id: 0, method: "initialize", params: { protocolVersion: 1, clientCapabilities: {} } }),
      wrap({ id: 0, result: { protocolVersion: 1, agentInfo: { name: "claude-agent-acp" } } }),
      wrap({ id: 1, method: "session/new", params: { cwd: "/work/repo", mcpServers: [] } }),
      wrap({ id: 1, result: { sessionId: "sess-1" } }),
      wrap({ id: 2, method: "session/prompt", params: { sessionId: "sess-1", prompt: [text("Fix the flaky **login** test")] } }),
      update({ sessionUpdate: "available_commands_update", availableCommands: [{ name: "review", description: "Review" }, { name: "init", description: "Init" }] }),
      update({ sessionUpdate: "current_mode_update", currentModeId: "default" }),
      update({ sessionUpdate: "agent_thought_chunk", content: text("The test waits on a timer; ") }),
      update({ sessionUpdate: "agent_thought_chunk", content: text("the session is created before the password check.") }),
      update({ sessionUpdate: "agent_message_chunk", content: text("") }),
      update({ sessionUpdate: "agent_message_chunk", content: text("## Findings\n\nThe test is **flaky** because ") }),
      update({ sessionUpdate: "agent_message_chunk", content: text("`login()` creates a session first.\n\n- one\n- two\n\n```ts\nawait login(user, \"\");\n```\n\nSee [the docs](https://example.com/docs).") }),
      wrap({ method: "_posthog/console", params: { level: "info", message: "Cloned acme/web" } }),
    ]);
    const user = page.locator(".conv-msg.user");
    await user.waitFor();
    eq(await user.locator("strong").textContent(), "login", "the prompt is Markdown");
    const msg = page.locator(".conv-msg.agent");
    await msg.locator("h4", { hasText: "Findings" }).waitFor();
    eq(await msg.count(), 1, "the chunks make one message");
    eq(await msg.locator("li").allTextContents().then((l) => l.join(",")), "one,two", "a list");
    eq(await msg.locator("pre code").textContent(), 'await login(user, "");', "a code block");
    eq(await msg.locator("p code").textContent(), "login()", "inline code");
    const a = msg.getByRole("link", { name: "the docs" });
    eq(await a.getAttribute("href"), "https://example.com/docs", "link href");
    eq(await a.getAttribute("target"), "_blank", "opens in a new tab");
    assert((await a.getAttribute("rel")).includes("noopener"), "rel=noopener");
    const thought = page.locator(".conv-thought");
    assert(!(await thought.evaluate((d) => d.open)), "the thought is collapsed");
    await thought.locator("summary").click();
    await thought.getByText("the session is created before the password check.").waitFor();
    await page.locator(".conv-note", { hasText: "2 commands available: /review /init" }).waitFor();
    await page.locator(".conv-note", { hasText: "Mode: default" }).waitFor();
    await page.locator(".conv-note", { hasText: "Agent ready: claude-agent-acp" }).waitFor();
    await page.locator(".conv-line", { hasText: "Cloned acme/web" }).waitFor();
  });

  await steps.run("a tool call goes from pending to completed with a unified diff", async () => {
    await append([update({ sessionUpdate: "tool_call", toolCallId: "call-1", title: "Edit src/login.ts", kind: "edit", status: "pending", rawInput: {} })]);
    const card = page.locator(".tool-card", { hasText: "Edit src/login.ts" });
    await card.locator(".tool-status", { hasText: "Pending" }).waitFor();
    await append([update({ sessionUpdate: "tool_call_update", toolCallId: "call-1", status: "in_progress" })]);
    await card.locator(".tool-status", { hasText: "Running" }).waitFor();
    await append([
      update({ sessionUpdate: "tool_call_update", toolCallId: "call-1", status: "completed", locations: [{ path: "src/login.ts", line: 1 }], content: [{ type: "diff", path: "src/login.ts", oldText: OLD, newText: NEW }] }),
    ]);
    await card.locator(".tool-status", { hasText: "Done" }).waitFor();
    eq(await page.locator(".tool-card").count(), 1, "one card for the call and its updates");
    eq(await card.locator(".diff-path").textContent(), "src/login.ts", "the diff's file");
    const added = await card.locator(".diff-line.add .code").allTextContents();
    const removed = await card.locator(".diff-line.del .code").allTextContents();
    assert(added.includes('    throw new Error("password required");'), `added lines: ${added}`);
    assert(removed.includes("    return null;"), `removed lines: ${removed}`);
    eq(await card.locator(".diff-line.hunk").first().textContent(), "@@ -1,7 +1,7 @@", "the hunk header");
    eq(await card.locator(".diff-count.add").textContent(), `+${added.length}`, "added count");
    eq(await page.getByText('"type":"diff"').count(), 0, "no JSON for the diff");
  });

  await steps.run("a failed call stands out; commands show their output; plans replace in place", async () => {
    await append([
      update({ sessionUpdate: "tool_call", toolCallId: "call-2", title: "npm test", kind: "execute", status: "in_progress", rawInput: { command: "npm test" } }),
      update({ sessionUpdate: "tool_call_update", toolCallId: "call-2", status: "failed", content: [{ type: "content", content: text("FAIL tests/login.spec.ts\n  ✕ rejects an empty password (31 ms)") }] }),
      update({ sessionUpdate: "plan", entries: [{ content: "Reproduce the failure", priority: "high", status: "completed" }, { content: "Fix login()", priority: "high", status: "in_progress" }, { content: "Run the suite", priority: "medium", status: "pending" }] }),
      update({ sessionUpdate: "tool_call", toolCallId: "call-3", title: "Read tests/login.spec.ts", kind: "read", status: "completed", content: [{ type: "content", content: text("it('rejects an empty password')") }] }),
      update({ sessionUpdate: "usage_update", used: 12345, size: 200000, cost: { amount: 0.42, currency: "USD" } }),
    ]);
    const failed = page.locator(".tool-card[data-status='failed']");
    await failed.getByText("✕ rejects an empty password").waitFor();
    assert(await failed.evaluate((d) => d.open), "a failed call is open");
    eq(await failed.evaluate((d) => getComputedStyle(d).borderLeftColor !== getComputedStyle(document.querySelector(".tool-card[data-status='completed']")).borderLeftColor), true, "it is coloured apart");
    await page.locator(".run-progress", { hasText: "1 of 3 steps done · 12.3k of 200k tokens · $0.42" }).waitFor();
    await append([update({ sessionUpdate: "plan", entries: [{ content: "Reproduce the failure", status: "completed" }, { content: "Fix login()", status: "completed" }, { content: "Run the suite", status: "completed" }, { content: "Open a PR", status: "pending" }] })]);
    await page.locator(".run-progress", { hasText: "3 of 4 steps done" }).waitFor();
    eq(await page.locator(".conv-plan").count(), 1, "one plan");
    await until(page, () => document.querySelectorAll(".conv-plan li").length === 4, null, "the newer plan's four entries");
    await page.locator(".conv-plan .muted", { hasText: "3 of 4 done · updated 1×" }).waitFor();
  });

  await steps.run("status lines, unknown kinds and JSON-RPC results stay compact; nothing fails", async () => {
    await append([
      wrap({ method: "_posthog/phase_start", params: { phase: "testing" } }),
      wrap({ method: "_posthog/error", params: { message: "Sandbox lost its network" } }),
      wrap({ method: "_burrow/runner", params: { message: "command started" } }),
      // extNotification() can double the prefix; payloads without a message read as text.
      wrap({ method: "__posthog/branch_created", params: { sessionId: "sess-1", branch: "fix/login-race" } }),
      wrap({ method: "_posthog/sdk_session", params: { sessionId: "sess-1", taskRunId: "r1", adapter: "claude" } }),
      wrap({ method: "_posthog/git_checkpoint", params: { sessionId: "sess-1", checkpointId: "cp-7", branch: "fix/login-race" } }),
      wrap({ method: "_posthog/user_message", params: { sessionId: "sess-1", content: "Also update the *README*" } }),
      update({ sessionUpdate: "session_info_update", title: "Flaky login" }),
      update({ sessionUpdate: "brand_new_kind", detail: { x: 1 } }),
      update({ sessionUpdate: "config_option_update", configOptions: [{ id: "model", name: "Model", type: "select", currentValue: "opus", options: [] }] }),
      update({ sessionUpdate: "notice", severity: "warning", title: "Rate limited", description: "Retrying in 5 s" }),
      update({ sessionUpdate: "compaction_update", compactionId: "c1", status: "completed" }),
      update({ sessionUpdate: "compaction_summary_chunk", compactionId: "c1", content: text("The login test was fixed.") }),
      update({ sessionUpdate: "agent_message", content: text("Done: the fix is in **src/login.ts**.") }),
      wrap({ id: 2, result: { stopReason: "end_turn" } }),
      { type: "console", level: "error", source: "burrow", message: "exited with code 3" },
    ]);
    await page.locator(".conv-line[data-level='error']", { hasText: "Sandbox lost its network" }).waitFor();
    await page.locator(".conv-line", { hasText: "testing" }).waitFor();
    await page.locator(".conv-line", { hasText: "command started" }).waitFor();
    await page.locator(".conv-line", { hasText: "Branch fix/login-race" }).waitFor();
    await page.locator(".conv-note", { hasText: "Settings: Model: opus" }).waitFor();
    await page.locator(".conv-line[data-level='warn']", { hasText: "Rate limited — Retrying in 5 s" }).waitFor();
    await page.locator(".conv-note", { hasText: "Context compacted" }).waitFor();
    await page.locator(".conv-thought summary", { hasText: "Context summary" }).waitFor();
    await page.locator(".conv-line", { hasText: "Agent session sess-1 (claude)" }).waitFor();
    await page.locator(".conv-line", { hasText: "Git checkpoint cp-7" }).waitFor();
    await page.locator(".conv-msg.user em", { hasText: "README" }).waitFor();
    eq(await page.locator(".conv-json").evaluateAll((rows) => rows.filter((r) => /posthog|sess-1/.test(r.textContent)).length), 0, "no known kind as JSON");
    eq(await page.locator(".conv-json", { hasText: /config_option|notice|compaction/ }).count(), 0, "the newer ACP kinds are not JSON");
    await page.locator(".conv-note", { hasText: "Session: Flaky login" }).waitFor();
    await page.locator(".conv-json", { hasText: "brand_new_kind" }).waitFor();
    await page.locator(".conv-msg.agent strong", { hasText: "src/login.ts" }).waitFor();
    await page.locator(".conv-note", { hasText: "Turn ended: end turn" }).waitFor();
    await page.locator(".conv-line[data-level='error']", { hasText: "exited with code 3" }).waitFor();
    await shot(page, "12-run-conversation");
  });

  await steps.run("hostile text in every kind of update stays text", async () => {
    await append([
      wrap({ id: 9, method: "session/prompt", params: { prompt: [text(XSS)] } }),
      update({ sessionUpdate: "user_message_chunk", content: text(XSS) }),
      update({ sessionUpdate: "agent_message_chunk", content: text(XSS) }),
      update({ sessionUpdate: "agent_thought_chunk", content: text(XSS) }),
      update({ sessionUpdate: "tool_call", toolCallId: "x1", title: XSS, kind: "<img src=x onerror=alert(1)>", status: "failed", locations: [{ path: XSS }], content: [{ type: "content", content: text(XSS) }, { type: "diff", path: XSS, oldText: XSS, newText: `${XSS}\n<b>more</b>` }] }),
      update({ sessionUpdate: "plan", entries: [{ content: XSS, status: "pending" }] }),
      update({ sessionUpdate: "current_mode_update", currentModeId: XSS }),
      update({ sessionUpdate: "available_commands_update", availableCommands: [{ name: XSS }] }),
      update({ sessionUpdate: XSS }),
      wrap({ method: "_posthog/console", params: { level: "error", message: XSS } }),
      update({ sessionUpdate: "agent_message_chunk", content: text(`\`\`\`\n${"x = 1\n".repeat(5000)}\`\`\``) }),
    ]);
    // The plan was replaced in place, above the view: scroll up to it.
    await until(
      page,
      () => {
        const vp = document.querySelector(".conv-viewport");
        const li = [...document.querySelectorAll(".conv-plan li")].find((e) => e.textContent.includes("<script>"));
        if (!li) vp.scrollTop = Math.max(0, vp.scrollTop - vp.clientHeight / 2);
        return li;
      },
      null,
      "the hostile plan entry",
    );
    await page.locator(".conv-thought").last().locator("summary").click();
    await conv.evaluate((vp) => (vp.scrollTop = vp.scrollHeight));
    await page.getByRole("button", { name: /Show 4960 more lines/ }).waitFor();
    eq(await page.locator(".conv-items script, .conv-items img, .conv-items svg, .conv-items iframe").count(), 0, "no element from agent text");
    const hrefs = await page.locator(".conv-items a").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
    assert(hrefs.every((h) => /^https?:/.test(h)), `only http(s) links: ${hrefs}`);
    await page.waitForTimeout(300);
    await noXss();
  });

  await steps.run("the raw view keeps its filter, colours errors by level, and keeps scroll positions", async () => {
    await conv.evaluate((vp) => (vp.scrollTop = 200));
    await page.waitForTimeout(100);
    const convTop = await conv.evaluate((vp) => vp.scrollTop);
    await page.getByRole("tab", { name: "Raw" }).click();
    await page.locator(".log-row").first().waitFor();
    assert(page.url().endsWith("?view=raw"), `the choice is in the URL: ${page.url()}`);
    await page.getByLabel("Filter the log").fill("exited with code 3");
    await until(page, () => document.querySelector(".log-row:not([hidden])")?.dataset.level === "error", null, "the runner's error line coloured as an error");
    await page.getByLabel("Filter the log").fill("Sandbox lost");
    await until(page, () => document.querySelector(".log-row:not([hidden])")?.dataset.level === "error", null, "PostHog's error coloured as an error");
    await page.getByLabel("Filter the log").fill("");
    await page.getByRole("tab", { name: "Conversation" }).click();
    await page.waitForTimeout(100);
    eq(await conv.evaluate((vp) => vp.scrollTop), convTop, "the conversation kept its place");
  });

  await steps.run("Raw log opens as text in a new tab, named <slug>-<run>.jsonl", async () => {
    const [tab] = await Promise.all([page.context().waitForEvent("page"), page.getByRole("link", { name: "Raw log" }).click()]);
    await tab.waitForLoadState();
    eq(await tab.evaluate(() => document.contentType), "text/plain", "shown as text");
    assert((await tab.locator("body").textContent()).includes("session/update"), "the log is in the tab");
    await tab.close();
    const rid = runPath.split("/runs/")[1];
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download" }).click()]);
    assert(new RegExp(`^[A-Z]+-\\d+-${rid}\\.jsonl$`).test(download.suggestedFilename()), `download name ${download.suggestedFilename()}`);
  });

  await steps.run("a pending permission question shows its options at the bottom", async () => {
    await append([wrap({ id: 7, method: "session/request_permission", params: { sessionId: "sess-1", toolCall: { toolCallId: "call-9", title: "Run git push" }, options: [{ optionId: "allow", name: "Allow", kind: "allow_once" }, { optionId: "reject", name: "Reject", kind: "reject_once" }] } })]);
    const box = page.locator(".conv-permission");
    await box.getByText("Run git push").waitFor();
    eq((await box.getByRole("button").allTextContents()).join(","), "Allow,Reject", "one button per option");
    await append([wrap({ id: 7, result: { outcome: { outcome: "selected", optionId: "allow" } } })]);
    await box.waitFor({ state: "hidden" });
  });

  await steps.run("diff artifacts preview as a rendered diff with a list of files", async () => {
    const patch = [
      "diff --git a/src/login.ts b/src/login.ts",
      "--- a/src/login.ts",
      "+++ b/src/login.ts",
      "@@ -1,3 +1,3 @@",
      "-export function login(user, password) {",
      "+export async function login(user, password) {",
      "   const session = createSession(user);",
      `+// ${XSS.replace(/\n/g, " ")}`,
      "diff --git a/README.md b/README.md",
      "--- a/README.md",
      "+++ b/README.md",
      "@@ -10,2 +10,3 @@",
      " ## Login",
      "+Passwords are required.",
      "",
    ].join("\n");
    await post(`${runApi}artifacts/`, {
      artifacts: [
        { name: "changes.diff", type: "output", content: patch, content_type: "text/plain" },
        { name: "fix", type: "output", content: patch, content_type: "text/x-diff" },
        { name: "notes.txt", type: "output", content: patch, content_type: "text/plain" },
      ],
    });
    for (const name of ["changes.diff", "fix"]) {
      const art = page.locator(`.artifact[data-name='${name}']`);
      await art.getByRole("button", { name: "Preview" }).click();
      await art.locator(".patch").waitFor();
      eq(await art.locator(".diff-files li a").allTextContents().then((l) => l.join(",")), "src/login.ts,README.md", `${name}: the list of files`);
      eq(await art.locator(".diff-files li").first().locator(".diff-count").allTextContents().then((l) => l.join(" ")), "+2 −1", `${name}: the first file's counts`);
      eq(await art.locator(".diff-line.del .code").first().textContent(), "export function login(user, password) {", `${name}: a removed line`);
      assert((await art.locator(".diff-line.add .code").allTextContents()).some((t) => t.includes("<script>")), `${name}: hostile lines stay text`);
      eq(await art.locator("script, img, svg").count(), 0, `${name}: no element from the diff`);
    }
    const notes = page.locator(".artifact[data-name='notes.txt']");
    await notes.getByRole("button", { name: "Preview" }).click();
    await notes.locator(".artifact-text").waitFor();
    eq(await notes.locator(".patch").count(), 0, "other text previews as text");
    await noXss();
    await page.locator(".artifact[data-name='changes.diff']").scrollIntoViewIfNeeded();
    await shot(page, "20-artifact-diff-preview");
  });

  await steps.run("Cancel asks first, then the run ends as cancelled live", async () => {
    const cancel = page.getByRole("button", { name: "Cancel run" });
    await cancel.click();
    await page.getByRole("dialog").getByRole("button", { name: "Cancel", exact: true }).click();
    await page.locator(".head-badge").getByText("Running").waitFor();
    await cancel.click();
    await page.getByRole("dialog").getByRole("button", { name: "Cancel run" }).click();
    await page.locator(".head-badge").getByText("Cancelled").waitFor();
    await cancel.waitFor({ state: "hidden" });
  });

  await steps.run("phone width: the conversation fits", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}${runPath}`);
    await page.locator(".tool-card").first().waitFor();
    await conv.evaluate((vp) => (vp.scrollTop = 0));
    await page.waitForTimeout(200);
    await shot(page, "13-run-conversation-phone", { fullPage: false });
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(wide <= 390, `the run page fits a phone (scrollWidth ${wide})`);
    await page.setViewportSize({ width: 1280, height: 860 });
  });
}
