'use strict';
// segue's browser runner: executes workflow segment code with real Playwright.
//
// Driven by the Rust `runner` crate over stdin/stdout, one JSON object per line.
// Requests: {id, op, ...}; replies: {id, ok: true, result} or {id, ok: false, error: {message}}.
// Unsolicited events: {event: "log", level, text} for the segment code's console output.
// stdout carries nothing else: Playwright and this program write diagnostics to stderr.
//
// One process serves one run at a time. A segment whose code never returns blocks this
// process's event loop; Rust then kills the whole process group, which is why runs do not
// share runner processes.

const readline = require('node:readline');
const util = require('node:util');
const vm = require('node:vm');
const { chromium } = require('playwright-core');

// Bodies larger than this are cut (and flagged) so one huge download cannot exhaust memory.
const MAX_BODY_CHARS = 1024 * 1024;
// How long a network segment waits for bodies still being read before it starts.
const BODY_SETTLE_MS = 5000;
const TEXT_TYPES = /^(text\/|application\/([\w.+-]*\+)?(json|javascript|xml|x-www-form-urlencoded|graphql)\b)/i;

let browser = null;
let session = null; // { context, page, responses, pending: Set<Promise>, sandbox, compiled: Map }

function send(message) {
  process.stdout.write(JSON.stringify(message) + '\n');
}

function sandboxConsole() {
  const emit = (level) => (...args) => send({ event: 'log', level, text: util.format(...args) });
  return { log: emit('log'), info: emit('info'), warn: emit('warn'), error: emit('error'), debug: emit('debug') };
}

// Segment code runs in a vm context with only what the reference promises: no require,
// no process, no file system. vm is not a security boundary; the process is.
function newSandbox() {
  return vm.createContext({
    console: sandboxConsole(),
    setTimeout, clearTimeout, setInterval, clearInterval,
    URL, URLSearchParams, TextEncoder, TextDecoder, atob, btoa, structuredClone,
  });
}

// One sandbox and one cache of compiled functions per run: creating a vm context costs about
// a millisecond, and loops run the same segment code many times.
function compile(code, filename) {
  const scope = session ?? { sandbox: newSandbox(), compiled: new Map() };
  const key = `${filename}\n${code}`;
  let fn = scope.compiled.get(key);
  if (!fn) {
    fn = new vm.Script(`(${code}\n)`, { filename }).runInContext(scope.sandbox, { timeout: 1000 });
    if (typeof fn !== 'function') throw new Error('the code does not evaluate to a function');
    scope.compiled.set(key, fn);
  }
  return fn;
}

async function launch({ executablePath, headless, args, wsEndpoint }) {
  if (browser) throw new Error('browser already launched');
  browser = wsEndpoint
    ? await chromium.connect(wsEndpoint)
    : await chromium.launch({ executablePath, headless, args });
  return { version: browser.version() };
}

function isText(headers) {
  return TEXT_TYPES.test(headers['content-type'] || '');
}

async function readBody(response, entry) {
  try {
    if (!isText(entry.headers)) {
      entry.bodySkipped = 'binary';
      return;
    }
    let text = (await response.body()).toString('utf8');
    if (text.length > MAX_BODY_CHARS) {
      text = text.slice(0, MAX_BODY_CHARS);
      entry.bodyTruncated = true;
    }
    entry.responseBody = text;
    entry.body = text;
  } catch (e) {
    // Redirects and aborted responses have no body.
    entry.bodySkipped = 'unavailable';
  }
}

async function open({ recordNetwork }) {
  if (!browser) throw new Error('browser not launched');
  if (session) await close();
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  session = { context, page, responses: [], pending: new Set(), sandbox: newSandbox(), compiled: new Map() };
  if (recordNetwork) {
    const current = session;
    context.on('response', (response) => {
      const request = response.request();
      const entry = {
        requestUrl: response.url(),
        method: request.method(),
        status: response.status(),
        headers: response.headers(),
        resourceType: request.resourceType(),
        requestBody: request.postData() ?? null,
        responseBody: null,
        body: null,
        timestamp: Date.now(),
      };
      current.responses.push(entry);
      const reading = readBody(response, entry).finally(() => current.pending.delete(reading));
      current.pending.add(reading);
    });
  }
  return {};
}

async function settleBodies() {
  const pending = [...session.pending];
  if (!pending.length) return;
  let timer;
  const deadline = new Promise((resolve) => { timer = setTimeout(resolve, BODY_SETTLE_MS); });
  await Promise.race([Promise.allSettled(pending), deadline]);
  clearTimeout(timer);
}

async function runCode({ name, code, parameters, network }) {
  if (!session) throw new Error('no browser session open');
  const fn = compile(code, `segment:${name}`);
  let responses;
  if (network) {
    await settleBodies();
    // A copy, so that segment code cannot corrupt the recording for later segments.
    responses = structuredClone(session.responses);
  }
  const started = performance.now();
  const value = await fn(session.page, parameters, responses);
  const elapsedMs = performance.now() - started;
  return { value: value === undefined ? null : JSON.parse(JSON.stringify(value) ?? 'null'), elapsedMs };
}

async function route({ name, code, outputs }) {
  const fn = compile(code, `router:${name}`);
  return { value: (await fn(outputs)) ?? null };
}

async function close() {
  if (!session) return {};
  const { context } = session;
  session = null;
  await context.close().catch(() => {});
  return {};
}

async function shutdown() {
  await close();
  if (browser) await browser.close().catch(() => {});
  browser = null;
  return {};
}

const ops = { launch, open, code: runCode, route, close, shutdown };

function errorMessage(e) {
  if (e instanceof Error || (e && typeof e.message === 'string')) return e.message;
  try {
    return typeof e === 'string' ? e : `threw a non-error value: ${JSON.stringify(e)}`;
  } catch {
    return String(e);
  }
}

async function handle(line) {
  let request;
  try {
    request = JSON.parse(line);
  } catch (e) {
    send({ id: null, ok: false, error: { message: `bad request line: ${e.message}` } });
    return;
  }
  const op = ops[request.op];
  try {
    if (!op) throw new Error(`unknown op '${request.op}'`);
    send({ id: request.id, ok: true, result: await op(request) });
    if (request.op === 'shutdown') process.exit(0);
  } catch (e) {
    send({ id: request.id, ok: false, error: { message: errorMessage(e) } });
  }
}

// Requests are handled strictly in order: each waits for the one before it.
let queue = Promise.resolve();
const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  queue = queue.then(() => handle(line));
});
lines.on('close', () => {
  queue.then(shutdown).finally(() => process.exit(0));
});
