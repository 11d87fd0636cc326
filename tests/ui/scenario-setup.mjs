// First run of a server reachable from the network: without the console's link the setup
// page asks for the token and a wrong one is refused; the link fills it in, leaves the
// address bar, and makes the administrator.

import { assert, eq } from "./lib.mjs";

/** @param {{base: string, page: import("playwright-core").Page, steps: import("./lib.mjs").Steps, args: string[]}} t */
export async function setupScenario(t) {
  const { base, page, steps, shot, args } = t;
  const [link] = args;
  const heading = (name) => page.getByRole("heading", { name, exact: true });

  await steps.run("without the link, setup asks for the token and refuses a wrong one", async () => {
    await page.goto(`${base}/`);
    await heading("Welcome to Burrow").waitFor();
    await page.getByLabel("Setup token").fill("not-the-token");
    await page.getByLabel("Email").fill("mallory@example.com");
    await page.getByLabel("Password", { exact: true }).fill("correct horse battery");
    await page.getByRole("button", { name: "Create account and sign in" }).click();
    await page.getByText("one-time setup link").waitFor();
    await shot(page, "setup-refused");
  });

  await steps.run("the setup link makes the administrator", async () => {
    await page.goto(link);
    await heading("Welcome to Burrow").waitFor();
    assert(!(await page.getByLabel("Setup token").isVisible()), "the link's token needs no typing");
    eq(new URL(page.url()).hash, "", "the token leaves the address bar");
    await page.getByLabel("Email").fill("ada@example.com");
    await page.getByLabel("Password", { exact: true }).fill("correct horse battery");
    await page.getByRole("button", { name: "Create account and sign in" }).click();
    await heading("Tasks").waitFor();
  });
}
