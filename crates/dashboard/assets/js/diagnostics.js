// Validation diagnostics next to the document they are about: each names its
// location, line and column, and selects that place in the editor when chosen.

import { h } from './dom.js';
import { locate } from './locate.js';

export function diagnosticsList(diagnostics, textarea) {
  if (!diagnostics.length) return null;
  return h('ol', { class: 'diagnostics', 'aria-label': 'validation diagnostics' }, diagnostics.map((d) => {
    const at = textarea ? locate(textarea.value, d.location) : null;
    const where = at ? `line ${at.line}, column ${at.column}` : null;
    const mark = d.severity === 'error' ? '✕ error' : '⚠ warning';
    const jump = () => {
      if (!at) return;
      textarea.focus();
      textarea.setSelectionRange(at.start, at.end);
      // Scroll the selection into view: browsers do not always do it for a textarea.
      const lineHeight = parseFloat(getComputedStyle(textarea).lineHeight) || 18;
      textarea.scrollTop = Math.max(0, (at.line - 3) * lineHeight);
    };
    return h('li', { class: `diagnostic ${d.severity}` },
      h('span', { class: 'severity' }, mark), ' ', h('code', {}, d.code), ' ',
      at ? h('button', { type: 'button', class: 'link', onclick: jump }, d.location || '(document)', ` — ${where}`) : h('code', {}, d.location || '(document)'),
      h('div', { class: 'message' }, d.message));
  }));
}
