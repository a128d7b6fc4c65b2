import { test } from "node:test";
import assert from "node:assert/strict";
import { bounds, cluster, graticuleStep, place } from "./clusters.js";

test("the window holds every location with its margin, and the globe without any", () => {
  assert.deepEqual(bounds([{ lat: 10, lon: 20 }, { lat: 12, lon: 25 }], 0.2), { west: 19, east: 26, south: 9.6, north: 12.4 });
  assert.deepEqual(bounds([{ lat: 10, lon: 20 }], 0.2, 0.5), { west: 19.5, east: 20.5, south: 9.5, north: 10.5 }, "one point gets the least margin");
  assert.equal(bounds([{ lat: 89, lon: 179 }, { lat: -89, lon: -179 }]).east, 180, "never past the globe");
  assert.deepEqual(bounds([]), { west: -180, east: 180, south: -90, north: 90 });
  const view = { west: 0, east: 10, south: 0, north: 10 };
  assert.deepEqual(place({ lat: 5, lon: 5 }, view, 100, 100), { x: 50, y: 50 });
});

test("devices close together form one cluster, far ones their own", () => {
  const view = { west: 0, east: 100, south: 0, north: 100 };
  const devices = [
    { id: "a", status: "online", location: { lat: 50, lon: 50 } },
    { id: "b", status: "offline", location: { lat: 50.1, lon: 50.1 } },
    { id: "c", status: "online", location: { lat: 10, lon: 90 } },
    { id: "d", status: "online", location: null },
  ];
  const clusters = cluster(devices, view, 1000, 1000, 28).sort((x, y) => y.count - x.count);
  assert.equal(clusters.length, 2);
  assert.deepEqual(clusters[0].ids, ["a", "b"]);
  assert.deepEqual(clusters[0].statuses, { online: 1, offline: 1 });
  assert.deepEqual(clusters[1].ids, ["c"]);
});

test("graticule lines are round and about six across", () => {
  assert.equal(graticuleStep(80), 20);
  assert.equal(graticuleStep(60), 10);
  assert.equal(graticuleStep(0.05), 0.01);
  assert.equal(graticuleStep(3), 0.5);
});
