// Workflows: the list (name search, type and source provider, all filtered by
// the API across every page) and creating one from a file or pasted JSON.

import { api } from '../api.js';
import { h, add, fill, link, when, tag, field, select, problem } from '../dom.js';
import { paged } from '../paged.js';
import { remember } from '../names.js';
import { diagnosticsList } from '../diagnostics.js';

export async function list({ main, query, signal }) {
  const type = query.get('type') ?? '';
  const sourceProvider = query.get('sourceProvider') ?? '';
  const search = h('input', { type: 'search', name: 'q', value: query.get('q') ?? '', placeholder: 'name contains…' });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'filter workflows' },
    field('Search names', search),
    field('Type', select('type', [['', 'any'], ['USER_DEFINED', 'USER_DEFINED'], ['LOGIN', 'LOGIN']], type)),
    field('Source provider', h('input', { name: 'sourceProvider', value: sourceProvider })),
    h('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = Object.fromEntries([...new FormData(form)].filter(([, v]) => v !== ''));
    location.hash = `#/workflows?${new URLSearchParams(chosen)}`;
  });
  form.querySelector('select').addEventListener('change', () => form.requestSubmit());
  const table = paged({
    label: 'workflows',
    load: async (cursor) => {
      const query = { type, sourceProvider, search: search.value.trim(), cursor, limit: 50 };
      const page = await api('/v1/workflows', { query, signal });
      page.data.forEach(remember);
      return page;
    },
    columns: [
      ['Name', (w) => link(['workflows', w.id], w.name)],
      ['Type', (w) => tag(w.type)],
      ['Source provider', (w) => w.sourceProvider ?? '—'],
      ['Latest version', (w) => String(w.latestVersion)],
      ['Updated', (w) => when(w.updatedAt)],
    ],
    empty: 'No workflows match.',
  });
  // The server searches every page; wait for a pause in typing before asking it.
  let typing;
  search.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => table.reload(), 250);
  });
  add(main, h('header', { class: 'page-head' }, h('h1', {}, 'Workflows'), h('a', { href: '#/workflows/new', class: 'button primary' }, 'New workflow')),
    form, table.element);
}

export async function create({ main }) {
  const name = h('input', { name: 'name', required: true, maxlength: '200' });
  const type = select('type', [['USER_DEFINED', 'USER_DEFINED'], ['LOGIN', 'LOGIN']], 'USER_DEFINED');
  const provider = h('input', { name: 'sourceProvider', maxlength: '200' });
  const description = h('textarea', { name: 'description', rows: '2' });
  const file = h('input', { type: 'file', name: 'file', accept: '.json,application/json' });
  const text = h('textarea', { name: 'definition', rows: '14', class: 'code', spellcheck: 'false', placeholder: '{ "name": …, "segments": [ … ] }' });
  const out = h('div', { role: 'status' });
  file.addEventListener('change', async () => {
    const chosen = file.files?.[0];
    if (!chosen) return;
    text.value = await chosen.text();
    if (!name.value) {
      try {
        name.value = JSON.parse(text.value).name ?? chosen.name.replace(/\.json$/, '');
      } catch {
        name.value = chosen.name.replace(/\.json$/, '');
      }
    }
  });
  const form = h('form', { class: 'card stack' },
    field('Definition file', file, 'A workflow document (JSON). Its text appears below, where you can also paste or edit it.'),
    field('Definition', text),
    field('Name', name), field('Type', type), field('Source provider', provider), field('Description', description),
    h('button', { type: 'submit', class: 'primary' }, 'Create workflow'), out);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    fill(out);
    let definition;
    try {
      definition = JSON.parse(text.value);
    } catch (e) {
      fill(out, problem({ message: `The definition is not JSON: ${e.message}` }));
      return;
    }
    try {
      const body = { name: name.value, type: type.value, definition };
      if (provider.value) body.sourceProvider = provider.value;
      if (description.value) body.description = description.value;
      const created = await api('/v1/workflows', { method: 'POST', body });
      location.hash = `#/workflows/${encodeURIComponent(created.id)}`;
    } catch (e) {
      fill(out, problem(e), e.details?.diagnostics ? diagnosticsList(e.details.diagnostics, text) : null);
    }
  });
  add(main, h('h1', {}, 'New workflow'), form);
}
