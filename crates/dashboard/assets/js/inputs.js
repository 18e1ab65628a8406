// A form control for one workflow parameter, as its declaration says: options
// as a select, booleans as a yes/no choice, numbers, secrets as password
// fields (never echoed), files as uploads sent as data URIs.

import { h, field } from './dom.js';

/** `{element, read}`: the labelled control and an async reader of its value (undefined: not given). */
export function inputControl(param, { deferrable } = {}) {
  const required = param.required !== false;
  const label = [param.name, ' ', h('span', { class: 'type' }, `(${param.type}${required ? ', required' : ''})`)];
  const initial = param.defaultValue ?? null;
  let control;
  if (Array.isArray(param.options) && param.options.length > 0) {
    control = h('select', { name: param.name },
      h('option', { value: '' }, required && initial === null ? 'choose…' : '(default)'),
      param.options.map((o) => h('option', { value: String(o), selected: initial !== null && String(o) === String(initial) }, String(o))));
  } else if (param.type === 'boolean') {
    control = h('select', { name: param.name },
      h('option', { value: '' }, '(not set)'),
      h('option', { value: 'true', selected: initial === true }, 'true'),
      h('option', { value: 'false', selected: initial === false }, 'false'));
  } else if (param.type === 'file') {
    control = h('input', { type: 'file', name: param.name });
  } else {
    const type = param.type === 'secret' ? 'password' : param.type === 'number' ? 'number' : 'text';
    control = h('input', { type, name: param.name, step: type === 'number' ? 'any' : null, autocomplete: 'off',
      value: param.type !== 'secret' && initial !== null ? String(initial) : null,
      placeholder: param.type === 'secret' && initial !== null ? 'default set' : null });
  }
  if (required && initial === null) control.setAttribute('aria-required', 'true');
  const hint = param.description ?? null;
  const later = deferrable ? h('input', { type: 'checkbox', name: `${param.name}.deferred`, class: 'deferred' }) : null;
  if (later) {
    later.addEventListener('change', () => { control.disabled = later.checked; });
  }
  const element = h('div', { class: 'param' }, field(label, control, hint),
    later ? h('label', { class: 'inline' }, later, ' ask for it while the run waits (deferred)') : null);
  return {
    name: param.name,
    element,
    deferred: () => Boolean(later?.checked),
    read: () => readValue(param, control),
  };
}

async function readValue(param, control) {
  if (param.type === 'file') {
    const file = control.files?.[0];
    return file ? dataUri(file) : undefined;
  }
  const text = control.value;
  if (text === '') return undefined;
  if (param.type === 'boolean' && !param.options) return text === 'true';
  // Numbers are sent as typed: the server converts and reports a bad one by name.
  return text;
}

/** `data:MIME;name=FILE;base64,…`, the form `file` inputs take. */
function dataUri(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      const url = String(reader.result);
      const comma = url.indexOf(',');
      const head = url.slice(0, comma).replace(/;base64$/, '');
      resolve(`${head};name=${encodeURIComponent(file.name)};base64${url.slice(comma)}`);
    };
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}
