import { test } from "node:test";
import assert from "node:assert/strict";
import { duration, eventName, label, number, percent, time } from "./format.js";

test("numbers group thousands and keep two decimals", () => {
  assert.equal(number(12345), "12,345");
  assert.equal(number(3.14159), "3.14");
  assert.equal(number(null), "–");
  assert.equal(number(Number.NaN), "–");
});

test("shares become percentages with one decimal", () => {
  assert.equal(percent(0.953), "95.3 %");
  assert.equal(percent(0), "0.0 %");
  assert.equal(percent(undefined), "–");
});

test("durations show their two largest units", () => {
  assert.equal(duration(0.42), "0.4 s");
  assert.equal(duration(5), "5 s");
  assert.equal(duration(302), "5 min 2 s");
  assert.equal(duration(3 * 86400 + 4 * 3600 + 59), "3 d 4 h");
  assert.equal(duration(3600), "1 h");
});

test("instants print in UTC without fractions, and bad ones as given", () => {
  assert.equal(time("2026-12-04T10:15:02.123Z"), "2026-12-04 10:15:02");
  assert.equal(time(0), "1970-01-01 00:00:00");
  assert.equal(time("not a time"), "not a time");
  assert.equal(time(null), "–");
});

test("API names read as words", () => {
  assert.equal(label("solar_inverter"), "solar inverter");
  assert.equal(eventName("device.command_succeeded"), "command succeeded");
  assert.equal(eventName("plain"), "plain");
});
