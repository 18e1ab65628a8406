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

const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
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
let session = null; // { context, page, responses, pending: Set<Promise>, lastSnapshot }

function send(message) {
  process.stdout.write(JSON.stringify(message) + '\n');
}

function sandboxConsole() {
  const emit = (level) => (...args) => send({ event: 'log', level, text: util.format(...args) });
  return { log: emit('log'), info: emit('info'), warn: emit('warn'), error: emit('error'), debug: emit('debug') };
}

// A copy of a host constructor or function that belongs to one sandbox: assigning
// to `URL.prototype.x` or `setTimeout.x` then changes that sandbox's copy only.
const ownClass = (Base) => ({ [Base.name]: class extends Base {} })[Base.name];
const ownFunction = (fn) => ({ [fn.name]: (...args) => fn(...args) })[fn.name];

// Segment code runs in a vm context with only what the reference promises: no require,
// no process, no file system. vm is not a security boundary; the process is.
// Every segment execution and every router gets a context of its own, so a global one
// sets (`globalThis.x`, an undeclared assignment, `Array.prototype.x`) dies with it:
// only declared inputs flow between segments. A context costs about a millisecond.
function newSandbox() {
  return vm.createContext({
    console: sandboxConsole(),
    ...Object.fromEntries([setTimeout, clearTimeout, setInterval, clearInterval, atob, btoa, structuredClone]
      .map((fn) => [fn.name, ownFunction(fn)])),
    ...Object.fromEntries([URL, URLSearchParams, TextEncoder, TextDecoder].map((C) => [C.name, ownClass(C)])),
  });
}

// Compiled scripts are cached per run (loops run the same code many times); a script is
// not bound to a context, so each execution evaluates it in a fresh one.
const scripts = new Map();

// The function `code` evaluates to, in a fresh sandbox, and that sandbox's `JSON.parse`
// to hand it values: objects made by the host would share the host's prototypes.
function compile(code, filename) {
  const key = `${filename}\n${code}`;
  let script = scripts.get(key);
  if (!script) {
    script = new vm.Script(`(${code}\n)`, { filename });
    scripts.set(key, script);
  }
  const sandbox = newSandbox();
  const fn = script.runInContext(sandbox, { timeout: 1000 });
  if (typeof fn !== 'function') throw new Error('the code does not evaluate to a function');
  const parse = vm.runInContext('JSON', sandbox).parse;
  const inSandbox = (value) => (value === undefined ? undefined : parse(JSON.stringify(value)));
  return { fn, inSandbox };
}

