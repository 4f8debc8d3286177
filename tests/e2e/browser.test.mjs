// The pages in a real browser (issue #8): Chromium goes through the whole sandbox connect
// under the page policy (styles apply, the form posts, every redirect hop is allowed, no
// policy violation), and no other site can frame the consent page.
//
// Chromium comes from CHROMIUM_PATH, else `chromium` on PATH. Without one these tests are
// skipped loudly, unless REQUIRE_BROWSER=1 (CI), which makes them fail instead.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startWorker, freePort } from './harness.mjs';
import { CHROMIUM, skip } from './browser-find.mjs';
import { launchChromium, violationEventsTab } from './browser-kit.mjs';

let w, browser, app, appBase;
before(async () => {
  if (skip) return;
  assert.ok(CHROMIUM, `REQUIRE_BROWSER=1 but no Chromium was found (set CHROMIUM_PATH or install chromium)`);
  w = await startWorker();
  // The app's side: its redirect page, and a page of another site that frames a URL.
  app = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    res.writeHead(200, { 'content-type': 'text/html' });
    if (u.pathname === '/frame') res.end(`<!doctype html><iframe src="${u.searchParams.get('src').replace(/"/g, '&quot;')}"></iframe>`);
    else res.end('<!doctype html><title>App</title><h1>Back in the app</h1>');
  });
  const port = await freePort();
  await new Promise((resolve) => app.listen(port, '127.0.0.1', resolve));
  appBase = `http://127.0.0.1:${port}`;
  // Chromium's own sandbox cannot start as root (CI containers); the pages are our own.
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await w?.stop();
  app?.close();
});

const PAGE_POLICY_DIRECTIVES = ["default-src 'none'", "style-src 'self'", "img-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"];

/** A browser tab that records every policy violation: console reports and DOM events. */
const tab = () => violationEventsTab(browser, { consoleToo: true });

/** Opens a connect link in the tab; checks the consent page's headers and styles. */
async function openConsent(page, link) {
  const res = await page.goto(link.url);
  assert.equal(res.status(), 200);
  assert.ok(res.url().startsWith(`${w.base}/sandbox/authorize?`), res.url());
  const policy = res.headers()['content-security-policy'] ?? '';
  for (const d of PAGE_POLICY_DIRECTIVES) assert.ok(policy.includes(d), `${d} in ${policy}`);
  assert.match(policy, /form-action 'self'/);
  assert.equal(res.headers()['x-frame-options'], 'DENY');
  // The worker's stylesheet (/assets/pages.css) applies under style-src 'self' (32rem = 512px).
  assert.ok(!policy.includes('unsafe-inline'), policy);
  assert.equal(await page.$eval('.shell', (b) => getComputedStyle(b).maxWidth), '512px');
  assert.equal(await page.$eval('button[value=approve]', (b) => getComputedStyle(b).paddingLeft), '20px');
}

async function submit(page, button) {
  await Promise.all([
    page.waitForURL((u) => u.href.startsWith(appBase), { timeout: 15_000 }),
    page.click(`button[value=${button}]`),
  ]);
  return new URL(page.url());
}

