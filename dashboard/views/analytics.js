// Analytics and maintenance: fleet figures per region and kind, the status distribution, energy
// produced and consumed, the maintenance ranking (risk within 7 days, remaining hours, limiting
// metric, suggested time) with the trend chart that explains the chosen prediction, and the
// recent anomalies with their explanation (detector, baseline, spread).
import { useMemo } from "preact/hooks";
import { html } from "../html.js";
import { get } from "../api.js";
import { TimeChart } from "../chart.js";
import { useLoad } from "../hooks.js";
import { duration, label, number, percent, time } from "../lib/format.js";
import { forecastColumns } from "../lib/series.js";
import { ErrorNote, Heading } from "../ui.js";

const STATUSES = ["online", "offline", "degraded", "maintenance"];

function FigureTable({ id, title, groups }) {
  return html`
    <section>
      <h2>${title}</h2>
      <table id=${id}>
        <thead><tr><th></th><th>devices</th><th>online</th><th>uptime</th><th>data points</th><th>produced kWh</th><th>consumed kWh</th><th>alerts</th></tr></thead>
        <tbody>${Object.entries(groups).map(([name, f]) => html`
          <tr key=${name} data-group=${name}><td>${label(name)}</td><td>${number(f.devices)}</td><td>${percent(f.online_rate)}</td>
            <td>${percent(f.average_uptime)}</td><td>${number(f.data_points)}</td><td>${number(f.energy_produced_kwh)}</td>
            <td>${number(f.energy_consumed_kwh)}</td><td>${number(f.active_alerts)}</td></tr>`)}
        </tbody>
      </table>
    </section>`;
}

export function Analytics({ query, revision, navigate }) {
  const { data, error } = useLoad(() => Promise.all([
    get("/analytics/fleet"),
    get("/maintenance/predictions?limit=50"),
    ...STATUSES.map((status) => get(`/devices?status=${status}&limit=1`).then((page) => page.total)),
  ]), [revision]);
  if (!data) return html`<${ErrorNote} error=${error} />${!error && html`<p class="muted">Loading…</p>`}`;
  const [fleet, predictions, ...counts] = data;
  const all = counts.reduce((a, b) => a + b, 0) || 1;
  const chosen = predictions.items.find((p) => p.device_id === query.device) ?? predictions.items.find((p) => p.limiting_metric);
  const anomalies = predictions.items
    .flatMap((p) => Object.entries(p.anomalies).map(([metric, [at, score]]) => ({ device: p.device_id, metric, at, ...score })))
    .sort((a, b) => b.at - a.at)
    .slice(0, 20);
  return html`
    <${Heading} title="Analytics and maintenance" />
    <${ErrorNote} error=${error} />
    <section>
      <h2>Status</h2>
      <div class="bars" id="status-distribution">
        ${STATUSES.map((status, n) => html`
          <div class="bar" data-status=${status}>
            <span class="bar-label">${status}</span>
            <span class=${`bar-fill status-${status}`} style=${`width:${(100 * counts[n]) / all}%`}></span>
            <span>${number(counts[n])}</span>
          </div>`)}
      </div>
      <p class="muted">Energy so far: ${number(fleet.total.energy_produced_kwh)} kWh produced, ${number(fleet.total.energy_consumed_kwh)} kWh consumed.</p>
    </section>
    <div class="columns">
      <${FigureTable} id="by-region" title="By region" groups=${fleet.by_region} />
      <${FigureTable} id="by-kind" title="By kind" groups=${fleet.by_kind} />
    </div>
    <section>
      <h2>Maintenance ranking</h2>
      <table id="maintenance-ranking">
        <thead><tr><th>device</th><th>risk in 7 days</th><th>remaining</th><th>limiting metric</th><th>confidence</th><th>suggested maintenance</th></tr></thead>
        <tbody>${predictions.items.map((p) => html`
          <tr key=${p.device_id} data-device=${p.device_id} class=${chosen?.device_id === p.device_id ? "chosen" : ""}>
            <td><a href=${`#/analytics?device=${encodeURIComponent(p.device_id)}`} onClick=${(e) => { e.preventDefault(); navigate("analytics", null, { device: p.device_id }); }}>${p.device_id}</a></td>
            <td>${percent(p.risk_7d)}</td><td>${p.remaining_hours === null ? "–" : duration(p.remaining_hours * 3600)}</td>
            <td>${p.limiting_metric ?? "–"}</td><td>${percent(p.confidence)}</td><td>${p.suggested_maintenance_at ? time(p.suggested_maintenance_at) : "–"}</td>
          </tr>`)}
        </tbody>
      </table>
      ${predictions.items.length === 0 && html`<p class="muted">No predictions yet: they need some hours of telemetry.</p>`}
      ${chosen?.limiting_metric && html`<${Forecast} prediction=${chosen} />`}
    </section>
    <section>
      <h2>Recent anomalies</h2>
      <table id="anomalies">
        <thead><tr><th>when</th><th>device</th><th>metric</th><th>detector</th><th>value</th><th>baseline ± spread</th><th>score</th></tr></thead>
        <tbody>${anomalies.map((a) => html`
          <tr key=${`${a.device}/${a.metric}`}><td>${time(a.at)}</td>
            <td><a href=${`#/devices/${encodeURIComponent(a.device)}?tab=metrics&metric=${a.metric}`}>${a.device}</a></td>
            <td>${a.metric}</td><td>${label(a.kind)}</td><td>${number(a.value)}</td>
            <td>${number(a.baseline)} ± ${number(a.spread)} (z ${number(a.z)})</td><td>${number(a.score)}</td></tr>`)}
        </tbody>
      </table>
      ${anomalies.length === 0 && html`<p class="muted">No anomalies.</p>`}
    </section>`;
}

/** The limiting metric's last hours and its trend to the end of the forecast. */
function Forecast({ prediction }) {
  const metric = prediction.limiting_metric;
  const [level, slopePerHour] = prediction.trends[metric];
  const { data, error } = useLoad(() => {
    const to = new Date();
    const q = new URLSearchParams({ metric, from: new Date(to - 6 * 3600 * 1000).toISOString(), to: to.toISOString(), resolution: "1m" });
    return get(`/analytics/devices/${encodeURIComponent(prediction.device_id)}/telemetry?${q}`);
  }, [prediction.device_id, metric]);
  const columns = useMemo(() => data && forecastColumns(data.points, {
    level, slopePerHour, nowSeconds: Date.now() / 1000, hoursAhead: Math.min(168, Math.max(1, (prediction.remaining_hours ?? 24) * 1.2)),
  }), [data]);
  return html`
    <h3>Why ${prediction.device_id}: ${metric} moves ${number(slopePerHour)} per hour from ${number(level)}</h3>
    <${ErrorNote} error=${error} />
    ${columns && html`<${TimeChart} id="forecast-chart" columns=${columns} unit=${metric} labels=${["observed", "trend"]} />`}`;
}
