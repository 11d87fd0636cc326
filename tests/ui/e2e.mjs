// End-to-end tests of Burrow's web UI in headless Chromium (Debian's /usr/bin/chromium driven
// by playwright-core; no browser is downloaded). Started by tests/ui.rs:
//   node tests/ui/e2e.mjs BASE_URL SCREENSHOT_DIR [SCENARIO ARGS...]
// Scenarios: `main` (default, a fresh server), `biglog EMAIL PASSWORD RUN_PATH KEY TOTAL`,
// `conversation EMAIL PASSWORD RUN_PATH KEY`, `agent EMAIL PASSWORD RUN_PATH KEY`,
// `webhooks EMAIL PASSWORD KEY RECEIVER_URL`, `board EMAIL PASSWORD KEY` and `setup LINK`
// (a server that printed a setup link), `sso ISSUER`, `sso-only ISSUER` and `sso-refused ISSUER HOW LOGIN CODE` (single sign-on
// through the test OpenID provider at ISSUER, the one other origin the page may reach).

import { chromium } from "playwright-core";
import { Steps, screenshots } from "./lib.mjs";
import { mainScenario } from "./scenario-main.mjs";
import { bigLogScenario } from "./scenario-biglog.mjs";
import { conversationScenario } from "./scenario-conversation.mjs";
import { setupScenario } from "./scenario-setup.mjs";
import { agentScenario } from "./scenario-agent.mjs";
import { webhooksScenario } from "./scenario-webhooks.mjs";
import { boardScenario } from "./scenario-board.mjs";
import { ssoScenario, ssoOnlyScenario, ssoRefusedScenario } from "./scenario-sso.mjs";

const [base, shotDir = "target/ui-screenshots", scenario = "main", ...rest] = process.argv.slice(2);
if (!base) {
  console.error("usage: node tests/ui/e2e.mjs BASE_URL [SCREENSHOT_DIR] [main | biglog EMAIL PASSWORD RUN_PATH]");
  process.exit(2);
}

// Chromium now and then dies as it starts on a loaded machine (a SIGSEGV before its first
// page, seen in CI): that is the browser's, not the page's, so it gets three tries.
async function launch() {
  for (let attempt = 1; ; attempt++) {
    try {
      return await chromium.launch({
        executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
        headless: true,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      });
    } catch (err) {
      if (attempt === 3) throw err;
      console.log(`# Chromium did not start (try ${attempt} of 3): ${err.message.split("\n")[0]}`);
    }
  }
}
const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true, colorScheme: "light" });
const page = await context.newPage();
page.setDefaultTimeout(15000);

// Any script error in the page fails the run, and so does a request that left the server.
const problems = [];
page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
page.on("console", (msg) => {
  if (msg.type() !== "error") return;
  const text = msg.text();
  // Validation errors, failed sign-ins, revoked keys and a wrong setup token answer
  // 400/401/429/403 on purpose.
  if (/status of (400|401|403|429)/.test(text)) return;
  problems.push(`console error: ${text}`);
});
// Single sign-on scenarios visit their OpenID provider, and nothing else.
const elsewhere = scenario.startsWith("sso") ? [rest[0]] : [];
page.on("request", (req) => {
  if (!req.url().startsWith(base) && !elsewhere.some((o) => req.url().startsWith(o)) && !req.url().startsWith("blob:") && !req.url().startsWith("data:")) {
    problems.push(`request outside the server: ${req.url()}`);
  }
});

const steps = new Steps();
const shot = screenshots(shotDir);
const t0 = Date.now();
try {
  if (scenario === "main") await mainScenario({ base, page, context, browser, steps, shot });
  else if (scenario === "biglog") await bigLogScenario({ base, page, steps, shot, args: rest });
  else if (scenario === "conversation") await conversationScenario({ base, page, steps, shot, args: rest });
  else if (scenario === "setup") await setupScenario({ base, page, steps, shot, args: rest });
  else if (scenario === "agent") await agentScenario({ base, page, steps, shot, args: rest });
  else if (scenario === "webhooks") await webhooksScenario({ base, page, steps, shot, args: rest });
  else if (scenario === "sso") await ssoScenario({ base, page, browser, steps, shot, args: rest });
  else if (scenario === "sso-only") await ssoOnlyScenario({ base, page, steps, shot, args: rest });
  else if (scenario === "sso-refused") await ssoRefusedScenario({ base, page, browser, steps, args: rest });
  else if (scenario === "board") await boardScenario({ base, page, steps, shot, args: rest });
  else throw new Error(`unknown scenario ${scenario}`);
  await steps.run("no script errors and nothing loaded from elsewhere", async () => {
    if (problems.length) throw new Error(problems.join("\n"));
  });
} finally {
  // A failed step often has its cause here: print it with the failure.
  if (steps.failed && problems.length) console.log(`# page problems:\n#   ${problems.join("\n#   ")}`);
  if (steps.failed) await shot(page, "failed").catch(() => {});
  await browser.close();
}
const total = steps.passed + (steps.failed ? 1 : 0);
console.log(`# ${scenario}: ${steps.passed} passed, ${steps.failed ? 1 : 0} failed, of ${total} run, in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
process.exit(steps.failed ? 1 : 0);
