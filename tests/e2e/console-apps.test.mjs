// The console's Apps pages (issue 28): the list (paged, newest first, active profiles, webhook
// set or not) and an app's page (settings, allowlist, key ids, platform credentials by client
// id and fingerprint, webhook, limits), never a secret; its actions: a key created on the
// console works on the JSON API at once and is shown once (never in a URL), a revoked one is
// refused at once, a key of another app cannot be revoked through this app's path, and the
// test event reaches the app's endpoint signed with its webhook secret. Each page holds to
// its D1 statement budget (docs/console.md).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker, sha256Hex, unescapeHtml } from './harness.mjs';
import { credentialVars } from './platform-mocks.mjs';
import { signedIn } from './console-client.mjs';
import { WebhookReceiver } from './webhook-receiver.mjs';
import { until } from './streams.mjs';

const REDIRECT = 'http://localhost:3000/connected';
const CLIENT_SECRET = 'own-x-client-secret-0123456789';
let w;
let hooks;
let c; // the signed-in console
let a; // app with a webhook URL, own credentials for x and one active profile
let b; // another app, no webhook URL

before(async () => {
  hooks = await new WebhookReceiver().start();
  w = await startWorker({ vars: { CONSOLE: 'on', ...credentialVars(['x']) }, entry: 'tests/e2e/d1-count-entry.mjs' });
  a = await w.createApp('Console <App> A', [REDIRECT]);
  hooks.useSecret(a.webhook_secret);
  const patch = await w.admin('PATCH', `/v1/admin/apps/${a.app.id}`, { webhook_url: hooks.url, claim: 'auto', limits: { proxy_per_minute: 77 } });
  assert.equal(patch.status, 200, JSON.stringify(patch.body));
  const put = await w.admin('PUT', `/v1/admin/apps/${a.app.id}/platforms/x`, { client_id: 'own-x-client', client_secret: CLIENT_SECRET });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  const link = await w.createLink(a.api_key);
  const { back } = await w.consent(link);
  await w.callback(back);
  b = await w.createApp('Console App B', [REDIRECT]);
  c = await signedIn(w);
});
after(async () => {
  await w?.stop();
  await hooks?.stop();
});

/** Every secret the pages must never show: the apps' API keys (and their hashes), webhook secrets, the client secret. */
function secrets() {
  return [a.api_key, sha256Hex(a.api_key), a.webhook_secret, b.api_key, sha256Hex(b.api_key), b.webhook_secret, CLIENT_SECRET];
}

function assertNoSecret(html, extra = []) {
  const text = unescapeHtml(html);
  for (const s of [...secrets(), ...extra]) assert.ok(!text.includes(s), `the page shows a secret (${s.slice(0, 6)}...)`);
}

/** The row of the list's table that links to `id`. */
function rowOf(html, id) {
  const m = new RegExp(`<tr><th scope="row"><a href="/console/apps/${id}">[\\s\\S]*?</tr>`).exec(html);
  assert.ok(m, `a row for ${id}`);
  return m[0];
}

test('the list shows every app with its id, active profiles and webhook setting, links each, and shows no secret', async () => {
  const r = await c.get('/console/apps');
  assert.equal(r.status, 200, r.text.slice(0, 300));
  assert.equal(r.headers.get('cache-control'), 'no-store');
  const rowA = rowOf(r.text, a.app.id);
  assert.match(rowA, /Console &lt;App&gt; A/);
  assert.match(rowA, /<td class="num">1<\/td>/, 'one active profile');
  assert.match(rowA, /<td>set<\/td>/);
  const rowB = rowOf(r.text, b.app.id);
  assert.match(rowB, /<td class="num">0<\/td>/);
  assert.match(rowB, /<td>not set<\/td>/);
  assert.match(r.text, /aria-current="page">Apps</);
  assertNoSecret(r.text);
  assert.equal(r.headers.get('x-test-d1-statements'), '1', 'the list: one statement');
});

test('the list pages by 50, newest first', async () => {
  // Spread over distinct seconds so the order is the creation order.
  const made = [];
  for (let i = 0; i < 50; i++) made.push((await w.createApp(`Paged ${i}`, [REDIRECT])).app.id);
  const now = Math.floor(Date.now() / 1000);
  for (const [i, id] of made.entries()) await w.sql('UPDATE apps SET created_at = ?1 WHERE id = ?2', now + 1000 + i, id);
  const first = await c.get('/console/apps');
  const ids = (t) => [...t.matchAll(/<th scope="row"><a href="\/console\/apps\/([^"]+)"/g)].map((m) => m[1]);
  const page1 = ids(first.text);
  assert.equal(page1.length, 50);
  assert.deepEqual(page1, [...made].reverse(), 'newest first');
  const next = /href="(\/console\/apps\?after=[^"]+)"/.exec(first.text);
  assert.ok(next, 'a link to the next page');
  const second = await c.get(unescapeHtml(next[1]));
  assert.equal(second.status, 200);
  const page2 = ids(second.text);
  assert.ok(page2.includes(a.app.id) && page2.includes(b.app.id), 'the older apps on page two');
  assert.ok(!/after=/.test(second.text), 'no page after the last');
  assert.equal((await c.get('/console/apps?after=not-a-cursor')).status, 400);
});

