// One device: its state, declared metrics with normal ranges and latest values, a chart of each
// metric from the roll-ups, its alerts (acknowledge, resolve), commands (send one and follow its
// progress), configuration, credentials, and its history with a slider that shows its state at
// any past instant. Follows the device's own streams live.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { html } from "../html.js";
import { get, post, put } from "../api.js";
import { MetricChart } from "../chart.js";
import { useLoad } from "../hooks.js";
import { followStream } from "../live.js";
import { eventName, label, number, time } from "../lib/format.js";
import { chartColumns, RESOLUTIONS, resolutionFor } from "../lib/series.js";
import { instantAt } from "../lib/timeline.js";
import { ActionButton, Badge, ErrorNote, Heading } from "../ui.js";

const RANGES = { "1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400 };
const CHART_REFRESH_MS = 5000;
const SLIDER_STEPS = 200;
const COMMANDS = ["reboot", "firmware_update", "diagnostics", "calibrate"];

/** Changes of the device's own streams, counted: views reload when it moves. */
function useStreamRevision(stream, throttleMs = 0) {
  const [revision, setRevision] = useState(0);
  useEffect(() => {
    let timer = null;
    const stop = followStream(stream, {
      onEvent: () => {
        if (throttleMs === 0) return setRevision((r) => r + 1);
        if (timer) return undefined;
        timer = setTimeout(() => { timer = null; setRevision((r) => r + 1); }, throttleMs);
        return undefined;
      },
    });
    return () => { stop(); clearTimeout(timer); };
  }, [stream]);
  return revision;
}

export function DeviceDetail({ id, me, query, navigate }) {
  const changes = useStreamRevision(`device/${id}`);
  const { data: device, error } = useLoad(() => get(`/devices/${encodeURIComponent(id)}`), [id, changes]);
  if (!device) return html`<${ErrorNote} error=${error} />${!error && html`<p class="muted">Loading…</p>`}`;
  const { state } = device;
  const profile = state.profile;
  const tab = query.tab ?? "metrics";
  const tabs = [["metrics", "Metrics"], ["alerts", "Alerts"], ["commands", "Commands"], ["configuration", "Configuration"], ["history", "History"]];
  return html`
    <p><a href="#/devices">← Devices</a></p>
    <${Heading} title=${profile.name}><${Badge} value=${state.status} /><//>
    <${ErrorNote} error=${error} />
    <dl class="facts" id="device-facts">
      <dt>id</dt><dd><code>${id}</code></dd>
      <dt>kind</dt><dd>${label(profile.kind)}</dd>
      <dt>protocol</dt><dd>${profile.protocol}</dd>
      <dt>region · site</dt><dd>${profile.region} · ${profile.site}</dd>
      <dt>firmware</dt><dd id="device-firmware">${state.firmware_version}</dd>
      <dt>location</dt><dd>${profile.location ? `${profile.location.lat.toFixed(4)}, ${profile.location.lon.toFixed(4)}` : "–"}</dd>
      <dt>tags</dt><dd>${profile.tags.join(", ") || "–"}</dd>
      <dt>version</dt><dd id="device-version">${device.version}</dd>
      <dt>updated</dt><dd>${time(state.updated_at)}</dd>
    </dl>
    <nav class="tabs" aria-label="device sections">
      ${tabs.map(([key, title]) => html`
        <a href=${`#/devices/${encodeURIComponent(id)}?tab=${key}`} class=${tab === key ? "active" : ""}
          aria-current=${tab === key ? "page" : undefined}>${title}</a>`)}
    </nav>
    ${tab === "metrics" && html`<${Metrics} id=${id} device=${device} query=${query} navigate=${navigate} />`}
    ${tab === "alerts" && html`<${DeviceAlerts} id=${id} me=${me} revision=${changes} />`}
    ${tab === "commands" && html`<${Commands} id=${id} me=${me} state=${state} revision=${changes} />`}
    ${tab === "configuration" && html`<${Configuration} id=${id} me=${me} state=${state} />`}
    ${tab === "history" && html`<${History} id=${id} device=${device} revision=${changes} />`}`;
}

function Metrics({ id, device, query, navigate }) {
  const metrics = device.state.profile.metrics;
  const metric = query.metric ?? metrics[0]?.name;
  const range = RANGES[query.range] ? query.range : "24h";
  const declared = metrics.find((m) => m.name === metric);
  const pick = (changes) => navigate("devices", id, { ...query, tab: "metrics", ...changes });
  return html`
    <table class="metrics" id="device-metrics">
      <thead><tr><th>metric</th><th>latest</th><th>normal range</th><th>at</th></tr></thead>
      <tbody>
        ${metrics.map((m) => {
          const latest = device.latest?.[m.name];
          return html`
            <tr data-metric=${m.name} class=${latest && !latest.normal ? "out-of-range" : ""}>
              <td><a href=${`#/devices/${encodeURIComponent(id)}?tab=metrics&metric=${m.name}&range=${range}`}>${m.name}</a></td>
              <td>${latest ? `${number(latest.value)} ${m.unit}` : "–"}${latest && !latest.normal ? " (out of range)" : ""}</td>
              <td>${number(m.normal_min)} … ${number(m.normal_max)} ${m.unit}</td>
              <td>${latest ? time(latest.at) : "–"}</td>
            </tr>`;
        })}
      </tbody>
    </table>
    ${metrics.length === 0 && html`<p class="muted">This device declared no metrics.</p>`}
    ${declared && html`
      <div class="chart-controls">
        <label>metric <select name="metric" value=${metric} onChange=${(e) => pick({ metric: e.target.value })}>
          ${metrics.map((m) => html`<option value=${m.name}>${m.name}</option>`)}</select></label>
        <label>range <select name="range" value=${range} onChange=${(e) => pick({ range: e.target.value })}>
          ${Object.keys(RANGES).map((r) => html`<option value=${r}>${r}</option>`)}</select></label>
        <label>resolution <select name="resolution" value=${query.res ?? ""} onChange=${(e) => pick({ res: e.target.value || undefined })}>
          <option value="">auto</option>${Object.keys(RESOLUTIONS).map((r) => html`<option value=${r}>${r}</option>`)}</select></label>
      </div>
      <${Series} id=${id} metric=${metric} unit=${declared.unit} seconds=${RANGES[range]} chosen=${RESOLUTIONS[query.res] ? query.res : null} />`}`;
}

/** The metric's roll-ups over the last `seconds`, refreshed as its telemetry arrives. */
function Series({ id, metric, unit, seconds, chosen }) {
  const arrivals = useStreamRevision(`telemetry/${id}`, CHART_REFRESH_MS);
  const resolution = chosen ?? resolutionFor(seconds);
  const { data, error } = useLoad(() => {
    const to = new Date();
    const from = new Date(to.getTime() - seconds * 1000);
    const q = new URLSearchParams({ metric, from: from.toISOString(), to: to.toISOString(), resolution });
    return get(`/analytics/devices/${encodeURIComponent(id)}/telemetry?${q}`);
  }, [id, metric, seconds, resolution, arrivals]);
  const columns = useMemo(() => chartColumns(data?.points ?? [], resolution), [data]);
  return html`
    <${ErrorNote} error=${error} />
    <p class="muted" id="chart-summary">${data ? `${columns[0].length} points at ${resolution}, mean with the min–max band` : "Loading…"}</p>
    ${data && (columns[0].length === 0
      ? html`<p class="muted">No samples of ${metric} in this range yet.</p>`
      : html`<${MetricChart} id="metric-chart" columns=${columns} unit=${unit} />`)}`;
}

function DeviceAlerts({ id, me, revision }) {
  const { data, error, reload } = useLoad(() => Promise.all([
    get(`/alerts?device=${encodeURIComponent(id)}`),
    get(`/alerts?device=${encodeURIComponent(id)}&state=resolved&limit=50`),
  ]), [id, revision]);
  if (!data) return html`<${ErrorNote} error=${error} />`;
  const [open, resolved] = data;
  return html`
    <${ErrorNote} error=${error} />
    <h2>Current alerts</h2>
    <${AlertTable} alerts=${open.items} me=${me} onChange=${reload} />
    <h2>Resolved</h2>
    <${AlertTable} alerts=${resolved.items} me=${me} onChange=${reload} />`;
}

/** Alerts with who acknowledged them and when they were resolved; buttons for those who may act. */
export function AlertTable({ alerts, me, onChange, showDevice = false }) {
  if (alerts.length === 0) return html`<p class="muted">None.</p>`;
  const act = (alert, action) => () =>
    post(`/alerts/${encodeURIComponent(alert.device_id)}/${encodeURIComponent(alert.alert_id)}/${action}`).then((answer) => { onChange?.(); return answer; });
  return html`
    <table class="alerts">
      <thead><tr>${showDevice && html`<th>device</th>`}<th>severity</th><th>what</th><th>state</th><th>raised</th><th>acknowledged</th><th>resolved</th>${me.may_command && html`<th></th>`}</tr></thead>
      <tbody>
        ${alerts.map((a) => html`
          <tr key=${`${a.device_id}/${a.alert_id}`} data-alert=${a.alert_id} data-state=${a.state}>
            ${showDevice && html`<td><a href=${`#/devices/${encodeURIComponent(a.device_id)}?tab=alerts`}>${a.device_id}</a></td>`}
            <td><${Badge} value=${a.severity} /></td><td>${a.message}${a.metric ? html` <code>${a.metric}</code>` : ""}</td>
            <td class="alert-state">${label(a.state)}</td><td>${time(a.raised_at)}</td>
            <td>${a.acknowledged_by ? `${a.acknowledged_by}, ${time(a.acknowledged_at)}` : "–"}</td><td>${a.resolved_at ? time(a.resolved_at) : "–"}</td>
            ${me.may_command && html`<td>
              ${a.state === "active" && html`<${ActionButton} name="acknowledge" action=${act(a, "acknowledge")} done="acknowledged">Acknowledge<//>`}
              ${a.state !== "resolved" && html`<${ActionButton} name="resolve" action=${act(a, "resolve")} done="resolved">Resolve<//>`}
            </td>`}
          </tr>`)}
      </tbody>
    </table>`;
}

function Commands({ id, me, state, revision }) {
  const [name, setName] = useState("reboot");
  const [params, setParams] = useState("{}");
  const [sent, setSent] = useState([]);
  const [error, setError] = useState(null);
  const known = state.commands.map((c) => c.command_id);
  const shown = [...new Set([...sent, ...known])];
  const send = async (event) => {
    event.preventDefault();
    let parsed;
    try {
      parsed = JSON.parse(params || "{}");
    } catch (e) {
      setError(`parameters are not JSON: ${e.message}`);
      return;
    }
    try {
      const answer = await post(`/devices/${encodeURIComponent(id)}/commands`, { name, params: parsed });
      setSent((old) => [answer.command_id, ...old]);
      setError(null);
    } catch (e) {
      setError(e.message);
    }
  };
  return html`
    ${me.may_command
      ? html`
        <form class="command-form" id="command-form" onSubmit=${send}>
          <label>command <input name="command" list="command-names" value=${name} onInput=${(e) => setName(e.target.value)} /></label>
          <datalist id="command-names">${COMMANDS.map((c) => html`<option value=${c} />`)}</datalist>
          <label>parameters (JSON) <input name="params" value=${params} onInput=${(e) => setParams(e.target.value)} /></label>
          <button type="submit" name="send-command">Send</button>
        </form>
        <${ErrorNote} error=${error} />`
      : html`<p class="muted">Your role (${me.role}) sees commands but does not send them.</p>`}
    <table class="commands" id="device-commands">
      <thead><tr><th>command</th><th>status</th><th>progress</th><th>outcome</th><th>issued</th></tr></thead>
      <tbody>${shown.map((commandId) => html`<${CommandRow} key=${commandId} device=${id} commandId=${commandId} revision=${revision} />`)}</tbody>
    </table>
    ${shown.length === 0 && html`<p class="muted">No commands yet.</p>`}`;
}

function CommandRow({ device, commandId, revision }) {
  const { data: c, error } = useLoad(() => get(`/devices/${encodeURIComponent(device)}/commands/${commandId}`), [commandId, revision]);
  if (!c) return html`<tr><td colspan="5">${error ?? "…"}</td></tr>`;
  return html`
    <tr data-command=${commandId} data-status=${c.status}>
      <td><code>${c.name}</code> ${Object.keys(c.params ?? {}).length ? html`<code class="muted">${JSON.stringify(c.params)}</code>` : ""}</td>
      <td class="command-status"><${Badge} value=${c.status} /></td>
      <td><progress max="100" value=${c.progress_percent ?? 0}></progress> ${c.progress_percent ?? 0} %</td>
      <td>${c.result ?? c.error ?? "–"}</td><td>${time(c.issued_at)}</td>
    </tr>`;
}

function Configuration({ id, me, state }) {
  const [key, setKey] = useState("");
  const [value, setValue] = useState("");
  const [secret, setSecret] = useState(null);
  const entries = Object.entries(state.configuration ?? {});
  const change = () => {
    let parsed;
    try { parsed = JSON.parse(value); } catch { parsed = value; }
    return put(`/devices/${encodeURIComponent(id)}/configuration`, { changes: { [key]: parsed } });
  };
  return html`
    <table id="device-configuration">
      <thead><tr><th>key</th><th>value</th></tr></thead>
      <tbody>${entries.map(([k, v]) => html`<tr data-key=${k}><td><code>${k}</code></td><td><code>${JSON.stringify(v)}</code></td></tr>`)}</tbody>
    </table>
    ${entries.length === 0 && html`<p class="muted">No configuration set.</p>`}
    ${me.may_command && html`
      <form class="command-form" onSubmit=${(e) => e.preventDefault()}>
        <label>key <input name="config-key" value=${key} onInput=${(e) => setKey(e.target.value)} /></label>
        <label>value (JSON or text) <input name="config-value" value=${value} onInput=${(e) => setValue(e.target.value)} /></label>
        <${ActionButton} name="change-configuration" action=${change} done="changed">Change<//>
      </form>
      <h2>Credentials</h2>
      <p>A new MQTT secret replaces the old one at once: the device must be given it.</p>
      <${ActionButton} name="rotate-credentials" confirm="Issue a new secret? The current one stops working."
        action=${() => post(`/devices/${encodeURIComponent(id)}/credentials`).then((issued) => { setSecret(issued); return issued; })}
        done="issued">Rotate credentials<//>
      ${secret && html`<p id="new-secret">User name <code>${secret.mqtt_login}</code>, secret <code>${secret.mqtt_secret}</code> (shown once).</p>`}`}`;
}

/** The device's events, and its state at the instant the slider points to. */
function History({ id, device, revision }) {
  const base = `/devices/${encodeURIComponent(id)}/events`;
  const { data, error } = useLoad(() => Promise.all([
    get(`${base}?from_version=1&limit=1`),
    get(`${base}?from_version=${Math.max(1, device.version - 499)}&limit=500`),
  ]), [id, revision]);
  const [birth, page] = data ?? [null, null];
  const [position, setPosition] = useState(SLIDER_STEPS);
  const [past, setPast] = useState(null);
  const [pastError, setPastError] = useState(null);
  const now = useRef(Date.now());
  const first = birth?.events[0]?.recorded_at_ms ?? now.current;
  const at = instantAt(position, SLIDER_STEPS, first, now.current);
  useEffect(() => {
    if (!page) return;
    const q = new URLSearchParams({ at: new Date(at).toISOString() });
    get(`/devices/${encodeURIComponent(id)}/state?${q}`)
      .then((answer) => { setPast(answer); setPastError(null); })
      .catch((e) => setPastError(e.message));
  }, [at, page === null]);
  const events = page?.events ?? [];
  return html`
    <${ErrorNote} error=${error} />
    <section class="timeline">
      <label for="history-slider">State at <strong id="history-instant">${time(at)}</strong></label>
      <input id="history-slider" type="range" min="0" max=${SLIDER_STEPS} value=${position}
        onChange=${(e) => setPosition(Number(e.target.value))} />
      <${ErrorNote} error=${pastError} />
      ${past && html`
        <dl class="facts" id="history-state">
          <dt>version</dt><dd id="history-version">${past.version} of ${device.version}</dd>
          <dt>status</dt><dd id="history-status">${past.state.status}</dd>
          <dt>firmware</dt><dd>${past.state.firmware_version}</dd>
          <dt>alerts</dt><dd>${past.state.alerts.length}</dd>
          <dt>as of</dt><dd>${time(past.recorded_at)}</dd>
        </dl>`}
    </section>
    <ol class="history" id="device-history" reversed>
      ${[...events].reverse().map((e) => html`
        <li key=${e.version} data-version=${e.version}>
          <time>${time(e.recorded_at_ms)}</time> <span class="type">${eventName(e.event_type)}</span>
          <span class="muted">v${e.version} · ${e.metadata?.principal ?? ""}</span>
        </li>`)}
    </ol>
    ${device.version > 500 && html`<p class="muted">The newest 500 of ${number(device.version)} events; the slider reaches them all.</p>`}`;
}
