// The API from the browser. The key lives in sessionStorage (gone when the tab
// closes) and is sent as a Bearer header on each request: the browser adds no
// credential by itself, so another site cannot make requests in the user's name.

const KEY = 'segue.apiKey';

export function key() {
  return sessionStorage.getItem(KEY);
}

export function signIn(value) {
  sessionStorage.setItem(KEY, value);
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}

/** An answer in the API's error shape (or a network failure). */
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** Called when the key stops working, to show the sign-in form again. */
let onUnauthorized = () => {};
export function whenUnauthorized(callback) {
  onUnauthorized = callback;
}

async function send(path, { method = 'GET', body, query, signal, headers = {} } = {}) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, value);
  }
  const init = { method, signal, headers: { ...headers, Authorization: `Bearer ${key() ?? ''}` }, cache: 'no-store' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'NETWORK', `the server did not answer (${e.message})`);
  }
  if (!response.ok) {
    let error = {};
    try {
      error = (await response.json()).error ?? {};
    } catch {
      // Not the API's shape (a proxy's page): the status says enough.
    }
    if (response.status === 401) onUnauthorized();
    throw new ApiError(response.status, error.code ?? `HTTP_${response.status}`, error.message ?? response.statusText, error.details);
  }
  return response;
}

/** The JSON answer (null for 204). */
export async function api(path, options) {
  const response = await send(path, options);
  if (response.status === 204) return null;
  return response.json();
}

/** The bytes of an answer (artifacts), as a Blob. */
export async function blob(path, options) {
  return (await send(path, options)).blob();
}

/**
 * Follows a server-sent event stream with the key in a header (EventSource
 * cannot send one), reconnecting with Last-Event-ID after a dropped
 * connection until `end` arrives or `signal` aborts.
 */
export async function follow(path, signal, onEvent) {
  let lastId = null;
  while (!signal.aborted) {
    try {
      const headers = { Accept: 'text/event-stream' };
      if (lastId !== null) headers['Last-Event-ID'] = lastId;
      const response = await send(path, { signal, headers });
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, '\n');
        let cut;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const event = parse(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
          if (!event) continue;
          if (event.id !== null) lastId = event.id;
          onEvent(event);
          if (event.type === 'end') return;
        }
      }
    } catch (e) {
      if (signal.aborted) return;
      if (e instanceof ApiError && e.status >= 400 && e.status < 500) throw e;
    }
    // The connection dropped (a restart, a proxy's idle limit): resume shortly.
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function parse(block) {
  let type = 'message';
  let id = null;
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const name = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (name === 'event') type = value;
    else if (name === 'id') id = value;
    else if (name === 'data') data.push(value);
  }
  if (data.length === 0) return null;
  try {
    return { type, id, data: JSON.parse(data.join('\n')) };
  } catch {
    return null;
  }
}

/** Saves an artifact's bytes under its name through a short-lived blob: link. */
export async function download(artifact) {
  const bytes = await blob(`/v1/artifacts/${encodeURIComponent(artifact.id)}/content`);
  // Plain bytes whatever the artifact claims to be: a browser that opened the link
  // instead of saving it must never render a workflow's HTML in this origin.
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = artifact.name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
