import { test } from "node:test";
import assert from "node:assert/strict";
import { chartColumns, forecastColumns, resolutionFor } from "./series.js";

const bucket = (start, mean) => ({ start, count: 1, min: mean - 1, max: mean + 1, mean, last: mean });

test("the finest resolution within the point budget is chosen", () => {
  assert.equal(resolutionFor(3600), "1m");
  assert.equal(resolutionFor(7 * 86400), "1h");
  assert.equal(resolutionFor(7 * 86400, 20000), "1m");
  assert.equal(resolutionFor(10 * 365 * 86400), "1d");
});

test("buckets become sorted columns in seconds with min, mean and max", () => {
  const columns = chartColumns([bucket("2026-12-04T10:01:00Z", 5), bucket("2026-12-04T10:00:00Z", 4)], "1m");
  const t0 = Date.parse("2026-12-04T10:00:00Z") / 1000;
  assert.deepEqual(columns, [[t0, t0 + 60], [4, 5], [3, 4], [5, 6]]);
});

test("a missing bucket breaks the line instead of joining across it", () => {
  const columns = chartColumns([bucket("2026-12-04T10:00:00Z", 1), bucket("2026-12-04T10:05:00Z", 2)], "1m");
  const t0 = Date.parse("2026-12-04T10:00:00Z") / 1000;
  assert.deepEqual(columns[0], [t0, t0 + 60, t0 + 300]);
  assert.deepEqual(columns[1], [1, null, 2]);
});

test("a week of one-minute buckets keeps every point", () => {
  const start = Date.parse("2026-11-27T00:00:00Z");
  const week = Array.from({ length: 10080 }, (_, n) => bucket(new Date(start + n * 60000).toISOString(), n));
  const columns = chartColumns(week, "1m");
  assert.equal(columns[0].length, 10080);
  assert.ok(columns[1].every((value) => value !== null));
});

test("a forecast carries the observations, then the trend line into the future", () => {
  const now = Date.parse("2026-12-04T12:00:00Z") / 1000;
  const observed = [bucket("2026-12-04T11:58:00Z", 40), bucket("2026-12-04T11:59:00Z", 41)];
  const columns = forecastColumns(observed, { level: 41, slopePerHour: 2, nowSeconds: now, hoursAhead: 10, steps: 10 });
  assert.deepEqual(columns[0].slice(0, 2), [now - 120, now - 60]);
  assert.deepEqual(columns[1].slice(0, 2), [40, 41]);
  assert.deepEqual(columns[2].slice(0, 2), [null, null]);
  assert.equal(columns[0].length, 13);
  assert.equal(columns[0].at(-1), now + 36000);
  assert.equal(columns[2].at(-1), 61, "level plus ten hours of slope");
  assert.ok(columns[1].slice(2).every((v) => v === null));
});
