// Campaigns: create one (with a live count of the devices its selector matches, its waves and
// thresholds), follow each wave's progress as it happens, pause, resume or cancel it, see each
// device's outcome, and for an aborted campaign the failure that crossed its threshold.
import { useEffect, useState } from "preact/hooks";
import { html } from "../html.js";
import { get, post } from "../api.js";
import { useLoad } from "../hooks.js";
import { eventName, label, number, percent, time } from "../lib/format.js";
import { ActionButton, Badge, ErrorNote, Heading } from "../ui.js";

const KINDS = ["firmware_update", "config_change", "data_collection", "model_deployment"];
const DEVICE_KINDS = ["solar_inverter", "wind_turbine", "battery_storage", "smart_meter", "grid_sensor", "edge_gateway", "other"];

export function Campaigns(props) {
  return props.id ? html`<${Campaign} ...${props} />` : html`<${CampaignList} ...${props} />`;
}

function CampaignList({ me, revision, navigate }) {
  const { data, error } = useLoad(() => get("/campaigns?limit=200"), [revision]);
  return html`
    <${Heading} title="Campaigns" />
    <${ErrorNote} error=${error} />
    ${me.may_command && html`<${NewCampaign} onCreated=${(id) => navigate("campaigns", id)} />`}
    ${data && html`
      <table id="campaigns">
        <thead><tr><th>campaign</th><th>kind</th><th>phase</th><th>targets</th><th>succeeded</th><th>failed</th><th>waves</th></tr></thead>
        <tbody>${data.items.map((c) => html`
          <tr key=${c.id} data-campaign=${c.id}>
            <td><a href=${`#/campaigns/${encodeURIComponent(c.id)}`}>${c.name}</a> <code class="muted">${c.id}</code></td>
            <td>${label(c.kind)}</td><td><${Badge} value=${c.phase} /></td><td>${c.targets}</td><td>${c.succeeded}</td>
            <td>${c.failed + c.timed_out}</td><td>${c.waves.length}</td>
          </tr>`)}
        </tbody>
      </table>
      ${data.items.length === 0 && html`<p class="muted">No campaigns yet.</p>`}`}`;
}

/** How many devices a selector matches now, from the device list's own count. */
function useMatching(selector) {
  const [count, setCount] = useState(null);
  const query = new URLSearchParams(Object.entries(selector).filter(([, v]) => v));
  query.set("limit", "1");
  useEffect(() => {
    const timer = setTimeout(() => get(`/devices?${query}`).then((page) => setCount(page.total)).catch(() => setCount(null)), 250);
    return () => clearTimeout(timer);
  }, [query.toString()]);
  return count;
}

function NewCampaign({ onCreated }) {
  const [form, setForm] = useState({
    id: "", name: "", kind: "firmware_update", payload: '{"version": "2.5.0"}', waves: "10, 50, 100",
    success: "0.9", abort: "0.2", timeout: "120", device_kind: "", region: "", site: "", tag: "",
  });
  const [error, setError] = useState(null);
  const set = (field) => (event) => setForm((old) => ({ ...old, [field]: event.target.value }));
  const matching = useMatching({ kind: form.device_kind, region: form.region, site: form.site, tag: form.tag });
  const create = async (event) => {
    event.preventDefault();
    try {
      JSON.parse(form.payload);
    } catch (e) {
      setError(`the payload is not JSON: ${e.message}`);
      return;
    }
    const one = (value) => (value ? [value] : []);
    const definition = {
      id: form.id.trim(), name: form.name.trim() || form.id.trim(), kind: form.kind, payload: form.payload,
      selector: { kinds: one(form.device_kind), regions: one(form.region), sites: one(form.site), tags: one(form.tag), device_ids: [] },
      waves: form.waves.split(",").map((w) => Number(w.trim())).filter((w) => !Number.isNaN(w)),
      success_threshold: Number(form.success), abort_threshold: Number(form.abort),
      device_timeout_ms: Math.round(Number(form.timeout) * 1000),
    };
    try {
      await post("/campaigns", definition);
      setError(null);
      onCreated(definition.id);
    } catch (e) {
      setError(e.message);
    }
  };
  const field = (name, title, extra = {}) => html`<label>${title}<input name=${name} value=${form[name]} onInput=${set(name)} ...${extra} /></label>`;
  return html`
    <details class="new-campaign" open>
      <summary>New campaign</summary>
      <form id="new-campaign" onSubmit=${create}>
        <div class="filters">
          ${field("id", "id", { required: true, placeholder: "fw-2-5" })} ${field("name", "name")}
          <label>kind <select name="kind" value=${form.kind} onChange=${set("kind")}>${KINDS.map((k) => html`<option value=${k}>${label(k)}</option>`)}</select></label>
          ${field("payload", "payload (JSON)")}
        </div>
        <div class="filters">
          <label>device kind <select name="device_kind" value=${form.device_kind} onChange=${set("device_kind")}>
            <option value="">any</option>${DEVICE_KINDS.map((k) => html`<option value=${k}>${label(k)}</option>`)}</select></label>
          ${field("region", "region")} ${field("site", "site")} ${field("tag", "tag")}
          <p id="selector-preview" aria-live="polite">${matching === null ? "…" : `${number(matching)} devices match`}</p>
        </div>
        <div class="filters">
          ${field("waves", "waves (cumulative %)")} ${field("success", "success threshold per wave (0–1)")}
          ${field("abort", "abort threshold (0–1)")} ${field("timeout", "device timeout (s)")}
        </div>
        <button type="submit" name="create-campaign">Create</button>
        <${ErrorNote} error=${error} />
      </form>
    </details>`;
}

function Campaign({ id, me, revision }) {
  const path = `/campaigns/${encodeURIComponent(id)}`;
  const { data, error, reload } = useLoad(async () => {
    const [detail, list, history] = await Promise.all([
      get(path),
      get("/campaigns?limit=1000"),
      get(`${path}/events?from_version=1&limit=1000`),
    ]);
    return { detail, summary: list.items.find((c) => c.id === id), history };
  }, [id, revision]);
  if (!data) return html`<${ErrorNote} error=${error} />${!error && html`<p class="muted">Loading…</p>`}`;
  const { state } = data.detail;
  const summary = data.summary;
  const phase = typeof state.phase === "string" ? state.phase : Object.keys(state.phase)[0];
  const reason = typeof state.phase === "string" ? null : Object.values(state.phase)[0];
  const act = (action, body) => () => post(`${path}/${action}`, body).then(reload);
  const d = state.definition;
  return html`
    <p><a href="#/campaigns">← Campaigns</a></p>
    <${Heading} title=${d.name}><${Badge} value=${phase} /><//>
    <${ErrorNote} error=${error} />
    <dl class="facts">
      <dt>kind</dt><dd>${label(d.kind)}</dd><dt>payload</dt><dd><code>${d.payload}</code></dd>
      <dt>waves</dt><dd>${d.waves.join(" % → ")} %</dd>
      <dt>thresholds</dt><dd>${percent(d.success_threshold)} success per wave, abort above ${percent(d.abort_threshold)} failed</dd>
      <dt>targets</dt><dd>${state.targets.length}</dd>
    </dl>
    ${me.may_command && html`
      <div class="controls" id="campaign-controls">
        ${phase === "draft" && html`<${ActionButton} name="start" action=${act("start")} done="started">Start<//>`}
        ${phase === "running" && html`<${ActionButton} name="pause" action=${act("pause")} done="paused">Pause<//>`}
        ${phase === "paused" && html`<${ActionButton} name="resume" action=${act("resume")} done="resumed">Resume<//>`}
        ${["draft", "running", "paused"].includes(phase) && html`
          <${ActionButton} name="cancel" confirm="Cancel this campaign?" action=${act("cancel", { reason: "cancelled from the dashboard" })} done="cancelled">Cancel<//>`}
      </div>`}
    ${reason && html`<p class=${phase === "aborted" ? "error" : "muted"} role="alert" id="phase-reason">${label(phase)}: ${reason}</p>`}
    <h2>Waves</h2>
    <table id="campaign-waves">
      <thead><tr><th>wave</th><th>devices</th><th>succeeded</th><th>failed</th><th>timed out</th><th>progress</th></tr></thead>
      <tbody>${(summary?.waves ?? []).map((w) => {
        const done = w.succeeded + w.failed + w.timed_out;
        return html`
          <tr key=${w.wave} data-wave=${w.wave} data-done=${done === w.devices ? "yes" : "no"}>
            <td>${w.wave + 1}</td><td>${w.devices}</td><td>${w.succeeded}</td><td>${w.failed}</td><td>${w.timed_out}</td>
            <td><progress max=${w.devices || 1} value=${done}></progress> ${done}/${w.devices}</td>
          </tr>`;
      })}</tbody>
    </table>
    ${(summary?.waves ?? []).length === 0 && html`<p class="muted">No wave released yet.</p>`}
    <h2>Devices</h2>
    <table id="campaign-outcomes">
      <thead><tr><th>device</th><th>outcome</th></tr></thead>
      <tbody>${state.targets.map((device) => html`
        <tr key=${device}><td><a href=${`#/devices/${encodeURIComponent(device)}`}>${device}</a></td>
          <td>${state.outcomes[device] ? html`<${Badge} value=${typeof state.outcomes[device] === "string" ? state.outcomes[device] : Object.keys(state.outcomes[device])[0]} />` : "not released"}</td></tr>`)}
      </tbody>
    </table>
    <h2>History</h2>
    <ol class="history">${data.history.events.map((e) => html`<li key=${e.version}><time>${time(e.recorded_at_ms)}</time> ${eventName(e.event_type)} <span class="muted">${e.metadata?.principal ?? ""}</span></li>`)}</ol>`;
}
