// A table over one of the API's cursor-paged lists. Cursors only go forward,
// so the component keeps the cursors of the pages it came through to go back.

import { h, fill, problem, notice } from './dom.js';

/**
 * `load(cursor)` returns `{data, nextCursor}`; `columns` are `[heading, row => cell]`.
 * `live` (milliseconds) reloads the first page while it is shown, until `signal` aborts.
 */
export function paged({ load, columns, empty, signal, live, label }) {
  const cursors = [null];
  const body = h('tbody');
  const status = h('div', { class: 'pager-status', role: 'status', 'aria-live': 'polite' });
  const older = h('button', { type: 'button', onclick: () => go(+1) }, 'Older →');
  const newer = h('button', { type: 'button', onclick: () => go(-1) }, '← Newer');
  const table = h('table', { class: 'list' },
    label ? h('caption', { class: 'visually-hidden' }, label) : null,
    h('thead', {}, h('tr', {}, columns.map(([title]) => h('th', { scope: 'col' }, title)))),
    body);
  const element = h('div', { class: 'paged' }, h('div', { class: 'table-wrap' }, table), status,
    h('nav', { class: 'pager', 'aria-label': 'pages' }, newer, older));
  let next = null;
  let loading = false;

  async function show(quiet) {
    if (loading) return;
    loading = true;
    try {
      const page = await load(cursors.at(-1));
      next = page.nextCursor ?? null;
      fill(body, page.data.map((row) => h('tr', {}, columns.map(([title, cell]) => h('td', { 'data-label': title }, cell(row))))));
      fill(status, page.data.length === 0 ? notice(empty ?? 'Nothing here yet.') : null);
      older.disabled = next === null;
      newer.disabled = cursors.length === 1;
    } catch (e) {
      if (e.name !== 'AbortError' && !quiet) fill(status, problem(e));
    } finally {
      loading = false;
    }
  }

  function go(step) {
    if (step > 0 && next !== null) cursors.push(next);
    if (step < 0 && cursors.length > 1) cursors.pop();
    show(false);
  }

  if (live) {
    const timer = setInterval(() => {
      // Replacing rows under a keyboard user's focus would throw them back to the page's start.
      const focusedInside = element.contains(document.activeElement);
      if (cursors.length === 1 && document.visibilityState === 'visible' && !focusedInside) show(true);
    }, live);
    signal?.addEventListener('abort', () => clearInterval(timer));
  }
  show(false);
  return { element, reload: () => show(false) };
}
