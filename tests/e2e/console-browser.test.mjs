// The operator's console in Chromium (issue 28): sign in on the form, read every page, find a
// profile and refresh it, retry a given-up webhook, create and revoke an API key; refused without
// a session and with a forged form token. Every page passes axe (no serious or critical
// violation) under the page policy (no script, no inline style: a violation fails the test), in
// light and dark, and a screenshot of each is saved under test-results/screenshots/ (docs/console.md
// shows them). Chromium comes from CHROMIUM_PATH, else `chromium` on PATH; without one these tests
// are skipped loudly, unless REQUIRE_BROWSER=1 (CI), which makes them fail instead.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startWorker } from './harness.mjs';
import { CHROMIUM, skip } from './browser-find.mjs';
import { SHOTS, axeProblems, launchChromium, policyTab } from './browser-kit.mjs';
import { WebhookReceiver } from './webhook-receiver.mjs';

let w, browser, app, receiver, profileId, firstKeyId;
before(async () => {
  if (skip) return;
  assert.ok(CHROMIUM, 'REQUIRE_BROWSER=1 but no Chromium was found (set CHROMIUM_PATH or install chromium)');
  receiver = new WebhookReceiver();
  await receiver.start();
  w = await startWorker({ vars: { CONSOLE: 'on' } });
  app = await w.createApp('Acme Posts', undefined, { receiver });
  // The app's original key, as D1 holds it (the app page lists it by id).
  const keys = (await w.sql('SELECT id FROM api_keys WHERE app_id = ?', app.app.id)).results;
  assert.equal(keys.length, 1);
  firstKeyId = keys[0].id;
  // One connected profile, with a known external_user_id to search for.
  const link = await w.createLink(app.api_key, { external_user_id: 'user-42' });
  const { back } = await w.consent(link, { username: 'ada' });
  await w.callback(back);
  const list = await w.call('GET', '/v1/profiles?external_user_id=user-42', { token: app.api_key });
  profileId = list.body.data[0].id;
  await w.settled();
  fs.mkdirSync(SHOTS, { recursive: true });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await w?.stop();
  await receiver?.stop();
  if (!skip) console.log(`\nScreenshots of the console: ${SHOTS}/console-*.png\n`);
});

/** A tab that records every policy violation and page error. */
const tab = () => policyTab(browser, { locale: 'en-US', pageErrors: true });

