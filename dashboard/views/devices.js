// The devices: filters by kind, status, protocol, region, site, tag and name, kept in the address
// (#/devices?kind=...&show=map) so a view can be shared; a list that stays smooth at 100,000
// devices (only the rows in sight are drawn; pages follow the API's cursor as it scrolls), a grid
// of cards, and a map of the devices that have a location.
import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "../html.js";
import { get } from "../api.js";
import { bounds, cluster, graticuleStep } from "../lib/clusters.js";
import { PageCache } from "../lib/page_cache.js";
import { label, time } from "../lib/format.js";
import { Badge, ErrorNote, Heading } from "../ui.js";

const KINDS = ["solar_inverter", "wind_turbine", "battery_storage", "smart_meter", "grid_sensor", "edge_gateway", "other"];
const STATUSES = ["online", "offline", "degraded", "maintenance"];
const PROTOCOLS = ["mqtt", "opcua", "modbus", "coap", "zigbee", "zwave", "matter", "thread"];
const FIELDS = ["kind", "status", "protocol", "region", "site", "tag", "q"];
const PAGE = 200;
const ROW_HEIGHT = 34;
const ROWS_AROUND = 12;
const MAP_DEVICES = 5000;
const LIST_REFRESH_MS = 5000;

/** The API query of the filter in the address. */
function filterQuery(query) {
  return new URLSearchParams(FIELDS.filter((f) => query[f]).map((f) => [f, query[f]]));
}

/** Pages of the filtered devices for the grid, loaded on demand through the cursor. */
function useDevicePages(query, revision, enabled) {
  const [pages, setPages] = useState({ items: [], next: null, total: null, loading: false });
  const [error, setError] = useState(null);
  const key = filterQuery(query).toString();
  const load = (after, replace) => {
    const page = filterQuery(query);
    page.set("limit", PAGE);
    if (after) page.set("after", after);
    setPages((old) => ({ ...old, loading: true }));
    get(`/devices?${page}`)
      .then((answer) => {
        setPages((old) => ({
          items: replace ? answer.items : [...old.items, ...answer.items],
          next: answer.next_cursor,
          total: answer.total,
          loading: false,
        }));
        setError(null);
      })
      .catch((e) => {
        setPages((old) => ({ ...old, loading: false }));
        setError(e.message);
      });
  };
  useEffect(() => {
    if (enabled) load(null, true);
  }, [key, enabled]);
  useEffect(() => {
    if (enabled && revision > 0 && pages.items.length <= PAGE) load(null, true);
  }, [revision]);
  return { pages, error, more: () => pages.next && !pages.loading && load(pages.next, false) };
}

/** The device view: filters, then the list, grid or map. */
export function Devices({ query, navigate, revision }) {
  const show = query.show ?? "list";
  const { pages, error, more } = useDevicePages(query, revision, show === "grid");
  const [listed, setListed] = useState({ total: null, error: null });
  const total = show === "grid" ? pages.total : listed.total;
  const change = (field) => (event) => navigate("devices", null, { ...query, [field]: event.target.value || undefined });
  const select = (field, options) => html`
    <label>${field}
      <select name=${field} value=${query[field] ?? ""} onChange=${change(field)}>
        <option value="">any</option>
        ${options.map((o) => html`<option value=${o}>${label(o)}</option>`)}
      </select>
    </label>`;
  const text = (field, title) => html`
    <label>${title}<input name=${field} value=${query[field] ?? ""} onChange=${change(field)} /></label>`;
  const open = (id) => navigate("devices", id);
  return html`
    <${Heading} title="Devices">
      ${["list", "grid", "map"].map((mode) => html`
        <button type="button" name=${`show-${mode}`} class=${show === mode ? "selected" : ""} aria-pressed=${show === mode}
          onClick=${() => navigate("devices", null, { ...query, show: mode === "list" ? undefined : mode })}>${mode}</button>`)}
    <//>
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>
      ${select("kind", KINDS)} ${select("status", STATUSES)} ${select("protocol", PROTOCOLS)}
      ${text("region", "region")} ${text("site", "site")} ${text("tag", "tag")} ${text("q", "name")}
    </form>
    <${ErrorNote} error=${show === "grid" ? error : listed.error} />
    ${show !== "map" && html`<p class="muted" id="device-count">${total === null ? "Loading…" : `${total.toLocaleString("en")} devices`}</p>`}
    ${show === "map"
      ? html`<${DeviceMap} query=${query} open=${open} />`
      : show === "grid"
        ? html`<${DeviceGrid} pages=${pages} more=${more} open=${open} />`
        : html`<${DeviceList} query=${query} revision=${revision} open=${open} onLoaded=${setListed} />`}`;
}

