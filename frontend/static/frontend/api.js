// The REST API with the session cookie and the CSRF token: the same endpoints as any client.

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && meta.content) return meta.content;
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

// Resolves to {ok, status, data}; never throws on an HTTP error (data is the error JSON).
export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin" };
  if (method !== "GET" && method !== "HEAD") {
    headers["X-CSRFToken"] = csrfToken();
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body ?? {});
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    return { ok: false, status: 0, data: { error: "The server could not be reached. Try again.", code: "network" } };
  }
  let data = null;
  if (response.status !== 204) {
    try {
      data = await response.json();
    } catch (err) {
      data = null;
    }
  }
  return { ok: response.ok, status: response.status, data };
}

// A short human message for a failed call.
export function errorText(result) {
  const data = result.data || {};
  if (data.fields && Object.keys(data.fields).length) {
    return Object.entries(data.fields)
      .map(([field, messages]) => `${field.replace(/_/g, " ")}: ${[].concat(messages).join(" ")}`)
      .join(" ");
  }
  return data.error || `Request failed (${result.status}).`;
}
