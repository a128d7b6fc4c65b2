// The login form: paste an API token (the login link printed by `optibid serve` or `demo`
// signs in without it).
import { useState } from "preact/hooks";
import { html } from "../html.js";
import { signIn } from "../session.js";

/** Asks for a token; `onSignedIn` runs once one is entered. */
export function Login({ onSignedIn, refused }) {
  const [value, setValue] = useState("");
  const submit = (event) => {
    event.preventDefault();
    if (!value.trim()) return;
    signIn(value);
    onSignedIn();
  };
  return html`
    <main class="login">
      <h1>OptiBid IoT</h1>
      ${refused && html`<p class="error" role="alert">The platform refused that token. Sign in again.</p>`}
      <form onSubmit=${submit}>
        <label for="token">API token</label>
        <input id="token" type="password" autocomplete="off" placeholder="obt_…"
          value=${value} onInput=${(e) => setValue(e.target.value)} />
        <button type="submit">Sign in</button>
      </form>
      <p class="muted">Use the login link that <code>optibid serve</code> prints on first start, or a token from <code>optibid token create</code>.</p>
    </main>`;
}
