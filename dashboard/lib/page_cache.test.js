import { test } from "node:test";
import assert from "node:assert/strict";
import { PageCache } from "./page_cache.js";

const page = (index, size) => Array.from({ length: size }, (_, n) => ({ id: `d-${index * size + n}` }));

test("pages are fetched in order, each after the cursor of the one before", () => {
  const cache = new PageCache(10);
  assert.deepEqual(cache.wanted(0, 5), { index: 0, after: null });
  cache.store(0, page(0, 10), "d-9", 100);
  assert.equal(cache.wanted(0, 10), null, "nothing missing");
  assert.deepEqual(cache.wanted(35, 45), { index: 1, after: "d-9" }, "a far row needs the pages before it first");
  cache.store(1, page(1, 10), "d-19", 100);
  assert.deepEqual(cache.wanted(35, 45), { index: 2, after: "d-19" });
  assert.deepEqual(cache.rows(8, 12).map(([row]) => row), [8, 9, 10, 11]);
});

test("only pages near the viewport keep their rows, and an evicted page comes back by its cursor", () => {
  const cache = new PageCache(10, 1);
  for (let index = 0; index < 6; index += 1) cache.store(index, page(index, 10), `d-${index * 10 + 9}`, 100);
  cache.evict(50, 55);
  assert.deepEqual([...cache.pages.keys()].sort(), [4, 5]);
  assert.deepEqual(cache.wanted(0, 5), { index: 0, after: null });
  assert.deepEqual(cache.wanted(21, 25), { index: 2, after: "d-19" });
  assert.deepEqual(cache.rows(21, 23), [], "not loaded until fetched again");
  cache.refresh(50, 51);
  assert.equal(cache.rows(50, 51).length, 1, "a page to refresh is shown until it is fetched again");
  assert.deepEqual(cache.wanted(50, 51), { index: 5, after: "d-49" });
  cache.store(5, page(5, 10), "d-59", 100);
  assert.equal(cache.wanted(50, 51), null);
});

test("nothing is wanted past the end of the filter", () => {
  const cache = new PageCache(10);
  cache.store(0, page(0, 7), null, 7);
  assert.equal(cache.wanted(0, 30), null);
  assert.equal(cache.rows(0, 30).length, 7);
});
