// The JSON API client: same-origin fetch with the session cookie, the CSRF header on every
// change, and the contract's error shape turned into an ApiError.

let csrfToken = null;

export function setCsrf(token) {
  csrfToken = token;
}

/** An error answer: `status`, and the body's `type`, `code`, `detail`, `attr`. */
export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super((body && body.detail) || `The server answered ${status}.`);
    this.status = status;
    this.code = body && body.code;
    this.attr = body && body.attr;
    this.retryAfter = retryAfter;
  }
}

/** Sends a request under /api; resolves to the parsed JSON (null for an empty answer). */
export async function request(method, path, body, { raw = false } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && method !== "HEAD" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let res;
  try {
    res = await fetch(`/api${path}`, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, { detail: "Cannot reach the server. Check your connection and try again." });
  }
  if (!res.ok) {
    let data = null;
    try {
      data = await res.json();
    } catch {
      /* not JSON: keep the generic message */
    }
    const err = new ApiError(res.status, data, Number(res.headers.get("Retry-After")) || null);
    const signedOut = res.status === 401 || (res.status === 403 && err.code === "not_authenticated");
    if (signedOut && !path.startsWith("/auth/")) {
      window.dispatchEvent(new CustomEvent("burrow:signed-out"));
    }
    throw err;
  }
  if (raw) return res;
  if (res.status === 204) return null;
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

export const get = (path) => request("GET", path);
export const post = (path, body = {}) => request("POST", path, body);
export const patch = (path, body) => request("PATCH", path, body);
export const del = (path) => request("DELETE", path);

/** Builds `?a=1&b=2` from the non-empty values of an object. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

/** The API path of a project's tasks, a task, or a run (ids are URL-encoded). */
export function taskPath(pid, tid = null) {
  const base = `/projects/${encodeURIComponent(pid)}/tasks/`;
  return tid ? `${base}${encodeURIComponent(tid)}/` : base;
}

export function runPath(pid, tid, rid) {
  return `${taskPath(pid, tid)}runs/${encodeURIComponent(rid)}/`;
}
