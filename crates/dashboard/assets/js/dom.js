// Building the page from data that workflows wrote (names, logs, outputs,
// error messages): every string becomes a text node, never markup. `h` is the
// only way modules make elements, and it refuses links that could run script.

const SAFE_HREF = /^(#|blob:)/;

/** An element with attributes, listeners (`onclick: fn`) and children (strings are text). */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value);
    } else if (name === 'href' && !SAFE_HREF.test(String(value))) {
      throw new Error(`refusing link ${String(value).slice(0, 40)}`);
    } else if (name.startsWith('on')) {
      throw new Error(`refusing handler attribute ${name}`);
    } else if (value === true) {
      el.setAttribute(name, '');
    } else {
      el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.append(child);
    else el.append(document.createTextNode(String(child)));
  }
}

/** Appends children as `h` does: null and false are skipped, strings are text. */
export function add(el, ...children) {
  append(el, children);
  return el;
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A link inside the dashboard: `#/runs/ID`, each part encoded. */
export function link(parts, text, query) {
  const path = parts.map(encodeURIComponent).join('/');
  const search = query ? `?${new URLSearchParams(query)}` : '';
  return h('a', { href: `#/${path}${search}` }, text);
}

// Statuses carry a symbol and a word, never colour alone.
const STATUS_MARKS = {
  COMPLETED: '✓', PASSED: '✓', ACTIVE: '✓', SUCCEEDED: '✓', DELIVERED: '✓',
  FAILED: '✕', TIMED_OUT: '⏱', CANCELLED: '⊘', SKIPPED: '↷', EXPIRED: '⌛',
  PENDING: '…', IN_PROGRESS: '▶', AWAITING_USER_INPUT: '✋', NONE: '–',
};

export function badge(status) {
  const word = String(status ?? 'unknown');
  const mark = STATUS_MARKS[word] ?? '•';
  return h('span', { class: `badge status-${word.replace(/[^A-Z_]/g, '')}` }, h('span', { 'aria-hidden': 'true' }, mark), ` ${word}`);
}

export function tag(text, kind) {
  return h('span', { class: `tag ${kind ?? ''}` }, text);
}

export const FINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT']);

/** A time in the reader's locale, the exact instant on hover. */
export function when(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const at = new Date(iso);
  return h('time', { datetime: iso, title: iso }, Number.isNaN(at.getTime()) ? iso : at.toLocaleString());
}

export function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s % 60)} s`;
}

export function between(start, end) {
  if (!start) return '—';
  const to = end ? new Date(end) : new Date();
  return duration(to - new Date(start));
}

export function bytes(n) {
  if (n === null || n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** JSON shown as text in a scrollable block. */
export function json(value) {
  return h('pre', { class: 'json', tabindex: '0' }, value === undefined ? '' : JSON.stringify(value, null, 2));
}

/** A definition list of label → value pairs; values may be nodes. */
export function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')]));
}

/** A page section with a heading. */
export function section(title, ...children) {
  return h('section', { class: 'card' }, h('h2', {}, title), ...children);
}

/** An error from the API (or anything thrown), shown as text. */
export function problem(error) {
  const code = error && error.code ? `${error.code}: ` : '';
  return h('p', { class: 'problem', role: 'alert' }, h('strong', {}, '✕ '), code, String(error && error.message ? error.message : error));
}

export function notice(text) {
  return h('p', { class: 'notice', role: 'status' }, text);
}

/** A labelled form field; `control` is the input element. */
export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2)}`;
  control.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, hint ? h('small', { class: 'hint' }, hint) : null);
}

/** A `<select>` of [value, label] pairs. */
export function select(name, options, current) {
  return h('select', { name }, options.map(([value, label]) => h('option', { value, selected: value === (current ?? '') }, label)));
}

/** A button that shows it is busy while its async action runs, and the action's error below it. */
export function action(label, run, props) {
  const out = h('span', { class: 'action-result', role: 'status' });
  const button = h('button', { type: 'button', ...props }, label);
  button.addEventListener('click', async () => {
    button.disabled = true;
    fill(out);
    try {
      await run(out);
    } catch (e) {
      fill(out, problem(e));
    } finally {
      button.disabled = false;
    }
  });
  return h('span', { class: 'action' }, button, out);
}
