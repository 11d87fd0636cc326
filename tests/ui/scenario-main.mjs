// The main scenario on a fresh server: first-run account, sign-out (ended on the server),
// failed and throttled sign-in, sign-in, API keys, tasks (create, edit, delete, filters,
// paging), then the run page (scenario-run.mjs), administration, phone width, revoking.

import { Steps, apiClient, assert, eq, until } from "./lib.mjs";
import { runScenario } from "./scenario-run.mjs";

const ADMIN = { email: "ada@example.com", password: "correct horse battery" };

/** @param {{base: string, page: import("playwright-core").Page, steps: Steps}} t */
export async function mainScenario(t) {
  const { base, page, context, steps, shot } = t;
  const heading = (name) => page.getByRole("heading", { name, exact: true });
  let api = null;
  let taskId = null;

  await steps.run("first run offers to create the admin account", async () => {
    await page.goto(`${base}/`);
    await heading("Welcome to Burrow").waitFor();
    await shot(page, "01-first-run");
    await page.getByLabel("First name").fill("Ada");
    await page.getByLabel("Last name").fill("Lovelace");
    await page.getByLabel("Email").fill(ADMIN.email);
    await page.getByLabel("Password").fill(ADMIN.password);
    await page.getByRole("button", { name: "Create account and sign in" }).click();
    await heading("Tasks").waitFor();
    await page.getByText("No tasks yet").waitFor();
    await page.getByText("Ada Lovelace").waitFor();
  });

  await steps.run("sign-out ends the session on the server", async () => {
    const cookie = (await context.cookies()).find((c) => c.name === "burrow_session");
    assert(cookie && cookie.httpOnly, "an HttpOnly session cookie is set");
    await page.getByRole("button", { name: "Sign out" }).click();
    await heading("Sign in").waitFor();
    const res = await fetch(`${base}/api/projects/`, { headers: { Cookie: `burrow_session=${cookie.value}` } });
    eq(res.status, 401, "the old session cookie no longer works");
  });

  await steps.run("a failed sign-in says so", async () => {
    await page.getByLabel("Email").fill(ADMIN.email);
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("That email and password do not match an account").waitFor();
    await shot(page, "02-sign-in-failed");
  });

  await steps.run("repeated failures show the throttling message", async () => {
    await page.getByLabel("Email").fill("mallory@example.com");
    const button = page.getByRole("button", { name: "Sign in" });
    for (let i = 0; i < 8; i += 1) {
      await page.getByLabel("Password").fill(`guess number ${i}`);
      await button.click();
      await until(page, () => {
        const b = document.querySelector("form button[type=submit]");
        const m = document.querySelector(".form-message");
        return (!b.disabled && !m.hidden) || /Too many/.test(m.textContent);
      }, null, "an answer to the sign-in");
      if (/Too many/.test(await page.locator(".form-message").textContent())) break;
    }
    await page.getByText(/Too many failed sign-ins\. Wait \d+ seconds? before trying again\./).waitFor();
    assert(await button.isDisabled(), "the button waits out the throttle");
  });

  await steps.run("sign-in with email and password", async () => {
    await page.goto(`${base}/`);
    await page.getByLabel("Email").fill(ADMIN.email);
    await page.getByLabel("Password").fill(ADMIN.password);
    await shot(page, "03-sign-in");
    await page.getByRole("button", { name: "Sign in" }).click();
    await heading("Tasks").waitFor();
  });

  await steps.run("create a personal API key; its value is shown once with a copy button", async () => {
    await page.getByLabel("Main").getByRole("link", { name: "API keys" }).click();
    await heading("API keys").waitFor();
    await page.getByText("No keys yet").waitFor();
    await page.getByLabel("Label").fill("e2e agent");
    await page.getByLabel("* (all)").check();
    await page.getByRole("button", { name: "Create key" }).click();
    const value = await page.locator(".secret-value").inputValue();
    assert(/^phx_\w{20,}$/.test(value), `a phx_ key is shown, got ${value}`);
    await page.getByRole("button", { name: "Copy" }).click();
    await page.getByText("Copied").waitFor();
    const row = page.locator("tr", { hasText: "e2e agent" });
    await row.getByText("Never").waitFor();
    await row.getByText("task:write").waitFor();
    api = apiClient(base, value);
    await api("GET", "/projects/1/tasks/");
    await page.reload();
    await heading("API keys").waitFor();
    assert((await page.locator(".secret-value").count()) === 0, "the value is not shown again");
  });

  await steps.run("create a task from the page", async () => {
    await page.getByLabel("Main").getByRole("link", { name: "Tasks" }).click();
    await page.getByRole("button", { name: "New task" }).first().click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Title").fill("Fix the flaky login test");
    await dialog.getByLabel("Description").fill("The login test fails one run in ten.\nFind out why.");
    await dialog.getByLabel("Repository").fill("acme/nope/extra");
    await dialog.getByRole("button", { name: "Create task" }).click();
    await dialog.locator(".field[data-name=repository] .field-error").filter({ hasText: /./ }).waitFor();
    await dialog.getByLabel("Repository").fill("Acme/Web");
    await dialog.getByRole("button", { name: "Create task" }).click();
    await heading("Fix the flaky login test").waitFor();
    taskId = page.url().split("/tasks/")[1];
    await page.getByText("acme/web").waitFor();
    await page.getByText("No runs yet").waitFor();
    const task = await api("GET", `/projects/1/tasks/${taskId}/`);
    eq(task.description, "The login test fails one run in ten.\nFind out why.", "description saved");
  });

  await steps.run("edit a task", async () => {
    await page.getByRole("button", { name: "Edit" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Title").fill("Fix the flaky login test on CI");
    await dialog.getByLabel("Assignee").fill("claude");
    await dialog.getByRole("button", { name: "Save changes" }).click();
    await heading("Fix the flaky login test on CI").waitFor();
    await page.getByText("claude", { exact: true }).waitFor();
    await shot(page, "05-task");
  });

  await steps.run("the list pages, searches and filters", async () => {
    for (let i = 0; i < 60; i += 10) {
      await Promise.all(
        Array.from({ length: 10 }, (_, k) => {
          const n = i + k;
          return api("POST", "/projects/1/tasks/", {
            title: `Seeded task ${n}`,
            description: `Seeded for paging ${n}`,
            origin_product: n % 3 === 0 ? "slack" : "user_created",
            repository: n % 2 ? "acme/api" : "other/web",
          });
        }),
      );
    }
    await page.getByLabel("Main").getByRole("link", { name: "Tasks" }).click();
    const summary = page.locator(".list-summary");
    await until(page, () => document.querySelector(".list-summary")?.textContent === "1–50 of 61 tasks", null, "page one of 61");
    eq(await page.locator(".task-row").count(), 50, "rows on page one");
    await page.getByRole("button", { name: "Next →" }).click();
    await until(page, () => document.querySelector(".list-summary")?.textContent === "51–61 of 61 tasks", null, "page two");
    assert(page.url().includes("offset=50"), "the page is in the URL");
    await page.getByRole("button", { name: "← Previous" }).click();
    await until(page, () => document.querySelector(".list-summary")?.textContent.startsWith("1–50"), null, "back on page one");
    await page.getByLabel("Search").fill("flaky");
    await until(page, () => document.querySelectorAll(".task-row").length === 1, null, "one search result");
    await page.locator(".task-row").getByText("Fix the flaky login test on CI").waitFor();
    await page.getByRole("button", { name: "Clear filters" }).first().click();
    await page.getByLabel("Repository").fill("acme/api");
    await until(page, () => document.querySelector(".list-summary")?.textContent === "1–30 of 30 tasks", null, "30 in acme/api");
    await page.getByLabel("Origin").selectOption("slack");
    await until(page, () => document.querySelector(".list-summary")?.textContent === "1–10 of 10 tasks", null, "10 slack tasks in acme/api");
    await page.getByLabel("Organization").fill("nobody");
    await page.getByText("No tasks match these filters").waitFor();
    await page.getByRole("button", { name: "Clear filters" }).first().click();
    await until(page, () => document.querySelector(".list-summary")?.textContent === "1–50 of 61 tasks", null, "filters cleared");
    eq(await summary.textContent(), "1–50 of 61 tasks", "summary");
  });

  await steps.run("delete a task", async () => {
    const doomed = await api("POST", "/projects/1/tasks/", { title: "Throwaway", description: "Delete me", origin_product: "user_created" });
    await page.goto(`${base}/projects/1/tasks/${doomed.id}`);
    await heading("Throwaway").waitFor();
    await page.getByRole("button", { name: "Delete" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Delete task" }).click();
    await heading("Tasks").waitFor();
    await api("GET", `/projects/1/tasks/${doomed.id}/`, null, 404);
  });

  await runScenario({ ...t, api, taskId: () => taskId, heading });

  await steps.run("revoke a key", async () => {
    await page.getByLabel("Main").getByRole("link", { name: "API keys" }).click();
    const row = page.locator("tr", { hasText: "e2e agent" });
    await row.locator("td[data-label='Last used'] time").waitFor();
    await shot(page, "07-keys");
    await page.getByRole("button", { name: "Revoke e2e agent" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Revoke key" }).click();
    await page.getByText("No keys yet").waitFor();
    await api("GET", "/projects/1/tasks/", null, 401);
  });

  await steps.run("sign out at the end", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await heading("Sign in").waitFor();
  });
}
