// Jobs: the list, and one job with its order of workflows, schedules and job runs.

import { api } from '../api.js';
import { h, add, link, when, facts, section, json, tag, badge } from '../dom.js';
import { paged } from '../paged.js';
import { workflowLink } from '../names.js';

export async function list({ main, signal }) {
  const table = paged({
    label: 'jobs',
    load: (cursor) => api('/v1/jobs', { query: { cursor, limit: 20 }, signal }),
    columns: [
      ['Name', (j) => link(['jobs', j.id], j.name)],
      ['Workflows', (j) => String(j.workflowExecutionOrder.length)],
      ['Source provider', (j) => j.sourceProvider ?? '—'],
      ['Updated', (j) => when(j.updatedAt)],
    ],
    empty: 'No jobs yet. Create them with the API or `segue jobs create`.',
  });
  add(main, h('h1', {}, 'Jobs'), table.element);
}

export async function page({ params, main, signal }) {
  const path = `/v1/jobs/${encodeURIComponent(params.id)}`;
  const job = await api(path, { signal });
  const steps = h('ol', { class: 'steps' }, job.workflowExecutionOrder.map((entry) => {
    const e = typeof entry === 'string' ? { workflowId: entry } : entry;
    return h('li', {}, workflowLink(e.workflowId), ` version ${e.version ?? 'latest'}`,
      e.inputs && Object.keys(e.inputs).length ? h('details', {}, h('summary', {}, 'Fixed inputs'), json(e.inputs)) : null);
  }));
  const schedules = paged({
    label: 'schedules',
    load: (cursor) => api(`${path}/schedules`, { query: { cursor, limit: 20 }, signal }),
    columns: [
      ['Cron', (s) => h('code', {}, `${s.cron} (${s.timezone})`)],
      ['Enabled', (s) => (s.enabled ? tag('✓ enabled') : tag('– disabled'))],
      ['Overlap', (s) => s.overlap],
      ['Next run', (s) => when(s.nextRunAt)],
      ['Last run', (s) => when(s.lastRunAt)],
    ],
    empty: 'No schedules.',
  });
  const runs = paged({
    label: 'job runs',
    load: (cursor) => api('/v1/job-runs', { query: { jobId: job.id, cursor, limit: 20 }, signal }),
    columns: [
      ['Job run', (r) => link(['job-runs', r.id], r.id)],
      ['Status', (r) => badge(r.status)],
      ['Trigger', (r) => r.trigger],
      ['Created', (r) => when(r.createdAt)],
    ],
    empty: 'No job runs yet.',
    signal,
    live: 5000,
  });
  add(main, h('h1', {}, job.name),
    section('About', facts([['Id', h('code', {}, job.id)], ['Source provider', job.sourceProvider ?? '—'],
      ['Description', job.description ?? '—'], ['Identity', job.identityId ?? '—'], ['Updated', when(job.updatedAt)]])),
    section('Workflows, in order', steps), section('Schedules', schedules.element), section('Job runs', runs.element));
}
