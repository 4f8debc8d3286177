// The console's Profiles pages (issue 28): the search (app, platform, status, external user id,
// account name; newest first, 50 a page, "Older" keeping the filters), a profile's page (its
// grant, expiry, schedule, last activity; never a token) and its three actions through the
// domain: refresh now (the platform's token endpoint, the same lease as the API), a reconnect
// link (a working connect link for the same profile), disconnect (row kept, webhook, revoked at
// the platform). Each page within its D1 statement budget (docs/console.md).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startWorker, unescapeHtml } from './harness.mjs';
import { PlatformMocks, credentialVars } from './platform-mocks.mjs';
import { WebhookReceiver } from './webhook-receiver.mjs';
import { signedIn } from './console-client.mjs';

const REDIRECT = 'https://app.example.com/connected';
const mocks = new PlatformMocks();
const receiver = new WebhookReceiver();
let w;
let app;
let c;

before(async () => {
  await receiver.start();
  const vars = { ...credentialVars(['x']), CONSOLE: 'on', PLATFORM_TIMEOUT_MS: '1000' };
  w = await startWorker({ vars, outbound: mocks.handle, entry: 'tests/e2e/d1-count-entry.mjs' });
  const r = await w.createApp('Console profiles app', [REDIRECT], { receiver });
  app = { ...r.app, api_key: r.api_key, webhook_secret: r.webhook_secret };
  c = await signedIn(w);
});
after(async () => {
  await w?.stop();
  await receiver.stop();
});

async function connect(user, externalUserId) {
  const { q } = await w.connectWithMock(mocks, app.api_key, 'x', { user, redirect: REDIRECT, linkFields: { external_user_id: externalUserId } });
  assert.equal(q.connected, 'true', JSON.stringify(q));
  return q.profile_id;
}
const refreshCalls = () => mocks.calls.filter((x) => x.platform === 'x' && x.endpoint === 'refresh');
const revokeCalls = () => mocks.calls.filter((x) => x.platform === 'x' && x.endpoint === 'revoke');
const statementsOf = (r) => Number(r.headers.get('x-test-d1-statements'));
/** The D1 statements docs/console.md gives the form named `name` (its table's number). */
function budgetOf(name) {
  const doc = fs.readFileSync(new URL('../../docs/console.md', import.meta.url), 'utf8');
  const row = doc.split('\n').find((l) => l.startsWith(`| ${name} (`));
  const n = Number(/^\| [^|]+\| (\d+) /.exec(row ?? '')?.[1]);
  assert.ok(Number.isInteger(n) && n > 0, `docs/console.md gives ${name} a number: ${row}`);
  return n;
}
/** The profile ids a search page links to, in order. */
const linked = (html) => [...html.matchAll(/<th scope="row"><a href="\/console\/profiles\/(prf_[A-Za-z0-9_]+)"/g)].map((m) => m[1]);

test('find a profile by external_user_id and by account name (any case); the filters are labelled', async () => {
  const alice = await connect('alice', 'ext-alice');
  const bob = await connect('bob', 'ext-bob');
  await w.sql('UPDATE profiles SET created_at = created_at - 10 WHERE id = ?', alice);
  const byExt = await c.get('/console/profiles?external_user_id=ext-alice');
  assert.equal(byExt.status, 200, byExt.text.slice(0, 400));
  assert.deepEqual(linked(byExt.text), [alice]);
  assert.match(byExt.text, /X alice \(@x_alice\)/);
  for (const id of ['app', 'platform', 'status', 'external_user_id', 'account']) assert.match(byExt.text, new RegExp(`<label for="${id}">`), id);
  const byName = await c.get('/console/profiles?account=X_BO');
  assert.deepEqual(linked(byName.text), [bob]);
  // A LIKE wildcard is a plain character: it matches no name.
  assert.deepEqual(linked((await c.get('/console/profiles?account=x%25')).text), []);
  const both = linked((await c.get(`/console/profiles?app=${app.id}&platform=x&status=active`)).text);
  assert.ok(both.indexOf(bob) >= 0 && both.indexOf(alice) >= 0, `both listed: ${both}`);
  assert.ok(both.indexOf(bob) < both.indexOf(alice), 'newest first');
  assert.deepEqual(linked((await c.get('/console/profiles?external_user_id=ext-alice&status=disconnected')).text), []);
  assert.equal((await c.get('/console/profiles?status=nonsense')).status, 400);
});

