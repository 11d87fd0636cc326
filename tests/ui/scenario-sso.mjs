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

/**
 * A refused sign-in, in the browser: `sso-refused ISSUER HOW LOGIN CODE`. HOW is `plain`
 * (the provider's answer is refused: a tampered token, an unverified email, a domain),
 * `state` (a callback with a forged state comes back while a sign-in is in flight), `replay` (a callback already
 * used is opened again, in another browser) or `proxy-header` (the browser itself sends the
 * authenticating proxy's header, which Burrow must ignore). Each ends on the sign-in page,
 * not signed in, with the refusal's code when the callback refused it.
 * @param {{base: string, page: import("playwright-core").Page, browser: import("playwright-core").Browser, steps: import("./lib.mjs").Steps, args: string[]}} t
 */
export async function ssoRefusedScenario(t) {
  const { base, page, browser, steps, args } = t;
  const [issuer, how, login, code] = args;
  const refusedWith = (p) => p.waitForRequest((r) => r.url().startsWith(`${base}/?sso_error=${code}`), { timeout: 30000 });
  const notSignedIn = async (p) => {
    await p.getByRole("heading", { name: "Sign in", exact: true }).waitFor();
    const me = await p.evaluate(async () => (await fetch("/api/auth/state")).json());
    assert(!me.user, `not signed in (${JSON.stringify(me.user)})`);
  };

  await steps.run(`${how}: ${login} is refused${code === "-" ? "" : ` with ${code}`}, and not signed in`, async () => {
    if (how === "plain") {
      const refused = refusedWith(page);
      await viaProvider(page, base, issuer, login);
      await refused;
      await page.locator(".sso-message").filter({ hasText: /\S/ }).waitFor();
      await notSignedIn(page);
    } else if (how === "state") {
      // A sign-in is in flight in this browser; a callback with another state comes back.
      await page.goto(`${base}/`);
      await page.getByRole("link", { name: "Sign in with Test IdP" }).click();
      await page.waitForURL((url) => url.href.startsWith(`${issuer}/interaction/`));
      const refused = refusedWith(page);
      await page.goto(`${base}/api/auth/sso/callback?code=some-code&state=forged-state`);
      await refused;
      await page.locator(".sso-message").filter({ hasText: /\S/ }).waitFor();
      await notSignedIn(page);
    } else if (how === "replay") {
      const callback = page.waitForRequest((r) => r.url().startsWith(`${base}/api/auth/sso/callback`));
      await viaProvider(page, base, issuer, login);
      await page.getByRole("heading", { name: "Tasks", exact: true }).waitFor();
      const used = (await callback).url();
      const other = await browser.newContext({ viewport: { width: 1280, height: 860 } });
      try {
        const p = await other.newPage();
        const refused = refusedWith(p);
        await p.goto(used);
        await refused;
        await notSignedIn(p);
      } finally {
        await other.close();
      }
    } else if (how === "proxy-header") {
      const other = await browser.newContext({ extraHTTPHeaders: { "X-Forwarded-Email": login } });
      try {
        const p = await other.newPage();
        await p.goto(`${base}/`);
        await notSignedIn(p);
      } finally {
        await other.close();
      }
    } else {
      throw new Error(`unknown refusal ${how}`);
    }
  });
}
