// Calls to the platform's HTTP API with the session's token. A 401 ends the session and sends
// the operator back to the login form; every other error is raised with the API's own words.
import { token, signOut } from "./session.js";

/** Raised when the API answers with an error; carries the API's error code and message. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Listeners told when the session ends because the token was refused. */
const onUnauthorized = new Set();

/** Calls `listener` whenever the API refuses the token. Returns a function that unsubscribes. */
export function whenUnauthorized(listener) {
  onUnauthorized.add(listener);
  return () => onUnauthorized.delete(listener);
}

/** GET `path` (under /api/v1) and return its JSON body. */
export async function get(path) {
  return call("GET", `/api/v1${path}`);
}

/** POST `body` as JSON to `path` (under /api/v1) and return the JSON answer. */
export async function post(path, body = {}) {
  return call("POST", `/api/v1${path}`, body);
}

/** PUT `body` as JSON to `path` (under /api/v1) and return the JSON answer. */
export async function put(path, body) {
  return call("PUT", `/api/v1${path}`, body);
}

/** The platform's readiness (`/readyz`): log head, MQTT address, read models, workers. */
export async function readiness() {
  return call("GET", "/readyz");
}

/** The platform's Prometheus metrics, as text. */
export async function metricsText() {
  const response = await fetch("/metrics", { headers: { Authorization: `Bearer ${token()}` } });
  if (!response.ok) throw new ApiError(response.status, "http_error", `/metrics answered ${response.status}`);
  return response.text();
}

async function call(method, url, body) {
  const headers = { Authorization: `Bearer ${token()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (cause) {
    throw new ApiError(0, "unreachable", `the platform cannot be reached (${cause.message})`);
  }
  if (response.status === 401) {
    signOut();
    onUnauthorized.forEach((listener) => listener());
  }
  const answer = await response.json().catch(() => null);
  if (!response.ok) {
    const error = answer?.error ?? {};
    throw new ApiError(response.status, error.code ?? "http_error", error.message ?? `HTTP ${response.status}`);
  }
  return answer;
}
