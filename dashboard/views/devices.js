// The device list: filters by kind, status, protocol, region, site, tag and name, kept in the
// address (#/devices?kind=...) so a view can be shared; pages follow the API's cursor.
import { useEffect, useState } from "preact/hooks";
import { html } from "../html.js";
import { get } from "../api.js";

const KINDS = ["solar_inverter", "wind_turbine", "battery_storage", "smart_meter", "grid_sensor", "edge_gateway", "other"];
const STATUSES = ["online", "offline", "degraded", "maintenance"];
const PROTOCOLS = ["mqtt", "opcua", "modbus", "coap", "zigbee", "zwave", "matter", "thread"];
const FIELDS = ["kind", "status", "protocol", "region", "site", "tag", "q"];
const PAGE = 100;

/** The devices matching `filter` (the address's query), with the filter form above them. */
export function Devices({ filter, onFilter }) {
  const [pages, setPages] = useState({ items: [], next: null, total: null });
  const [error, setError] = useState(null);
  const query = new URLSearchParams(FIELDS.filter((f) => filter[f]).map((f) => [f, filter[f]]));
  const load = (after) => {
    const page = new URLSearchParams(query);
    page.set("limit", PAGE);
    if (after) page.set("after", after);
    get(`/devices?${page}`)
      .then((answer) => {
        setPages((old) => ({
          items: after ? [...old.items, ...answer.items] : answer.items,
          next: answer.next_cursor,
          total: answer.total,
        }));
        setError(null);
      })
      .catch((e) => setError(e.message));
  };
  useEffect(() => load(null), [query.toString()]);
  const change = (field) => (event) => onFilter({ ...filter, [field]: event.target.value || undefined });
  const select = (field, options) => html`
    <label>${field}
      <select name=${field} value=${filter[field] ?? ""} onChange=${change(field)}>
        <option value="">any</option>
        ${options.map((o) => html`<option value=${o}>${o.replaceAll("_", " ")}</option>`)}
      </select>
    </label>`;
  const text = (field, label) => html`
    <label>${label}<input name=${field} value=${filter[field] ?? ""} onChange=${change(field)} /></label>`;
  return html`
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>
      ${select("kind", KINDS)} ${select("status", STATUSES)} ${select("protocol", PROTOCOLS)}
      ${text("region", "region")} ${text("site", "site")} ${text("tag", "tag")} ${text("q", "name")}
    </form>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <p class="muted" id="device-count">${pages.total === null ? "Loading…" : `${pages.total} devices`}</p>
    <table class="devices">
      <thead><tr><th>id</th><th>name</th><th>kind</th><th>status</th><th>region</th><th>site</th><th>firmware</th></tr></thead>
      <tbody>
        ${pages.items.map((d) => html`
          <tr key=${d.id} data-device=${d.id}>
            <td><code>${d.id}</code></td><td>${d.name}</td><td>${d.kind.replaceAll("_", " ")}</td>
            <td><span class=${`status status-${d.status}`}>${d.status}</span></td>
            <td>${d.region}</td><td>${d.site}</td><td>${d.firmware_version}</td>
          </tr>`)}
      </tbody>
    </table>
    ${pages.next && html`<button onClick=${() => load(pages.next)}>More devices</button>`}`;
}
