// Single sign-on through a real OpenID provider on loopback (tests/oidc/provider.mjs):
// `sso ISSUER` signs in with the "Sign in with Test IdP" button, then, in a fresh browser,
// sees a refused sign-in (a domain not allowed) land on the sign-in page with its reason.
// `sso-only ISSUER` (a server with --password-login false) shows the button and no password
// form.

import { assert } from "./lib.mjs";

/** Clicks the SSO button and signs in at the provider as `login`. */
async function viaProvider(page, base, issuer, login) {
  await page.goto(`${base}/`);
  await page.getByRole("link", { name: "Sign in with Test IdP" }).click();
  await page.waitForURL((url) => url.href.startsWith(`${issuer}/interaction/`));
  await page.getByLabel("Login").fill(login);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** @param {{base: string, page: import("playwright-core").Page, browser: import("playwright-core").Browser, steps: import("./lib.mjs").Steps, args: string[]}} t */
export async function ssoScenario(t) {
  const { base, page, browser, steps, shot, args } = t;
  const [issuer] = args;

  await steps.run("the sign-in page offers single sign-on beside the password form", async () => {
    await page.goto(`${base}/`);
    await page.getByRole("link", { name: "Sign in with Test IdP" }).waitFor();
    assert(await page.getByLabel("Password").isVisible(), "the password form is shown");
    await shot(page, "sso-login");
  });

  await steps.run("signing in at the provider lands signed in", async () => {
    await viaProvider(page, base, issuer, "carol@allowed.test");
    await page.getByRole("heading", { name: "Tasks", exact: true }).waitFor();
    assert(page.url().startsWith(base), `back at Burrow, not ${page.url()}`);
    await page.getByText("carol@allowed.test").first().waitFor();
  });

  await steps.run("a domain that is not allowed is refused with its reason", async () => {
    const other = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const p = await other.newPage();
    try {
      await viaProvider(p, base, issuer, "bob@other.test");
      await p.getByText("Your email domain is not allowed").waitFor();
      await p.getByRole("heading", { name: "Sign in", exact: true }).waitFor();
      assert(!new URL(p.url()).search.includes("sso_error"), "the code leaves the address bar");
      await shot(p, "sso-refused");
    } finally {
      await other.close();
    }
  });
}

/** @param {{base: string, page: import("playwright-core").Page, steps: import("./lib.mjs").Steps}} t */
export async function ssoOnlyScenario(t) {
  const { base, page, steps, shot } = t;
  await steps.run("without password sign-in, only the SSO button is shown", async () => {
    await page.goto(`${base}/`);
    await page.getByRole("link", { name: "Sign in with Test IdP" }).waitFor();
    assert((await page.getByLabel("Password").count()) === 0, "no password field");
    assert((await page.getByRole("button", { name: "Sign in", exact: true }).count()) === 0, "no password sign-in button");
    await shot(page, "sso-only");
  });
}
