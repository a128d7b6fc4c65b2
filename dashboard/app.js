// The operator dashboard: sign-in, navigation by the address's fragment (#/overview,
// #/devices?kind=...), and the live feed that keeps every view current.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { html } from "./html.js";
import { whenUnauthorized } from "./api.js";
import { followLog } from "./live.js";
import { adoptTokenFromFragment, signOut, token } from "./session.js";
import { Devices } from "./views/devices.js";
import { Login } from "./views/login.js";
import { Overview } from "./views/overview.js";

const ACTIVITY_SHOWN = 50;
const REFRESH_MS = 1000;

/** The current route from the fragment: `#/devices?kind=x` gives `{ view: "devices", query }`. */
function route() {
  const [path, search] = window.location.hash.replace(/^#\/?/, "").split("?");
  return { view: path || "overview", query: Object.fromEntries(new URLSearchParams(search ?? "")) };
}

function navigate(view, query = {}) {
  const search = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined)).toString();
  window.location.hash = `#/${view}${search ? `?${search}` : ""}`;
}

function App() {
  const [signedIn, setSignedIn] = useState(Boolean(token()));
  const [refused, setRefused] = useState(false);
  const [where, setWhere] = useState(route());
  const [connected, setConnected] = useState(false);
  const [activity, setActivity] = useState([]);
  const [revision, setRevision] = useState(0);

  useEffect(() => {
    const moved = () => setWhere(route());
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
    let pending = false;
    const stop = followLog({
      onState: setConnected,
      onEvent: (event) => {
        setActivity((old) => [event, ...old].slice(0, ACTIVITY_SHOWN));
        if (!pending) {
          pending = true;
          setTimeout(() => {
            pending = false;
            setRevision((r) => r + 1);
          }, REFRESH_MS);
        }
      },
    });
    return stop;
  }, [signedIn]);

  if (!signedIn) {
    return html`<${Login} refused=${refused} onSignedIn=${() => { setRefused(false); setSignedIn(true); }} />`;
  }
  const tab = (view, label) => html`
    <a href=${`#/${view}`} class=${where.view === view ? "active" : ""}>${label}</a>`;
  return html`
    <header>
      <strong>OptiBid IoT</strong>
      <nav>${tab("overview", "Overview")} ${tab("devices", "Devices")}</nav>
      <span id="live" class=${connected ? "live on" : "live off"}>${connected ? "live" : "disconnected, reconnecting…"}</span>
      <button class="link" onClick=${() => { signOut(); setSignedIn(false); }}>Sign out</button>
    </header>
    <main>
      ${where.view === "devices"
        ? html`<${Devices} filter=${where.query} onFilter=${(query) => navigate("devices", query)} />`
        : html`<${Overview} activity=${activity} revision=${revision} />`}
    </main>`;
}

adoptTokenFromFragment();
const root = document.getElementById("app");
root.textContent = "";
render(html`<${App} />`, root);
