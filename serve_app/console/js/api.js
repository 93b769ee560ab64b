// Calls to API v1: the key as a header on REST calls and as the documented WebSocket
// subprotocol (docs/api.md); errors become messages an operator can act on.
import { currentKey } from "./keys.js";

// The console is served at <root>/console/: the API is one level up, whatever the root.
const API_ROOT = new URL("../", document.baseURI);
const STATUS_OF_CODE = { unauthorized: 401, forbidden: 403, rate_limited: 429 };

export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(explain(status, code, message, retryAfter));
    this.status = status;
    this.code = code;
  }
}

/** What a refusal means and what to do about it. */
export function explain(status, code, message, retryAfter = null) {
  const http = status || STATUS_OF_CODE[code];
  if (http === 401) {
    return "Not authorized (401): the API key is missing, unknown or revoked. Enter a valid key under “API key”.";
  }
  if (http === 403) {
    return `Forbidden (403): ${message}. Use a key with that scope.`;
  }
  if (http === 429) {
    const wait = retryAfter ?? message.match(/retry in (\d+) s/)?.[1];
    return `Rate limited (429): too many calls with this key; retry in ${wait ?? "a few"} s.`;
  }
  return http ? `${message} (${http} ${code})` : `${message} (${code})`;
}

function authHeaders() {
  const key = currentKey();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

export async function request(method, path, { json, body, contentType, accept } = {}) {
  const headers = authHeaders();
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (contentType) {
    headers["Content-Type"] = contentType;
  }
  if (accept) {
    headers.Accept = accept;
  }
  const response = await fetch(new URL(path, API_ROOT), { method, headers, body });
  if (!response.ok) {
    let error = { code: "http_error", message: response.statusText };
    try {
      error = (await response.json()).error ?? error;
    } catch {
      // not a JSON error body (a proxy's page, say): the status says enough
    }
    throw new ApiError(response.status, error.code, error.message, response.headers.get("Retry-After"));
  }
  return response;
}

export async function getJson(path) {
  return (await request("GET", path)).json();
}

export async function sendJson(method, path, json) {
  return (await request(method, path, { json })).json();
}

export function socketUrl(path) {
  const url = new URL(path, API_ROOT);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url;
}

/** `medinv.v1`, and the key as `medinv.bearer.<base64url>`: browsers cannot set headers here. */
export function socketProtocols() {
  const key = currentKey();
  return key ? ["medinv.v1", `medinv.bearer.${base64url(key)}`] : ["medinv.v1"];
}

function base64url(text) {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) {
    binary += String.fromCharCode(byte);
  }
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
