// The console's history (issue 28): each kind of row appears after what causes it (a connect,
// a refresh's outcome with the platform's error code and text, a disconnect and why, the
// platform's revocation, a liveness check, a proxied call's error, a webhook delivery); the
// Activity page searches and pages it in one D1 statement; retention purges it; and no token,
// code or secret the run used is ever in it (a platform that echoes the refresh token sent
// included).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker, unescapeHtml } from './harness.mjs';
import { PlatformMocks, credentialVars, credsFor } from './platform-mocks.mjs';
import { WebhookReceiver } from './webhook-receiver.mjs';
import { metaSignedRequest } from './platform-webhook-signers.mjs';
import { signedIn } from './console-client.mjs';

const REDIRECT = 'https://app.example.com/connected';
const PLATFORMS = ['x', 'facebook'];
const mocks = new PlatformMocks();
const receiver = new WebhookReceiver();
const now = () => Math.floor(Date.now() / 1000);
const json = (status, body, headers = {}) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
let w;
let app;
let c;

before(async () => {
  await receiver.start();
  w = await startWorker({
    vars: { ...credentialVars(PLATFORMS), CONSOLE: 'on', PLATFORM_TIMEOUT_MS: '2000' },
    outbound: mocks.handle,
    entry: 'tests/e2e/d1-count-entry.mjs',
  });
  app = await w.createApp('History app', [REDIRECT], { receiver, claim: 'auto' });
  c = await signedIn(w);
});
after(async () => {
  await w?.stop();
  await receiver.stop();
});

async function connect(platform, user, linkFields = {}) {
  const { q } = await w.connectWithMock(mocks, app.api_key, platform, { user, redirect: REDIRECT, linkFields });
  assert.equal(q.connected, 'true', JSON.stringify(q));
  return q.profile_ids ? q.profile_ids.split(',') : [q.profile_id];
}
/** The history's rows matching `where` (SQL over `activity`), oldest first. */
const rows = async (where, ...params) => (await w.db.prepare(`SELECT * FROM activity WHERE ${where} ORDER BY id`).bind(...params).all()).results;
const kinds = (list) => list.map((r) => `${r.kind}/${r.outcome}`);
const storedRefresh = async (id) => (await w.tokensOf(id)).refresh;

test('a connect writes one connected row per profile; a refresh its outcome, with the platform code and text of a refusal; a disconnect its reason', async () => {
  const [id] = await connect('x', 'hist1');
  const grant = await w.grantOf(id);
  assert.deepEqual(kinds(await rows("profile_id = ? AND kind <> 'webhook'", id)), ['connected/new']);

  await w.makeDue(id);
  await w.cron();
  // Exactly one history row per refresh: the whole list after each run.
  const refreshes = async () => rows("grant_id = ? AND kind = 'refresh'", grant);
  const [ok, ...extra] = await refreshes();
  assert.deepEqual(kinds([ok, ...extra]), ['refresh/ok']);
  assert.equal(ok.profile_id, null, 'a refresh concerns the grant');
  assert.equal(ok.app_id, app.app.id);
  assert.equal(ok.platform, 'x');

  // For now: the platform's 503 with its own code and text.
  mocks.failNext('x', 'token', () => json(503, { error: 'temporarily_unavailable', error_description: 'Try again in a bit.' }));
  await w.makeDue(id);
  await w.cron();
  const afterTransient = await refreshes();
  assert.deepEqual(kinds(afterTransient), ['refresh/ok', 'refresh/transient']);
  const transient = afterTransient.at(-1);
  assert.deepEqual([transient.outcome, transient.status, transient.code, transient.detail], ['transient', 503, 'temporarily_unavailable', 'Try again in a bit.']);

  // For good: invalid_grant ends the grant; the refresh's row says what the platform said,
  // the profile's why it ended.
  mocks.failNext('x', 'token', () => json(400, { error: 'invalid_grant', error_description: 'Value passed for the token was invalid.' }));
  await w.makeDue(id);
  await w.cron();
  const afterDead = await refreshes();
  assert.deepEqual(kinds(afterDead), ['refresh/ok', 'refresh/transient', 'refresh/disconnected']);
  const dead = afterDead.at(-1);
  assert.deepEqual([dead.outcome, dead.status, dead.code, dead.detail], ['disconnected', 400, 'invalid_grant', 'Value passed for the token was invalid.']);
  const ended = await rows("profile_id = ? AND kind = 'disconnected'", id);
  assert.deepEqual(kinds(ended), ['disconnected/invalid_grant']);
  const [gone] = ended;
  assert.equal(gone.grant_id, grant);

  // The app's DELETE of a profile.
  const [other] = await connect('x', 'hist2');
  assert.equal((await w.call('DELETE', `/v1/profiles/${other}`, { token: app.api_key })).status, 204);
  const deleted = (await rows("profile_id = ? AND kind = 'disconnected'", other)).map((r) => r.outcome);
  assert.deepEqual(deleted, ['deleted']);
  // A second DELETE (404) writes nothing more.
  await w.call('DELETE', `/v1/profiles/${other}`, { token: app.api_key, unchecked: true });
  assert.equal((await rows("profile_id = ? AND kind = 'disconnected'", other)).length, 1);
});

