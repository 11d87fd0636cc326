// Talking to a run's agent from the run page: a permission question put in the run's state
// (`state.pending_permission`, as Burrow's ACP runner does with --agent-permissions ask)
// shows one button per option and a click lands in `state.permission_answer`; a stale
// answer says why it was refused; the message box queues follow-ups in
// `state.pending_user_message`, shows what is waiting and the server's errors, and goes
// away when the run ends.

import { assert, eq, apiClient, signIn } from "./lib.mjs";

const XSS = "<img src=x onerror=window.__xss=1>";

function question(requestId, title) {
  return {
    request_id: requestId,
    tool_call: { toolCallId: `call-${requestId}`, title, kind: "execute", status: "pending", locations: [{ path: "deploy/push.sh" }] },
    options: [
      { optionId: "allow-once", name: "Allow once", kind: "allow_once" },
      { optionId: "allow-always", name: "Always allow", kind: "allow_always" },
      { optionId: "reject-once", name: `Reject ${XSS}`, kind: "reject_once" },
    ],
  };
}

export async function agentScenario({ base, page, steps, shot, args }) {
  const [email, password, runPath, key] = args;
  const api = apiClient(base, key);
  const runApi = `${runPath}/`;
  const box = page.locator(".conv-permission");
  const composer = page.getByRole("form", { name: "Message the agent" });
  const text = page.getByRole("textbox", { name: "Message the agent" });
  const noXss = async () => eq(await page.evaluate(() => window.__xss), undefined, "window.__xss");

  await steps.run("sign in and open a live run: a message box, no question", async () => {
    await signIn(page, base, email, password);
    await page.goto(`${base}${runPath}`);
    await page.locator(".live-state", { hasText: "Live" }).waitFor();
    await composer.waitFor();
    assert(await box.isHidden(), "no question yet");
  });

  await steps.run("a question put in the run's state shows live, one button per option", async () => {
    await api("PATCH", runApi, { state: { pending_permission: question("perm-1", `Run git push ${XSS}`) } });
    await box.getByText(`Run git push ${XSS}`).waitFor();
    eq((await box.getByRole("button").allTextContents()).join(" | "), `Allow once | Always allow | Reject ${XSS}`, "the options");
    eq(await box.locator(".conv-permission-locs").textContent(), "deploy/push.sh", "where it acts");
    eq(await box.locator("img").count(), 0, "no element from the question's text");
    await noXss();
    await composer.scrollIntoViewIfNeeded();
    await shot(page, "14-run-permission-question", { fullPage: false });
  });

  await steps.run("clicking an option answers it: state.permission_answer, and the question goes", async () => {
    await box.getByRole("button", { name: "Always allow" }).click();
    await box.waitFor({ state: "hidden" });
    const run = await api("GET", runApi);
    eq(JSON.stringify(run.state.permission_answer), JSON.stringify({ request_id: "perm-1", option_id: "allow-always" }), "the answer");
    eq(run.state.pending_permission, undefined, "the question is off the run");
  });

  await steps.run("an answer the server refuses says why, and the buttons work again", async () => {
    await api("PATCH", runApi, { state: { pending_permission: question("perm-2", "Delete the build cache") } });
    // A tab that stopped hearing from the server, while someone else answers elsewhere.
    await page.route("**/stream/**", () => {});
    await page.goto(`${base}${runPath}`);
    await box.getByText("Delete the build cache").waitFor();
    await api("POST", `${runApi}permission/`, { request_id: "perm-2", option_id: "reject-once" });
    await box.getByRole("button", { name: "Allow once" }).click();
    await box.getByRole("alert").getByText("No permission question with this request_id is waiting on this run.").waitFor();
    assert(await box.getByRole("button", { name: "Allow once" }).isEnabled(), "the buttons are enabled again");
    await page.unroute("**/stream/**");
    const run = await api("GET", runApi);
    eq(run.state.permission_answer.option_id, "reject-once", "the first answer stands");
  });

  await steps.run("a follow-up message lands in state.pending_user_message; a second joins it", async () => {
    await page.goto(`${base}${runPath}`);
    await page.locator(".live-state", { hasText: "Live" }).waitFor();
    await text.fill("Please also update the changelog.");
    await text.press("Control+Enter");
    await composer.getByText("Waiting for the agent to read: “Please also update the changelog.”").waitFor();
    eq(await text.inputValue(), "", "the box is cleared");
    let run = await api("GET", runApi);
    eq(run.state.pending_user_message, "Please also update the changelog.", "the queued message");
    await text.fill(`And run the linter ${XSS}`);
    await composer.getByRole("button", { name: "Send" }).click();
    await composer.getByText(/Waiting for the agent to read: “Please also update the changelog.\s+And run the linter/).waitFor();
    run = await api("GET", runApi);
    eq(run.state.pending_user_message, `Please also update the changelog.\n\nAnd run the linter ${XSS}`, "both messages wait, in order");
    eq(await composer.locator("img").count(), 0, "no element from the message");
    await noXss();
    await composer.scrollIntoViewIfNeeded();
    await shot(page, "15-run-follow-up", { fullPage: false });
  });

  await steps.run("a blank message shows the server's error at the box", async () => {
    await text.fill("   ");
    await composer.getByRole("button", { name: "Send" }).click();
    await composer.getByText("This field may not be blank.").waitFor();
    eq(await text.getAttribute("aria-invalid"), "true", "the box is marked invalid");
    await text.fill("Thanks");
    await text.press("Control+Enter");
    await composer.getByText(/Thanks”$/).waitFor();
    eq(await composer.getByText("This field may not be blank.").count(), 0, "the error is cleared");
  });

  await steps.run("when the run ends the box and the question go", async () => {
    await api("PATCH", runApi, { state: { pending_permission: question("perm-3", "Push again") } });
    await box.getByText("Push again").waitFor();
    await api("PATCH", runApi, { status: "completed" });
    await page.locator(".head-badge").getByText("Completed").waitFor();
    await composer.waitFor({ state: "hidden" });
    await box.waitFor({ state: "hidden" });
  });
}
