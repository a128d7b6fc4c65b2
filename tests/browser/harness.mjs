// What every browser scenario shares: Debian's chromium driven by Playwright against the server
// tests/dashboard.rs started, named steps that print how they went, calls to the same API the
// page uses, and the hand-shake with the Rust side when a scenario needs the server restarted.
import { chromium } from "playwright-core";
import readline from "node:readline";

/** The server under test, and the tokens the Rust side created for it. */
export const base = process.env.OPTIBID_URL;
export const tokens = { admin: process.env.OPTIBID_TOKEN, viewer: process.env.OPTIBID_VIEWER_TOKEN, auditor: process.env.OPTIBID_AUDITOR_TOKEN };

const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();

/** A browser with one page, and every script error or failed request the page reports. */
export async function openBrowser() {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push({ at: Date.now(), text: `script error: ${error.message}` }));
  page.on("console", (message) => message.type() === "error" && problems.push({ at: Date.now(), text: `console error: ${message.text()}` }));
  page.setDefaultTimeout(30_000);
  return { browser, context, page, problems };
}

/** Runs one named step, printing `ok - NAME (MS ms)` or `not ok - NAME: WHY` (and failing). */
export async function step(name, body) {
  const started = Date.now();
  try {
    await body();
    console.log(`ok - ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    console.log(`not ok - ${name}: ${error.message}`);
    throw error;
  }
}

/** A call to the platform's API with `token`; the parsed JSON answer (throws on an error status). */
export async function api(path, token, { method = "GET", body } = {}) {
  const response = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json().catch(() => null);
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${JSON.stringify(answer)}`);
  return answer;
}

/** Asks the Rust side to do `what` (a word it knows) and waits until it says it is done. */
export async function ask(what) {
  console.log(`ASK ${what}`);
  const { value, done } = await lines.next();
  if (done || value.trim() !== `DONE ${what}`) throw new Error(`the test runner answered ${JSON.stringify(value)} to ${what}`);
}

/** Waits until `probe()` (a promise) gives a truthy value, polling; returns that value. */
export async function until(what, probe, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last = null;
  while (Date.now() < deadline) {
    const value = await probe().catch((error) => { last = error.message; return null; });
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${last})` : ""}`);
}

/** Forgets the refused connections the page reported since `from` (ms): the server was down on purpose. */
export function forgiveOutage({ problems }, from) {
  const kept = problems.filter((p) => p.at < from || !p.text.includes("ERR_CONNECTION_REFUSED"));
  problems.splice(0, problems.length, ...kept);
}

/** Closes the browser; fails when the page reported script errors. */
export async function finish({ browser, problems }) {
  await browser.close();
  if (problems.length) throw new Error(`the page reported problems:\n${problems.map((p) => p.text).join("\n")}`);
  lines.return?.();
  process.stdin.destroy();
}
