// A workflow definition as a readable graph: its inputs and outputs, then each
// segment (type, prompt, inputs, outputs, where it goes next, its router and
// code) in the order a run would meet them from the start segment.

import { h, tag, section } from './dom.js';

function params(list, empty) {
  if (!Array.isArray(list) || list.length === 0) return h('p', { class: 'muted' }, empty);
  return h('ul', { class: 'params' }, list.map((p) => h('li', {},
    h('code', {}, String(p.name)), ' ', h('span', { class: 'type' }, String(p.type)),
    p.required === false ? ' optional' : ' required',
    Array.isArray(p.options) && p.options.length ? ` · one of ${p.options.map(String).join(', ')}` : null,
    p.defaultValue !== null && p.defaultValue !== undefined && p.type !== 'secret' ? ` · default ${JSON.stringify(p.defaultValue)}` : null,
    p.description ? h('span', { class: 'muted' }, ` — ${p.description}`) : null)));
}

/** Segments from the start, following `next` (depth first), then any the start cannot reach. */
function ordered(definition) {
  const segments = Array.isArray(definition.segments) ? definition.segments : [];
  const byName = new Map(segments.map((s) => [s.name, s]));
  const seen = new Set();
  const out = [];
  const stack = [definition.startSegmentName];
  while (stack.length) {
    const name = stack.pop();
    const s = byName.get(name);
    if (!s || seen.has(name)) continue;
    seen.add(name);
    out.push(s);
    if (typeof s.next === 'string') stack.push(s.next);
  }
  return [...out, ...segments.filter((s) => !seen.has(s.name))];
}

export function graph(definition) {
  if (!definition || typeof definition !== 'object') return h('p', { class: 'muted' }, 'No definition.');
  const cards = new Map();
  const goTo = (name) => {
    const card = cards.get(name);
    if (card) {
      card.scrollIntoView({ block: 'start' });
      card.focus();
    }
  };
  const list = h('ol', { class: 'graph' }, ordered(definition).map((s) => {
    const card = h('li', { class: 'node', tabindex: '-1' },
      h('h3', {}, h('code', {}, String(s.name)), ' ', tag(String(s.type), 'mode'),
        s.name === definition.startSegmentName ? [' ', tag('start')] : null),
      s.prompt ? h('p', { class: 'prompt' }, h('span', { class: 'muted' }, 'Prompt: '), String(s.prompt)) : null,
      h('div', { class: 'two' },
        h('div', {}, h('h4', {}, 'Inputs'), params(s.inputParameters, 'none')),
        h('div', {}, h('h4', {}, 'Outputs'), params(s.outputParameters, 'none'))),
      h('p', { class: 'next' }, 'Next: ',
        typeof s.next === 'string'
          ? h('button', { type: 'button', class: 'link', onclick: () => goTo(s.next) }, `→ ${s.next}`)
          : h('span', { class: 'muted' }, s.router ? 'chosen by the router' : 'end of the workflow')),
      s.router ? h('details', {}, h('summary', {}, 'Router'), h('pre', { class: 'code' }, String(s.router))) : null,
      s.deterministic ? h('details', {}, h('summary', {}, 'Code'), h('pre', { class: 'code' }, String(s.deterministic))) : null);
    cards.set(s.name, card);
    return card;
  }));
  return h('div', { class: 'definition' },
    h('div', { class: 'two' },
      section('Workflow inputs', params(definition.inputParameters, 'none')),
      section('Workflow outputs', params(definition.outputParameters, 'none'))),
    section(`Segments (${cards.size})`, list));
}
