// Audit: verify the whole log (the server walks the hash chain; the page shows it running and
// then the checkpoint to copy), export it as JSON lines, and read the history of any instance.
import { useState } from "preact/hooks";
import { html } from "../html.js";
import { get, post } from "../api.js";
import { eventName, number, time } from "../lib/format.js";
import { ErrorNote, Heading } from "../ui.js";
import { token } from "../session.js";

export function Audit({ query, navigate }) {
  const [verifying, setVerifying] = useState(false);
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const verify = async () => {
    setVerifying(true);
    setError(null);
    try {
      setResult(await post("/audit/verify", {}));
    } catch (e) {
      setError(e.message);
    } finally {
      setVerifying(false);
    }
  };
  const download = async () => {
    setError(null);
    const response = await fetch("/api/v1/audit/export", { headers: { Authorization: `Bearer ${token()}` } });
    if (!response.ok) return setError(`the export answered ${response.status}`);
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = `optibid-log-${new Date().toISOString().slice(0, 19)}.jsonl`;
    link.click();
    URL.revokeObjectURL(link.href);
    return undefined;
  };
  return html`
    <${Heading} title="Audit" />
    <section>
      <h2>Verify the log</h2>
      <p>Walks every event: hash chain, positions, stream versions and decoding.</p>
      <button type="button" name="verify" onClick=${verify} disabled=${verifying}>Verify</button>
      ${verifying && html`<progress id="verify-progress" aria-label="verifying"></progress> verifying…`}
      <${ErrorNote} error=${error} />
      ${result && (result.intact
        ? html`<div id="verify-result" class="ok">
            <p>Intact: ${number(result.events)} events in ${number(result.streams)} streams.</p>
            <p>Checkpoint to keep elsewhere (<code>optibid audit verify --checkpoint</code> checks it later):</p>
            <pre id="checkpoint">${result.head}</pre>
            <button type="button" onClick=${() => navigator.clipboard?.writeText(result.head)}>Copy</button>
          </div>`
        : html`<div id="verify-result" class="error" role="alert">Broken at position ${result.position}: ${result.reason}</div>`)}
    </section>
    <section>
      <h2>Export</h2>
      <p>The whole log as JSON lines: a readable trail, and a backup <code>optibid store import</code> restores.</p>
      <button type="button" name="export" onClick=${download}>Download the log</button>
    </section>
    <${InstanceHistory} stream=${query.stream} onStream=${(stream) => navigate("audit", null, { stream })} />`;
}

const PREFIX = { device: "devices", edge: "edge-nodes", campaign: "campaigns" };

function InstanceHistory({ stream, onStream }) {
  const [text, setText] = useState(stream ?? "");
  const [page, setPage] = useState(null);
  const [error, setError] = useState(null);
  const load = (name) => {
    const [kind, id] = name.split("/");
    if (!PREFIX[kind] || !id) return setError("an instance is `device/ID`, `edge/ID` or `campaign/ID`");
    return get(`/${PREFIX[kind]}/${encodeURIComponent(id)}/events?from_version=1&limit=1000`)
      .then((answer) => { setPage(answer); setError(null); })
      .catch((e) => setError(e.message));
  };
  return html`
    <section>
      <h2>History of an instance</h2>
      <form onSubmit=${(e) => { e.preventDefault(); onStream(text); load(text); }}>
        <input name="stream" placeholder="device/inv-1" value=${text} onInput=${(e) => setText(e.target.value)} />
        <button type="submit">Show</button>
      </form>
      <${ErrorNote} error=${error} />
      ${page && html`
        <table id="instance-history">
          <thead><tr><th>version</th><th>position</th><th>event</th><th>recorded</th><th>by</th><th>hash</th></tr></thead>
          <tbody>${page.events.map((e) => html`
            <tr key=${e.version}><td>${e.version}</td><td>${e.position}</td><td>${eventName(e.event_type)}</td>
              <td>${time(e.recorded_at_ms)}</td><td>${e.metadata?.principal ?? "–"}</td><td><code>${e.hash.slice(0, 12)}…</code></td></tr>`)}
          </tbody>
        </table>`}
    </section>`;
}
