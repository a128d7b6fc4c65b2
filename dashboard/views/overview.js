// The overview: fleet figures with their change since the page opened, devices per kind, the
// live activity feed, system health from /metrics, and, with no devices yet, how to connect one.
import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "../html.js";
import { get, metricsText, readiness } from "../api.js";
import { useLoad } from "../hooks.js";
import { eventName, label, number, percent, time } from "../lib/format.js";
import { histogramQuantile, largest, parseMetrics, ratePerSecond, total } from "../lib/metrics.js";
import { ErrorNote, Figure } from "../ui.js";

/** The figures' first readings on this page, for their trends. */
function useFirst(values) {
  const first = useRef(null);
  if (values && first.current === null) first.current = values;
  return first.current;
}

/** Fleet and edge figures, refreshed with every live summary. */
export function Overview({ activity, revision, navigate }) {
  const { data, error } = useLoad(() => Promise.all([get("/analytics/fleet"), get("/analytics/edge"), readiness().catch(() => null)]), [revision]);
  const [fleet, edge, ready] = data ?? [];
  const figures = fleet && {
    devices: fleet.total.devices,
    online: fleet.total.online,
    points: fleet.total.data_points,
    alerts: fleet.total.active_alerts,
    nodes: edge.total.nodes,
    models: edge.total.models_deployed,
  };
  const first = useFirst(figures);
  const trend = (key) => (first && figures ? figures[key] - first[key] : null);
  if (!fleet) return html`<${ErrorNote} error=${error} />${!error && html`<p class="muted">Loading…</p>`}`;
  const kinds = Object.entries(fleet.by_kind ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return html`
    <${ErrorNote} error=${error} />
    <section class="figures" aria-label="fleet figures">
      <${Figure} id="devices" title="Devices" value=${number(fleet.total.devices)} trend=${trend("devices")} />
      <${Figure} id="online-rate" title="Online" value=${percent(fleet.total.online_rate)} trend=${trend("online")} />
      <${Figure} id="data-points" title="Data points" value=${number(fleet.total.data_points)} trend=${trend("points")} />
      <${Figure} id="uptime" title="Average uptime" value=${percent(fleet.total.average_uptime)} />
      <${Figure} id="active-alerts" title="Active alerts" value=${number(fleet.total.active_alerts)} trend=${trend("alerts")} />
      <${Figure} id="edge-nodes" title="Edge nodes" value=${number(edge.total.nodes)} trend=${trend("nodes")} />
      <${Figure} id="models" title="Models deployed" value=${number(edge.total.models_deployed)} trend=${trend("models")} />
    </section>
    ${fleet.total.devices === 0 && html`<${FirstDevice} mqtt=${ready?.mqtt?.url} />`}
    <div class="columns">
      <section>
        <h2>Devices per kind</h2>
        <table>
          <thead><tr><th>kind</th><th>devices</th><th>online</th><th>alerts</th></tr></thead>
          <tbody>
            ${kinds.map(([kind, figures]) => html`
              <tr data-kind=${kind}><td><a href=${`#/devices?kind=${kind}`}>${label(kind)}</a></td><td>${figures.devices}</td>
                <td>${percent(figures.online_rate)}</td><td>${figures.active_alerts}</td></tr>`)}
          </tbody>
        </table>
      </section>
      <section>
        <h2>Activity</h2>
        <ol class="activity" id="activity" aria-live="polite">
          ${activity.map((event) => html`
            <li key=${event.position}>
              <time>${time(event.recorded_at_ms)}</time>
              <span class="type">${eventName(event.event_type)}</span>
              <a href=${streamLink(event.stream)} onClick=${(e) => { e.preventDefault(); follow(navigate, event.stream); }}>${event.stream}</a>
            </li>`)}
        </ol>
        ${activity.length === 0 && html`<p class="muted">Events appear here as they happen.</p>`}
      </section>
    </div>
    <${SystemHealth} revision=${revision} head=${ready?.log_head} />`;
}

const VIEW_OF_KIND = { device: "devices", edge: "edge-nodes", campaign: "campaigns" };

function streamLink(stream) {
  const [kind, id] = stream.split("/");
  return `#/${VIEW_OF_KIND[kind] ?? "overview"}/${encodeURIComponent(id ?? "")}`;
}

function follow(navigate, stream) {
  const [kind, id] = stream.split("/");
  navigate(VIEW_OF_KIND[kind] ?? "overview", id ?? null);
}

/** Ingest rate, publish-to-durable p99, projection lag, log head and dead letters. */
function SystemHealth({ revision, head }) {
  const [health, setHealth] = useState(null);
  const [error, setError] = useState(null);
  const previous = useRef(null);
  useEffect(() => {
    metricsText()
      .then((text) => {
        const samples = parseMetrics(text);
        const received = { value: total(samples, "optibid_mqtt_total", { kind: "received" }), at: Date.now() };
        setHealth({
          rate: ratePerSecond(previous.current, received),
          p99: histogramQuantile(samples, "optibid_ingest_durable_seconds", 0.99),
          lag: largest(samples, "optibid_projection_lag_events"),
          lagMs: largest(samples, "optibid_projection_lag_milliseconds"),
          deadLetters: total(samples, "optibid_dead_letters_total"),
          appended: total(samples, "optibid_events_appended_total"),
        });
        previous.current = received;
        setError(null);
      })
      .catch((e) => setError(e.message));
  }, [revision]);
  return html`
    <section class="health" aria-label="system health">
      <h2>System health</h2>
      <${ErrorNote} error=${error} />
      ${health && html`
        <dl class="facts">
          <dt>Ingest</dt><dd id="health-ingest">${health.rate === null ? "measuring…" : `${number(health.rate)} messages/s`}</dd>
          <dt>Publish to durable, p99</dt><dd id="health-p99">${health.p99 === null ? "no messages yet" : health.p99 === Infinity ? "over 3 s" : `≤ ${number(health.p99 * 1000)} ms`}</dd>
          <dt>Projection lag</dt><dd id="health-lag">${number(health.lag)} events (${number(health.lagMs)} ms)</dd>
          <dt>Log head</dt><dd id="health-head">${number(head ?? health.appended)}</dd>
          <dt>Dead letters</dt><dd id="health-dead-letters">${number(health.deadLetters)}</dd>
        </dl>`}
    </section>`;
}

/** With no devices: how to register one and send its first sample over MQTT. */
function FirstDevice({ mqtt }) {
  const address = new URL((mqtt ?? "mqtt://127.0.0.1:8471").replace(/^mqtts?:/, "http:"));
  const origin = window.location.origin;
  const registration = JSON.stringify({
    id: "inv-1", name: "Roof inverter", kind: "solar_inverter", protocol: "mqtt", site: "plant-1", region: "eu-west",
    tags: ["roof"], firmware_version: "1.0.0", metrics: [{ name: "power_w", unit: "W", normal_min: 0, normal_max: 6000 }],
  });
  return html`
    <section class="empty" id="first-device">
      <h2>No devices yet: connect the first one</h2>
      <p>1. Register it (an operator or admin token); the answer holds its MQTT secret, <code>mqtt_secret</code>:</p>
      <pre>curl -X POST -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \\
  -d '${registration}' ${origin}/api/v1/devices</pre>
      <p>2. The device logs in with its id as client id and user name (<code>inv-1</code>) and that secret, and publishes on <code>optibid/v1/devices/inv-1/telemetry</code>:</p>
      <pre>mosquitto_pub -h ${address.hostname} -p ${address.port || 1883} -V mqttv311 -i inv-1 -u inv-1 -P "$SECRET" -q 1 \\
  -t optibid/v1/devices/inv-1/telemetry -m "{\\"ts\\": $(date +%s%3N), \\"values\\": {\\"power_w\\": 2347.6}}"</pre>
      <p class="muted">The message is acknowledged once it is on disk; it appears in the activity feed and on the device's page.</p>
    </section>`;
}