test('a platform that echoes the refresh token in its error text: the row holds [redacted]', async () => {
  const [id] = await connect('x', 'echo');
  const sent = await storedRefresh(id);
  assert.ok(sent);
  mocks.failNext('x', 'token', () => json(400, { error: 'invalid_client', error_description: `refresh_token ${sent} is not known to client` }));
  await w.makeDue(id);
  await w.cron();
  const row = (await rows("grant_id = ? AND kind = 'refresh'", await w.grantOf(id))).at(-1);
  assert.equal(row.outcome, 'transient');
  assert.equal(row.detail, 'refresh_token [redacted] is not known to client');
});

test('webhook deliveries about a profile: delivered, then retrying with the receiver status', async () => {
  const [id] = await connect('x', 'hooked');
  await w.settled();
  const [delivered] = await rows("profile_id = ? AND kind = 'webhook'", id);
  assert.deepEqual([delivered.outcome, delivered.status, delivered.platform], ['delivered', 200, 'x']);
  assert.match(delivered.detail, /^profile\.connected, attempt 1$/);
  receiver.status = 500;
  try {
    assert.equal((await w.call('DELETE', `/v1/profiles/${id}`, { token: app.api_key })).status, 204);
    await w.settled();
  } finally {
    receiver.status = 200;
  }
  const retrying = (await rows("profile_id = ? AND kind = 'webhook'", id)).at(-1);
  assert.deepEqual([retrying.outcome, retrying.status], ['retrying', 500]);
  assert.match(retrying.detail, /^profile\.deleted, attempt 1$/);
});

test('proxied calls: an error is a row, a flood of one status is one row a minute, a success none', async () => {
  const [id] = await connect('x', 'proxied');
  let status = 200;
  mocks.api = async (request, url) => (url.hostname === 'api.x.com'
    ? json(status, status === 429 ? { title: 'Too Many Requests' } : { data: {} }, status === 429 ? { 'retry-after': '120' } : {})
    : null);
  const proxy = (path) => fetch(`${w.base}/v1/profiles/${id}/proxy/${path}`, { headers: { authorization: `Bearer ${app.api_key}` } });
  // A row per status and minute: the calls below must fall in one minute, so with fewer than
  // 10 s of this minute left, wait for the next (the calls take well under a second).
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 10_000) await new Promise((r) => setTimeout(r, left + 200));
  const minute = Math.floor(Date.now() / 60_000);
  try {
    assert.equal((await proxy('2/users/me')).status, 200);
    status = 403;
    for (let i = 0; i < 5; i += 1) assert.equal((await proxy('2/users/me')).status, 403);
    status = 429;
    assert.equal((await proxy('2/tweets/search/recent')).status, 429);
    // Refused here now (the remembered 429): the same status, the same minute: no new row.
    const local = await proxy('2/tweets/search/recent');
    assert.equal(local.status, 429);
    assert.equal((await local.json()).error.code, 'rate_limited');
  } finally {
    mocks.api = undefined;
  }
  assert.equal(Math.floor(Date.now() / 60_000), minute, 'the calls fell in one minute');
  // The rows are written after the answers: wait (bounded) until the expected ones are there,
  // then a little longer, and no more has come.
  const expected = ['403/failed', '429/rate_limited'];
  const errorRows = async () => rows("profile_id = ? AND kind = 'proxy_error'", id);
  const shape = (list) => list.map((r) => `${r.status}/${r.outcome}`);
  let errors = await errorRows();
  for (let i = 0; i < 100 && shape(errors).length < expected.length; i += 1) {
    await new Promise((r) => setTimeout(r, 50));
    errors = await errorRows();
  }
  await new Promise((r) => setTimeout(r, 300));
  errors = await errorRows();
  assert.deepEqual(shape(errors), expected);
  assert.equal(errors[0].detail, 'the platform answered 403');
});