/**
 * Rows drawn only where the viewport is, from pages held only near it (lib/page_cache.js): the
 * next page loads through the cursor as rows come into sight, and the pages in sight reload at
 * most every few seconds while the fleet changes.
 */
function DeviceList({ query, revision, open, onLoaded }) {
  const key = filterQuery(query).toString();
  const cache = useRef(null);
  if (cache.current?.key !== key) {
    cache.current = Object.assign(new PageCache(PAGE), { key });
  }
  const box = useRef(null);
  const loading = useRef(false);
  const refreshed = useRef(Date.now());
  const [version, setVersion] = useState(0);
  const [top, setTop] = useState(0);
  const [height, setHeight] = useState(600);
  useEffect(() => {
    if (box.current) setHeight(box.current.clientHeight);
  }, []);
  const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - ROWS_AROUND);
  const last = Math.ceil((top + height) / ROW_HEIGHT) + ROWS_AROUND;
  const view = useRef({ first, last });
  view.current = { first, last };
  useEffect(() => {
    if (box.current) box.current.scrollTop = 0;
    setTop(0);
  }, [key]);
  useEffect(() => {
    const pages = cache.current;
    const wanted = pages.wanted(first, last);
    if (!wanted || loading.current) return;
    loading.current = true;
    const page = filterQuery(query);
    page.set("limit", PAGE);
    if (wanted.after) page.set("after", wanted.after);
    get(`/devices?${page}`)
      .then((answer) => {
        if (cache.current !== pages) return;
        pages.store(wanted.index, answer.items, answer.next_cursor, answer.total);
        pages.evict(view.current.first, view.current.last);
        onLoaded({ total: answer.total, error: null });
      })
      .catch((error) => onLoaded({ total: pages.total, error: error.message }))
      .finally(() => {
        loading.current = false;
        setVersion((v) => v + 1);
      });
  }, [first, last, version, key]);
  useEffect(() => {
    if (revision === 0 || Date.now() - refreshed.current < LIST_REFRESH_MS) return;
    refreshed.current = Date.now();
    cache.current.refresh(first, last);
    setVersion((v) => v + 1);
  }, [revision]);
  const rows = cache.current.total ?? 0;
  return html`
    <div class="device-list" role="table" aria-label="devices" aria-rowcount=${rows}>
      <div class="row head" role="row">
        ${["id", "name", "kind", "status", "region", "site", "firmware"].map((h) => html`<span role="columnheader">${h}</span>`)}
      </div>
      <div class="rows" ref=${box} onScroll=${(e) => setTop(e.currentTarget.scrollTop)} tabindex="0">
        <div style=${`height:${rows * ROW_HEIGHT}px;position:relative`}>
          ${cache.current.rows(first, Math.min(last, rows)).map(([row, d]) => html`
            <div class="row" role="row" key=${d.id} data-device=${d.id} aria-rowindex=${row + 1}
              style=${`transform:translateY(${row * ROW_HEIGHT}px)`}>
              <span><a href=${`#/devices/${encodeURIComponent(d.id)}`} onClick=${(e) => { e.preventDefault(); open(d.id); }}><code>${d.id}</code></a></span>
              <span>${d.name}</span><span>${label(d.kind)}</span><span><${Badge} value=${d.status} /></span>
              <span>${d.region}</span><span>${d.site}</span><span>${d.firmware_version}</span>
            </div>`)}
        </div>
      </div>
    </div>`;
}

function DeviceGrid({ pages, more, open }) {
  return html`
    <div class="cards">
      ${pages.items.map((d) => html`
        <a class="card" key=${d.id} data-device=${d.id} href=${`#/devices/${encodeURIComponent(d.id)}`}
          onClick=${(e) => { e.preventDefault(); open(d.id); }}>
          <strong>${d.name}</strong><code>${d.id}</code>
          <span>${label(d.kind)} · ${d.region} · ${d.site}</span>
          <${Badge} value=${d.status} /><span class="muted">updated ${time(d.updated_at)}</span>
        </a>`)}
    </div>
    ${pages.next && html`<button type="button" onClick=${more}>More devices</button>`}`;
}

