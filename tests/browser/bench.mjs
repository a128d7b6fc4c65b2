// The dashboard's own measurements, in Debian's chromium against a running server (started by
// docs/bench/dashboard.sh): first render of the overview, the size of every file the page loads
// (raw and gzip), charting a week of one-minute points, and scrolling the device list to its end
// with the browser's long-task timeline. Prints one line per figure; medians of repeated runs.
import { gzipSync } from "node:zlib";
import { base, openBrowser, tokens } from "./harness.mjs";

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const session = await openBrowser();
const { browser } = session;

const renders = [];
let assets = [];
for (let run = 0; run < 5; run += 1) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const loaded = [];
  page.on("response", (response) => response.url().startsWith(base) && !response.url().includes("/api/") && loaded.push(response));
  await page.addInitScript(() => {
    new MutationObserver((_, observer) => {
      if (document.querySelector("#figure-devices")) {
        window.firstRender = performance.now();
        observer.disconnect();
      }
    }).observe(document, { childList: true, subtree: true });
  });
  await page.goto(`${base}/#token=${tokens.admin}`);
  await page.waitForSelector("#figure-devices");
  renders.push(await page.evaluate(() => window.firstRender));
  if (run === 0) {
    const unique = [...new Map(loaded.filter((r) => r.status() === 200).map((r) => [r.url(), r])).values()];
    assets = await Promise.all(unique.map(async (r) => ({ url: r.url(), body: await r.body() })));
  }
  await context.close();
}
console.log(`first render of the overview (navigation start to its figures in the page): median ${median(renders).toFixed(0)} ms of ${renders.length} (each ${renders.map((r) => r.toFixed(0)).join(", ")})`);
const raw = assets.reduce((sum, a) => sum + a.body.length, 0);
const gzip = assets.reduce((sum, a) => sum + gzipSync(a.body, { level: 9 }).length, 0);
console.log(`files loaded: ${assets.length}, ${(raw / 1024).toFixed(1)} KiB raw, ${(gzip / 1024).toFixed(1)} KiB gzip`);

const page = await (await browser.newContext()).newPage();
await page.goto(`${base}/#token=${tokens.admin}`);
await page.waitForSelector("#figure-devices");
const charting = await page.evaluate(async () => {
  const { default: uPlot } = await import("/vendor/uplot.mjs");
  const { chartColumns } = await import("/lib/series.js");
  const start = Date.parse("2026-11-27T00:00:00Z");
  const week = Array.from({ length: 10080 }, (_, n) => {
    const mean = 50 + 20 * Math.sin(n / 300) + Math.random();
    return { start: new Date(start + n * 60000).toISOString(), count: 60, min: mean - 3, max: mean + 3, mean, last: mean };
  });
  const box = document.createElement("div");
  document.body.append(box);
  const times = [];
  for (let run = 0; run < 7; run += 1) {
    const began = performance.now();
    const columns = chartColumns(week, "1m");
    const plot = new uPlot({ width: 1200, height: 260, scales: { x: { time: true } }, series: [{}, { stroke: "blue" }, {}, {}], bands: [{ series: [3, 2] }] }, columns, box);
    times.push(performance.now() - began);
    plot.destroy();
  }
  return times;
});
console.log(`a week of one-minute points (10,080) shaped and charted: median ${median(charting).toFixed(1)} ms of ${charting.length}`);

// The main thread's stalls, measured as the gaps between turns of a message loop that runs all
// the time (the browser's own long-task timeline reports nothing in headless chromium): a gap
// over 50 ms is a task that long.
await page.evaluate(() => {
  window.stalls = [];
  const channel = new MessageChannel();
  let last = performance.now();
  channel.port1.onmessage = () => {
    const now = performance.now();
    if (now - last > 50) window.stalls.push(now - last);
    last = now;
    if (!window.stopStallWatch) setTimeout(() => channel.port2.postMessage(0), 0);
  };
  channel.port2.postMessage(0);
});
const observed = await page.evaluate(async () => {
  await new Promise((resolve) => setTimeout(resolve, 100));
  const began = performance.now();
  while (performance.now() - began < 80);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const seen = window.stalls.filter((gap) => gap >= 75).length;
  window.stalls = [];
  return seen;
});
console.log(`the stall watch saw a deliberate 80 ms task: ${observed > 0 ? "yes" : "NO, so the scroll figure below means nothing"}`);
await page.evaluate(() => { window.location.hash = "#/devices"; });
await page.waitForSelector(".device-list [data-device]");
const total = Number((await page.locator("#device-count").innerText()).replace(/[^0-9]/g, ""));
const opening = await page.evaluate(() => window.stalls.splice(0));
console.log(`opening the device list: ${opening.length} main-thread stalls over 50 ms${opening.length ? `, the longest ${Math.max(...opening).toFixed(0)} ms` : ""}`);
const scrolled = await page.evaluate(async (rows) => {
  const box = document.querySelector(".device-list .rows");
  const began = performance.now();
  while (box.scrollTop + box.clientHeight < rows * 34 - 1) {
    box.scrollTop += 4 * box.clientHeight;
    await new Promise((resolve) => requestAnimationFrame(resolve));
    const deadline = performance.now() + 10000;
    while (!document.querySelector(`.device-list [aria-rowindex="${Math.min(rows, Math.floor((box.scrollTop + box.clientHeight) / 34))}"]`) && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  return { seconds: (performance.now() - began) / 1000, last: document.querySelector(".device-list .rows .row:last-child")?.getAttribute("aria-rowindex") };
}, total);
const tasks = await page.evaluate(() => window.stalls);
console.log(`scrolled ${total} devices to row ${scrolled.last} in ${scrolled.seconds.toFixed(1)} s: ${tasks.length} main-thread stalls over 50 ms, the longest ${tasks.length ? Math.max(...tasks).toFixed(0) : 0} ms`);
await browser.close();
