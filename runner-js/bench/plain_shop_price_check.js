'use strict';
// Baseline for `segue-bench`: the Playwright calls of examples/shop_price_check.json written
// as a plain script, run on a warm browser in a fresh context per iteration, exactly as segue
// runs each workflow. Prints one JSON line: {"ms": [...]} with each iteration's wall time.
//
// usage: node plain_shop_price_check.js BASE_URL ITERATIONS WARMUP CHROMIUM

const { chromium } = require('playwright-core');

const [base, iterations, warmup, executablePath] = process.argv.slice(2);
const args = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

async function once(browser) {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  await page.goto(`${base}/shop/`);
  const input = page.locator('#twotabsearchtextbox');
  await input.waitFor({ state: 'attached', timeout: 30000 });
  await input.fill('mug');
  await page.keyboard.press('Enter');
  const card = page.locator('[data-component-type="s-search-result"]').first();
  await card.waitFor({ state: 'attached', timeout: 30000 });
  const title = (await card.locator('h2 span').first().textContent())?.trim();
  const priceText = (await card.locator('.a-price > .a-offscreen').first().textContent())?.replace(/[^0-9.]/g, '');
  if (!title || !priceText) throw new Error('no result');
  await context.close();
}

(async () => {
  const browser = await chromium.launch({ executablePath, headless: true, args });
  for (let i = 0; i < Number(warmup); i++) await once(browser);
  const ms = [];
  for (let i = 0; i < Number(iterations); i++) {
    const started = performance.now();
    await once(browser);
    ms.push(performance.now() - started);
  }
  await browser.close();
  process.stdout.write(JSON.stringify({ ms }) + '\n');
})().catch((e) => { console.error(e); process.exit(1); });
