import { test } from "node:test";
import assert from "node:assert/strict";
import { histogramQuantile, largest, parseMetrics, ratePerSecond, total } from "./metrics.js";

const TEXT = `# HELP optibid_mqtt_total MQTT counters
# TYPE optibid_mqtt_total counter
optibid_mqtt_total{kind="received"} 3195
optibid_mqtt_total{kind="acknowledged"} 3190
optibid_dead_letters_total{reason="unknown_device"} 2
optibid_dead_letters_total{reason="malformed_json"} 3
optibid_projection_lag_events{projection="a"} 4
optibid_projection_lag_events{projection="b"} 9
optibid_ingest_durable_seconds_bucket{le="0.001"} 50
optibid_ingest_durable_seconds_bucket{le="0.002"} 90
optibid_ingest_durable_seconds_bucket{le="0.004"} 99
optibid_ingest_durable_seconds_bucket{le="+Inf"} 100
optibid_events_appended_total 3040
`;

test("samples keep their names, labels and values", () => {
  const samples = parseMetrics(TEXT);
  assert.equal(total(samples, "optibid_mqtt_total", { kind: "received" }), 3195);
  assert.equal(total(samples, "optibid_dead_letters_total"), 5);
  assert.equal(total(samples, "optibid_events_appended_total"), 3040);
  assert.equal(largest(samples, "optibid_projection_lag_events"), 9);
});

test("a rate needs two readings apart in time", () => {
  assert.equal(ratePerSecond({ value: 100, at: 0 }, { value: 300, at: 2000 }), 100);
  assert.equal(ratePerSecond(null, { value: 1, at: 1 }), null);
  assert.equal(ratePerSecond({ value: 5, at: 10 }, { value: 9, at: 10 }), null);
});

test("a quantile is the bound of the bucket that holds it", () => {
  const samples = parseMetrics(TEXT);
  assert.equal(histogramQuantile(samples, "optibid_ingest_durable_seconds", 0.5), 0.001);
  assert.equal(histogramQuantile(samples, "optibid_ingest_durable_seconds", 0.9), 0.002);
  assert.equal(histogramQuantile(samples, "optibid_ingest_durable_seconds", 0.99), 0.004);
  assert.equal(histogramQuantile(samples, "optibid_ingest_durable_seconds", 1), Infinity);
  assert.equal(histogramQuantile(samples, "missing", 0.99), null);
});
