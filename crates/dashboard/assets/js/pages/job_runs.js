// Job runs: the list (by status and job, refreshed live) and one job run with
// its workflow runs, followed through its event stream until it ends.

import { api, follow } from '../api.js';
import { h, add, fill, link, badge, when, between, facts, section, json, field, select, action, notice, FINAL } from '../dom.js';
import { paged } from '../paged.js';
import { workflowLink } from '../names.js';
import { runColumns } from './runs.js';

const STATUSES = ['PENDING', 'IN_PROGRESS', 'AWAITING_USER_INPUT', 'COMPLETED', 'FAILED', 'CANCELLED'];

export async function list({ main, query, signal }) {
  const status = query.get('status') ?? '';
  const jobId = query.get('jobId') ?? '';
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'filter job runs' },
    field('Status', select('status', [['', 'any'], ...STATUSES.map((s) => [s, s])], status)),
    field('Job id', h('input', { name: 'jobId', value: jobId, placeholder: 'job_…' })),
    h('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    location.hash = `#/job-runs?${new URLSearchParams([...new FormData(form)].filter(([, v]) => v !== ''))}`;
  });
  form.querySelector('select').addEventListener('change', () => form.requestSubmit());
  const table = paged({
    label: 'job runs',
    load: (cursor) => api('/v1/job-runs', { query: { status, jobId, cursor, limit: 20 }, signal }),
    columns: [
      ['Job run', (r) => link(['job-runs', r.id], r.id)],
      ['Job', (r) => link(['jobs', r.jobId], r.jobId)],
      ['Status', (r) => badge(r.status)],
      ['Trigger', (r) => r.trigger],
      ['Created', (r) => when(r.createdAt)],
      ['Duration', (r) => between(r.startedAt, r.finishedAt)],
    ],
    empty: 'No job runs match.',
    signal,
    live: 3000,
  });
  add(main, h('h1', {}, 'Job runs'), form, table.element);
}

export async function page({ params, main, signal }) {
  const path = `/v1/job-runs/${encodeURIComponent(params.id)}`;
  const body = h('div', { 'aria-live': 'polite' });
  const runs = paged({
    label: 'runs of this job run',
    load: (cursor) => api('/v1/runs', { query: { jobRunId: params.id, cursor, limit: 50 }, signal }),
    columns: runColumns(),
    empty: 'No run queued yet.',
    signal,
    live: 3000,
  });
  const show = (jr) => fill(body,
    h('header', { class: 'page-head' }, h('h1', {}, 'Job run ', h('code', {}, jr.id)), badge(jr.status),
      FINAL.has(jr.status) ? null : action('Cancel job run', async (out) => {
        show(await api(`${path}/cancel`, { method: 'POST' }));
        fill(out, notice('Cancel requested.'));
      }, { class: 'danger' })),
    jr.error ? h('section', { class: 'card failure' }, h('h2', {}, '✕ Error'), facts([['Code', h('code', {}, jr.error.code)],
      ['Message', jr.error.message], ['Run', jr.error.runId ? link(['runs', jr.error.runId], jr.error.runId) : '—']])) : null,
    section('Summary', facts([['Job', link(['jobs', jr.jobId], jr.jobId)], ['Trigger', jr.trigger], ['Created', when(jr.createdAt)],
      ['Started', when(jr.startedAt)], ['Finished', when(jr.finishedAt)], ['Test', jr.test ? 'yes' : 'no']])),
    section('Workflows', h('ol', { class: 'steps' }, jr.workflowRuns.map((s) => h('li', {}, workflowLink(s.workflowId), ' ', badge(s.status),
      s.runId ? [' ', link(['runs', s.runId], s.runId)] : null)))),
    section('Inputs', json(jr.inputs)));
  const jobRun = await api(path, { signal });
  show(jobRun);
  add(main, body, section('Runs', runs.element));
  if (!FINAL.has(jobRun.status)) {
    follow(`${path}/events`, signal, (event) => {
      if (event.type === 'job_run' || event.type === 'end') show(event.data);
    }).catch((e) => body.append(notice(String(e.message))));
  }
}
