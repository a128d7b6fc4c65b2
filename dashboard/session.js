// The operator's API token: taken from the login link's fragment (#token=...), which never
// reaches a server, kept in sessionStorage for this tab only, and removed from the address bar.

const KEY = "optibid.token";

/**
 * Moves a token from the address bar's fragment (`#token=T`, or `#/devices?kind=x&token=T` to land
 * on a view) into this tab's session, keeping the rest of the fragment.
 */
export function adoptTokenFromFragment() {
  const [path, search] = window.location.hash.replace(/^#/, "").split("?");
  const params = new URLSearchParams(path.startsWith("/") ? search ?? "" : path);
  const value = params.get("token");
  if (!value) return;
  sessionStorage.setItem(KEY, value);
  params.delete("token");
  const view = path.startsWith("/") ? path : "/";
  const rest = params.toString();
  history.replaceState(null, "", `${window.location.pathname}${window.location.search}#${view}${rest ? `?${rest}` : ""}`);
}

/** The token of this tab's session, or null. */
export function token() {
  return sessionStorage.getItem(KEY);
}

/** Signs in with a pasted token. */
export function signIn(value) {
  sessionStorage.setItem(KEY, value.trim());
}

/** Forgets the token (after a 401, or on sign-out). */
export function signOut() {
  sessionStorage.removeItem(KEY);
}
