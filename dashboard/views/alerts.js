// Alerts across the fleet: filter by severity, state, device kind and region (kept in the
// address); acknowledge and resolve, with who acknowledged and when it was resolved.
import { html } from "../html.js";
import { get } from "../api.js";
import { useLoad } from "../hooks.js";
import { label } from "../lib/format.js";
import { ErrorNote, Heading } from "../ui.js";
import { AlertTable } from "./device.js";

const FILTERS = {
  severity: ["info", "warning", "critical"],
  state: ["active", "acknowledged", "resolved"],
  kind: ["solar_inverter", "wind_turbine", "battery_storage", "smart_meter", "grid_sensor", "edge_gateway", "other"],
};

export function Alerts({ query, me, navigate, revision }) {
  const search = new URLSearchParams(["severity", "state", "kind", "region"].filter((f) => query[f]).map((f) => [f, query[f]]));
  search.set("limit", "500");
  const { data, error, reload } = useLoad(() => get(`/alerts?${search}`), [search.toString(), revision]);
  const change = (field) => (event) => navigate("alerts", null, { ...query, [field]: event.target.value || undefined });
  return html`
    <${Heading} title="Alerts" />
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>
      ${Object.entries(FILTERS).map(([field, options]) => html`
        <label>${field}
          <select name=${field} value=${query[field] ?? ""} onChange=${change(field)}>
            <option value="">${field === "state" ? "open" : "any"}</option>
            ${options.map((o) => html`<option value=${o}>${label(o)}</option>`)}
          </select>
        </label>`)}
      <label>region <input name="region" value=${query.region ?? ""} onChange=${change("region")} /></label>
    </form>
    <${ErrorNote} error=${error} />
    ${data && html`
      <p class="muted" id="alert-count">${data.total} alerts${data.total > data.items.length ? `, the newest ${data.items.length} shown` : ""}</p>
      <${AlertTable} alerts=${data.items} me=${me} onChange=${reload} showDevice=${true} />`}`;
}
