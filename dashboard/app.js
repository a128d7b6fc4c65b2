// The operator dashboard: sign-in, navigation by the address's fragment (#/devices?kind=...,
// #/devices/inv-1), the caller's role (a viewer sees no buttons that change anything), and the
// live summaries that keep every view current.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { html } from "./html.js";
import { get, whenUnauthorized } from "./api.js";
import { followSummaries } from "./live.js";
import { parseRoute, routeHash } from "./lib/route.js";
import { adoptTokenFromFragment, signOut, token } from "./session.js";
import { ErrorNote } from "./ui.js";
import { Alerts } from "./views/alerts.js";
import { Analytics } from "./views/analytics.js";
import { Audit } from "./views/audit.js";
import { Campaigns } from "./views/campaigns.js";
import { DeviceDetail } from "./views/device.js";
import { Devices } from "./views/devices.js";
import { EdgeNodes } from "./views/edge.js";
import { Login } from "./views/login.js";
import { Overview } from "./views/overview.js";

const ACTIVITY_SHOWN = 50;

const VIEWS = [
  ["overview", "Overview"],
  ["devices", "Devices"],
  ["edge-nodes", "Edge nodes"],
  ["analytics", "Analytics"],
  ["alerts", "Alerts"],
  ["campaigns", "Campaigns"],
  ["audit", "Audit"],
];

/** What an unknown role may do, until the platform says: nothing that changes anything. */
const UNKNOWN_ROLE = { name: "", role: "…", may_command: false, may_audit: false };

/** Moves to a view: `navigate("devices", null, { kind: "solar_inverter" })`. */
function navigate(view, id = null, query = {}) {
  window.location.hash = routeHash(view, id, query);
}

function Page({ where, me, live }) {
  const props = { query: where.query, id: where.id, me, revision: live.revision, navigate };
  switch (where.view) {
    case "devices":
      return where.id ? html`<${DeviceDetail} ...${props} />` : html`<${Devices} ...${props} />`;
    case "edge-nodes":
      return html`<${EdgeNodes} ...${props} />`;
    case "analytics":
      return html`<${Analytics} ...${props} />`;
    case "alerts":
      return html`<${Alerts} ...${props} />`;
    case "campaigns":
      return html`<${Campaigns} ...${props} />`;
    case "audit":
      if (me === UNKNOWN_ROLE) return html`<p class="muted">Loading…</p>`;
      return me.may_audit
        ? html`<${Audit} ...${props} />`
        : html`<p class="error" role="alert">The audit pages are for auditors and admins; this token is a ${me.role}.</p>`;
    default:
      return html`<${Overview} ...${props} activity=${live.activity} />`;
  }
}

function App() {
  const [signedIn, setSignedIn] = useState(Boolean(token()));
  const [refused, setRefused] = useState(false);
  const [where, setWhere] = useState(parseRoute(window.location.hash));
  const [me, setMe] = useState(null);
  const [meError, setMeError] = useState(null);
  const [live, setLive] = useState({ connected: false, revision: 0, activity: [] });

  useEffect(() => {
    const moved = () => setWhere(parseRoute(window.location.hash));
    window.addEventListener("hashchange", moved);
    const unsubscribe = whenUnauthorized(() => {
      setRefused(true);
      setSignedIn(false);
    });
    return () => {
      window.removeEventListener("hashchange", moved);
      unsubscribe();
    };
  }, []);

  useEffect(() => {
    if (!signedIn) return undefined;
    get("/tokens/current").then(setMe).catch((error) => setMeError(error.message));
    return followSummaries({
      onState: (connected) => setLive((old) => ({ ...old, connected })),
      onSummary: (summary) =>
        setLive((old) => {
          const seen = new Set(old.activity.map((event) => event.position));
          const fresh = summary.recent.filter((event) => !seen.has(event.position)).reverse();
          return {
            connected: true,
            revision: old.revision + 1,
            activity: [...fresh, ...old.activity].slice(0, ACTIVITY_SHOWN),
          };
        }),
    });
  }, [signedIn]);

  if (!signedIn) {
    return html`<${Login} refused=${refused} onSignedIn=${() => { setRefused(false); setSignedIn(true); }} />`;
  }
  const tabs = VIEWS.filter(([view]) => view !== "audit" || me?.may_audit);
  return html`
    <header>
      <strong>OptiBid IoT</strong>
      <nav aria-label="views">
        ${tabs.map(([view, title]) => html`
          <a href=${`#/${view}`} class=${where.view === view ? "active" : ""}
            aria-current=${where.view === view ? "page" : undefined}>${title}</a>`)}
      </nav>
      <span id="live" class=${live.connected ? "live on" : "live off"} role="status">
        ${live.connected ? "live" : "disconnected, reconnecting…"}</span>
      ${me && html`<span class="muted" id="who">${me.name} (${me.role})</span>`}
      <button class="link" onClick=${() => { signOut(); setSignedIn(false); }}>Sign out</button>
    </header>
    <main>
      <${ErrorNote} error=${meError} />
      <${Page} where=${where} me=${me ?? UNKNOWN_ROLE} live=${live} />
    </main>`;
}

adoptTokenFromFragment();
const root = document.getElementById("app");
root.textContent = "";
render(html`<${App} />`, root);
