// One link, many platforms in a real browser (issue 25): Chromium opens a chooser link, picks
// a platform by keyboard and by its button's accessible name, goes through the sandbox's
// consent on the same link, and, on another link, fills Bluesky's hosted form (a refused
// app password first: the form comes back with an alert, the handle kept, the password
// not), all under the page policy and without JavaScript of ours. The platforms' icons load
// (img-src 'self'): every image on these pages is asserted loaded.
//
// Chromium comes from CHROMIUM_PATH, else `chromium` on PATH. Without one these tests are
// skipped loudly, unless REQUIRE_BROWSER=1 (CI), which makes them fail instead.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startWorker, freePort } from './harness.mjs';
import { CHROMIUM, skip } from './browser-find.mjs';
import { launchChromium, violationEventsTab } from './browser-kit.mjs';
import { PlatformMocks, chainOutbound } from './platform-mocks.mjs';
import { BlueskyMocks } from './mocks-bluesky.mjs';

const bsky = new BlueskyMocks();
let w, browser, appServer, redirect, apiKey;
before(async () => {
  if (skip) return;
  assert.ok(CHROMIUM, 'REQUIRE_BROWSER=1 but no Chromium was found (set CHROMIUM_PATH or install chromium)');
  w = await startWorker({ vars: { PLATFORM_TIMEOUT_MS: '3000' }, outbound: chainOutbound(bsky, new PlatformMocks()) });
  appServer = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>App</title><h1>Back in the app</h1>');
  });
  const port = await freePort();
  await new Promise((resolve) => appServer.listen(port, '127.0.0.1', resolve));
  redirect = `http://127.0.0.1:${port}/connected`;
  apiKey = (await w.createApp('Chooser browser app', [redirect])).api_key;
  // Chromium's own sandbox cannot start as root (CI containers); the pages are our own.
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await w?.stop();
  appServer?.close();
});

/** A tab that records every policy violation (its DOM events). */
async function tab() {
  const { context, page, violations } = await violationEventsTab(browser);
  return { context, page, others: () => violations };
}

/** The images of the page: where each comes from and whether it loaded. */
async function images(page) {
  return page.$$eval('img', (imgs) => imgs.map((i) => ({ src: new URL(i.src).pathname, loaded: i.complete && i.naturalWidth > 0 })));
}

async function chooserLink(platforms) {
  const r = await w.call('POST', '/v1/connect-links', { token: apiKey, json: { platforms, redirect_url: redirect, accounts: 'all' } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  w.linkKeys.set(r.body.id, apiKey);
  return r.body;
}

test('Chromium: the chooser lists two platforms as named buttons; the keyboard picks the sandbox; its consent completes the link', { skip }, async () => {
  const link = await chooserLink(['bluesky', 'sandbox']);
  const { context, page, others } = await tab();
  const res = await page.goto(link.url);
  assert.equal(res.status(), 200);
  assert.equal(await page.textContent('h1'), 'Connect an account');
  assert.equal(await page.getByRole('group', { name: 'Platforms' }).count(), 1);
  const buttons = page.getByRole('button');
  assert.deepEqual((await buttons.allTextContents()).map((t) => t.trim()), ['Bluesky', 'Sandbox']);
  assert.equal(await page.getByRole('button', { name: 'Sandbox' }).count(), 1, 'the icon adds nothing to the name');
  assert.deepEqual(await images(page), [
    { src: '/assets/icons/bluesky.svg', loaded: true },
    { src: '/assets/icons/sandbox.svg', loaded: true },
  ]);
  // Focus order: the first Tab reaches the first platform, the second the next.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.value), 'bluesky');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.value), 'sandbox');
  await Promise.all([page.waitForURL((u) => u.pathname === '/sandbox/authorize'), page.keyboard.press('Enter')]);
  assert.equal((await w.call('GET', `/v1/connect-links/${link.id}`, { token: apiKey })).body.platform, 'sandbox');
  await page.fill('input[name=username]', 'chooser-user');
  await Promise.all([page.waitForURL((u) => u.href.startsWith(redirect), { timeout: 15_000 }), page.click('button[value=approve]')]);
  const final = new URL(page.url());
  assert.deepEqual([final.searchParams.get('connected'), final.searchParams.get('platform'), final.searchParams.get('link_id')], ['true', 'sandbox', link.id]);
  assert.equal((await w.claim(final.toString())).status, 200);
  assert.deepEqual(others(), []);
  await context.close();
});

test('Chromium: Bluesky\'s hosted form, labelled; a refused app password comes back as an alert keeping the handle only; then connected', { skip }, async () => {
  const account = bsky.addAccount({ handle: 'chromium.bsky.social', appPasswords: ['chro-mium-pass-word'] });
  const link = await chooserLink(['sandbox', 'bluesky']);
  const { context, page, others } = await tab();
  await page.goto(link.url);
  // The choice posts to the link's own path: wait for that answer, not the URL (it is the same).
  await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === `/connect/${link.id}`),
    page.getByRole('button', { name: 'Bluesky' }).click(),
  ]);
  await page.waitForLoadState('load');
  assert.equal(await page.textContent('h1'), 'Sign in to Bluesky');
  assert.deepEqual(await images(page), [{ src: '/assets/icons/bluesky.svg', loaded: true }], 'the platform\'s icon in the header');
  assert.equal(await page.getByRole('group', { name: 'Your Bluesky account' }).count(), 1);
  // The first field has the focus; each input is found by its label.
  assert.equal(await page.evaluate(() => document.activeElement.name), 'identifier');
  await page.getByLabel('Handle').fill('chromium.bsky.social');
  await page.getByLabel('App password').fill('not-the-right-one');
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Connect' }).click()]);
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').textContent(), /^Bluesky refused what you entered\. /);
  assert.equal(await page.getByLabel('Handle').inputValue(), 'chromium.bsky.social');
  assert.equal(await page.getByLabel('App password').inputValue(), '');
  assert.ok(!(await page.content()).includes('not-the-right-one'));
  await page.getByLabel('App password').fill('chro-mium-pass-word');
  await Promise.all([page.waitForURL((u) => u.href.startsWith(redirect), { timeout: 15_000 }), page.getByRole('button', { name: 'Connect' }).click()]);
  const final = new URL(page.url());
  assert.deepEqual([final.searchParams.get('connected'), final.searchParams.get('platform')], ['true', 'bluesky']);
  const claimed = await w.claim(final.toString());
  assert.equal(claimed.body.data[0].platform_user_id, account.did);
  assert.deepEqual(others(), []);
  await context.close();
});

test('Chromium without JavaScript: the chooser, the Bluesky form and the connect work as plain forms', { skip }, async () => {
  const account = bsky.addAccount({ handle: 'nojs.bsky.social', appPasswords: ['nojs-nojs-nojs-nojs'] });
  const link = await chooserLink(['sandbox', 'bluesky']);
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(link.url);
  await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Bluesky' }).click()]);
  await page.waitForLoadState('load');
  assert.equal(await page.textContent('h1'), 'Sign in to Bluesky');
  await page.getByLabel('Handle').fill('nojs.bsky.social');
  await page.getByLabel('App password').fill('nojs-nojs-nojs-nojs');
  await Promise.all([page.waitForURL((u) => u.href.startsWith(redirect), { timeout: 15_000 }), page.getByRole('button', { name: 'Connect' }).click()]);
  const final = new URL(page.url());
  assert.deepEqual([final.searchParams.get('connected'), final.searchParams.get('platform')], ['true', 'bluesky']);
  const claimed = await w.claim(final.toString());
  assert.equal(claimed.body.data[0].platform_user_id, account.did);
  await context.close();
});