test("an app's page shows its settings, allowlist, key ids, own credentials, webhook and limits, never a secret", async () => {
  const r = await c.get(`/console/apps/${a.app.id}`);
  assert.equal(r.status, 200, r.text.slice(0, 300));
  const t = r.text;
  for (const want of [a.app.id, a.api_key_id, REDIRECT, 'own-x-client', hooks.url, '>auto<', '>proactive<', 'proxy_per_minute', '>77<', 'set for this app', 'Create API key', 'Send a test event']) {
    assert.ok(t.includes(want), `the page shows ${want}`);
  }
  const fp = await w.row('SELECT secret_fingerprint FROM platform_credentials WHERE app_id = ?1', a.app.id);
  assert.ok(t.includes(fp.secret_fingerprint), 'the client secret by its fingerprint');
  assert.ok(t.includes(`action="/console/apps/${a.app.id}/api-keys/${a.api_key_id}/revoke"`));
  assertNoSecret(t);
  assert.equal(r.headers.get('x-test-d1-statements'), '3', "an app's page: one batch of three statements");
  assert.equal((await c.get('/console/apps/app_nope')).status, 404);
});

test('a key created on the console is shown once, works on the API at once, and stops at once when revoked', async () => {
  await c.get(`/console/apps/${a.app.id}`);
  const made = await c.post(`/console/apps/${a.app.id}/api-keys`);
  assert.equal(made.status, 200, made.text.slice(0, 300));
  assert.equal(made.location, null, 'no redirect: the key is in no URL');
  assert.equal(made.headers.get('cache-control'), 'no-store');
  const key = unescapeHtml(/<code class="secret">([^<]+)<\/code>/.exec(made.text)?.[1] ?? '');
  assert.match(key, /^ck_/);
  assert.match(made.text, /shown once/);
  assert.equal(made.headers.get('x-test-d1-statements'), '2');
  const keyId = /<dd><code>(key_[A-Za-z0-9_]+)<\/code><\/dd>/.exec(made.text)?.[1];
  assert.ok(keyId);
  const use = () => w.call('GET', '/v1/profiles', { token: key, unchecked: true });
  assert.equal((await use()).status, 200, 'the new key works');
  // The app page lists it by id, never by value.
  const page = await c.get(`/console/apps/${a.app.id}`);
  assert.ok(page.text.includes(keyId));
  assertNoSecret(page.text, [key, sha256Hex(key)]);
  const revoked = await c.post(`/console/apps/${a.app.id}/api-keys/${keyId}/revoke`);
  assert.equal(revoked.status, 303);
  assert.equal(revoked.location, `/console/apps/${a.app.id}?notice=key_revoked`);
  assert.equal(revoked.headers.get('x-test-d1-statements'), '1');
  assert.equal((await use()).status, 401, 'refused at once (this isolate remembered the key)');
  const back = await c.follow(revoked);
  assert.match(back.text, /The API key is revoked/);
  assert.ok(!back.text.includes(`${keyId}/revoke`), 'no revoke button for a revoked key');
  assert.equal((await c.post(`/console/apps/${a.app.id}/api-keys/${keyId}/revoke`)).status, 404, 'revoked already');
});

test("a key of another app cannot be revoked through this app's path", async () => {
  await c.get(`/console/apps/${a.app.id}`);
  assert.equal((await w.call('GET', '/v1/profiles', { token: b.api_key, unchecked: true })).status, 200);
  const r = await c.post(`/console/apps/${a.app.id}/api-keys/${b.api_key_id}/revoke`);
  assert.equal(r.status, 404, r.text.slice(0, 300));
  const row = await w.row('SELECT revoked_at FROM api_keys WHERE id = ?1', b.api_key_id);
  assert.equal(row.revoked_at, null, "B's key is untouched");
  assert.equal((await w.call('GET', '/v1/profiles', { token: b.api_key, unchecked: true })).status, 200);
  assert.equal((await c.post(`/console/apps/app_nope/api-keys`)).status, 404, 'no key for an unknown app');
});

test("the test event reaches the app's endpoint signed with its webhook secret, through the outbox", async () => {
  await c.get(`/console/apps/${a.app.id}`);
  const r = await c.post(`/console/apps/${a.app.id}/test-event`);
  assert.equal(r.status, 303, r.text.slice(0, 300));
  assert.equal(r.location, `/console/apps/${a.app.id}?notice=test_event_sent`);
  // The app, then the batch; the delivery runs after the answer (wait_until), but its first
  // statement (claiming the event) may start before the answer leaves.
  assert.ok(['3', '4'].includes(r.headers.get('x-test-d1-statements')), r.headers.get('x-test-d1-statements'));
  await until('the test event', () => hooks.of('webhook.test').length === 1);
  const [event] = hooks.of('webhook.test');
  assert.deepEqual(event.data, { app_id: a.app.id });
  const row = await w.row('SELECT app_id, type, delivered_at FROM webhook_outbox WHERE id = ?1', event.id);
  assert.equal(row.app_id, a.app.id);
  assert.equal(row.type, 'webhook.test');
});

test('without a webhook URL there is no test-event button and the form is refused with 409', async () => {
  const page = await c.get(`/console/apps/${b.app.id}`);
  assert.ok(!page.text.includes('test-event'));
  assert.match(page.text, /No webhook URL/);
  const before = (await w.sql('SELECT id FROM webhook_outbox WHERE app_id = ?1', b.app.id)).results.length;
  const r = await c.post(`/console/apps/${b.app.id}/test-event`);
  assert.equal(r.status, 409, r.text.slice(0, 300));
  assert.match(r.text, /no webhook URL/);
  assert.equal((await w.sql('SELECT id FROM webhook_outbox WHERE app_id = ?1', b.app.id)).results.length, before);
  assert.equal((await c.post('/console/apps/app_nope/test-event')).status, 404);
});