test('liveness checks and the platform revoking: rows for a live check, a dead one and a deauthorize', async () => {
  mocks.setPages('livepages', [{ id: '7101', name: 'Alive' }, { id: '7102', name: 'Dead' }]);
  const [alive, dead] = await connect('facebook', 'livepages', { accounts: 'all' });
  const token = async (id) => (await w.call('GET', `/v1/profiles/${id}/access-token`, { token: app.api_key })).body.access_token;
  mocks.tokens.get(await token(dead)).revoked = true;
  for (const id of [alive, dead]) await w.sql('UPDATE profiles SET next_check_at = ? WHERE id = ?', now() - 1, id);
  await w.cron();
  assert.deepEqual(kinds(await rows("profile_id = ? AND kind = 'liveness'", alive)), ['liveness/ok']);
  const failed = await rows("profile_id = ? AND kind IN ('liveness', 'disconnected')", dead);
  assert.deepEqual(kinds(failed), ['liveness/failed', 'disconnected/revoked']);
  assert.ok(failed[0].status >= 400 && failed[0].code, JSON.stringify(failed[0]));

  const signed = metaSignedRequest({ algorithm: 'HMAC-SHA256', issued_at: now(), user_id: '10livepages' }, credsFor('facebook').secret);
  const r = await fetch(`${w.base}/platform-webhooks/meta/deauthorize`, {
    method: 'POST', body: new URLSearchParams({ signed_request: signed }), headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(r.status, 200);
  assert.deepEqual(kinds(await rows("profile_id = ? AND kind = 'revoked'", alive)), ['revoked/revoked']);
  assert.equal((await rows("profile_id = ? AND kind = 'revoked'", dead)).length, 0, 'already disconnected: nothing revoked now');
});

test('a profile left unclaimed past its claim window: a disconnected/unclaimed row as the cron deletes it', async () => {
  const waiting = (await w.admin('POST', '/v1/admin/apps', { name: 'Claiming app', allowed_redirect_urls: [REDIRECT], claim: 'required' })).body;
  const link = await w.createLink(waiting.api_key, { platform: 'x', redirect_url: REDIRECT });
  const approved = mocks.approve(link.authorize_url, { user: 'unclaimed' });
  const back = await w.callback(`${w.base}/oauth/callback?${new URLSearchParams({ code: approved.code, state: approved.state })}`, { claim: false });
  assert.equal(back.status, 302);
  const [p] = (await w.db.prepare('SELECT id FROM profiles WHERE claim_link_id = ?').bind(link.id).all()).results;
  assert.ok(p, 'a pending profile awaits its claim');
  assert.equal((await rows("profile_id = ? AND kind = 'connected'", p.id)).length, 1);
  await w.sql('UPDATE connect_links SET claim_expires_at = ? WHERE id = ?', now() - 1, link.id);
  await w.cron();
  assert.equal(await w.row('SELECT id FROM profiles WHERE id = ?', p.id), null, 'deleted');
  const [gone] = await rows("profile_id = ? AND kind = 'disconnected'", p.id);
  assert.deepEqual([gone.outcome, gone.app_id, gone.platform], ['unclaimed', waiting.app.id, 'x']);
});

/** Seeds `n` rows of app `appId` (kind refresh, code `c<i>`), oldest first, `at` seconds old. */
async function seed(appId, n, { age = 60, kind = 'refresh' } = {}) {
  const stmts = [];
  for (let i = 0; i < n; i += 1) {
    stmts.push(w.db.prepare("INSERT INTO activity (at, app_id, platform, profile_id, kind, outcome, status, code, detail) VALUES (?, ?, 'x', ?, ?, 'transient', 503, ?, 'seeded')")
      .bind(now() - age, appId, `prf_seed${i}`, kind, `c${i}`));
  }
  await w.db.batch(stmts);
}
/** The profile ids in the table of an Activity page, in order. */
const profilesOn = (html) => [...html.matchAll(/<a href="\/console\/profiles\/([^"]+)">/g)].map((m) => m[1]);
const olderOf = (html) => {
  const m = /<a href="([^"]+)" rel="next">Older<\/a>/.exec(html);
  return m ? unescapeHtml(m[1]) : null;
};

