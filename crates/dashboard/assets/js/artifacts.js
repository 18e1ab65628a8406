// Artifacts (screenshots, downloads, pages, traces) fetched with the key and
// shown through blob: URLs. A page.html is only ever offered as a download:
// shown here it would run as the dashboard's own page.

import { api, blob, download } from './api.js';
import { h, fill, bytes, tag, action, problem } from './dom.js';

/** An image whose bytes are fetched with the key; the blob: URL is freed with the page. */
export function screenshot(artifact, signal, caption) {
  const img = h('img', { alt: caption ?? `screenshot ${artifact.name}`, class: 'shot', loading: 'lazy' });
  const figure = h('figure', { class: 'shot-frame' }, img, h('figcaption', {}, caption ?? artifact.name));
  blob(`/v1/artifacts/${encodeURIComponent(artifact.id)}/content`, { signal }).then((b) => {
    // Only PNG/JPEG/GIF/WebP reach an <img>: whatever the run claimed, an SVG never does.
    const url = URL.createObjectURL(new Blob([b], { type: 'image/png' }));
    signal?.addEventListener('abort', () => URL.revokeObjectURL(url));
    img.src = url;
  }, (e) => figure.append(problem(e)));
  return figure;
}

export const isImage = (a) => a.type === 'screenshot' && /^image\/(png|jpeg|webp|gif)$/.test(a.contentType);

/** Every artifact of a run (all pages: a run keeps a bounded number). */
export async function allArtifacts(runId, signal) {
  const all = [];
  let cursor = null;
  do {
    const page = await api(`/v1/runs/${encodeURIComponent(runId)}/artifacts`, { query: { cursor, limit: 100 }, signal });
    all.push(...page.data);
    cursor = page.nextCursor;
  } while (cursor);
  return all;
}

/** A signed link that works without a key until it expires, for tools like `playwright show-trace`. */
function shareLink(artifact) {
  return action('Signed link', async (out) => {
    const link = await api(`/v1/artifacts/${encodeURIComponent(artifact.id)}/link`, { method: 'POST', body: {} });
    const url = new URL(link.url, location.origin).href;
    fill(out, h('input', { class: 'link-out', readonly: true, value: url, 'aria-label': `signed link to ${artifact.name}`, size: 30 }),
      ` expires ${new Date(link.expiresAt).toLocaleString()}`);
  }, { class: 'small' });
}

/** The table of a run's artifacts with their downloads. */
export function artifactTable(artifacts) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'list artifacts' },
    h('thead', {}, h('tr', {}, ['Name', 'Type', 'Size', 'Segment', ''].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, artifacts.map((a) => h('tr', {},
      h('td', { 'data-label': 'Name' }, a.name, a.type === 'trace' ? [' ', tag('trace')] : null),
      h('td', { 'data-label': 'Type' }, `${a.type} (${a.contentType})`),
      h('td', { 'data-label': 'Size' }, bytes(a.size)),
      h('td', { 'data-label': 'Segment' }, a.segmentName ?? '—'),
      h('td', { 'data-label': 'Actions' },
        action(`Download ${a.name}`, () => download(a), { class: 'small download' }),
        a.type === 'trace' ? shareLink(a) : null))))));
}
