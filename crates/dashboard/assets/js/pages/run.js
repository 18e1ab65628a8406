// One run: status, error, inputs (masked by the server), outputs, the timeline
// of segment executions with their logs and screenshots, the end screenshot,
// artifacts, cancel, and the form a run waiting for a person needs. It follows
// the run's event stream until the run ends.

import { api, follow } from '../api.js';
import { h, add, fill, link, badge, when, between, duration, json, facts, section, problem, notice, action, tag, FINAL } from '../dom.js';
import { workflowLink } from '../names.js';
import { inputControl } from '../inputs.js';
import { screenshot, isImage, allArtifacts, artifactTable } from '../artifacts.js';

export async function page({ params, main, signal }) {
  const id = params.id;
  const path = `/v1/runs/${encodeURIComponent(id)}`;
  let run = await api(path, { signal });
  let segments = [];
  let artifacts = [];

  const title = h('h1', {}, 'Run ', h('code', {}, id));
  const status = h('div', { class: 'run-status', role: 'status', 'aria-live': 'polite' });
  const controls = h('div', { class: 'controls' });
  const waiting = h('div');
  const failure = h('div');
  const summary = h('div');
  const end = h('div');
  const values = h('div');
  const timeline = h('ol', { class: 'timeline' });
  const files = h('div');
  add(main, h('header', { class: 'page-head' }, title, status, controls), waiting, failure,
    h('div', { class: 'two' }, summary, values), section('Timeline', timeline), end, section('Artifacts', files));

  function showRun(r) {
    run = r;
    fill(status, badge(r.status), r.currentSegmentName && !FINAL.has(r.status) ? [' in ', h('strong', {}, r.currentSegmentName)] : null);
    fill(controls, FINAL.has(r.status) ? null : action('Cancel run', async (out) => {
      showRun(await api(`${path}/cancel`, { method: 'POST' }));
      fill(out, notice('Cancel requested.'));
    }, { class: 'danger' }));
    fill(waiting, r.status === 'AWAITING_USER_INPUT' && r.awaitingInput ? inputForm(r) : null);
    fill(failure, r.error ? h('section', { class: 'card failure', 'aria-labelledby': 'run-error' },
      h('h2', { id: 'run-error' }, '✕ Error'),
      facts([['Code', h('code', { class: 'error-code' }, r.error.code)], ['Segment', r.error.segmentName ?? '—'],
        ['Message', h('pre', { class: 'message' }, r.error.message)]])) : null);
    fill(summary, section('Summary', facts([
      ['Workflow', [workflowLink(r.workflowId), ` version ${r.workflowVersion ?? 'draft'}`]],
      ['Created', when(r.createdAt)], ['Started', when(r.startedAt)], ['Finished', when(r.completedAt)],
      ['Duration', between(r.startedAt, r.completedAt)],
      ['Attempts', `${r.attempts} of ${r.maxAttempts}`],
      r.test ? ['Test', tag('test run')] : null,
      r.aiFallback ? ['AI', tag('AI fallback used')] : null,
      r.inputTokens || r.outputTokens ? ['Model tokens', `${r.inputTokens} in, ${r.outputTokens} out`] : null,
      r.identityId ? ['Identity', r.identityId] : null,
      r.loginRunId ? ['Login run', link(['runs', r.loginRunId], r.loginRunId)] : null,
      r.jobRunId ? ['Job run', link(['job-runs', r.jobRunId], r.jobRunId)] : null,
      r.deferredInputs?.length ? ['Deferred inputs', r.deferredInputs.join(', ')] : null,
    ])));
    fill(values, section('Inputs', json(r.inputs)), section('Outputs', r.outputs ? json(r.outputs) : notice(FINAL.has(r.status) ? 'No outputs.' : 'Not yet.')));
  }

  function inputForm(r) {
    const wanted = r.awaitingInput;
    const input = inputControl({ name: wanted.name, type: wanted.type, required: true, description: wanted.description, options: wanted.options });
    const out = h('div', { role: 'status' });
    const form = h('form', { class: 'card waiting', 'aria-labelledby': 'waiting-title' },
      h('h2', { id: 'waiting-title' }, '✋ Waiting for input'),
      h('p', {}, 'The run is paused until someone supplies ', h('code', {}, wanted.name), wanted.expiresAt ? [' (before ', when(wanted.expiresAt), ')'] : null, '.'),
      input.element, h('button', { type: 'submit', class: 'primary' }, 'Send input'), out);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const button = form.querySelector('button[type=submit]');
      button.disabled = true;
      try {
        const value = await input.read();
        if (value === undefined) throw new Error(`${wanted.name} needs a value`);
        showRun(await api(`${path}/inputs`, { method: 'POST', body: { [wanted.name]: value } }));
      } catch (e) {
        fill(out, problem(e));
        button.disabled = false;
      }
    });
    return form;
  }

  function showTimeline() {
    const byKey = new Map(segments.map((s) => [`${s.attempt}/${s.sequence}`, s]));
    const ordered = [...byKey.values()].sort((a, b) => a.attempt - b.attempt || a.sequence - b.sequence);
    fill(timeline, ordered.length === 0 ? h('li', { class: 'muted' }, FINAL.has(run.status) ? 'No segment ran.' : 'No segment has finished yet.') : ordered.map((s) => segmentItem(s, ordered)));
    const shot = artifacts.find((a) => isImage(a) && a.name === 'end.png');
    fill(end, shot ? h('section', { class: 'card end-shot' }, h('h2', {}, 'End screenshot'), screenshot(shot, signal, 'The page when the run ended')) : null);
    fill(files, artifacts.length ? artifactTable(artifacts) : notice(FINAL.has(run.status) ? 'This run left no artifacts.' : 'Artifacts appear when the run ends.'));
  }

  // Screenshots name their segment: those taken after a segment, in order, go to its
  // executions in order; an agent's go to the last execution the agent ran.
  function shotsOf(s, ordered) {
    const same = ordered.filter((o) => o.segmentName === s.segmentName);
    const mine = artifacts.filter((a) => isImage(a) && a.segmentName === s.segmentName).sort((a, b) => a.name.localeCompare(b.name));
    const after = mine.filter((a) => a.name.startsWith('segment-'));
    const agent = mine.filter((a) => !a.name.startsWith('segment-'));
    const lastAgent = same.filter((o) => o.mode !== 'code').at(-1);
    return [...(after[same.indexOf(s)] ? [after[same.indexOf(s)]] : []), ...(lastAgent === s ? agent : [])];
  }

  function segmentItem(s, ordered) {
    const shots = shotsOf(s, ordered);
    return h('li', { class: `segment ${s.status === 'FAILED' ? 'failed' : ''}` },
      h('div', { class: 'segment-head' },
        h('span', { class: 'seq' }, `#${s.sequence}`), ' ', h('strong', {}, s.segmentName), ' ', tag(s.mode, 'mode'), ' ', badge(s.status),
        ' ', h('span', { class: 'muted' }, duration(s.durationMs)), s.attempt > 1 ? [' ', tag(`attempt ${s.attempt}`)] : null),
      s.error ? h('p', { class: 'problem' }, h('code', {}, s.error.code), ' ', s.error.message) : null,
      s.fallbackError ? h('p', { class: 'muted' }, 'Code failed first: ', h('code', {}, s.fallbackError.code), ' ', s.fallbackError.message) : null,
      s.inputTokens !== null && s.inputTokens !== undefined ? h('p', { class: 'muted' }, `Model tokens: ${s.inputTokens} in, ${s.outputTokens} out`) : null,
      s.logs?.length ? h('details', { open: s.logs.length <= 12 }, h('summary', {}, `Logs and agent actions (${s.logs.length})`), h('pre', { class: 'logs', tabindex: '0' }, s.logs.join('\n'))) : null,
      shots.length ? h('div', { class: 'shots' }, shots.map((a) => screenshot(a, signal))) : null);
  }

  async function loadSegments() {
    const all = [];
    let cursor = null;
    do {
      const page = await api(`${path}/segments`, { query: { cursor, limit: 100 }, signal });
      all.push(...page.data);
      cursor = page.nextCursor;
    } while (cursor);
    segments = all;
  }

  async function loadEnd() {
    [artifacts] = await Promise.all([allArtifacts(id, signal), loadSegments()]);
    showTimeline();
  }

  showRun(run);
  await loadEnd();
  if (!FINAL.has(run.status)) {
    follow(`${path}/events`, signal, (event) => {
      if (event.type === 'run') showRun(event.data);
      if (event.type === 'segment') {
        segments.push(event.data);
        showTimeline();
      }
      if (event.type === 'end') {
        showRun(event.data);
        loadEnd().catch((e) => e.name !== 'AbortError' && files.append(problem(e)));
      }
    }).catch((e) => status.append(problem(e)));
  }
}
