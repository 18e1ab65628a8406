// Identities: each account's session status and last login, and "log in now".
// Credentials are write-only in the API: only their names ever reach the page.

import { api } from '../api.js';
import { h, add, when, badge, action, link, fill } from '../dom.js';
import { paged } from '../paged.js';
import { workflowLink } from '../names.js';

export async function list({ main, signal }) {
  const table = paged({
    label: 'identities',
    load: (cursor) => api('/v1/identities', { query: { cursor, limit: 20 }, signal }),
    columns: [
      ['Name', (i) => i.name],
      ['Source provider', (i) => i.sourceProvider],
      ['Credentials', (i) => (i.credentialNames.length ? i.credentialNames.join(', ') : '—')],
      ['Session', (i) => badge(i.session.status)],
      ['Last login', (i) => when(i.session.savedAt)],
      ['Session expires', (i) => when(i.session.expiresAt)],
      ['Login workflow', (i) => (i.loginWorkflowId ? workflowLink(i.loginWorkflowId) : 'by source provider')],
      ['', (i) => action(`Log in ${i.name} now`, async (out) => {
        const run = await api(`/v1/identities/${encodeURIComponent(i.id)}/login`, { method: 'POST' });
        fill(out, 'Login run ', link(['runs', run.id], run.id), ' queued.');
      }, { class: 'small' })],
    ],
    empty: 'No identities yet. Create them with the API or `segue identities create`.',
  });
  add(main, h('h1', {}, 'Identities'),
    h('p', { class: 'muted' }, 'Credentials are never shown: only their names.'), table.element);
}
