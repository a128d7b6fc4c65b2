// An operator's session against a server with a simulated fleet: sign in through the login
// link, check the overview against the API, filter the devices and open one, see its chart, send
// it a command and see it succeed, go back in its history, acknowledge an alert, run a campaign
// until a wave completes, and come back live after the server restarts, without a reload.
import assert from "node:assert/strict";
import { api, ask, base, finish, forgiveOutage, openBrowser, step, tokens, until } from "./harness.mjs";

const session = await openBrowser();
const { page } = session;
const token = tokens.admin;
const hot = process.env.OPTIBID_ALERT_DEVICE;
const text = async (selector) => (await page.locator(selector).first().innerText()).trim();

await step("the login link signs in and leaves no token in the address", async () => {
  await page.goto(`${base}/#token=${token}`);
  await page.waitForSelector("#live.on");
  assert.ok(!page.url().includes("token="), page.url());
  assert.equal(await page.evaluate(() => sessionStorage.getItem("optibid.token")), token);
});

await step("the overview's figures are the API's", async () => {
  const fleet = await api("/analytics/fleet", token);
  const edge = await api("/analytics/edge", token);
  await until("the device count", async () => (await text("#figure-devices .value")) === fleet.total.devices.toLocaleString("en"));
  assert.equal(await text("#figure-edge-nodes .value"), String(edge.total.nodes));
  for (const [kind, figures] of Object.entries(fleet.by_kind)) {
    assert.equal(await text(`tr[data-kind="${kind}"] td:nth-child(2)`), String(figures.devices), kind);
  }
  await page.waitForSelector("#health-head");
});

let device;
await step("filtering the devices puts the filter in the address and opens a device", async () => {
  await page.click('nav a[href="#/devices"]');
  await page.selectOption('select[name="kind"]', "solar_inverter");
  await until("the filter in the address", async () => page.url().includes("kind=solar_inverter"));
  const expected = await api("/devices?kind=solar_inverter&limit=1", token);
  await until("the filtered count", async () => (await text("#device-count")) === `${expected.total} devices`);
  const rows = page.locator(".device-list [data-device]");
  assert.ok((await rows.count()) > 0);
  device = await rows.first().getAttribute("data-device");
  const detail = await api(`/devices/${device}`, token);
  assert.equal(detail.state.profile.kind, "solar_inverter");
  await rows.first().locator("a").click();
  await until("the device page", async () => (await text("h1")) === detail.state.profile.name);
});

await step("the device's chart has points from the roll-ups", async () => {
  const points = await until("chart points", async () => Number(await page.locator("#metric-chart").getAttribute("data-points", { timeout: 1000 })) > 0 && page.locator("#metric-chart canvas").count(), 60_000);
  assert.ok(points > 0);
});

await step("a command sent from the page succeeds", async () => {
  await page.click('nav.tabs a[href*="tab=commands"]');
  await page.fill('input[name="command"]', "reboot");
  await page.click('button[name="send-command"]');
  await page.waitForSelector('#device-commands tr[data-status="succeeded"]', { timeout: 60_000 });
});

await step("the history slider shows an older state than now", async () => {
  await page.click('nav.tabs a[href*="tab=history"]');
  const now = Number((await until("the current version", () => text("#history-version"))).split(" of ")[1]);
  await page.locator("#history-slider").evaluate((slider) => {
    slider.value = "0";
    slider.dispatchEvent(new Event("change", { bubbles: true }));
  });
  const then = await until("an older version", async () => {
    const version = Number((await text("#history-version")).split(" of ")[0]);
    return version < now && version;
  });
  assert.ok(then >= 1 && then < now, `${then} of ${now}`);
});

await step("an alert is acknowledged, and the page says by whom", async () => {
  const me = await api("/tokens/current", token);
  await page.goto(`${base}/#/alerts`);
  const row = page.locator(`tr[data-state="active"]`, { has: page.locator(`a[href*="${hot}"]`) }).first();
  await row.locator('button[name="acknowledge"]').click();
  const acknowledged = page.locator(`tr[data-state="acknowledged"]`, { has: page.locator(`a[href*="${hot}"]`) }).first();
  await acknowledged.waitFor();
  assert.ok((await acknowledged.innerText()).includes(me.name), await acknowledged.innerText());
});

await step("a campaign created and started on the page completes its first wave", async () => {
  await page.goto(`${base}/#/campaigns`);
  const solar = await api("/devices?kind=solar_inverter&limit=1", token);
  await page.fill('input[name="id"]', "ui-firmware-1");
  await page.fill('input[name="name"]', "Firmware 2.6.0 from the dashboard");
  await page.selectOption('select[name="kind"]', "firmware_update");
  await page.fill('input[name="payload"]', '{"version": "2.6.0"}');
  await page.selectOption('select[name="device_kind"]', "solar_inverter");
  await until("the selector's preview", async () => (await text("#selector-preview")) === `${solar.total} devices match`);
  await page.fill('input[name="waves"]', "50, 100");
  await page.fill('input[name="timeout"]', "60");
  await page.click('button[name="create-campaign"]');
  await page.click('button[name="start"]');
  await page.waitForSelector('#campaign-waves tr[data-wave="0"][data-done="yes"]', { timeout: 90_000 });
});

await step("after the server restarts, the page is live again and caught up, without a reload", async () => {
  await page.goto(`${base}/#/overview`);
  await page.waitForSelector("#live.on");
  await page.evaluate(() => { window.sameDocument = true; });
  const before = (await api("/analytics/fleet", token)).total.devices;
  const stopped = Date.now();
  await ask("STOP");
  await page.waitForSelector("#live.off", { timeout: 20_000 });
  await ask("START");
  await api("/devices", token, {
    method: "POST",
    body: { id: "after-restart", name: "After restart", kind: "grid_sensor", protocol: "mqtt", site: "s", region: "r", tags: [], firmware_version: "1", metrics: [] },
  });
  await page.waitForSelector("#live.on", { timeout: 30_000 });
  await until("the new device counted", async () => (await text("#figure-devices .value")) === (before + 1).toLocaleString("en"));
  assert.equal(await page.evaluate(() => window.sameDocument), true, "the page was not reloaded");
  forgiveOutage(session, stopped);
});

await finish(session);
