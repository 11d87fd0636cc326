// A project's webhooks from the UI: the empty state, a refused URL and an empty event list
// shown at their fields, adding one (its secret shown once), the list, a delivery with its
// failed and successful attempts (the receiver answers 500 first), delete, and a deleted
// webhook's deliveries, still readable. The server allows loopback webhooks only.

import { assert, eq, apiClient, sleep, Failure, signIn } from "./lib.mjs";

export async function webhooksScenario({ base, page, steps, shot, args }) {
  const [email, password, key, receiver] = args;
  const api = apiClient(base, key);
  const form = page.getByRole("form", { name: "New webhook" });
  const url = page.getByLabel("Payload URL");
  let hookId = null;
  let secret = "";

  await steps.run("sign in; the Webhooks page says what to do first", async () => {
    await signIn(page, base, email, password);
    await page.getByRole("link", { name: "Webhooks" }).click();
    await page.getByRole("heading", { name: "Webhooks", level: 1 }).waitFor();
    await page.getByText("No webhooks yet").waitFor();
    eq(await page.locator(".nav-link[aria-current=page]").textContent(), "Webhooks", "the nav shows where we are");
  });

  await steps.run("a refused host and an empty event list show at their fields", async () => {
    await url.fill("http://169.254.169.254/latest/meta-data");
    await form.getByRole("button", { name: "Add webhook" }).click();
    await form.locator(".field[data-name=url] .field-error", { hasText: "may not be sent to this host" }).waitFor();
    eq(await url.getAttribute("aria-invalid"), "true", "the URL is marked");
    await url.fill(`${receiver}/hooks`);
    for (const box of await form.getByRole("checkbox").all()) await box.uncheck();
    await form.getByRole("button", { name: "Add webhook" }).click();
    await form.locator(".field[data-name=events] .field-error", { hasText: "This list may not be empty." }).waitFor();
    eq((await api("GET", "/projects/1/webhooks/")).count, 0, "nothing was made");
  });

  await steps.run("add one: the secret is shown once, the list shows it", async () => {
    for (const ev of ["task.created", "run.completed"]) await form.getByRole("checkbox", { name: new RegExp(ev.replace(".", "\\.")) }).check();
    await url.press("Enter");
    const box = page.getByLabel("Webhook secret");
    await box.waitFor();
    secret = await box.inputValue();
    assert(/^whsec_\w{20,}$/.test(secret), `a generated secret: ${secret}`);
    eq(await page.evaluate(() => document.activeElement.getAttribute("aria-label")), "Webhook secret", "the secret has focus");
    const row = page.locator(".hooks-table tbody tr");
    await row.waitFor();
    eq(await row.locator(".hook-url").textContent(), `${receiver}/hooks`, "the URL");
    eq((await row.locator(".chip").allTextContents()).join(" "), "task.created run.completed", "its events");
    eq(await url.inputValue(), "", "the form is cleared");
    const list = await api("GET", "/projects/1/webhooks/");
    eq(list.count, 1, "one webhook");
    hookId = list.results[0].id;
    eq(list.results[0].secret, undefined, "no later answer holds the secret");
    await shot(page, "16-webhooks");
    await page.reload();
    await row.waitFor();
    eq(await page.getByLabel("Webhook secret").count(), 0, "the secret is gone after a reload");
    eq(await page.getByText(secret).count(), 0, "nowhere on the page");
  });

  await steps.run("a delivery shows with each attempt: the 500, then the 200", async () => {
    await api("POST", "/projects/1/tasks/", { title: "Hook me", description: "d", origin_product: "user_created" });
    await page.locator(".hooks-table").getByRole("link", { name: /Deliveries of/ }).click();
    await page.getByRole("heading", { name: `${receiver}/hooks` }).waitFor();
    const item = page.locator(".delivery").first();
    const deadline = Date.now() + 20000;
    for (;;) {
      if ((await item.count()) && (await item.getAttribute("data-status")) === "delivered") break;
      if (Date.now() > deadline) throw new Failure("the delivery did not become delivered");
      await sleep(300);
      await page.getByRole("button", { name: "Refresh" }).click();
    }
    await item.locator(":scope > summary").click();
    eq(await item.locator(".delivery-event").textContent(), "task.created", "the event");
    eq(await item.locator(".badge").textContent(), "Delivered", "the status");
    const answers = await item.locator(".attempts tbody .attempt-answer").allTextContents();
    eq(answers.join(" | "), "HTTP 500 | HTTP 200", "every attempt, in order");
    eq(await item.locator(".attempts tbody tr[data-ok=false]").count(), 1, "the failed attempt is marked");
    await item.locator(".delivery-payload summary").click();
    // The payload is drawn when its block opens (the toggle event comes after the click).
    await item.locator(".delivery-payload pre", { hasText: "Hook me" }).waitFor();
    const payload = JSON.parse(await item.locator(".delivery-payload pre").textContent());
    eq(payload.data.task.title, "Hook me", "the payload");
    await page.getByText("1 delivery", { exact: true }).waitFor();
    await shot(page, "17-webhook-deliveries");
  });

  await steps.run("delete asks first; the list empties; the deleted webhook's log stays", async () => {
    await page.getByRole("link", { name: "Webhooks" }).first().click();
    const remove = page.getByRole("button", { name: /^Delete webhook / });
    await remove.click();
    await page.getByRole("dialog").getByRole("button", { name: "Cancel", exact: true }).click();
    eq(await page.locator(".hooks-table tbody tr").count(), 1, "still there after Cancel");
    await remove.click();
    await page.getByRole("dialog").getByRole("button", { name: "Delete webhook" }).click();
    await page.getByText("No webhooks yet").waitFor();
    eq((await api("GET", "/projects/1/webhooks/")).count, 0, "deleted on the server");
    await page.goto(`${base}/projects/1/webhooks/${hookId}`);
    await page.getByText("This webhook was deleted").waitFor();
    await page.locator(".delivery[data-status=delivered]").waitFor();
  });

  await steps.run("phone width: the webhooks page fits", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/projects/1/webhooks`);
    await page.getByText("No webhooks yet").waitFor();
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(wide <= 390, `fits a phone (scrollWidth ${wide})`);
    await page.setViewportSize({ width: 1280, height: 860 });
  });
}
