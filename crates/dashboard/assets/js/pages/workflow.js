// One workflow: what it is, the form to run it, its definition as a graph (any
// version or the draft), its versions and a way to its draft and runs.

import { api, ApiError } from '../api.js';
import { h, add, fill, link, when, tag, facts, section, notice, select, action } from '../dom.js';
import { paged } from '../paged.js';
import { graph } from '../graph.js';
import { runForm } from '../run_form.js';

export async function page({ params, main, signal }) {
  const id = params.id;
  const path = `/v1/workflows/${encodeURIComponent(id)}`;
  const [workflow, draft, identities] = await Promise.all([
    api(path, { signal }),
    api(`${path}/draft`, { signal }).catch((e) => (e instanceof ApiError && e.status === 404 ? null : Promise.reject(e))),
    api('/v1/identities', { query: { limit: 100 }, signal }).then((p) => p.data, () => []),
  ]);
  const versions = [['latest', `latest (version ${workflow.latestVersion})`, workflow.definition]];
  if (draft) versions.push(['draft', 'draft', draft.definition]);

  const shown = h('div');
  const which = select('show', versions.map(([v, label]) => [v, label]), 'latest');
  const show = async (value) => {
    if (value === 'latest') fill(shown, graph(workflow.definition));
    else if (value === 'draft') fill(shown, graph(draft.definition));
    else fill(shown, graph((await api(`${path}/versions/${encodeURIComponent(value)}`, { signal })).definition));
  };
  which.addEventListener('change', () => show(which.value));

  const versionTable = paged({
    label: 'versions',
    load: (cursor) => api(`${path}/versions`, { query: { cursor, limit: 20 }, signal }),
    columns: [
      ['Version', (v) => String(v.version)],
      ['Published', (v) => when(v.createdAt)],
      ['Healing', (v) => (v.healing ? `${v.healing.checkStatus}: ${v.healing.notes.join('; ')}` : '—')],
      ['', (v) => h('button', { type: 'button', class: 'small', onclick: () => {
        const value = String(v.version);
        if (![...which.options].some((o) => o.value === value)) which.append(h('option', { value }, `version ${value}`));
        which.value = value;
        show(value);
        shown.scrollIntoView();
      } }, `Show version ${v.version}`)],
    ],
  });

  add(main, 
    h('header', { class: 'page-head' }, h('h1', {}, workflow.name), tag(workflow.type),
      h('div', { class: 'controls' },
        link(['workflows', id, 'draft'], draft ? 'Edit draft' : 'New draft'),
        link(['runs'], 'Runs of this workflow', { workflowId: id }))),
    workflow.deletedAt ? notice('This workflow is deleted: its versions and runs stay readable, it cannot run.') : null,
    section('About', facts([
      ['Id', h('code', {}, workflow.id)], ['Source provider', workflow.sourceProvider ?? '—'],
      ['Description', workflow.description ?? '—'], ['Latest version', String(workflow.latestVersion)],
      ['Draft', draft ? [when(draft.createdAt), draft.healing ? ` (self-healed from run ${draft.healing.fromRunId})` : null] : 'none'],
      ['Updated', when(workflow.updatedAt)],
    ])),
    workflow.deletedAt ? null : runForm(id, versions, identities),
    h('section', { class: 'card' }, h('header', { class: 'page-head' }, h('h2', {}, 'Definition'), h('label', {}, 'Show ', which)), shown),
    section('Versions', versionTable.element),
    workflow.deletedAt ? null : section('Danger zone', action('Delete workflow', async () => {
      if (!confirm(`Delete workflow "${workflow.name}"? Its versions and runs stay readable.`)) return;
      await api(path, { method: 'DELETE' });
      location.hash = '#/workflows';
    }, { class: 'danger' })));
  await show('latest');
}
