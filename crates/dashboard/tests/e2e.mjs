// Drives the dashboard in Chromium with the runner's playwright-core against a
// running segue service. Started by crates/server/tests/it/dashboard.rs, which
// prepares the service and reads what this prints. Environment:
//   SEGUE_URL, SEGUE_KEY          the service and an admin key
//   RUNNER_DIR, CHROMIUM          where playwright-core and the browser are
//   WORKFLOW_FILE                 a workflow document to create through the page
//   FAILED_RUN, DOWNLOAD_RUN      runs prepared through the API
//   SCREENSHOTS                   a folder for pictures of the main pages (optional)

import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import assert from 'node:assert/strict';
import path from 'node:path';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const base = env('SEGUE_URL');
const key = env('SEGUE_KEY');
const { chromium } = createRequire(path.join(env('RUNNER_DIR'), 'package.json'))('playwright-core');
const shots = process.env.SCREENSHOTS || null;

const browser = await chromium.launch({ executablePath: env('CHROMIUM'), headless: true, args: ['--disable-gpu', '--disable-dev-shm-usage'] });
const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
context.setDefaultTimeout(30_000);
const page = await context.newPage();
const problems = [];
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('console', (m) => m.type() === 'error' && !/Failed to load resource/.test(m.text()) && problems.push(`console: ${m.text()}`));

async function step(name, body) {
  const started = Date.now();
  await body();
  console.log(`ok ${name} (${Date.now() - started} ms)`);
}

async function picture(name) {
  if (!shots) return;
  await page.waitForLoadState('networkidle').catch(() => {});
  await page.screenshot({ path: path.join(shots, `${name}.png`) });
}

/** Neither the page nor any element makes the page wider than the screen. */
async function fitsWidth() {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
}

