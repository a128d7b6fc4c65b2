// The live feed: the platform's server-sent event stream (/api/v1/events/stream), read with
// fetch so the token travels in a header. On a lost connection it reconnects with Last-Event-ID
// and so catches up on what it missed; listeners learn whether it is connected.
import { fetchEventSource } from "fetch-event-source";
import { token } from "./session.js";

/**
 * Follows the log from its head (or from `from`), calling `onEvent(record)` for each device,
 * edge-node and campaign event (the server filters out telemetry) and `onState(connected)` when
 * the connection opens or drops. Returns a function that stops following.
 */
export function followLog({ from, onEvent, onState }) {
  const stop = new AbortController();
  const query = new URLSearchParams({ kinds: "device,edge,campaign" });
  if (from) query.set("from", from);
  fetchEventSource(`/api/v1/events/stream?${query}`, {
    headers: { Authorization: `Bearer ${token()}` },
    signal: stop.signal,
    openWhenHidden: true,
    async onopen(response) {
      if (!response.ok) throw new Error(`the event stream answered ${response.status}`);
      onState(true);
    },
    onmessage(message) {
      if (message.data) onEvent(JSON.parse(message.data));
    },
    onclose() {
      onState(false);
      throw new Error("the event stream closed");
    },
    onerror() {
      onState(false);
      return 2000;
    },
  });
  return () => stop.abort();
}
