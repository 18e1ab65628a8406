'use strict';
// A Chromium that many runner processes share: a Playwright browser server.
// Prints one JSON line {"wsEndpoint": "..."} on stdout once ready, then serves until its
// stdin closes. Runners connect with chromium.connect(wsEndpoint); when a runner dies,
// the server closes the contexts it had opened, so a killed run leaves nothing behind.
//
// usage: node browser-host.js '{"executablePath": "...", "headless": true, "args": [...]}'

const { chromium } = require('playwright-core');

(async () => {
  const options = JSON.parse(process.argv[2] || '{}');
  const server = await chromium.launchServer({
    executablePath: options.executablePath,
    headless: options.headless !== false,
    args: options.args || [],
  });
  process.stdout.write(JSON.stringify({ wsEndpoint: server.wsEndpoint() }) + '\n');
  const stop = () => server.close().finally(() => process.exit(0));
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
})().catch((e) => {
  console.error(e && e.message ? e.message : e);
  process.exit(1);
});
