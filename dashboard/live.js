// The live feed: the platform's server-sent event stream (/api/v1/events/stream), read with
// fetch so the token travels in a header. Views follow summaries at a bounded rate (one a second
// at most, whatever the fleet sends); a device page follows its own stream. On a lost connection
// the feed reconnects (with Last-Event-ID for a stream) and listeners learn whether it is open.
import { fetchEventSource } from "fetch-event-source";
import { token } from "./session.js";

const RETRY_MS = 2000;

/** Summaries come at least every 5 s (an empty one when nothing happens); silence longer than
 * this means the connection died without a word, and the feed reconnects. */
const SILENCE_MS = 12000;

function follow(query, { onMessage, onState, watchdog = false }) {
  const stop = new AbortController();
  let attempt = null;
  let silence = null;
  const connect = () => {
    attempt = new AbortController();
    const ended = attempt;
    stop.signal.addEventListener("abort", () => ended.abort(), { once: true });
    const quiet = () => {
      clearTimeout(silence);
      if (!watchdog) return;
      silence = setTimeout(() => {
        onState?.(false);
        ended.abort();
        setTimeout(() => stop.signal.aborted || connect(), RETRY_MS);
      }, SILENCE_MS);
    };
    fetchEventSource(`/api/v1/events/stream?${new URLSearchParams(query)}`, {
      headers: { Authorization: `Bearer ${token()}` },
      signal: ended.signal,
      openWhenHidden: true,
      async onopen(response) {
        if (!response.ok) throw new Error(`the event stream answered ${response.status}`);
        quiet();
        onState?.(true);
      },
      onmessage(message) {
        quiet();
        if (message.data) onMessage(message.event, JSON.parse(message.data));
      },
      onclose() {
        onState?.(false);
        throw new Error("the event stream closed");
      },
      onerror() {
        onState?.(false);
        return RETRY_MS;
      },
    });
  };
  connect();
  return () => {
    clearTimeout(silence);
    stop.abort();
  };
}

/**
 * Follows summaries of the log: `onSummary(summary)` gets, at most once a second, the events by
 * kind, the streams that changed and the newest events other than telemetry; the first summary
 * after each (re)connection has no events and tells views to catch up. Returns a stop function.
 */
export function followSummaries({ onSummary, onState }) {
  return follow({ summary: "true" }, { onMessage: (_, summary) => onSummary(summary), onState, watchdog: true });
}

/** Follows one stream (`device/inv-1`) from now: `onEvent(record)` per event. Returns a stop function. */
export function followStream(stream, { onEvent, onState }) {
  return follow({ stream }, { onMessage: (_, record) => onEvent(record), onState });
}
