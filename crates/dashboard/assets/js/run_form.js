// "Run": a form generated from the workflow's input parameters, plus how the
// run is asked for (version, test flag, screenshots, trace, identity, inputs
// deferred to a person). Starting it opens the run's page.

import { api } from './api.js';
import { h, fill, field, select, problem } from './dom.js';
import { inputControl } from './inputs.js';

/** `versions`: [[value, label, definition]] the run may use (latest first). */
export function runForm(workflowId, versions, identities) {
  const version = select('version', versions.map(([value, label]) => [value, label]), versions[0]?.[0]);
  const inputsBox = h('div', { class: 'inputs' });
  const test = h('input', { type: 'checkbox', name: 'test' });
  const shots = select('screenshots', [['end', 'at the end'], ['every-segment', 'after every segment'], ['off', 'off']], 'end');
  const trace = select('trace', [['off', 'off'], ['on', 'on'], ['on-failure', 'on failure']], 'off');
  const identity = select('identityId', [['', '(none)'], ...identities.map((i) => [i.id, `${i.name} (${i.sourceProvider})`])], '');
  const out = h('div', { role: 'status' });
  let controls = [];

  function showInputs() {
    const definition = versions.find(([value]) => value === version.value)?.[2];
    const declared = Array.isArray(definition?.inputParameters) ? definition.inputParameters : [];
    controls = declared.map((p) => inputControl(p, { deferrable: true }));
    fill(inputsBox, controls.length ? controls.map((c) => c.element) : h('p', { class: 'muted' }, 'This workflow takes no inputs.'));
  }
  version.addEventListener('change', showInputs);
  showInputs();

  const form = h('form', { class: 'card stack run-form', 'aria-labelledby': 'run-title' },
    h('h2', { id: 'run-title' }, 'Run'),
    field('Version', version),
    h('fieldset', {}, h('legend', {}, 'Inputs'), inputsBox),
    h('details', {}, h('summary', {}, 'Options'),
      h('label', { class: 'inline' }, test, ' test run'),
      field('Screenshots', shots), field('Trace', trace), field('Sign in as identity', identity)),
    h('button', { type: 'submit', class: 'primary' }, 'Start run'), out);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    fill(out);
    const submit = form.querySelector('button[type=submit]');
    submit.disabled = true;
    try {
      const inputs = {};
      const deferredInputs = [];
      for (const c of controls) {
        if (c.deferred()) deferredInputs.push(c.name);
        else {
          const value = await c.read();
          if (value !== undefined) inputs[c.name] = value;
        }
      }
      const body = {
        inputs,
        version: /^\d+$/.test(version.value) ? Number(version.value) : version.value,
        test: test.checked,
        artifacts: { screenshots: shots.value, trace: trace.value },
      };
      if (deferredInputs.length) body.deferredInputs = deferredInputs;
      if (identity.value) body.identityId = identity.value;
      const run = await api(`/v1/workflows/${encodeURIComponent(workflowId)}/runs`, { method: 'POST', body });
      location.hash = `#/runs/${encodeURIComponent(run.id)}`;
    } catch (e) {
      const details = e.details?.inputs;
      fill(out, problem(e), Array.isArray(details) ? h('ul', {}, details.map((d) => h('li', {}, h('code', {}, String(d.name)), `: ${d.message}`))) : null);
      submit.disabled = false;
    }
  });
  return form;
}
