// The overview: fleet figures, devices per kind, edge nodes, and the live activity feed.
import { useEffect, useState } from "preact/hooks";
import { html } from "../html.js";
import { get } from "../api.js";

const percent = (rate) => `${(100 * (rate ?? 0)).toFixed(1)} %`;

/** Fleet and edge figures, refreshed whenever an event arrives (at most once a second). */
export function Overview({ activity, revision }) {
  const [fleet, setFleet] = useState(null);
  const [edge, setEdge] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    Promise.all([get("/analytics/fleet"), get("/analytics/edge")])
      .then(([fleet, edge]) => {
        setFleet(fleet);
        setEdge(edge);
        setError(null);
      })
      .catch((e) => setError(e.message));
  }, [revision]);
  if (error) return html`<p class="error" role="alert">${error}</p>`;
  if (!fleet || !edge) return html`<p class="muted">Loading…</p>`;
  const total = fleet.total;
  const kinds = Object.entries(fleet.by_kind ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return html`
    <section class="figures">
      ${figure("Devices", total.devices, "devices")}
      ${figure("Online", percent(total.online_rate), "online-rate")}
      ${figure("Data points", total.data_points, "data-points")}
      ${figure("Average uptime", percent(total.average_uptime), "uptime")}
      ${figure("Active alerts", total.active_alerts, "active-alerts")}
      ${figure("Edge nodes", edge.total.nodes, "edge-nodes")}
      ${figure("Models deployed", edge.total.models_deployed, "models")}
    </section>
    <div class="columns">
      <section>
        <h2>Devices per kind</h2>
        <table>
          <thead><tr><th>kind</th><th>devices</th><th>online</th><th>alerts</th></tr></thead>
          <tbody>
            ${kinds.map(([kind, figures]) => html`
              <tr data-kind=${kind}><td>${kind.replaceAll("_", " ")}</td><td>${figures.devices}</td>
                <td>${percent(figures.online_rate)}</td><td>${figures.active_alerts}</td></tr>`)}
          </tbody>
        </table>
      </section>
      <section>
        <h2>Activity</h2>
        <ol class="activity" id="activity">
          ${activity.map((event) => html`
            <li key=${event.position}>
              <time>${new Date(event.recorded_at_ms).toLocaleTimeString()}</time>
              <span class="type">${event.event_type}</span> <span>${event.stream}</span>
            </li>`)}
        </ol>
        ${activity.length === 0 && html`<p class="muted">Events appear here as they happen.</p>`}
      </section>
    </div>`;
}

function figure(label, value, id) {
  return html`<div class="figure" id=${`figure-${id}`}><span class="value">${value}</span><span class="label">${label}</span></div>`;
}
