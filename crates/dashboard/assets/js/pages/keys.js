// API keys of the organization: listed by name and role (never the keys),
// created and revoked by admins. A new key is shown once, as the API does.

import { api, ApiError } from '../api.js';
import { h, add, fill, when, tag, field, select, action, problem, notice, section } from '../dom.js';

export async function list({ main, signal }) {
  const rows = h('div');
  const out = h('div', { role: 'status' });
  async function show() {
    const keys = await api('/v1/api-keys', { signal });
    fill(rows, h('div', { class: 'table-wrap' }, h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, ['Name', 'Role', 'Created', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, keys.map((k) => h('tr', {},
        h('td', { 'data-label': 'Name' }, k.name), h('td', { 'data-label': 'Role' }, tag(k.role)),
        h('td', { 'data-label': 'Created' }, when(k.createdAt)),
        h('td', { 'data-label': '' }, action(`Revoke ${k.name}`, async () => {
          if (!confirm(`Revoke the key "${k.name}"? Programs using it stop working.`)) return;
          await api(`/v1/api-keys/${encodeURIComponent(k.id)}`, { method: 'DELETE' });
          await show();
        }, { class: 'small danger' }))))))));
  }
  const name = h('input', { name: 'name', required: true, maxlength: '200' });
  const role = select('role', [['member', 'member'], ['admin', 'admin']], 'member');
  const form = h('form', { class: 'card stack' }, h('h2', {}, 'New key'), field('Name', name), field('Role', role),
    h('button', { type: 'submit', class: 'primary' }, 'Create key'), out);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const created = await api('/v1/api-keys', { method: 'POST', body: { name: name.value, role: role.value } });
      fill(out, notice('Copy the key now: it is not shown again.'),
        h('input', { readonly: true, value: created.key, class: 'link-out', 'aria-label': 'the new key', size: 40 }));
      name.value = '';
      await show();
    } catch (e) {
      fill(out, problem(e instanceof ApiError && e.status === 403 ? { message: 'Only admin keys may create keys.' } : e));
    }
  });
  add(main, h('h1', {}, 'API keys'), section('Keys', rows), form);
  await show();
}
