// The screenshots of docs/dashboard.md, taken from a running `optibid demo` (started by
// docs/screenshots.sh): one PNG per view into docs/images/.
import { fileURLToPath } from "node:url";
import { base, openBrowser, tokens } from "./harness.mjs";

const out = fileURLToPath(new URL("../../docs/images/", import.meta.url));
const session = await openBrowser();
const { page } = session;
await page.goto(`${base}/#token=${tokens.admin}`);
await page.waitForSelector("#figure-devices");
const first = await page.locator(".activity a").first().innerText().catch(() => "device/demo-solar-00000");
const device = (await page.evaluate(async (token) => {
  const answer = await fetch("/api/v1/devices?kind=solar_inverter&limit=1", { headers: { Authorization: `Bearer ${token}` } });
  return (await answer.json()).items[0]?.id;
}, tokens.admin)) ?? first.split("/")[1];
const views = [
  ["overview", "#/overview"],
  ["devices", "#/devices"],
  ["device-map", "#/devices?show=map"],
  ["device", `#/devices/${device}?tab=metrics`],
  ["device-history", `#/devices/${device}?tab=history`],
  ["edge-node", "#/edge-nodes/demo-edge-000"],
  ["analytics", "#/analytics"],
  ["campaigns", "#/campaigns"],
  ["audit", "#/audit"],
];
for (const [name, hash] of views) {
  await page.evaluate((h) => { window.location.hash = h; }, hash);
  await page.waitForTimeout(2500);
  await page.screenshot({ path: `${out}dashboard-${name}.png` });
  console.log(`docs/images/dashboard-${name}.png`);
}
await session.browser.close();
