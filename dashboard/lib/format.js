// Formatting of figures for people: counts, rates, durations, times and the API's snake_case
// names. Pure functions, tested with node's own test runner (format.test.js).

const INTEGER = new Intl.NumberFormat("en", { maximumFractionDigits: 0 });
const DECIMAL = new Intl.NumberFormat("en", { maximumFractionDigits: 2 });

/** A count or a measurement: `12,345`, `3.14`; a dash for a missing value. */
export function number(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return Number.isInteger(value) ? INTEGER.format(value) : DECIMAL.format(value);
}

/** A share between 0 and 1 as a percentage: `0.953` gives `95.3 %`. */
export function percent(share) {
  if (share === null || share === undefined || Number.isNaN(share)) return "–";
  return `${(share * 100).toFixed(1)} %`;
}

/** A duration in seconds, in its largest two units: `3 d 4 h`, `5 min 2 s`, `0.4 s`. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
  if (seconds < 1) return `${seconds.toFixed(1)} s`;
  const units = [["d", 86400], ["h", 3600], ["min", 60], ["s", 1]];
  const parts = [];
  let left = Math.floor(seconds);
  for (const [name, size] of units) {
    if (left >= size || (parts.length === 0 && size === 1)) {
      parts.push(`${Math.floor(left / size)} ${name}`);
      left %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(" ");
}

/** An instant (RFC 3339 text or milliseconds) as `2026-12-04 10:15:02` in UTC. */
export function time(instant) {
  if (instant === null || instant === undefined || instant === "") return "–";
  const date = new Date(instant);
  if (Number.isNaN(date.getTime())) return String(instant);
  return date.toISOString().replace("T", " ").replace(/\.\d+Z$/, "").replace(/Z$/, "");
}

/** An API name for people: `solar_inverter` gives `solar inverter`. */
export function label(name) {
  return String(name ?? "").replaceAll("_", " ");
}

/** An event type without its stream kind: `device.command_succeeded` gives `command succeeded`. */
export function eventName(eventType) {
  const [, name = eventType] = String(eventType).split(".");
  return label(name);
}
