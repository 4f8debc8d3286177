// `make dev`'s demo app in a real browser: Chromium connects the sandbox from the demo app's
// page, presses "Send a sandbox event" for a connected profile, and sees the demo page list
// the `platform.event` webhook the app received (the sandbox signs the event, the worker
// verifies it, matches it to the profile and forwards it; the demo app verifies the
// Standard Webhooks signature). The pieces are those `make dev` starts (scripts/dev.mjs):
// the built worker with the sandbox on, a dev app with the demo app's settings, the demo app.
//
// Chromium comes from CHROMIUM_PATH, else `chromium` on PATH. Without one this test is
// skipped loudly, unless REQUIRE_BROWSER=1 (CI), which makes it fail instead.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker, freePort } from './harness.mjs';
import { demoAppSettings, startDemoApp } from '../../scripts/demo-app.mjs';
import { CHROMIUM, skip } from './browser-find.mjs';
import { launchChromium } from './browser-kit.mjs';

let w, browser, demo, demoBase, apiKey;
before(async () => {
  if (skip) return;
  assert.ok(CHROMIUM, `REQUIRE_BROWSER=1 but no Chromium was found (set CHROMIUM_PATH or install chromium)`);
  w = await startWorker();
  const port = await freePort();
  demoBase = `http://127.0.0.1:${port}`;
  // As scripts/dev.mjs: the dev app, then the demo app's settings on it.
  const app = await w.createApp('Dev app', [`${demoBase}/connected`]);
  apiKey = app.api_key;
  const patched = await w.admin('PATCH', `/v1/admin/apps/${app.app.id}`, demoAppSettings(port));
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  demo = await startDemoApp({ base: w.base, apiKey: app.api_key, port, host: '127.0.0.1', webhookSecret: app.webhook_secret });
  // Chromium's own sandbox cannot start as root (CI containers); the pages are our own.
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  demo?.close();
  await w?.stop();
});

test('Chromium connects the sandbox in the demo app, sends a sandbox event and sees it listed', { skip }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${demoBase}/`);
  assert.equal(await page.textContent('h1'), 'Your app');
  assert.equal(await page.locator('li.event').count(), 0);
  // Connect: the consent page, then the picker (all three accounts), then back to the app.
  await Promise.all([page.waitForURL((u) => u.pathname === '/sandbox/authorize'), page.click('text=Connect the sandbox')]);
  await page.fill('input[name=username]', 'demo-browser');
  await Promise.all([page.waitForURL((u) => u.pathname === '/oauth/callback'), page.click('button[value=approve]')]);
  assert.equal(await page.textContent('h1'), 'Choose accounts');
  await Promise.all([page.waitForURL((u) => u.href.startsWith(`${demoBase}/connected`), { timeout: 15_000 }), page.click('button[type=submit]')]);
  assert.equal(await page.textContent('h1'), 'Connected');
  // Back on the app's page: its three profiles, each with the button.
  await Promise.all([page.waitForURL(`${demoBase}/`), page.click("text=Back to your app's page")]);
  const buttons = page.locator('#connected li');
  assert.equal(await buttons.count(), 3);
  const pageRow = buttons.filter({ hasText: '(page)' }).first();
  const profileId = await pageRow.locator('input[name=profile_id]').getAttribute('value');
  await Promise.all([page.waitForURL((u) => u.searchParams.has('sent')), pageRow.locator('text=Send a sandbox event').click()]);
  const eventId = new URL(page.url()).searchParams.get('sent');
  assert.match(eventId, /^sbe_[0-9a-f]{32}$/);
  // The webhook arrives after the worker's answer: the page lists it once it has come (the
  // demo app waits a few seconds for it before showing the page; reload until then).
  const listed = page.locator('li.event[data-type="platform.event"]', { hasText: eventId });
  const end = Date.now() + 15_000;
  while ((await listed.count()) === 0 && Date.now() < end) {
    await page.waitForTimeout(250);
    await page.reload();
  }
  assert.equal(await listed.count(), 1, await page.content());
  const data = JSON.parse(await listed.locator('pre').textContent());
  assert.equal(data.profile_id, profileId);
  assert.equal(data.platform, 'sandbox');
  assert.equal(data.event_type, 'feed');
  assert.equal(data.payload.id, eventId);
  assert.equal(data.payload.message, 'Hello from the sandbox');
  const profile = await w.call('GET', `/v1/profiles/${profileId}`, { token: apiKey });
  assert.equal(data.account_id, profile.body.platform_user_id);
  await context.close();
});
