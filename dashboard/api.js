// Calls to the platform's HTTP API with the session's token. A 401 ends the session and sends
// the operator back to the login form.
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
  return call("GET", path);
}

/** POST `body` as JSON to `path` (under /api/v1) and return the JSON answer. */
export async function post(path, body) {
  return call("POST", path, body);
}

async function call(method, path, body) {
  const headers = { Authorization: `Bearer ${token()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
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
