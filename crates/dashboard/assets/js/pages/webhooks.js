// Webhooks and their deliveries. A server without webhooks answers 404 to
// their routes: the page says so instead of failing.

import { api, ApiError } from '../api.js';
import { h, add, fill, link, when, badge, section, facts, notice, problem, action } from '../dom.js';
import { paged } from '../paged.js';

const unavailable = (e) => e instanceof ApiError && e.status === 404;

export async function list({ main, signal }) {
  add(main, h('h1', {}, 'Webhooks'));
  try {
    await api('/v1/webhooks', { query: { limit: 1 }, signal });
  } catch (e) {
    add(main, unavailable(e) ? notice('Webhooks are not available on this server.') : problem(e));
    return;
  }
  const table = paged({
    label: 'webhooks',
    load: (cursor) => api('/v1/webhooks', { query: { cursor, limit: 20 }, signal }),
    columns: [
      ['URL', (w) => link(['webhooks', w.id], String(w.url))],
      ['Events', (w) => (Array.isArray(w.events) ? w.events.join(', ') : '—')],
      ['Description', (w) => w.description ?? '—'],
      ['Enabled', (w) => (w.enabled === false ? '– disabled' : '✓ enabled')],
      ['Created', (w) => when(w.createdAt)],
    ],
    empty: 'No webhooks yet.',
  });
  add(main, table.element);
}

export async function page({ params, main, signal }) {
  const path = `/v1/webhooks/${encodeURIComponent(params.id)}`;
  let webhook;
  try {
    webhook = await api(path, { signal });
  } catch (e) {
    add(main, h('h1', {}, 'Webhook'), unavailable(e) ? notice('This webhook does not exist, or webhooks are not available on this server.') : problem(e));
    return;
  }
  const deliveries = paged({
    label: 'deliveries',
    load: (cursor) => api(`${path}/deliveries`, { query: { cursor, limit: 20 }, signal }),
    columns: [
      ['Event', (d) => [String(d.eventType), h('br'), h('code', { class: 'muted' }, String(d.eventId))]],
      ['Status', (d) => badge(d.status)],
      ['Attempts', (d) => String(d.attempts)],
      ['Last answer', (d) => (d.lastStatusCode ? `HTTP ${d.lastStatusCode}` : '—')],
      ['Next attempt', (d) => when(d.nextAttemptAt)],
      ['Response', (d) => (d.responseSnippet ? h('pre', { class: 'snippet' }, String(d.responseSnippet)) : '—')],
      ['Created', (d) => when(d.createdAt)],
      ['', (d) => (d.status === 'FAILED' ? action(`Retry delivery ${d.id}`, async (out) => {
        await api(`${path}/deliveries/${encodeURIComponent(d.id)}/retry`, { method: 'POST' });
        fill(out, 'queued again');
      }, { class: 'small' }) : null)],
    ],
    empty: 'No deliveries yet.',
    signal,
    live: 5000,
  });
  add(main, h('h1', {}, 'Webhook'),
    section('About', facts([['URL', h('code', {}, String(webhook.url))], ['Events', Array.isArray(webhook.events) ? webhook.events.join(', ') : '—'],
      ['Enabled', webhook.enabled === false ? 'no' : 'yes'],
      ['Description', webhook.description ?? '—'], ['Created', when(webhook.createdAt)]])),
    section('Deliveries', deliveries.element));
}
