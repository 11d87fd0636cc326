// A run with a long log (tests/ui.rs appends 100,000 entries through the API first): the page
// opens on its end (its tail, fetched first) with a bounded heap, and prints how long that and scrolling take (the
// target is under 2 s each), keeps only the visible rows in the DOM,
// stops following when scrolled up, counts what arrived meanwhile, jumps back to the bottom,
// and filters fast.

import { loadavg } from "node:os";
import { apiClient, assert, eq, until, logRows, signIn } from "./lib.mjs";

export async function bigLogScenario({ base, page, steps, shot, args }) {
  const [email, password, runPath, key, expected] = args;
  const total = Number(expected);
  const api = apiClient(base, key);
  const fmt = (n) => new Intl.NumberFormat("en").format(n);

  await steps.run("sign in", async () => {
    await signIn(page, base, email, password);
  });

  await steps.run(`${fmt(total)} entries of every kind read as a conversation, fast`, async () => {
    let t0 = Date.now();
    await page.goto(`${base}${runPath}`);
    const last = `entry ${total}`;
    await until(page, (t) => [...document.querySelectorAll(".conv-text")].some((e) => e.textContent === t), last, "the last entry in the conversation", 60000);
    const open = Date.now() - t0;
    console.log(`# conversation: the end of ${fmt(total)} entries shown in ${open} ms`);
    // A figure, not a timed assertion (which would flake on a busy machine): the target is
    // under 2 s, and the README quotes what was measured.
    console.log(`# target under 2 s: ${open < 2000 ? "met" : "missed"} (load ${loadavg()[0].toFixed(1)})`);
    const inDom = await page.locator(".conv-item").count();
    assert(inDom < 300, `only items near the view are in the DOM (${inDom})`);
    // The page opened on the log's tail; the whole session replaces it once merged.
    await until(page, () => !document.querySelector(".conv-viewport[aria-busy]"), null, "the whole session merged", 60000);
    // Chromium's figure is rounded for privacy, but a leak of the 7 MB log would show.
    const heap = await page.evaluate(() => (performance.memory ? Math.round(performance.memory.usedJSHeapSize / 1e6) : 0));
    console.log(`# conversation: the whole session merged ${Date.now() - t0} ms after opening the page; JS heap ${heap} MB`);
    assert(heap < 150, `the page holds the session in under 150 MB of JS heap (${heap} MB)`);
    await until(page, (t) => [...document.querySelectorAll(".conv-text")].some((e) => e.textContent === t), last, "the end, from the whole session");
    t0 = Date.now();
    await page.locator(".conv-viewport").evaluate((vp) => (vp.scrollTop = 0));
    await until(page, () => [...document.querySelectorAll(".conv-text")].some((e) => e.textContent === "entry 1"), null, "the first entry in view");
    const top = Date.now() - t0;
    t0 = Date.now();
    await page.locator(".conv-viewport").evaluate((vp) => (vp.scrollTop = vp.scrollHeight));
    await until(page, (t) => [...document.querySelectorAll(".conv-text")].some((e) => e.textContent === t), last, "the end in view again");
    const end = Date.now() - t0;
    console.log(`# conversation: scrolled to the top in ${top} ms, to the end in ${end} ms`);
    console.log(`# target under 2 s each: ${top < 2000 && end < 2000 ? "met" : "missed"}`);
    await page.locator(".tool-card .diff").first().waitFor();
    await shot(page, "14-run-long-conversation", { fullPage: false });
  });

  await steps.run(`${fmt(total)} log entries load and stay virtualised`, async () => {
    const t0 = Date.now();
    await page.goto(`${base}${runPath}?view=raw`);
    await until(page, (n) => document.querySelector(".log-count")?.textContent === n, `${fmt(total)} entries`, "the whole log", 60000);
    const ms = Date.now() - t0;
    console.log(`# ${fmt(total)} entries shown in ${ms} ms`);
    assert(ms < 30000, `the log loads in under 30 s (took ${ms} ms)`);
    const inDom = await page.locator(".log-row").count();
    assert(inDom < 200, `only visible rows are in the DOM (${inDom})`);
    const rows = await logRows(page);
    eq(rows[rows.length - 1], `entry ${total}`, "following: the last entry is in view");
    await shot(page, "11-run-long-log");
  });

  await steps.run("scrolling up stops following; new entries are counted; jump returns", async () => {
    await page.locator(".log-viewport").evaluate((vp) => (vp.scrollTop = 0));
    await page.getByRole("button", { name: "Jump to latest" }).waitFor();
    await until(page, () => document.querySelector(".log-row:not([hidden]) .log-text")?.textContent === "entry 1", null, "the first entry in view");
    await api("POST", `${runPath}/append_log/`, { entries: [{ type: "info", message: "one more" }] });
    await page.getByRole("button", { name: "Jump to latest (1 new)" }).waitFor();
    eq(await page.locator(".log-viewport").evaluate((vp) => vp.scrollTop), 0, "the view stays where the user put it");
    await page.getByRole("button", { name: /Jump to latest/ }).click();
    await until(page, () => [...document.querySelectorAll(".log-row:not([hidden]) .log-text")].some((e) => e.textContent === "one more"), null, "the newest entry in view");
    assert(await page.getByRole("button", { name: /Jump to latest/ }).isHidden(), "the jump button hides at the bottom");
  });

  await steps.run("the filter narrows a long log quickly", async () => {
    const t0 = Date.now();
    await page.getByLabel("Filter the log").fill("entry 99999");
    await until(page, (n) => document.querySelector(".log-count")?.textContent === `1 of ${n} entries`, fmt(total + 1), "one match");
    const ms = Date.now() - t0;
    console.log(`# filtered ${fmt(total + 1)} entries in ${ms} ms`);
    assert(ms < 3000, `filtering takes under 3 s (took ${ms} ms)`);
    // The count and the rows update in different frames: wait for the rows to show the match.
    await until(
      page,
      () => [...document.querySelectorAll(".log-row:not([hidden]) .log-text")].map((e) => e.textContent).join() === "entry 99999",
      null,
      "the match in view",
    );
    eq((await logRows(page)).join(), "entry 99999", "the match");
  });
}
