// Pieces every view uses: an error in words, a figure tile, a button that runs an API call and
// says how it went, and a badge for a status.
import { useState } from "preact/hooks";
import { html } from "./html.js";
import { label } from "./lib/format.js";

/** The API's error in words, or nothing. */
export function ErrorNote({ error }) {
  return error ? html`<p class="error" role="alert">${error}</p>` : null;
}

/** A figure with its label and, when given, its change (`trend`, signed). */
export function Figure({ id, title, value, trend }) {
  const arrow = trend === undefined || trend === null || trend === 0 ? "" : trend > 0 ? "▲" : "▼";
  return html`
    <div class="figure" id=${`figure-${id}`}>
      <span class="value">${value}</span><span class="label">${title}</span>
      ${arrow && html`<span class="trend" title="change since this page opened">${arrow} ${Math.abs(trend).toLocaleString("en")}</span>`}
    </div>`;
}

/** A status word, coloured by what it means. */
export function Badge({ value }) {
  return html`<span class=${`badge status-${value}`}>${label(value)}</span>`;
}

/**
 * A button that runs `action()` (a promise): disabled while it runs, then `done` (text) or the
 * API's error next to it. `confirm` asks first.
 */
export function ActionButton({ action, children, confirm, done, name, kind = "" }) {
  const [state, setState] = useState({ busy: false, message: null, error: null });
  const run = async () => {
    if (confirm && !window.confirm(confirm)) return;
    setState({ busy: true, message: null, error: null });
    try {
      const answer = await action();
      setState({ busy: false, message: typeof done === "function" ? done(answer) : done ?? null, error: null });
    } catch (error) {
      setState({ busy: false, message: null, error: error.message });
    }
  };
  return html`
    <span class="action">
      <button type="button" class=${kind} name=${name} disabled=${state.busy} onClick=${run}>${children}</button>
      ${state.message && html`<span class="ok" role="status">${state.message}</span>`}
      ${state.error && html`<span class="error" role="alert">${state.error}</span>`}
    </span>`;
}

/** A page heading with optional controls on its right. */
export function Heading({ title, children }) {
  return html`<div class="heading"><h1>${title}</h1><div class="controls">${children}</div></div>`;
}
