// What each role sees: a viewer opens a shared link with a filter and sees no button that
// changes anything; an auditor verifies the log and gets the checkpoint to keep.
import assert from "node:assert/strict";
import { api, base, finish, openBrowser, step, tokens } from "./harness.mjs";

const session = await openBrowser();
const { page } = session;
const device = process.env.OPTIBID_ALERT_DEVICE;

await step("a viewer's shared link lands on the filtered list", async () => {
  await page.goto(`${base}/#/devices?kind=smart_meter&token=${tokens.viewer}`);
  const expected = await api("/devices?kind=smart_meter&limit=1", tokens.viewer);
  await page.waitForFunction((count) => document.querySelector("#device-count")?.textContent === `${count} devices`, expected.total);
  assert.match(await page.locator("#who").innerText(), /\(viewer\)/);
  assert.equal(await page.locator('nav a[href="#/audit"]').count(), 0, "no audit pages for a viewer");
});

await step("a viewer sees no buttons that change anything", async () => {
  await page.goto(`${base}/#/devices/${device}?tab=commands`);
  await page.waitForSelector("#device-commands");
  assert.equal(await page.locator("#command-form").count(), 0);
  await page.goto(`${base}/#/devices/${device}?tab=configuration`);
  await page.waitForSelector("#device-configuration");
  assert.equal(await page.locator('button[name="rotate-credentials"], button[name="change-configuration"]').count(), 0);
  await page.goto(`${base}/#/alerts`);
  await page.waitForSelector("#alert-count");
  assert.ok((await api("/alerts", tokens.viewer)).total > 0, "there is an alert to act on");
  assert.equal(await page.locator('button[name="acknowledge"], button[name="resolve"]').count(), 0);
  await page.goto(`${base}/#/campaigns`);
  await page.waitForSelector("h1");
  assert.equal(await page.locator("#new-campaign").count(), 0);
});

await step("an auditor verifies the log and gets its checkpoint", async () => {
  await page.evaluate(() => sessionStorage.clear());
  await page.goto(`${base}/#/audit?token=${tokens.auditor}`);
  await page.reload();
  await page.click('button[name="verify"]');
  const checkpoint = (await page.locator("#checkpoint").innerText()).trim();
  assert.match(checkpoint, /^\d+:[0-9a-f]{64}$/);
});

await finish(session);
