import { test } from "node:test";
import assert from "node:assert/strict";
import { instantAt, positionOf } from "./timeline.js";

test("the slider's ends are the first event and now", () => {
  assert.equal(instantAt(0, 100, 1000, 2000), 1000);
  assert.equal(instantAt(100, 100, 1000, 2000), 2000);
  assert.equal(instantAt(50, 100, 1000, 2000), 1500);
  assert.equal(instantAt(150, 100, 1000, 2000), 2000, "clamped");
});

test("a position and its instant map back to each other", () => {
  for (const position of [0, 1, 37, 99, 100]) {
    assert.equal(positionOf(instantAt(position, 100, 5000, 905000), 100, 5000, 905000), position);
  }
  assert.equal(positionOf(42, 100, 1000, 1000), 100, "an empty span sits at now");
});