// The browser and Playwright's own requests reach the network only through segue's egress
// proxy, a Unix socket. Chromium cannot speak to a Unix socket, so a local relay listens on
// the sandbox's own loopback and passes each connection through unchanged.
async function startEgressRelay(socketPath) {
  const relay = net.createServer((client) => {
    const upstream = net.connect(socketPath);
    const end = () => { client.destroy(); upstream.destroy(); };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve, reject) => relay.once('error', reject).listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${relay.address().port}`;
}

async function launch({ executablePath, headless, args, chromiumSandbox, egressProxy }) {
  if (browser) throw new Error('browser already launched');
  // No bypass list: Playwright then adds <-loopback>, so even localhost goes through the proxy.
  const proxy = { server: await startEgressRelay(egressProxy) };
  const options = { executablePath, headless, args, proxy, chromiumSandbox: Boolean(chromiumSandbox) };
  try {
    browser = await chromium.launch(options);
  } catch (e) {
    // Chromium's own sandbox needs nested user namespaces; where the machine refuses them the
    // browser still runs inside segue's sandbox.
    if (!options.chromiumSandbox || !/sandbox/i.test(errorMessage(e))) throw e;
    options.chromiumSandbox = false;
    browser = await chromium.launch(options);
  }
  return { version: browser.version(), chromiumSandbox: options.chromiumSandbox };
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

async function open({ recordNetwork, storageState, downloadsDir, trace }) {
  if (!browser) throw new Error('browser not launched');
  // Closing it here would throw away another run's page (and its cookies) without a word.
  if (session) throw new Error('a browser session is already open; close it first');
  const options = { acceptDownloads: true };
  // Cookies and local storage a login run exported: the run starts signed in.
  if (storageState) options.storageState = storageState;
  const context = await browser.newContext(options);
  const page = await context.newPage();
  session = { context, page, responses: [], pending: new Set(), downloads: [] };
  scripts.clear();
  if (downloadsDir) keepDownloads(session, downloadsDir);
  // A Playwright trace of the whole session; screenshots are left out when asked
  // (a run with secrets: pixels cannot be masked afterwards like text can).
  if (trace) await context.tracing.start({ screenshots: !!trace.screenshots, snapshots: true, sources: false });
  session.tracing = !!trace;
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

// Every file a page of the session downloads is saved as the run's artifact, whether or
// not segment code also reads it (`download.path()` keeps working: Playwright keeps its own copy).
const MAX_DOWNLOADS = 100;
function keepDownloads(current, dir) {
  const watch = (page) => page.on('download', (download) => {
    if (current.downloads.length >= MAX_DOWNLOADS) return;
    const n = current.downloads.length + 1;
    const name = download.suggestedFilename();
    // The suggested name comes from the site: only its last path component, never a dot file.
    const safe = path.basename(name).replace(/^\.+/, '').replace(/[\u0000-\u001f]/g, '') || 'download';
    const target = path.join(dir, `${String(n).padStart(3, '0')}-${safe}`);
    current.downloads.push(download.saveAs(target).then(
      () => ({ name: safe, path: target, url: download.url() }),
      (e) => ({ name: safe, error: errorMessage(e) }),
    ));
  });
  watch(current.page);
  current.context.on('page', watch);
}

// The downloads of the session so far, each saved or failed (waiting at most `waitMs` for ones in progress).
async function downloads({ waitMs }) {
  if (!session) throw new Error('no browser session open');
  let timer;
  const deadline = new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), waitMs ?? 30000); });
  const all = Promise.all(session.downloads);
  const settled = await Promise.race([all, deadline]);
  clearTimeout(timer);
  if (settled === 'timeout') return { downloads: [], timedOut: true };
  return { downloads: settled, timedOut: false };
}

// Evidence of the page now: a screenshot written to `screenshotPath` (full page where
// cheap, elements showing secrets painted over) and, when asked, its HTML.
async function capture({ screenshotPath, fullPage, hide, html }) {
  if (!session) throw new Error('no browser session open');
  const { page } = session;
  let screenshot = null;
  if (screenshotPath) {
    const masked = () => maskedScreenshot(page, hide ?? [], { fullPage: !!fullPage, timeout: 10000 })
      // A page too tall for one image still gets its viewport.
      .catch(() => maskedScreenshot(page, hide ?? [], { timeout: 10000 }));
    const png = await (await nothingToPaintOver(page, hide) ? plainScreenshot(page, !!fullPage).catch(masked) : masked())
      .catch(() => null);
    if (png) {
      fs.writeFileSync(screenshotPath, png);
      screenshot = screenshotPath;
    }
  }
  const content = html ? await page.content().catch(() => null) : null;
  return { screenshot, html: content, url: page.url() };
}

// True when the run has no secrets and the page shows no password input: nothing a
// screenshot must paint over. Unsure (the page is navigating) counts as false.
async function nothingToPaintOver(page, secrets) {
  if (secrets?.length) return false;
  // A locator, as the masked path's: it sees into open shadow roots too.
  return await page.locator('input[type=password]').count().then((n) => n === 0, () => false);
}

// Chromium's own capture over CDP, for a page with nothing to paint over: about half
// the time of page.screenshot, which prepares the page (caret, mask overlays) first.
// The full page is cut at 16384 pixels a side, the most one image may have.
const MAX_SHOT_SIDE = 16384;
async function plainScreenshot(page, fullPage) {
  session.cdp ??= await session.context.newCDPSession(page);
  const { cdp } = session;
  const params = { format: 'png', optimizeForSpeed: true };
  if (fullPage) {
    const { cssContentSize: size } = await cdp.send('Page.getLayoutMetrics');
    const side = (n) => Math.max(1, Math.min(Math.ceil(n), MAX_SHOT_SIDE));
    params.clip = { x: 0, y: 0, width: side(size.width), height: side(size.height), scale: 1 };
    params.captureBeyondViewport = true;
  }
  let timer;
  const deadline = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('screenshot timed out')), 10000); });
  try {
    const { data } = await Promise.race([cdp.send('Page.captureScreenshot', params), deadline]);
    return Buffer.from(data, 'base64');
  } finally {
    clearTimeout(timer);
  }
}

async function settleBodies() {
  const pending = [...session.pending];
  if (!pending.length) return;
  let timer;
  const deadline = new Promise((resolve) => { timer = setTimeout(resolve, BODY_SETTLE_MS); });
  await Promise.race([Promise.allSettled(pending), deadline]);
  clearTimeout(timer);
}

async function runCode({ name, code, parameters, network, maxResultBytes }) {
  if (!session) throw new Error('no browser session open');
  const { fn, inSandbox } = compile(code, `segment:${name}`);
  let responses;
  if (network) {
    await settleBodies();
    // A copy, so that segment code cannot corrupt the recording for later segments.
    responses = inSandbox(session.responses);
  }
  const started = performance.now();
  const value = await fn(session.page, inSandbox(parameters), responses);
  const elapsedMs = performance.now() - started;
  const json = JSON.stringify(value) ?? 'null';
  // Refused here, so that an oversized value never crosses the pipe; Rust checks again.
  const bytes = Buffer.byteLength(json);
  if (maxResultBytes != null && bytes > maxResultBytes) return { tooLargeBytes: bytes, elapsedMs };
  return { value: JSON.parse(json), elapsedMs };
}

async function route({ name, code, outputs }) {
  const { fn, inSandbox } = compile(code, `router:${name}`);
  return { value: (await fn(inSandbox(outputs))) ?? null };
}

// Before the agent looks, the page must have settled: an Enter pressed by the previous
// segment may start a navigation a moment later, and a snapshot taken at once shows the
// old page. Settled means loaded, then SETTLE_QUIET_MS without a DOM mutation, a main
// frame navigation or a request in flight, counted from the moment observing starts (as
// Stagehand's domSettleTimeoutMs and browser-use's network-idle wait do). Pages that never
// go quiet (polling, streams) are observed after SETTLE_CAP_MS anyway.
const SETTLE_QUIET_MS = 300;
const SETTLE_CAP_MS = 2500;

// Milliseconds since the page's DOM last changed; installs the observer on first call.
function msSinceDomChange() {
  if (!window.__segueLastMutation) {
    window.__segueLastMutation = performance.now();
    new MutationObserver(() => { window.__segueLastMutation = performance.now(); })
      .observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
  }
  return performance.now() - window.__segueLastMutation;
}

async function settle(page) {
  const deadline = Date.now() + SETTLE_CAP_MS;
  const left = () => Math.max(0, deadline - Date.now());
  let inFlight = 0;
  let lastActivity = Date.now();
  const started = () => { inFlight += 1; lastActivity = Date.now(); };
  const ended = () => { inFlight = Math.max(0, inFlight - 1); lastActivity = Date.now(); };
  const navigated = (frame) => { if (frame === page.mainFrame()) lastActivity = Date.now(); };
  page.on('request', started).on('requestfinished', ended).on('requestfailed', ended).on('framenavigated', navigated);
  try {
    while (left() > 0) {
      await page.waitForLoadState('load', { timeout: left() }).catch(() => {});
      // A navigation replaces the document (and its observer): count that as a change.
      const domQuiet = await page.evaluate(msSinceDomChange).catch(() => 0);
      const networkQuiet = inFlight > 0 ? 0 : Date.now() - lastActivity;
      const quiet = Math.min(domQuiet, networkQuiet);
      if (quiet >= SETTLE_QUIET_MS) return;
      await new Promise((resolve) => setTimeout(resolve, Math.min(SETTLE_QUIET_MS - quiet, left())));
    }
  } finally {
    page.off('request', started).off('requestfinished', ended).off('requestfailed', ended).off('framenavigated', navigated);
  }
}

// The agent's view of the page: compact accessibility snapshot with [ref=eN] markers.
async function observe({ screenshot, measureHtml }) {
  if (!session) throw new Error('no browser session open');
  const { page } = session;
  await settle(page);
  const snapshot = await page.ariaSnapshot({ mode: 'ai', timeout: 10000 });
  session.lastSnapshot = snapshot;
  const shot = screenshot ? await maskedScreenshot(page, screenshot.hide ?? []) : null;
  const png = shot ? shot.toString('base64') : null;
  // Serialising the page costs time on every turn; only benchmarks ask for it.
  const htmlChars = measureHtml ? (await page.content()).length : null;
  return { url: page.url(), title: await page.title(), snapshot, screenshot: png, htmlChars };
}

// A screenshot for a vision model with the elements that show secrets painted
// over: password inputs, and elements whose value or own text holds one of the
// run's secret values (inputs the run filled with them, text echoing them).
// Elements are marked for the screenshot's `mask` and unmarked afterwards. When
// marking fails (the page is navigating) the model gets no screenshot this turn.
// Returns the PNG or null.
const SECRET_MARK = 'data-segue-secret';
async function maskedScreenshot(page, secrets, options = {}) {
  const mark = (args) => {
    const [secrets, attribute, on] = args;
    for (const el of document.querySelectorAll(`[${attribute}]`)) el.removeAttribute(attribute);
    if (!on) return;
    const holds = (text) => typeof text === 'string' && secrets.some((s) => text.includes(s));
    for (const el of document.querySelectorAll('*')) {
      const ownText = [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.data).join('');
      if (holds(el.value) || holds(ownText)) el.setAttribute(attribute, '');
    }
  };
  if (!secrets.length) {
    // Nothing to mark: only password inputs are painted over (two round trips saved).
    return await page.screenshot({ ...options, type: 'png', mask: [page.locator('input[type=password]')] });
  }
  const marked = await page.evaluate(mark, [secrets, SECRET_MARK, true]).then(() => true, () => false);
  if (!marked) return null;
  try {
    const mask = [page.locator('input[type=password]'), page.locator(`[${SECRET_MARK}]`)];
    return await page.screenshot({ ...options, type: 'png', mask });
  } finally {
    await page.evaluate(mark, [secrets, SECRET_MARK, false]).catch(() => {});
  }
}

const quote = (s) => JSON.stringify(String(s));

// The role and accessible name the last snapshot gave an element: `- button "Go" [ref=e5]`.
function roleFromSnapshot(ref) {
  const line = (session.lastSnapshot || '').split('\n').find((l) => l.includes(`[ref=${ref}]`));
  const m = line && line.match(/^\s*-\s*([a-z]+)(?:\s+"((?:[^"\\]|\\.)*)")?/);
  return m ? { role: m[1], name: m[2] ? JSON.parse(`"${m[2]}"`) : null } : {};
}

// A locator for the element that will still find it on the next run, chosen now, while the
// element exists, in the order the reference ranks them: data-testid, aria-label, name,
// role and accessible name, text. Only a candidate matching exactly one element is used.
async function stableLocator(ref) {
  const { page } = session;
  const attrs = await page.getByRef(ref).evaluate((e) => ({
    testid: e.getAttribute('data-testid'),
    aria: e.getAttribute('aria-label'),
    name: e.getAttribute('name'),
    tag: e.tagName.toLowerCase(),
    text: (e.innerText || '').trim().slice(0, 80),
  }), null, { timeout: 5000 });
  const { role, name } = roleFromSnapshot(ref);
  const candidates = [];
  if (attrs.testid) candidates.push(['data-testid', `page.getByTestId(${quote(attrs.testid)})`, page.getByTestId(attrs.testid)]);
  if (attrs.aria) {
    const css = `[aria-label=${JSON.stringify(attrs.aria)}]`;
    candidates.push(['aria-label', `page.locator(${quote(css)})`, page.locator(css)]);
  }
  if (attrs.name) {
    const css = `${attrs.tag}[name=${JSON.stringify(attrs.name)}]`;
    candidates.push(['name', `page.locator(${quote(css)})`, page.locator(css)]);
  }
  if (role && name) {
    candidates.push(['role', `page.getByRole(${quote(role)}, { name: ${quote(name)}, exact: true })`, page.getByRole(role, { name, exact: true })]);
  }
  if (attrs.text) candidates.push(['text', `page.getByText(${quote(attrs.text)}, { exact: true })`, page.getByText(attrs.text, { exact: true })]);
  for (const [strategy, code, locator] of candidates) {
    if ((await locator.count()) === 1) return { strategy, code, role: role ?? null };
  }
  return null;
}

// Where each output value appears on the page, as a structural CSS selector (test ids,
// classes and tags, never the value's own text) whose first match is the element, and
// that element's text. Used to compile extraction code from an agent's answer.
async function locate({ values }) {
  if (!session) throw new Error('no browser session open');
  const found = {};
  for (const [name, value] of Object.entries(values || {})) {
    if (value === null || typeof value === 'object') continue;
    found[name] = await session.page.evaluate((needle) => {
      const norm = (s) => (s || '').replace(/\s+/g, ' ').trim();
      let best = null;
      for (const el of document.body.querySelectorAll('*')) {
        if (el.closest('script, style, head')) continue;
        if (!norm(el.textContent).includes(needle)) continue;
        if (!best || best.contains(el)) best = el;
      }
      if (!best) return null;
      const part = (el) => {
        const testid = el.getAttribute('data-testid');
        if (testid) return `[data-testid="${CSS.escape(testid)}"]`;
        const classes = [...el.classList].filter((c) => !/\d/.test(c)).slice(0, 2);
        return el.tagName.toLowerCase() + classes.map((c) => `.${CSS.escape(c)}`).join('');
      };
      const parts = [part(best)];
      let up = best.parentElement;
      const distinctive = () => parts.some((p) => p.startsWith('[data-testid') || p.includes('.'));
      while (up && up !== document.body && parts.length < 4) {
        if (distinctive() && document.querySelector(parts.join(' ')) === best) break;
        parts.unshift(part(up));
        up = up.parentElement;
      }
      const selector = parts.join(' ');
      if (document.querySelector(selector) !== best) return null;
      return { selector, text: norm(best.textContent) };
    }, String(value));
  }
  return found;
}

const ACTION_TIMEOUT = 10000;

// One agent action. Throws with a readable message when it cannot be done.
async function act({ tool, args }) {
  if (!session) throw new Error('no browser session open');
  const { page } = session;
  const ref = args.ref == null ? null : String(args.ref);
  const target = () => page.getByRef(ref);
  const locator = ref ? await stableLocator(ref).catch(() => null) : null;
  switch (tool) {
    case 'goto':
      await page.goto(String(args.url));
      break;
    case 'click':
      await target().click({ timeout: ACTION_TIMEOUT });
      break;
    case 'fill':
      await target().fill(String(args.value ?? ''), { timeout: ACTION_TIMEOUT });
      break;
    case 'select_option':
      await target().selectOption(args.values, { timeout: ACTION_TIMEOUT });
      break;
    case 'press':
      if (ref) await target().press(String(args.key), { timeout: ACTION_TIMEOUT });
      else await page.keyboard.press(String(args.key));
      break;
    case 'scroll':
      if (ref) await target().scrollIntoViewIfNeeded({ timeout: ACTION_TIMEOUT });
      else await page.mouse.wheel(0, args.direction === 'up' ? -600 : 600);
      break;
    case 'wait':
      await page.waitForTimeout(Math.min(Math.max(Number(args.seconds) || 1, 0), 30) * 1000);
      break;
    case 'upload_file':
      await target().setInputFiles(String(args.path), { timeout: ACTION_TIMEOUT });
      break;
    default:
      throw new Error(`unknown action '${tool}'`);
  }
  await page.waitForLoadState('domcontentloaded').catch(() => {});
  return { url: page.url(), locator };
}

// Ends the session's trace, writing it to `path` (or discarding it without one).
async function stopTrace({ path: target }) {
  if (!session) throw new Error('no browser session open');
  if (!session.tracing) throw new Error('the session is not being traced');
  session.tracing = false;
  await session.context.tracing.stop(target ? { path: target } : undefined);
  return { path: target ?? null };
}

// Cookies and local storage of the open session, for a later run to start from.
async function storageState() {
  if (!session) throw new Error('no browser session open');
  return { state: await session.context.storageState() };
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

const ops = {
  launch, open, code: runCode, route, observe, act, locate, capture, downloads, stopTrace, storageState, close,
  shutdown,
};

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
