// The address's fragment as the dashboard's state: `#/devices?kind=solar_inverter&q=north` is the
// device view with its filter, so a view can be shared as a link. Pure functions.

/** `{ view, id, query }` of a fragment: `#/devices/inv-1?tab=history` gives view `devices`, id `inv-1`. */
export function parseRoute(hash) {
  const [path, search = ""] = String(hash ?? "").replace(/^#\/?/, "").split("?");
  const [view = "", ...rest] = path.split("/").filter(Boolean);
  const query = {};
  for (const [key, value] of new URLSearchParams(search)) {
    if (key !== "token" && value !== "") query[key] = value;
  }
  return { view: view || "overview", id: rest.length ? decodeURIComponent(rest.join("/")) : null, query };
}

/** The fragment of a view: the inverse of `parseRoute`, leaving out empty query values. */
export function routeHash(view, id = null, query = {}) {
  const path = id === null ? view : `${view}/${encodeURIComponent(id)}`;
  const kept = Object.entries(query)
    .filter(([, value]) => value !== undefined && value !== null && value !== "")
    .sort(([a], [b]) => a.localeCompare(b));
  const search = new URLSearchParams(kept).toString();
  return `#/${path}${search ? `?${search}` : ""}`;
}
