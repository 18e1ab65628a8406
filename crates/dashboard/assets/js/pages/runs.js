// Runs: the organization's runs, filtered by status, workflow, test flag and
// job run (kept in the URL so a filtered view can be shared), refreshed live.

import { api } from '../api.js';
import { h, add, link, badge, when, between, tag, field, select } from '../dom.js';
import { paged } from '../paged.js';
import { workflowLink } from '../names.js';

export const STATUSES = ['PENDING', 'IN_PROGRESS', 'AWAITING_USER_INPUT', 'COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'];

/** The columns every list of runs shows. */
export function runColumns() {
  return [
    ['Run', (r) => link(['runs', r.id], r.id)],
    ['Workflow', (r) => workflowLink(r.workflowId)],
    ['Status', (r) => [badge(r.status), r.test ? [' ', tag('test')] : null]],
    ['Segment', (r) => r.error?.code ?? r.currentSegmentName ?? '—'],
    ['Created', (r) => when(r.createdAt)],
    ['Duration', (r) => between(r.startedAt, r.completedAt)],
  ];
}

export async function list({ main, query, signal }) {
  const filters = {
    status: query.get('status') ?? '',
    workflowId: query.get('workflowId') ?? '',
    test: query.get('test') ?? '',
    jobRunId: query.get('jobRunId') ?? '',
  };
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'filter runs' },
    field('Status', select('status', [['', 'any'], ...STATUSES.map((s) => [s, s])], filters.status)),
    field('Workflow id', h('input', { name: 'workflowId', value: filters.workflowId, placeholder: 'wf_…' })),
    field('Test runs', select('test', [['', 'any'], ['true', 'test only'], ['false', 'not test']], filters.test)),
    field('Job run id', h('input', { name: 'jobRunId', value: filters.jobRunId, placeholder: 'jr_…' })),
    h('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = Object.fromEntries([...new FormData(form)].filter(([, v]) => v !== ''));
    location.hash = `#/runs?${new URLSearchParams(chosen)}`;
  });
  // Selects apply at once; text fields on submit.
  for (const s of form.querySelectorAll('select')) s.addEventListener('change', () => form.requestSubmit());
  const table = paged({
    label: 'runs',
    load: (cursor) => api('/v1/runs', { query: { ...filters, cursor, limit: 20 }, signal }),
    columns: runColumns(),
    empty: 'No runs match.',
    signal,
    live: 3000,
  });
  add(main, h('h1', {}, 'Runs'), form, table.element);
}