try {
  await step('sign in', async () => {
    await page.goto(`${base}/`);
    await page.getByLabel('API key').fill('not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('This key was not accepted.').waitFor();
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Runs', level: 1 }).waitFor();
    // The key stays in this tab's session storage, never in a cookie.
    assert.equal((await context.cookies()).length, 0);
  });

  let workflowUrl;
  await step('create a workflow from a file', async () => {
    await page.getByRole('link', { name: 'Workflows' }).click();
    await page.getByRole('link', { name: 'New workflow' }).click();
    await page.getByLabel('Definition file').setInputFiles(env('WORKFLOW_FILE'));
    const name = JSON.parse(await readFile(env('WORKFLOW_FILE'), 'utf8')).name;
    // The page reads the file asynchronously: wait for the name it fills in from it.
    await page.waitForFunction((expected) => document.querySelector('input[name="name"]')?.value === expected, name);
    assert.equal(await page.getByLabel('Name').inputValue(), name);
    await page.getByRole('button', { name: 'Create workflow' }).click();
    await page.getByRole('heading', { name, level: 1 }).waitFor();
    workflowUrl = page.url();
    // Absent values read as a dash, never as a stray "null".
    assert.equal(await page.getByText('null', { exact: true }).count(), 0);
    // The definition reads as a graph: each segment with its type and where it goes next.
    await page.getByRole('heading', { name: /^wait_and_greet/ }).waitFor();
    await page.getByRole('button', { name: '→ wait_and_greet' }).waitFor();
    await picture('workflow');
  });

  await step('start a run with inputs and watch it complete live', async () => {
    const form = page.locator('form.run-form');
    await form.locator('[name="who"]').fill('Ada');
    assert.equal(await form.locator('[name="token"]').getAttribute('type'), 'password');
    await form.locator('[name="token"]').fill('s3cret-token');
    await form.locator('[name="mood"]').selectOption('calm');
    await form.getByRole('button', { name: 'Start run' }).click();
    await page.getByRole('heading', { name: /^Run run_/ }).waitFor();
    // Marked on this document: a reload would lose it, so the end must arrive live.
    await page.evaluate(() => { window.stillHere = true; });
    await page.locator('.run-status').getByText(/PENDING|IN_PROGRESS/).waitFor();
    await page.locator('.run-status').getByText('COMPLETED').waitFor({ timeout: 60_000 });
    assert.equal(await page.evaluate(() => window.stillHere), true, 'the page was reloaded');
    await page.getByText('"greeting": "calm hello, Ada"').waitFor();
    // The secret input is masked by the server; the page never had it back.
    await page.getByText('"token": "********"').waitFor();
    assert.equal(await page.getByText('s3cret-token').count(), 0);
    await page.locator('.timeline .segment').filter({ hasText: 'wait_and_greet' }).getByText('greeting for Ada').waitFor();
    await page.locator('img.shot').first().waitFor();
    await picture('run');
  });

  await step('the runs list shows it', async () => {
    await page.getByRole('link', { name: 'Runs' }).first().click();
    await page.locator('table.list tbody tr').filter({ hasText: 'FAILED' }).first().waitFor();
    await picture('runs');
    await page.getByLabel('Status').selectOption('COMPLETED');
    await page.waitForURL(/status=COMPLETED/);
    await page.locator('table.list tbody tr').filter({ hasText: 'COMPLETED' }).first().waitFor();
    // The filtered page replaces the unfiltered one when it arrives: wait for that, then no FAILED row is left.
    await page.waitForFunction(() => ![...document.querySelectorAll('table.list tbody tr')].some((r) => r.textContent.includes('FAILED')));
    assert.equal(await page.locator('table.list tbody tr').filter({ hasText: 'FAILED' }).count(), 0);
  });

  await step('open a failed run: its error and screenshot', async () => {
    await page.goto(`${base}/#/runs/${env('FAILED_RUN')}`);
    const failure = page.locator('.failure');
    await failure.getByText('SEGMENT_THREW').waitFor();
    await failure.getByText('click_missing').waitFor();
    const shot = page.getByAltText('The page when the run ended');
    await shot.waitFor();
    await page.waitForFunction(() => {
      const img = document.querySelector('img[alt="The page when the run ended"]');
      return img && img.complete && img.naturalWidth > 0;
    });
    assert.ok((await shot.evaluate((img) => img.naturalWidth)) > 0);
    assert.match(await shot.getAttribute('src'), /^blob:/);
    await picture('run-failed');
  });

  await step('answer a run waiting for input', async () => {
    await page.goto(workflowUrl);
    const form = page.locator('form.run-form');
    await form.locator('[name="who.deferred"]').check();
    assert.equal(await form.locator('[name="who"]').isDisabled(), true);
    await form.getByRole('button', { name: 'Start run' }).click();
    const waiting = page.locator('form.waiting');
    await waiting.getByText('Waiting for input').waitFor({ timeout: 60_000 });
    await page.locator('.run-status').getByText('AWAITING_USER_INPUT').waitFor();
    await picture('run-waiting');
    await waiting.locator('[name="who"]').fill('Grace');
    await waiting.getByRole('button', { name: 'Send input' }).click();
    await page.locator('.run-status').getByText('COMPLETED').waitFor({ timeout: 60_000 });
    await page.getByText('"greeting": "happy hello, Grace"').waitFor();
  });

  await step('download an artifact', async () => {
    await page.goto(`${base}/#/runs/${env('DOWNLOAD_RUN')}`);
    const button = page.getByRole('button', { name: 'Download sales-2026-11.csv' });
    const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
    assert.equal(download.suggestedFilename(), 'sales-2026-11.csv');
    const saved = await readFile(await download.path());
    const listed = await (await fetch(`${base}/v1/runs/${env('DOWNLOAD_RUN')}/artifacts`, { headers: { Authorization: `Bearer ${key}` } })).json();
    const csv = listed.data.find((a) => a.name === 'sales-2026-11.csv');
    const original = Buffer.from(await (await fetch(`${base}/v1/artifacts/${csv.id}/content`, { headers: { Authorization: `Bearer ${key}` } })).arrayBuffer());
    assert.ok(saved.length > 0);
    assert.ok(saved.equals(original), 'the downloaded bytes differ from the artifact');
    // Screenshots after each segment sit in the timeline beside their segment.
    await page.locator('.timeline .segment').filter({ hasText: 'download_sales_report' }).locator('img.shot').waitFor();
  });

  await step('the draft editor shows diagnostics at their locations', async () => {
    await page.goto(workflowUrl);
    await page.getByRole('link', { name: 'New draft' }).click();
    const editor = page.getByLabel('draft definition (JSON)');
    // The definition arrives after the page: wait until the editor holds it.
    let text = '';
    for (let tries = 0; !text.includes('"next": "wait_and_greet"') && tries < 100; tries += 1) {
      if (tries > 0) await page.waitForTimeout(100);
      text = await editor.inputValue();
    }
    await editor.fill(text.replace('"next": "wait_and_greet"', '"next": "nowhere"'));
    await page.getByRole('button', { name: 'Check and save draft' }).click();
    const diagnostic = page.locator('.diagnostic').filter({ hasText: 'unknown-next' });
    await diagnostic.waitFor();
    await diagnostic.getByRole('button').click();
    const selected = await editor.evaluate((t) => t.value.slice(t.selectionStart, t.selectionEnd));
    assert.equal(selected, '"nowhere"');
    await picture('draft');
    await editor.fill(text);
    await page.getByRole('button', { name: 'Check and save draft' }).click();
    await page.getByText('Valid: the draft is saved.').waitFor();
  });

  await step('the other pages answer', async () => {
    for (const [link, heading] of [['Jobs', 'Jobs'], ['Job runs', 'Job runs'], ['Identities', 'Identities'], ['Webhooks', 'Webhooks'], ['API keys', 'API keys']]) {
      await page.getByRole('link', { name: link, exact: true }).click();
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
    }
    await page.locator('table.list').getByText('admin').first().waitFor();
  });

  await step('usable by keyboard and at phone width', async () => {
    await page.goto(`${base}/#/runs`);
    await page.locator('table.list tbody tr').first().waitFor();
    // Each page starts with focus on its heading; Tab reaches the filters, Enter on a link opens it.
    assert.equal(await page.evaluate(() => document.activeElement.tagName), 'H1');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.name), 'status');
    await page.locator('table.list tbody tr a').first().focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /^Run run_/ }).waitFor();
    await page.setViewportSize({ width: 390, height: 844 });
    for (const url of [`${base}/#/runs`, `${base}/#/runs/${env('FAILED_RUN')}`, workflowUrl]) {
      await page.goto(url);
      await page.locator('h1').first().waitFor();
      await page.waitForLoadState('networkidle');
      assert.ok(await fitsWidth(), `${url} is wider than a phone`);
    }
    await picture('phone-workflow');
  });

  assert.deepEqual(problems, []);
  console.log('dashboard e2e passed');
} catch (e) {
  if (shots) await page.screenshot({ path: path.join(shots, 'failure.png') }).catch(() => {});
  console.error(`FAILED at ${page.url()}: ${e.stack}`);
  console.error(problems.join('\n'));
  process.exitCode = 1;
} finally {
  await browser.close();
}
