import { test } from "node:test";
import assert from "node:assert/strict";
import { parseRoute, routeHash } from "./route.js";

test("an empty fragment is the overview", () => {
  assert.deepEqual(parseRoute(""), { view: "overview", id: null, query: {} });
  assert.deepEqual(parseRoute("#/"), { view: "overview", id: null, query: {} });
});

test("a view, an instance and a filter read from the fragment, without the token", () => {
  assert.deepEqual(parseRoute("#/devices/inv%2F1?tab=history&token=obt_x&q="), {
    view: "devices",
    id: "inv/1",
    query: { tab: "history" },
  });
});

test("a fragment written from a route reads back as the same route", () => {
  const query = { status: "online", kind: "solar_inverter", q: "north roof" };
  const hash = routeHash("devices", null, { ...query, region: "", site: undefined });
  assert.equal(hash, "#/devices?kind=solar_inverter&q=north+roof&status=online");
  assert.deepEqual(parseRoute(hash), { view: "devices", id: null, query });
  assert.deepEqual(parseRoute(routeHash("devices", "inv 1")), { view: "devices", id: "inv 1", query: {} });
});
