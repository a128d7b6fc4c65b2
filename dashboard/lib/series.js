// Roll-up series shaped for charts: the API gives buckets (start, min, max, mean) with gaps where
// no sample came; uPlot wants column arrays in seconds, with `null` to break the line at a gap.
// Pure functions.

/** The bucket widths the API knows, in seconds. */
export const RESOLUTIONS = { "1m": 60, "1h": 3600, "1d": 86400 };

/** The finest resolution that gives at most `maxPoints` buckets over `rangeSeconds`. */
export function resolutionFor(rangeSeconds, maxPoints = 1500) {
  for (const [name, width] of Object.entries(RESOLUTIONS)) {
    if (rangeSeconds / width <= maxPoints) return name;
  }
  return "1d";
}

/**
 * Columns `[times, mean, min, max]` of `points` (the API's buckets, oldest first) at
 * `resolution`; a missing bucket between two present ones becomes a `null` row so the chart
 * shows the gap instead of drawing across it.
 */
export function chartColumns(points, resolution) {
  const width = RESOLUTIONS[resolution] ?? 60;
  const columns = [[], [], [], []];
  let previous = null;
  const sorted = [...points].sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  for (const point of sorted) {
    const at = Math.floor(Date.parse(point.start) / 1000);
    if (Number.isNaN(at) || at === previous) continue;
    if (previous !== null && at - previous > width) {
      pushRow(columns, previous + width, null, null, null);
    }
    pushRow(columns, at, point.mean, point.min, point.max);
    previous = at;
  }
  return columns;
}

function pushRow(columns, at, mean, min, max) {
  columns[0].push(at);
  columns[1].push(mean);
  columns[2].push(min);
  columns[3].push(max);
}

/**
 * Columns `[times, observed mean, trend]` that explain a forecast: the observed means of
 * `points` (the API's buckets), then the trend `level + slopePerHour × hours from now` drawn from
 * the last observation `hoursAhead` into the future in `steps` steps.
 */
export function forecastColumns(points, { level, slopePerHour, nowSeconds, hoursAhead, steps = 48 }) {
  const [times, means] = chartColumns(points, "1m");
  const columns = [[...times], [...means], times.map(() => null)];
  const start = times.length ? Math.max(times.at(-1), nowSeconds - 3600) : nowSeconds;
  const ahead = Math.max(1, hoursAhead);
  for (let step = 0; step <= steps; step += 1) {
    const at = nowSeconds + (ahead * 3600 * step) / steps;
    if (at < start) continue;
    columns[0].push(Math.round(at));
    columns[1].push(null);
    columns[2].push(level + slopePerHour * ((at - nowSeconds) / 3600));
  }
  return columns;
}