test('50 a page, the next page through "Older" keeping the filters; one D1 statement a page', async () => {
  const seed = await connect('pager', 'ext-pager-0');
  const cols = (await w.db.prepare('PRAGMA table_info(profiles)').all()).results.map((r) => r.name).filter((n) => !['id', 'created_at', 'external_user_id', 'platform_user_id'].includes(n));
  const list = cols.join(', ');
  for (let i = 1; i <= 54; i++) {
    await w.sql(`INSERT INTO profiles (id, created_at, external_user_id, platform_user_id, ${list}) SELECT ?, ?, 'ext-pager', ?, ${list} FROM profiles WHERE id = ?`, `prf_pager${String(i).padStart(3, '0')}`, 1_000_000 + i, `pager-${i}`, seed);
  }
  const first = await c.get('/console/profiles?external_user_id=ext-pager&status=active');
  assert.equal(statementsOf(first), 1, 'the search page runs one D1 statement');
  const ids = linked(first.text);
  assert.equal(ids.length, 50);
  assert.equal(ids[0], 'prf_pager054');
  const older = /<a href="([^"]+)" rel="next">Older<\/a>/.exec(first.text);
  assert.ok(older, 'an Older link');
  const href = unescapeHtml(older[1]);
  assert.match(href, /external_user_id=ext-pager/);
  assert.match(href, /status=active/);
  const second = await c.get(href);
  assert.deepEqual(linked(second.text), ['prf_pager004', 'prf_pager003', 'prf_pager002', 'prf_pager001']);
  assert.doesNotMatch(second.text, /rel="next"/);
  assert.equal((await c.get('/console/profiles?before=nonsense')).status, 400);
});