test('Chromium connects the sandbox, picks two of its three accounts under the page policy, and lands on the app', { skip }, async () => {
  const redirect = `${appBase}/connected`;
  const { api_key } = await w.createApp('Browser app', [redirect]);
  const link = await w.createLink(api_key, { redirect_url: redirect, state: 'browser-state' });
  const { context, page, violations } = await tab();
  await openConsent(page, link);
  await page.fill('input[name=username]', 'browser-user');
  // The sandbox login has three accounts (the user and two Pages): the picker comes first.
  await Promise.all([page.waitForURL((u) => u.pathname === '/oauth/callback'), page.click('button[value=approve]')]);
  assert.equal(await page.textContent('h1'), 'Choose accounts');
  const boxes = page.locator('input[name=account]');
  assert.equal(await boxes.count(), 3);
  const labels = await page.locator('label').allTextContents();
  assert.ok(labels.some((l) => l.includes("browser-user's Page 2") && l.endsWith('Page')), JSON.stringify(labels));
  // The picker names the app and the platform.
  assert.equal(await page.textContent('main p'), 'Which Sandbox accounts should Browser app be able to use?');
  await boxes.nth(2).uncheck();
  await Promise.all([
    page.waitForURL((u) => u.href.startsWith(appBase), { timeout: 15_000 }),
    page.click('button[type=submit]'),
  ]);
  const final = new URL(page.url());
  assert.equal(final.origin + final.pathname, redirect);
  assert.equal(final.searchParams.get('connected'), 'true');
  assert.equal(final.searchParams.get('link_id'), link.id);
  assert.equal(final.searchParams.get('state'), 'browser-state');
  const ids = final.searchParams.get('profile_ids').split(',');
  assert.equal(ids.length, 2);
  assert.equal(final.searchParams.get('profile_id'), ids[0]);
  assert.equal(await page.textContent('h1'), 'Back in the app');
  const claimed = await w.claim(final.toString());
  assert.equal(claimed.status, 200, JSON.stringify(claimed.body));
  assert.deepEqual(claimed.body.data.map((p) => [p.account_type, p.display_name ?? p.username]), [
    ['user', 'Sandbox browser-user'],
    ['page', "browser-user's Page 1"],
  ]);
  assert.deepEqual(claimed.body.data.map((p) => p.id), ids);
  assert.deepEqual(violations, []);
  await context.close();
});

test('Deny in Chromium lands on the app with access_denied', { skip }, async () => {
  const redirect = `${appBase}/connected`;
  const { api_key } = await w.createApp('Browser deny app', [redirect]);
  const link = await w.createLink(api_key, { redirect_url: redirect });
  const { context, page, violations } = await tab();
  await openConsent(page, link);
  const final = await submit(page, 'deny');
  assert.equal(final.searchParams.get('connected'), 'false');
  assert.equal(final.searchParams.get('error'), 'access_denied');
  assert.deepEqual(violations, []);
  await context.close();
});

test('with "callback": "app" Chromium brings the code straight to the app', { skip }, async () => {
  const redirect = `${appBase}/own-callback`;
  const { api_key } = await w.createApp('Browser app callback', [redirect]);
  const link = await w.createLink(api_key, { redirect_url: redirect, callback: 'app' });
  const { context, page, violations } = await tab();
  await openConsent(page, link);
  await page.fill('input[name=username]', 'browser-own');
  const final = await submit(page, 'approve');
  assert.equal(final.origin + final.pathname, redirect);
  const r = await w.call('POST', '/v1/oauth/exchange', {
    token: api_key, json: { code: final.searchParams.get('code'), state: final.searchParams.get('state') },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.username, 'browser-own');
  assert.deepEqual(violations, []);
  await context.close();
});

test('another site cannot frame the consent page', { skip }, async () => {
  const { api_key } = await w.createApp('Browser frame app', [`${appBase}/connected`]);
  const link = await w.createLink(api_key, { redirect_url: `${appBase}/connected` });
  const { context, page, violations } = await tab();
  await page.goto(`${appBase}/frame?src=${encodeURIComponent(link.authorize_url)}`);
  const frame = page.frames().find((f) => f !== page.mainFrame());
  assert.ok(frame, 'the iframe exists');
  // The refusal is reported as a console message once the frame's answer is in: wait for it.
  const refused = () => violations.some((v) => /frame-ancestors|X-Frame-Options/.test(JSON.stringify(v)));
  for (const end = Date.now() + 5000; !refused() && Date.now() < end;) await page.waitForTimeout(50);
  assert.equal(await frame.locator('button[value=approve]').count(), 0, 'the consent form did not render in the frame');
  assert.ok(refused(), JSON.stringify(violations));
  await context.close();
});
