// The platform's Prometheus text (/metrics) read for the system-health panel: samples by name
// and labels, rates between two scrapes, and quantiles of a histogram. Pure functions.

/** Every sample of `text`: `{ name, labels, value }`, comments left out. */
export function parseMetrics(text) {
  const samples = [];
  for (const line of String(text).split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels = {};
    for (const [, key, value] of (match[3] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
    samples.push({ name: match[1], labels, value: Number(match[4]) });
  }
  return samples;
}

/** The sum of the samples called `name` whose labels include `labels`. */
export function total(samples, name, labels = {}) {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** The largest value of the samples called `name`. */
export function largest(samples, name) {
  return samples.filter((s) => s.name === name).reduce((most, s) => Math.max(most, s.value), 0);
}

/** Per second between two readings `{ value, at }` (milliseconds); null without a span. */
export function ratePerSecond(earlier, later) {
  if (!earlier || !later || later.at <= earlier.at) return null;
  return Math.max(0, later.value - earlier.value) / ((later.at - earlier.at) / 1000);
}

/**
 * The `q` quantile (0..1) of the histogram `name` (its cumulative `_bucket` samples, summed over
 * other labels), as the upper bound of the bucket that holds it; null when it has no samples.
 */
export function histogramQuantile(samples, name, q) {
  const buckets = new Map();
  for (const s of samples) {
    if (s.name !== `${name}_bucket`) continue;
    const bound = s.labels.le === "+Inf" ? Infinity : Number(s.labels.le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + s.value);
  }
  const ordered = [...buckets.entries()].sort(([a], [b]) => a - b);
  const count = ordered.at(-1)?.[1] ?? 0;
  if (count === 0) return null;
  const rank = q * count;
  const [bound] = ordered.find(([, cumulative]) => cumulative >= rank) ?? ordered.at(-1);
  return bound;
}