test("a profile's page shows its grant, expiry and activity (its own and its grant's), never a token; two D1 statements", async () => {
  const id = await connect('carol', 'ext-carol');
  const grant = await w.grantOf(id);
  const other = await connect('dave', 'ext-dave');
  const now = Math.floor(Date.now() / 1000);
  const ins = 'INSERT INTO activity (at, app_id, platform, profile_id, grant_id, kind, outcome, status, code, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
  await w.sql(ins, now - 60, app.id, 'x', null, grant, 'refresh', 'transient', 503, 'service_unavailable', 'X is over capacity <b>');
  await w.sql(ins, now - 30, app.id, 'x', id, grant, 'proxy_error', 'failed', 429, 'too_many_requests', 'Rate limit exceeded');
  await w.sql(ins, now - 10, app.id, 'x', other, await w.grantOf(other), 'proxy_error', 'failed', 401, 'dave_only', 'not this one');
  const r = await c.get(`/console/profiles/${id}`);
  assert.equal(r.status, 200, r.text.slice(0, 400));
  assert.equal(statementsOf(r), 2, 'the profile page runs two D1 statements');
  const expires = (await w.row('SELECT access_token_expires_at AS e FROM profiles WHERE id = ?', id)).e;
  const shown = new Date(expires * 1000).toISOString().slice(0, 16).replace('T', ' ');
  assert.match(r.text, new RegExp(`<dt>Access token expires</dt><dd>${shown} UTC</dd>`));
  assert.match(r.text, /<dt>Next refresh<\/dt><dd>\d{4}-\d\d-\d\d \d\d:\d\d UTC<\/dd>/);
  assert.match(r.text, /<dt>Credentials<\/dt><dd>the deployment&#39;s platform app<\/dd>|<dt>Credentials<\/dt><dd>the deployment's platform app<\/dd>/);
  assert.match(r.text, /<dt>Refresh mode<\/dt><dd>proactive<\/dd>/);
  assert.match(r.text, /service_unavailable/);
  assert.match(r.text, /X is over capacity &lt;b&gt;/);
  assert.match(r.text, /too_many_requests/);
  assert.ok(r.text.indexOf('too_many_requests') < r.text.indexOf('service_unavailable'), 'newest first');
  assert.doesNotMatch(r.text, /dave_only/);
  const { access, refresh } = await w.tokensOf(id);
  assert.ok(access && refresh);
  assert.equal(r.text.includes(access), false, 'no access token');
  assert.equal(r.text.includes(refresh), false, 'no refresh token');
  for (const label of ['Refresh now', 'Create a reconnect link', 'Disconnect']) assert.match(r.text, new RegExp(`>${label}</button>`));
  assert.equal((await c.get('/console/profiles/prf_nope')).status, 404);
});

test('"Refresh now" calls the platform\'s token endpoint and moves the expiry', async () => {
  const id = await connect('erin', 'ext-erin');
  const soon = Math.floor(Date.now() / 1000) + 120;
  await w.sql('UPDATE grants SET access_token_expires_at = ? WHERE id = ?', soon, await w.grantOf(id));
  await w.sql('UPDATE profiles SET access_token_expires_at = ? WHERE id = ?', soon, id);
  const before = await w.tokensOf(id);
  const calls = refreshCalls().length;
  await c.get(`/console/profiles/${id}`);
  const r = await c.post(`/console/profiles/${id}/refresh`);
  // The profile; the refresh's lease; one batch: the new tokens, the history row, the profile.
  assert.equal(statementsOf(r), budgetOf('Refresh now'), 'Refresh now runs its budget of D1 statements');
  assert.equal(r.status, 303, r.text.slice(0, 300));
  assert.equal(r.location, `/console/profiles/${id}?notice=refreshed`);
  assert.equal(refreshCalls().length, calls + 1, 'one call to the token endpoint');
  const after = (await w.row('SELECT access_token_expires_at AS e FROM profiles WHERE id = ?', id)).e;
  assert.ok(after > soon + 600, `expiry moved from ${soon} to ${after}`);
  assert.notEqual((await w.tokensOf(id)).access, before.access);
  const page = await c.follow(r);
  assert.match(page.text, /Refreshed: the platform issued a new access token\./);
  assert.match(page.text, new RegExp(new Date(after * 1000).toISOString().slice(0, 16).replace('T', ' ')));
});

test('a refresh the platform refuses (invalid_grant) shows the disconnected notice; the page then offers no refresh', async () => {
  const id = await connect('frank', 'ext-frank');
  mocks.tokens.get((await w.tokensOf(id)).refresh).revoked = true;
  await c.get(`/console/profiles/${id}`);
  const r = await c.post(`/console/profiles/${id}/refresh`);
  assert.equal(r.location, `/console/profiles/${id}?notice=refresh_disconnected`);
  const page = await c.follow(r);
  assert.match(page.text, /role="alert"><p>The platform refused the refresh: the profile is disconnected/);
  assert.match(page.text, /<dt>Status<\/dt><dd>disconnected<\/dd>/);
  assert.match(page.text, /<dt>Disconnect reason<\/dt><dd>invalid_grant<\/dd>/);
  assert.doesNotMatch(page.text, />Refresh now</);
  assert.doesNotMatch(page.text, />Disconnect</);
  assert.match(page.text, />Create a reconnect link</);
  const again = await c.post(`/console/profiles/${id}/refresh`);
  assert.equal(again.status, 409);
  assert.match(again.text, /disconnected; it needs a reconnect link/);
});

test('"Create a reconnect link" answers a working connect link: followed, the same profile comes back', async () => {
  const id = await connect('gina', 'ext-gina');
  await c.get(`/console/profiles/${id}`);
  const r = await c.post(`/console/profiles/${id}/reconnect`);
  // The profile, the app, its platform credentials, the profile the link returns, the link.
  assert.equal(statementsOf(r), budgetOf('A reconnect link'), 'a reconnect link runs its budget of D1 statements');
  assert.equal(r.status, 200, r.text.slice(0, 400));
  const m = new RegExp(`id="reconnect-url">(${w.base}/connect/(cl_[A-Za-z0-9_]+))<`).exec(r.text);
  assert.ok(m, r.text.slice(0, 2000));
  assert.doesNotMatch(r.text, /state=|code_challenge|oauth2\/authorize/, 'never the consent URL or its state');
  assert.match(r.text, /<dt>Expires<\/dt><dd>\d{4}-\d\d-\d\d \d\d:\d\d UTC<\/dd>/);
  const link = await w.row('SELECT reconnect_profile_id, platform, redirect_url FROM connect_links WHERE id = ?', m[2]);
  assert.deepEqual({ ...link }, { reconnect_profile_id: id, platform: 'x', redirect_url: REDIRECT });
  const open = await fetch(m[1], { redirect: 'manual' });
  assert.equal(open.status, 302);
  const approved = mocks.approve(open.headers.get('location'), { user: 'gina' });
  w.linkKeys.set(m[2], app.api_key); // the app claims the reconnect, as it claims any connect
  const back = await w.callback(`${approved.redirectUri}?${new URLSearchParams({ code: approved.code, state: approved.state })}`);
  const q = Object.fromEntries(new URL(back.headers.get('location')).searchParams);
  assert.equal(q.connected, 'true', JSON.stringify(q));
  assert.equal(q.profile_id, id, 'the same profile');
});

test('a reconnect link for an app without an allowed redirect URL is refused with a clear page', async () => {
  const id = await connect('hank', 'ext-hank');
  await w.sql("UPDATE apps SET allowed_redirect_urls = '[]' WHERE id = ?", app.id);
  try {
    await c.get(`/console/profiles/${id}`);
    const r = await c.post(`/console/profiles/${id}/reconnect`);
    assert.equal(r.status, 400);
    assert.match(r.text, /The app has no allowed redirect URL/);
    assert.equal((await w.row('SELECT COUNT(*) AS n FROM connect_links WHERE reconnect_profile_id = ?', id)).n, 0);
  } finally {
    await w.sql('UPDATE apps SET allowed_redirect_urls = ? WHERE id = ?', JSON.stringify([REDIRECT]), app.id);
  }
});

test('"Disconnect" keeps the row as disconnected, tells the app by webhook and revokes at the platform', async () => {
  const id = await connect('iris', 'ext-iris');
  await w.settled();
  const revokes = revokeCalls().length;
  await c.get(`/console/profiles/${id}`);
  const r = await c.post(`/console/profiles/${id}/disconnect`);
  // The profile; one batch of 4; the delivery's claim and the revocation's first read, both
  // started as the answer leaves (after_answer).
  assert.equal(statementsOf(r), budgetOf('Disconnect'), 'Disconnect runs its budget of D1 statements');
  assert.equal(r.status, 303, r.text.slice(0, 300));
  assert.equal(r.location, `/console/profiles/${id}?notice=disconnected`);
  const row = await w.row('SELECT p.status, p.disconnect_reason, g.status AS grant_status, g.next_refresh_at FROM profiles p JOIN grants g ON g.id = p.grant_id WHERE p.id = ?', id);
  assert.deepEqual({ ...row }, { status: 'disconnected', disconnect_reason: 'operator', grant_status: 'disconnected', next_refresh_at: null });
  await w.settled();
  const got = receiver.of('profile.disconnected', id);
  assert.equal(got.length, 1);
  assert.equal(got[0].data.disconnect_reason, 'operator');
  for (let i = 0; i < 100 && revokeCalls().length === revokes; i++) await new Promise((res) => setTimeout(res, 20));
  assert.equal(revokeCalls().length, revokes + 1, 'revoked at X');
  const api = await w.call('GET', `/v1/profiles/${id}`, { token: app.api_key });
  assert.equal(api.body.status, 'disconnected');
  const page = await c.follow(r);
  assert.match(page.text, /Disconnected\. The app was told by webhook\./);
  assert.doesNotMatch(page.text, />Disconnect</);
  const again = await c.post(`/console/profiles/${id}/disconnect`);
  assert.equal(again.status, 409);
  assert.match(again.text, /already disconnected/);
  assert.equal(statementsOf(again), 1, 'a refused Disconnect reads the profile only');
  await w.settled();
  assert.equal(receiver.of('profile.disconnected', id).length, 1, 'one event');
  // The history holds the operator's disconnect once (the refused second try wrote nothing).
  const history = await w.db.prepare("SELECT outcome FROM activity WHERE profile_id = ? AND kind = 'disconnected'").bind(id).all();
  assert.deepEqual(history.results.map((h) => h.outcome), ['operator']);
  assert.match(page.text, /disconnected by the operator on the console/);
});

test('the three forms without the form token (or with another) are refused with 403 and change nothing', async () => {
  const id = await connect('jack', 'ext-jack');
  const calls = refreshCalls().length;
  for (const action of ['refresh', 'reconnect', 'disconnect']) {
    for (const csrf of ['', 'forged-token']) {
      const r = await c.post(`/console/profiles/${id}/${action}`, {}, { csrf });
      assert.equal(r.status, 403, `${action} with csrf=${csrf}`);
    }
  }
  assert.equal(refreshCalls().length, calls);
  assert.equal((await w.row('SELECT status FROM profiles WHERE id = ?', id)).status, 'active');
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM connect_links WHERE reconnect_profile_id = ?', id)).n, 0);
});

test("a profile waiting for the app's claim offers no action, and a posted one is refused", async () => {
  const { q } = await w.connectWithMock(mocks, app.api_key, 'x', { user: 'kate', redirect: REDIRECT, linkFields: { external_user_id: 'ext-kate', claim: false } });
  const id = q.profile_id;
  assert.equal((await w.row('SELECT status FROM profiles WHERE id = ?', id)).status, 'pending');
  const page = await c.get(`/console/profiles/${id}`);
  assert.match(page.text, /waits for the app&#39;s claim|waits for the app's claim/);
  assert.doesNotMatch(page.text, /\/console\/profiles\/[^"]+\/(refresh|reconnect|disconnect)"/);
  for (const action of ['refresh', 'reconnect', 'disconnect']) {
    const r = await c.post(`/console/profiles/${id}/${action}`);
    assert.equal(r.status, 409, action);
  }
  assert.equal((await w.row('SELECT status FROM profiles WHERE id = ?', id)).status, 'pending');
  assert.equal(receiver.of('profile.disconnected', id).length, 0);
});
