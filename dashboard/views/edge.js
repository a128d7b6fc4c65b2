// Edge nodes: the list, and one node's CPU, memory and GPU use over time (from its heartbeats),
// inference rate and latency, models deployed (deploy one), and services (start, stop, restart).
import { useMemo, useState } from "preact/hooks";
import { html } from "../html.js";
import { get, post } from "../api.js";
import { TimeChart } from "../chart.js";
import { useLoad } from "../hooks.js";
import { label, number, time } from "../lib/format.js";
import { ActionButton, Badge, ErrorNote, Heading } from "../ui.js";

const HEARTBEATS_CHARTED = 500;
const OPTIMISATIONS = ["none", "fp16", "int8", "int4", "pruned"];

export function EdgeNodes(props) {
  return props.id ? html`<${EdgeNode} ...${props} />` : html`<${EdgeList} ...${props} />`;
}

function EdgeList({ revision, navigate }) {
  const { data, error } = useLoad(() => get("/edge-nodes?limit=1000"), [revision]);
  return html`
    <${Heading} title="Edge nodes" />
    <${ErrorNote} error=${error} />
    ${data && html`
      <p class="muted" id="edge-count">${data.total} edge nodes</p>
      <table id="edge-nodes">
        <thead><tr><th>id</th><th>name</th><th>kind</th><th>region · site</th><th>models</th><th>CPU</th><th>updated</th></tr></thead>
        <tbody>${data.items.map((n) => html`
          <tr key=${n.id} data-edge=${n.id}>
            <td><a href=${`#/edge-nodes/${encodeURIComponent(n.id)}`} onClick=${(e) => { e.preventDefault(); navigate("edge-nodes", n.id); }}><code>${n.id}</code></a></td>
            <td>${n.name}</td><td>${label(n.kind)}</td><td>${n.region} · ${n.site}</td><td>${n.models_deployed}</td>
            <td>${n.cpu_pct === null ? "–" : `${number(n.cpu_pct)} %`}</td><td>${time(n.updated_at)}</td>
          </tr>`)}
        </tbody>
      </table>`}`;
}

/** Heartbeats of `events` as columns: times, CPU, memory, GPU (percent). */
function usageColumns(events) {
  const columns = [[], [], [], []];
  for (const event of events) {
    const beat = event.data?.heartbeat_recorded;
    if (!beat) continue;
    columns[0].push(Math.floor(beat.at / 1000));
    columns[1].push(beat.cpu_pct);
    columns[2].push(beat.memory_pct);
    columns[3].push(beat.gpu_pct);
  }
  return columns;
}

function EdgeNode({ id, me, revision }) {
  const path = `/edge-nodes/${encodeURIComponent(id)}`;
  const { data, error, reload } = useLoad(async () => {
    const node = await get(path);
    const from = Math.max(1, node.version - HEARTBEATS_CHARTED + 1);
    const history = await get(`${path}/events?from_version=${from}&limit=${HEARTBEATS_CHARTED}`);
    return { node, history };
  }, [id, revision]);
  const columns = useMemo(() => usageColumns(data?.history.events ?? []), [data]);
  if (!data) return html`<${ErrorNote} error=${error} />${!error && html`<p class="muted">Loading…</p>`}`;
  const { state } = data.node;
  const beat = state.last_heartbeat;
  return html`
    <p><a href="#/edge-nodes">← Edge nodes</a></p>
    <${Heading} title=${state.profile?.name ?? id} />
    <${ErrorNote} error=${error} />
    <dl class="facts">
      <dt>kind</dt><dd>${label(state.profile?.kind)}</dd>
      <dt>hardware</dt><dd>${state.profile?.hardware.cores} cores, ${number(state.profile?.hardware.memory_mb)} MB${state.profile?.hardware.gpu ? `, ${state.profile.hardware.gpu.model}` : ""}</dd>
      <dt>last heartbeat</dt><dd>${beat ? time(beat.at) : "none yet"}</dd>
      <dt>inference</dt><dd id="edge-inference">${beat ? `${number(beat.inference_rate)} /s at ${number(beat.latency_ms)} ms` : "–"}</dd>
    </dl>
    <h2>Resource use</h2>
    ${columns[0].length
      ? html`<${TimeChart} id="edge-usage" columns=${columns} unit="%" labels=${["CPU", "memory", "GPU"]} />`
      : html`<p class="muted">No heartbeats yet.</p>`}
    <h2>Models</h2>
    <table id="edge-deployments">
      <thead><tr><th>model</th><th>version</th><th>optimisation</th><th>state</th></tr></thead>
      <tbody>${state.deployments.map((d) => html`
        <tr key=${d.deployment_id}><td>${d.model}</td><td>${d.version}</td><td>${d.optimisation}</td>
          <td>${typeof d.state === "string" ? html`<${Badge} value=${d.state.toLowerCase()} />` : `failed: ${d.state.Failed}`}</td></tr>`)}
      </tbody>
    </table>
    ${state.deployments.length === 0 && html`<p class="muted">No models deployed.</p>`}
    ${me.may_command && html`<${DeployForm} path=${path} onDone=${reload} />`}
    <h2>Services</h2>
    <table id="edge-services">
      <thead><tr><th>service</th><th>state</th><th>restarts</th>${me.may_command && html`<th></th>`}</tr></thead>
      <tbody>${Object.entries(state.services).map(([name, running]) => html`
        <tr key=${name} data-service=${name}><td>${name}</td><td><${Badge} value=${running} /></td><td>${state.restarts[name] ?? 0}</td>
          ${me.may_command && html`<td>${["start", "stop", "restart"].map((action) => html`
            <${ActionButton} name=${`${action}-${name}`} action=${() => post(`${path}/services/${encodeURIComponent(name)}/${action}`).then(reload)} done="sent">${action}<//>`)}</td>`}
        </tr>`)}
      </tbody>
    </table>
    ${Object.keys(state.services).length === 0 && html`<p class="muted">The node reported no services.</p>`}`;
}

function DeployForm({ path, onDone }) {
  const [model, setModel] = useState("");
  const [version, setVersion] = useState("");
  const [optimisation, setOptimisation] = useState("int8");
  return html`
    <form class="command-form" onSubmit=${(e) => e.preventDefault()}>
      <label>model <input name="model" value=${model} onInput=${(e) => setModel(e.target.value)} /></label>
      <label>version <input name="model-version" value=${version} onInput=${(e) => setVersion(e.target.value)} /></label>
      <label>optimisation <select name="optimisation" value=${optimisation} onChange=${(e) => setOptimisation(e.target.value)}>
        ${OPTIMISATIONS.map((o) => html`<option value=${o}>${o}</option>`)}</select></label>
      <${ActionButton} name="deploy" action=${() => post(`${path}/deployments`, { model, version, optimisation }).then(onDone)} done="requested">Deploy<//>
    </form>`;
}
