// The dashboard's entry point: sign-in, and the hash router (`#/runs/run_…`)
// that renders one page into <main>. Navigating aborts the previous page's
// signal, which stops its event streams and timers.

import { key, signIn, signOut, api, whenUnauthorized, ApiError } from './api.js';
import { h, fill, problem } from './dom.js';
import * as runs from './pages/runs.js';
import * as run from './pages/run.js';
import * as workflows from './pages/workflows.js';
import * as workflow from './pages/workflow.js';
import * as draft from './pages/draft.js';
import * as jobs from './pages/jobs.js';
import * as jobRuns from './pages/job_runs.js';
import * as identities from './pages/identities.js';
import * as webhooks from './pages/webhooks.js';
import * as keys from './pages/keys.js';

// Patterns over the hash path's parts; `:name` captures a part.
const ROUTES = [
  ['runs', runs.list],
  ['runs/:id', run.page],
  ['workflows', workflows.list],
  ['workflows/new', workflows.create],
  ['workflows/:id', workflow.page],
  ['workflows/:id/draft', draft.page],
  ['jobs', jobs.list],
  ['jobs/:id', jobs.page],
  ['job-runs', jobRuns.list],
  ['job-runs/:id', jobRuns.page],
  ['identities', identities.list],
  ['webhooks', webhooks.list],
  ['webhooks/:id', webhooks.page],
  ['keys', keys.list],
];

const main = document.getElementById('main');
const nav = document.getElementById('nav');
let current = new AbortController();

function match(parts) {
  for (const [pattern, render] of ROUTES) {
    const want = pattern.split('/');
    if (want.length !== parts.length) continue;
    const params = {};
    if (want.every((p, i) => (p.startsWith(':') ? ((params[p.slice(1)] = parts[i]), true) : p === parts[i]))) {
      return { render, params };
    }
  }
  return null;
}

async function route() {
  current.abort();
  current = new AbortController();
  if (!key()) {
    showSignIn();
    return;
  }
  nav.hidden = false;
  const hash = location.hash.replace(/^#\/?/, '');
  const [path, search] = hash.split('?');
  let parts;
  try {
    parts = path ? path.split('/').map(decodeURIComponent) : [];
  } catch {
    parts = ['?'];
  }
  if (parts.length === 0) {
    location.replace('#/runs');
    return;
  }
  for (const a of nav.querySelectorAll('a')) {
    const here = a.getAttribute('href').slice(2) === parts[0];
    if (here) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const found = match(parts);
  fill(main);
  if (!found) {
    fill(main, h('h1', {}, 'Not found'), h('p', {}, 'No page here. ', h('a', { href: '#/runs' }, 'Back to runs')));
    return;
  }
  const context = { params: found.params, query: new URLSearchParams(search ?? ''), main, signal: current.signal };
  try {
    await found.render(context);
  } catch (e) {
    if (e.name !== 'AbortError') main.append(problem(e));
  }
  // Moving focus to the new page lets keyboard and screen-reader users start there.
  const heading = main.querySelector('h1');
  if (heading && !context.keepFocus) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
  }
}

function showSignIn(message) {
  nav.hidden = true;
  const input = h('input', { type: 'password', name: 'key', autocomplete: 'off', required: true, spellcheck: 'false' });
  const out = h('div', { role: 'status' }, message ? problem({ message }) : null);
  const form = h('form', { class: 'card signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in'),
    h('p', {}, 'Paste an API key of your organization. It is kept in this tab only (session storage) and sent with each request.'),
    h('div', { class: 'field' }, h('label', { for: 'signin-key' }, 'API key'), input),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
    out);
  input.id = 'signin-key';
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    signIn(input.value.trim());
    try {
      await api('/v1/runs', { query: { limit: 1 } });
      route();
    } catch (e) {
      signOut();
      fill(out, problem(e instanceof ApiError && e.status === 401 ? { message: 'This key was not accepted.' } : e));
    }
  });
  fill(main, form);
  input.focus();
}

whenUnauthorized(() => {
  // While the sign-in form checks a key, its own message says the key failed.
  if (nav.hidden) return;
  signOut();
  current.abort();
  showSignIn('The key is no longer accepted: sign in again.');
});

document.getElementById('sign-out').addEventListener('click', () => {
  signOut();
  route();
});
// The skip link's own target would be read as a route: move focus instead.
document.querySelector('.skip').addEventListener('click', (event) => {
  event.preventDefault();
  main.focus();
});
window.addEventListener('hashchange', route);
route();
