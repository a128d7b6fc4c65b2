import { test } from "node:test";
import assert from "node:assert/strict";
import { instantAt } from "./timeline.js";

test("the slider's ends are the first event and now", () => {
  assert.equal(instantAt(0, 100, 1000, 2000), 1000);
  assert.equal(instantAt(100, 100, 1000, 2000), 2000);
  assert.equal(instantAt(50, 100, 1000, 2000), 1500);
  assert.equal(instantAt(150, 100, 1000, 2000), 2000, "clamped");
  assert.equal(instantAt(-5, 100, 1000, 2000), 1000, "clamped");
  assert.equal(instantAt(50, 100, 2000, 2000), 2000, "an empty span sits at now");
});

