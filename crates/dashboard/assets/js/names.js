// Workflow names for lists that only carry ids, fetched once per page load.

import { api } from './api.js';
import { h, link } from './dom.js';

const names = new Map();

function nameOf(id) {
  if (!names.has(id)) {
    names.set(id, api(`/v1/workflows/${encodeURIComponent(id)}`).then((w) => w.name, () => null));
  }
  return names.get(id);
}

/** A link to the workflow that shows its id, then its name once known. */
export function workflowLink(id) {
  const a = link(['workflows', id], id);
  nameOf(id).then((name) => {
    if (name) {
      a.textContent = name;
      a.title = id;
    }
  });
  return a;
}

export function remember(workflow) {
  names.set(workflow.id, Promise.resolve(workflow.name));
}
