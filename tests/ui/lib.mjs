// The small harness of the browser tests: named steps that stop at the first failure, a
// JSON API client with a personal API key, waiting helpers and screenshots.

import { mkdirSync } from "node:fs";
import { join } from "node:path";

export class Failure extends Error {}

export function assert(cond, message) {
  if (!cond) throw new Failure(message);
}

export function eq(actual, expected, message) {
  if (actual !== expected) throw new Failure(`${message}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

/** Runs steps in order; prints TAP-like lines. Returns true when all passed. */
export class Steps {
  constructor() {
    this.passed = 0;
    this.failed = null;
  }

  async run(name, fn) {
    if (this.failed) return;
    const t0 = Date.now();
    try {
      await fn();
      this.passed += 1;
      console.log(`ok ${this.passed} - ${name} (${Date.now() - t0} ms)`);
    } catch (err) {
      this.failed = name;
      console.log(`not ok - ${name}\n  ${String(err && err.stack ? err.stack : err).split("\n").join("\n  ")}`);
    }
  }
}

/** A client for Burrow's JSON API with `Authorization: Bearer <key>`. */
export function apiClient(base, key) {
  return async function api(method, path, body, expected = null) {
    const res = await fetch(`${base}/api${path}`, {
      method,
      headers: { Authorization: `Bearer ${key}`, ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (expected !== null) eq(res.status, expected, `${method} ${path} status (${text.slice(0, 200)})`);
    else assert(res.ok, `${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : null;
  };
}

export function screenshots(dir) {
  mkdirSync(dir, { recursive: true });
  return async (page, name, options = {}) => {
    await page.waitForTimeout(150);
    await page.screenshot({ path: join(dir, `${name}.png`), fullPage: options.fullPage ?? true });
  };
}

/** Waits until `fn()` (run in the page) is truthy. */
export async function until(page, fn, arg, what, timeout = 15000) {
  try {
    await page.waitForFunction(fn, arg, { timeout, polling: 50 });
  } catch {
    throw new Failure(`timed out waiting for ${what}`);
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The text of the log rows currently in the DOM (the virtualised window). */
export function logRows(page) {
  return page.$$eval(".log-row:not([hidden]) .log-text", (els) => els.map((e) => e.textContent));
}

/** Signs in from the front page and waits for the task list. */
export async function signIn(page, base, email, password) {
  await page.goto(`${base}/`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Tasks", exact: true }).waitFor();
}