test('the Activity page: searched and paged by id, 50 a page, newest first, the search kept, one D1 statement', async () => {
  await seed('app_paged', 120);
  const first = await c.get('/console/activity?app=app_paged&kind=refresh');
  assert.equal(first.status, 200);
  assert.equal(first.headers.get('x-test-d1-statements'), '1');
  assert.match(first.text, /<caption>50 entries, newest first<\/caption>/);
  assert.match(first.text, /<th scope="col">Outcome<\/th>/);
  const ids1 = profilesOn(first.text);
  assert.equal(ids1.length, 50);
  assert.equal(ids1[0], 'prf_seed119', 'newest first');
  const older = olderOf(first.text);
  assert.match(older, /^\/console\/activity\?app=app_paged&kind=refresh&before=\d+$/);
  const second = await c.get(older);
  assert.equal(second.headers.get('x-test-d1-statements'), '1');
  assert.deepEqual(profilesOn(second.text), Array.from({ length: 50 }, (_, i) => `prf_seed${69 - i}`));
  const third = await c.get(olderOf(second.text));
  assert.equal(profilesOn(third.text).length, 20);
  assert.equal(olderOf(third.text), null, 'the last page has no Older link');

  // Free text over code and detail, any case; kind and outcome filters.
  const found = await c.get('/console/activity?app=app_paged&q=C117');
  assert.deepEqual(profilesOn(found.text), ['prf_seed117']);
  assert.equal((await c.get('/console/activity?app=app_paged&kind=webhook')).text.includes('Nothing recorded matches this search.'), true);
  assert.equal(profilesOn((await c.get('/console/activity?app=app_paged&outcome=transient&profile=prf_seed3')).text).length, 1);
  // A `before` that is no number is the newest page; markup in a search is escaped.
  assert.equal(profilesOn((await c.get('/console/activity?app=app_paged&before=x')).text)[0], 'prf_seed119');
  const hostile = await c.get('/console/activity?q=%3Cscript%3E');
  assert.equal(hostile.status, 200);
  assert.ok(!hostile.text.includes('<script>') && hostile.text.includes('&lt;script&gt;'));
});

test('retention: the cron purges history older than RETENTION_DAYS and keeps the rest', async () => {
  await seed('app_old', 5, { age: 31 * 86400 });
  await seed('app_recent', 3, { age: 29 * 86400 });
  await w.cron();
  assert.equal((await rows("app_id = 'app_old'")).length, 0);
  assert.equal((await rows("app_id = 'app_recent'")).length, 3);
});

test('no token, code or secret of the run is in the history', async () => {
  const all = (await w.db.prepare('SELECT * FROM activity').all()).results;
  assert.ok(all.length > 20, `the run wrote rows (${all.length})`);
  const text = JSON.stringify(all);
  const secrets = new Set([
    ...mocks.tokens.keys(),
    ...mocks.calls.map((call) => call.form?.code).filter(Boolean),
    ...mocks.calls.map((call) => call.form?.refresh_token).filter(Boolean),
    ...mocks.calls.map((call) => call.form?.code_verifier).filter(Boolean),
    ...PLATFORMS.map((p) => credsFor(p).secret),
    app.api_key,
    app.webhook_secret,
    w.bindings.ADMIN_TOKEN,
  ]);
  assert.ok(secrets.size > 10, `the mocks issued tokens (${secrets.size})`);
  for (const s of secrets) assert.ok(!text.includes(s), `a secret in the history: ${s.slice(0, 6)}…`);
});
