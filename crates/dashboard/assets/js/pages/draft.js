// The draft editor: the document as text, checked by the server on save, with
// each diagnostic linked to its place in the text; publishing makes the draft
// the next version.

import { api, ApiError } from '../api.js';
import { h, add, fill, link, notice, problem, when } from '../dom.js';
import { diagnosticsList } from '../diagnostics.js';

export async function page({ params, main, signal }) {
  const id = params.id;
  const path = `/v1/workflows/${encodeURIComponent(id)}`;
  const [workflow, draft] = await Promise.all([
    api(path, { signal }),
    api(`${path}/draft`, { signal }).catch((e) => (e instanceof ApiError && e.status === 404 ? null : Promise.reject(e))),
  ]);
  const start = draft ? draft.definition : workflow.definition;
  const editor = h('textarea', { class: 'code editor', rows: '28', spellcheck: 'false', 'aria-label': 'draft definition (JSON)' });
  editor.value = JSON.stringify(start, null, 2);
  const state = h('p', { role: 'status' }, draft ? ['Draft saved ', when(draft.createdAt), '.'] : `No draft yet: this is version ${workflow.latestVersion}. Saving creates the draft.`);
  const out = h('div', { class: 'editor-out', 'aria-live': 'polite' });

  async function save() {
    fill(out);
    let definition;
    try {
      definition = JSON.parse(editor.value);
    } catch (e) {
      // Browsers name the offset differently; a position, when given, becomes a line.
      const at = /position (\d+)/.exec(e.message);
      const offset = at ? Number(at[1]) : null;
      const line = offset !== null ? editor.value.slice(0, offset).split('\n').length : null;
      fill(out, problem({ code: 'NOT_JSON', message: `${e.message}${line ? ` (line ${line})` : ''}` }));
      if (offset !== null) {
        editor.focus();
        editor.setSelectionRange(offset, offset + 1);
      }
      return false;
    }
    try {
      const saved = await api(`${path}/draft`, { method: 'PUT', body: { definition } });
      fill(state, 'Draft saved ', when(saved.createdAt), '.');
      fill(out, notice('✓ Valid: the draft is saved.'));
      return true;
    } catch (e) {
      const diagnostics = e.details?.diagnostics;
      fill(out, problem(e), Array.isArray(diagnostics) ? diagnosticsList(diagnostics, editor) : null);
      return false;
    }
  }

  const buttons = h('div', { class: 'controls' },
    h('button', { type: 'button', class: 'primary', onclick: save }, 'Check and save draft'),
    h('button', { type: 'button', onclick: async () => {
      if (!(await save())) return;
      try {
        const published = await api(`${path}/publish`, { method: 'POST' });
        fill(out, notice(`✓ Published as version ${published.version}.`));
      } catch (e) {
        fill(out, problem(e));
      }
    } }, 'Save and publish'));
  // Ctrl/Cmd+S saves, as editors do.
  editor.addEventListener('keydown', (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === 's') {
      event.preventDefault();
      save();
    }
  });
  add(main, h('header', { class: 'page-head' }, h('h1', {}, 'Draft of ', workflow.name), link(['workflows', id], 'Back to the workflow')),
    state, buttons, out, editor);
}
