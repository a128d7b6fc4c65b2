// The device map's arithmetic: an equirectangular projection of latitude and longitude onto the
// map's pixels, and clusters of the devices that fall in the same cell. Pure functions.

/**
 * The globe's window that holds every location, as `{ west, east, south, north }`, with a margin
 * of `share` of its span on each side (at least `least` degrees), so no point sits on the edge.
 */
export function bounds(locations, share = 0.08, least = 0.002) {
  if (locations.length === 0) return { west: -180, east: 180, south: -90, north: 90 };
  let [west, east, south, north] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const { lat, lon } of locations) {
    west = Math.min(west, lon);
    east = Math.max(east, lon);
    south = Math.min(south, lat);
    north = Math.max(north, lat);
  }
  const across = Math.max(least, (east - west) * share);
  const up = Math.max(least, (north - south) * share);
  return {
    west: Math.max(-180, west - across),
    east: Math.min(180, east + across),
    south: Math.max(-90, south - up),
    north: Math.min(90, north + up),
  };
}

/** The pixel of a location inside the window `view` drawn on `width` × `height`. */
export function place({ lat, lon }, view, width, height) {
  return {
    x: ((lon - view.west) / (view.east - view.west || 1)) * width,
    y: ((view.north - lat) / (view.north - view.south || 1)) * height,
  };
}

/**
 * Clusters of `devices` (each with a `location`) drawn in `view` on `width` × `height`: devices
 * in the same `cell`-pixel square form one cluster at their mean pixel, with their ids.
 */
export function cluster(devices, view, width, height, cell = 28) {
  const cells = new Map();
  for (const device of devices) {
    if (!device.location) continue;
    const { x, y } = place(device.location, view, width, height);
    const key = `${Math.floor(x / cell)}:${Math.floor(y / cell)}`;
    const found = cells.get(key) ?? { x: 0, y: 0, ids: [], statuses: {} };
    found.x += x;
    found.y += y;
    found.ids.push(device.id);
    found.statuses[device.status] = (found.statuses[device.status] ?? 0) + 1;
    cells.set(key, found);
  }
  return [...cells.values()].map((c) => ({ ...c, x: c.x / c.ids.length, y: c.y / c.ids.length, count: c.ids.length }));
}

/** A round spacing of graticule lines for a window `span` degrees wide: about six lines. */
export function graticuleStep(span) {
  const rough = Math.max(span, 1e-6) / 6;
  const power = 10 ** Math.floor(Math.log10(rough));
  const nice = [1, 2, 5, 10].find((n) => n * power >= rough) * power;
  return Number(nice.toPrecision(1));
}