/** axe in light and dark at desktop width, no sideways scroll on a phone; a screenshot of each. */
async function audit(page, name) {
  for (const view of [
    { suffix: '', width: 1280, height: 900, scheme: 'light' },
    { suffix: '-dark', width: 1280, height: 900, scheme: 'dark' },
    { suffix: '-phone', width: 360, height: 740, scheme: 'light' },
  ]) {
    await page.setViewportSize({ width: view.width, height: view.height });
    await page.emulateMedia({ colorScheme: view.scheme });
    assert.deepEqual(await axeProblems(page), [], `${name}${view.suffix}`);
    if (view.width === 360) {
      // Wide tables scroll inside their own box; the page itself never scrolls sideways.
      const sideways = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(sideways <= 0, `${name} on a phone scrolls sideways by ${sideways}px`);
    }
    await page.screenshot({ path: path.join(SHOTS, `console-${name}${view.suffix}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.emulateMedia({ colorScheme: 'light' });
}

/** The rows of the table `table` (a locator) as objects keyed by its column headers. */
async function tableRows(table) {
  return table.evaluate((t) => {
    const heads = [...t.querySelectorAll('thead th')].map((th) => th.textContent.trim());
    return [...t.querySelectorAll('tbody tr')].map((tr) => Object.fromEntries([...tr.children].map((cell, i) => [heads[i], cell.textContent.trim()])));
  });
}

/** Signs in through the form, by keyboard: the token field has focus order first in main. */
async function signIn(page) {
  assert.equal((await page.goto(`${w.base}/console`)).status(), 200, 'the 303 lands on the sign-in form');
  assert.equal(new URL(page.url()).pathname, '/console/sign-in');
  await page.getByLabel('Admin token').fill(w.bindings.ADMIN_TOKEN);
  await Promise.all([page.waitForURL((u) => u.pathname === '/console'), page.getByRole('button', { name: 'Sign in' }).click()]);
}

test('sign in, then every page reads, passes axe and runs under the policy', { skip }, async () => {
  const { context, page, violations } = await tab();
  await page.goto(`${w.base}/console/sign-in`);
  await audit(page, 'sign-in');
  await signIn(page);
  // The app's profile.connected event, as the outbox holds it (the Webhooks page lists it).
  const events = (await w.sql("SELECT id FROM webhook_outbox WHERE app_id = ? AND type = 'profile.connected'", app.app.id)).results;
  assert.equal(events.length, 1);
  const main = () => page.locator('main').innerText();
  // Each page, the nav link it marks as current, and one thing it must show.
  for (const [name, p, section, check] of [
    ['overview', '/console', '/console', async () => assert.match(await main(), /Overview/)],
    ['apps', '/console/apps', '/console/apps', async () => {
      assert.equal(await page.locator(`main a[href="/console/apps/${app.app.id}"]`, { hasText: 'Acme Posts' }).count(), 1);
    }],
    ['app', `/console/apps/${app.app.id}`, '/console/apps', async () => {
      assert.match(await page.locator('h1').innerText(), /Acme Posts/);
      const keys = await tableRows(page.locator('section[aria-labelledby=keys] table'));
      assert.deepEqual(keys.map((k) => [k['Key id'], k.Status]), [[firstKeyId, 'active']]);
    }],
    ['profiles', '/console/profiles', '/console/profiles', async () => {
      const rows = await tableRows(page.locator('main table'));
      assert.ok(rows.some((r) => r['External user id'] === 'user-42'), JSON.stringify(rows));
      assert.equal(await page.locator(`main a[href="/console/profiles/${profileId}"]`).count(), 1);
    }],
    ['profile', `/console/profiles/${profileId}`, '/console/profiles', async () => {
      const text = await main();
      assert.ok(text.includes(profileId), 'the profile id');
      assert.ok(text.includes('user-42'), 'its external user id');
    }],
    ['webhooks', '/console/webhooks', '/console/webhooks', async () => {
      const rows = await tableRows(page.locator('main table'));
      assert.ok(rows.some((r) => r.Event === events[0].id && r.App === 'Acme Posts'), JSON.stringify(rows));
    }],
    ['activity', '/console/activity', '/console/activity', async () => {
      const rows = await tableRows(page.locator('main table'));
      assert.ok(rows.some((r) => r.Profile === profileId && r.Kind === 'connected'), JSON.stringify(rows));
    }],
  ]) {
    const res = await page.goto(w.base + p);
    assert.equal(res.status(), 200, p);
    const current = page.locator('nav a[aria-current="page"]');
    assert.equal(await current.count(), 1, `${p}: one section is marked`);
    assert.equal(await current.getAttribute('href'), section, `${p}: its section is marked`);
    await check();
    assert.equal(await page.locator('script').count(), 0);
    await audit(page, name);
  }
  assert.deepEqual(violations, []);
  await context.close();
});

test('find a profile by its external user id and refresh it now', { skip }, async () => {
  const { context, page, violations } = await tab();
  await signIn(page);
  await page.goto(`${w.base}/console/profiles`);
  await page.getByLabel('External user id').fill('user-42');
  await Promise.all([page.waitForURL((u) => u.searchParams.get('external_user_id') === 'user-42'), page.getByRole('button', { name: 'Search' }).click()]);
  const found = page.locator(`a[href="/console/profiles/${profileId}"]`);
  assert.equal(await found.count() >= 1, true, 'the profile is listed');
  await Promise.all([page.waitForURL((u) => u.pathname === `/console/profiles/${profileId}`), found.first().click()]);
  const before = (await w.tokensOf(profileId)).access;
  await Promise.all([page.waitForURL((u) => u.searchParams.get('notice') === 'refreshed'), page.getByRole('button', { name: 'Refresh now' }).click()]);
  assert.match(await page.locator('[role=status]').innerText(), /Refreshed/);
  const after = (await w.tokensOf(profileId)).access;
  assert.notEqual(after, before, 'the platform issued a new access token');
  // Read again: the profile's history has the refresh, newest first, once.
  await page.goto(`${w.base}/console/profiles/${profileId}`);
  const history = await tableRows(page.locator('section[aria-labelledby=activity] table'));
  const refreshes = history.filter((r) => r.Kind === 'refresh');
  assert.deepEqual(refreshes.map((r) => r.Outcome), ['ok'], JSON.stringify(history));
  assert.ok(history.indexOf(refreshes[0]) < history.findIndex((r) => r.Kind === 'connected'), 'newest first');
  assert.deepEqual(violations, []);
  await context.close();
});

test('create an API key, use it, revoke it', { skip }, async () => {
  const { context, page, violations } = await tab();
  await signIn(page);
  await page.goto(`${w.base}/console/apps/${app.app.id}`);
  await Promise.all([page.waitForURL((u) => u.pathname === `/console/apps/${app.app.id}/api-keys`), page.getByRole('button', { name: 'Create API key' }).click()]);
  const key = (await page.locator('.secret').first().innerText()).trim();
  assert.match(key, /^ck_[A-Za-z0-9_-]{20,}$/);
  // The new key's id, as the page that created it shows it.
  const keyId = (await page.locator('dl.facts dt:text-is("Key id") + dd').innerText()).trim();
  assert.match(keyId, /^key_[A-Za-z0-9_]+$/);
  assert.notEqual(keyId, firstKeyId);
  assert.equal((await w.call('GET', '/v1/profiles', { token: key })).status, 200, 'the new key works');
  await page.goto(`${w.base}/console/apps/${app.app.id}`);
  const revoke = page.locator(`form[action="/console/apps/${app.app.id}/api-keys/${keyId}/revoke"] button`);
  await Promise.all([page.waitForURL((u) => u.searchParams.get('notice') === 'key_revoked'), revoke.click()]);
  assert.equal((await w.call('GET', '/v1/profiles', { token: key })).status, 401, 'the revoked key is refused');
  assert.deepEqual(violations, []);
  await context.close();
});

test('retry a webhook that was given up', { skip }, async () => {
  // A delivery the receiver refused until it was given up (seeded as the schedule's end).
  receiver.status = 500;
  const { context, page, violations } = await tab();
  await signIn(page);
  await page.goto(`${w.base}/console/apps/${app.app.id}`);
  await Promise.all([page.waitForURL((u) => u.searchParams.get('notice') === 'test_event_sent'), page.getByRole('button', { name: 'Send a test event' }).click()]);
  await w.settled();
  const tests = (await w.sql("SELECT id FROM webhook_outbox WHERE app_id = ? AND type = 'webhook.test'", app.app.id)).results;
  assert.equal(tests.length, 1, 'the one test event');
  const [row] = tests;
  await w.sql('UPDATE webhook_outbox SET next_attempt_at = NULL, failed_at = ? WHERE id = ?', Math.floor(Date.now() / 1000), row.id);
  receiver.status = 200;
  await page.goto(`${w.base}/console/webhooks`);
  const retry = page.locator(`form[action="/console/webhooks/${row.id}/retry"] button`);
  await Promise.all([page.waitForURL((u) => u.searchParams.get('notice') === 'webhook_retried'), retry.click()]);
  await w.settled();
  const delivered = await w.row('SELECT delivered_at FROM webhook_outbox WHERE id = ?', row.id);
  assert.ok(delivered.delivered_at, 'delivered after the retry');
  assert.ok(receiver.events.some((e) => e.id === row.id), 'the receiver verified it');
  assert.deepEqual(violations, []);
  await context.close();
});

test('refused without a session and with a forged form token', { skip }, async () => {
  const { context, page } = await tab();
  // No session: the page is the sign-in form.
  await page.goto(`${w.base}/console/apps/${app.app.id}`);
  assert.equal(new URL(page.url()).pathname, '/console/sign-in');
  const unchanged = async () => {
    assert.equal((await w.row('SELECT status FROM profiles WHERE id = ?', profileId)).status, 'active', 'the profile is active');
    assert.equal((await w.row("SELECT COUNT(*) AS n FROM activity WHERE profile_id = ? AND kind = 'disconnected'", profileId)).n, 0, 'no disconnect in the history');
    assert.equal((await w.row("SELECT COUNT(*) AS n FROM webhook_outbox WHERE type = 'profile.disconnected'")).n, 0, 'no event');
  };
  // A form opened while signed in, posted after the session's cookie is gone: 403, nothing done.
  await signIn(page);
  await page.goto(`${w.base}/console/profiles/${profileId}`);
  await context.clearCookies();
  assert.deepEqual(await context.cookies(), []);
  const [bare] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Disconnect' }).click()]);
  assert.equal(bare.status(), 403);
  assert.equal(new URL(bare.url()).pathname, `/console/profiles/${profileId}/disconnect`);
  await unchanged();
  await signIn(page);
  await page.goto(`${w.base}/console/profiles/${profileId}`);
  // A forged form token in the page's own form: the browser posts it, the worker refuses.
  await page.locator('input[name=csrf]').evaluateAll((inputs) => inputs.forEach((i) => { i.value = 'forged'; }));
  const [res] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.getByRole('button', { name: 'Disconnect' }).click()]);
  assert.equal(res.status(), 403);
  await unchanged();
  await context.close();
});