/** Devices with a location, clustered on a plain projection of their region of the globe. */
function DeviceMap({ query, open }) {
  const [devices, setDevices] = useState(null);
  const [error, setError] = useState(null);
  const [focus, setFocus] = useState(null);
  const key = filterQuery(query).toString();
  useEffect(() => {
    let cancelled = false;
    (async () => {
      const found = [];
      let after = null;
      do {
        const page = filterQuery(query);
        page.set("limit", 1000);
        if (after) page.set("after", after);
        const answer = await get(`/devices?${page}`);
        found.push(...answer.items.filter((d) => d.location));
        after = answer.next_cursor;
      } while (after && found.length < MAP_DEVICES && !cancelled);
      if (!cancelled) {
        setDevices(found);
        setFocus(null);
      }
    })().catch((e) => setError(e.message));
    return () => { cancelled = true; };
  }, [key]);
  if (error) return html`<${ErrorNote} error=${error} />`;
  if (!devices) return html`<p class="muted">Loading the map…</p>`;
  if (devices.length === 0) return html`<p class="muted" id="map-empty">No device here has a location; add <code>location: {lat, lon}</code> to its registration.</p>`;
  const [width, height] = [960, 480];
  const shown = focus ? devices.filter((d) => focus.has(d.id)) : devices;
  const view = bounds(shown.map((d) => d.location));
  const clusters = cluster(shown, view, width, height);
  const choose = (c) => (c.count === 1 ? open(c.ids[0]) : setFocus(new Set(c.ids)));
  const step = graticuleStep(Math.max(view.east - view.west, view.north - view.south));
  const digits = Math.max(0, -Math.floor(Math.log10(step)));
  const lines = [];
  for (let n = Math.ceil(view.west / step); n * step <= view.east; n += 1) lines.push({ lon: Number((n * step).toFixed(digits)) });
  for (let n = Math.ceil(view.south / step); n * step <= view.north; n += 1) lines.push({ lat: Number((n * step).toFixed(digits)) });
  const x = (lon) => ((lon - view.west) / (view.east - view.west)) * width;
  const y = (lat) => ((view.north - lat) / (view.north - view.south)) * height;
  return html`
    <svg class="map" id="device-map" viewBox=${`0 0 ${width} ${height}`} role="img"
      aria-label=${`${devices.length} devices in ${clusters.length} places`}>
      ${lines.map((l) => l.lon !== undefined
        ? html`<line class="graticule" x1=${x(l.lon)} x2=${x(l.lon)} y1="0" y2=${height} /><text class="graticule-label" x=${x(l.lon) + 2} y=${height - 4}>${l.lon}°</text>`
        : html`<line class="graticule" y1=${y(l.lat)} y2=${y(l.lat)} x1="0" x2=${width} /><text class="graticule-label" x="2" y=${y(l.lat) - 2}>${l.lat}°</text>`)}
      ${clusters.map((c) => html`
        <g class="cluster" data-count=${c.count} tabindex="0" role="button"
          onClick=${() => choose(c)} onKeyDown=${(e) => e.key === "Enter" && choose(c)}>
          <title>${c.count === 1 ? c.ids[0] : `${c.count} devices: ${c.ids.slice(0, 8).join(", ")}${c.count > 8 ? "…" : ""}`}</title>
          <circle cx=${c.x} cy=${c.y} r=${Math.min(28, 6 + Math.sqrt(c.count) * 3)} class=${c.statuses.online === c.count ? "all-online" : "some-offline"} />
          ${c.count > 1 && html`<text x=${c.x} y=${c.y + 4} text-anchor="middle">${c.count}</text>`}
        </g>`)}
    </svg>
    <p class="muted">${devices.length.toLocaleString("en")} devices with a location${devices.length >= MAP_DEVICES ? ` (the first ${MAP_DEVICES})` : ""}${focus ? `, ${shown.length} in view` : ""}; a cluster zooms in to its devices, a device opens.
      ${focus && html` <button type="button" name="whole-map" onClick=${() => setFocus(null)}>Whole map</button>`}</p>`;
}
