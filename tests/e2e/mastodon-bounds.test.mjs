// Per-instance platforms whose host may be the attacker's own (issue 21), on the real runtime
// against mock instances: a callback is bound to the instance its link was made for (an
// instance's code comes back on that instance's own callback path, and a state is spent only
// on the path it was sent with), the proxy hands no redirect off the instance to the app,
// registrations and identities are capped, unused instance clients are purged, and a token
// the platform declares dead (Mastodon's 401, Meta's code 190 on a Page token) disconnects
// its profile at the proxied call that met it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';
import { PlatformMocks, chainOutbound, credentialVars } from './platform-mocks.mjs';
import { MastodonMocks } from './mocks-mastodon.mjs';
import { WebhookReceiver } from './webhook-receiver.mjs';
import { until } from './streams.mjs';

const REDIRECT = 'https://app.example.com/connected';
const HONEST = 'mastodon.social';
const EVIL = 'evil-instance.social'; // the attacker's own instance
const QUIET = 'quiet.social'; // an instance with links but no connected account
const now = () => Math.floor(Date.now() / 1000);
const DAY = 86400;

const mocks = new PlatformMocks();
const masto = new MastodonMocks().addInstance(HONEST, { version: '4.3' }).addInstance(EVIL, { version: '4.4' }).addInstance(QUIET, { version: '4.3' });
const receiver = new WebhookReceiver();
let w;
let app;

before(async () => {
  await receiver.start();
  w = await startWorker({ vars: { ...credentialVars(['facebook']), PLATFORM_TIMEOUT_MS: '3000' }, outbound: chainOutbound(masto, mocks) });
  const r = await w.admin('POST', '/v1/admin/apps', { name: 'Bounds app', allowed_redirect_urls: [REDIRECT], webhook_url: receiver.url, claim: 'auto' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  app = r.body;
  receiver.useSecret(app.webhook_secret);
});
after(async () => {
  await w?.stop();
  await receiver.stop();
});

const link = (json) => w.call('POST', '/v1/connect-links', { token: app.api_key, json: { platform: 'mastodon', redirect_url: REDIRECT, ...json } });
const profile = async (id) => (await w.call('GET', `/v1/profiles/${id}`, { token: app.api_key })).body;
const connect = async (instance, user, linkFields = {}) => {
  const { q } = await w.connectWithMock(masto, app.api_key, 'mastodon', { user, redirect: REDIRECT, linkFields: { instance, ...linkFields } });
  assert.equal(q.connected, 'true', JSON.stringify(q));
  return q.profile_id;
};
const proxy = (id, path, headers = {}) => fetch(`${w.base}/v1/profiles/${id}/proxy/${path}`, { headers: { authorization: `Bearer ${app.api_key}`, ...headers }, redirect: 'manual' });
const tokenCalls = (host, code) => masto.calls.filter((c) => c.host === host && c.endpoint === 'token' && c.form.code === code);
const json = (status, body, headers = {}) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

test("attack (mix-up): a state of a link for the attacker's instance never spends a code the victim's instance issued", async () => {
  // The victim's app made a link for the attacker's instance. The attacker's consent screen
  // sends the browser on to the honest instance, with this deployment's client there (its id is
  // public) and the state of the link for the attacker's instance; the victim approves there.
  const evil = await link({ instance: EVIL });
  assert.equal(evil.status, 201, JSON.stringify(evil.body));
  const evilState = new URL(evil.body.authorize_url).searchParams.get('state');
  const honest = await link({ instance: HONEST });
  assert.equal(honest.status, 201, JSON.stringify(honest.body));
  const mixed = new URL(honest.body.authorize_url);
  mixed.searchParams.set('state', evilState);
  const approved = masto.approve(mixed.toString(), { user: 'victim' });
  // The honest instance sends its code to the callback its client was registered with.
  const res = await w.callback(`${approved.redirectUri}?${new URLSearchParams({ code: approved.code, state: approved.state })}`);
  assert.equal(res.status, 400, 'an HTML page, no redirect');
  assert.match(await res.text(), /another server than the one the sign-in was started on/);
  assert.deepEqual(tokenCalls(EVIL, approved.code), [], "the victim's code never reached the attacker's token endpoint");
  assert.deepEqual(tokenCalls(HONEST, approved.code), [], 'nor any other');
  const listed = (await w.call('GET', '/v1/profiles?status=pending', { token: app.api_key })).body.data.concat((await w.call('GET', '/v1/profiles', { token: app.api_key })).body.data);
  assert.equal(listed.filter((p) => p.username === `victim@${HONEST}` || p.username === `victim@${EVIL}`).length, 0, 'no profile landed');
  // The state was not spent: the link still waits for its own answer, which completes.
  assert.equal((await w.call('GET', `/v1/connect-links/${evil.body.id}`, { token: app.api_key })).body.status, 'pending');
  const own = masto.approve(evil.body.authorize_url, { user: 'mallory' });
  const done = await w.callback(`${own.redirectUri}?${new URLSearchParams({ code: own.code, state: own.state })}`);
  assert.equal(new URL(done.headers.get('location')).searchParams.get('connected'), 'true');

  // The other way round: the attacker's own code, sent to the honest link's path with its
  // state, is not taken either; and neither path takes the shared callback's states.
  const honest2 = await link({ instance: HONEST });
  const stolen = new URL(honest2.body.authorize_url).searchParams.get('state');
  const theirs = masto.approve((await link({ instance: EVIL })).body.authorize_url, { user: 'mallory' });
  const injected = await w.callback(`${w.base}/oauth/callback/mastodon/${EVIL}?${new URLSearchParams({ code: theirs.code, state: stolen })}`);
  assert.equal(injected.status, 400);
  const shared = await w.callback(`${w.base}/oauth/callback?${new URLSearchParams({ code: theirs.code, state: stolen })}`);
  assert.equal(shared.status, 400);
  assert.deepEqual(tokenCalls(HONEST, theirs.code), []);
  assert.equal((await w.call('GET', `/v1/connect-links/${honest2.body.id}`, { token: app.api_key })).body.status, 'pending');
});

test('each instance client is registered with a callback path of its own', async () => {
  await connect(HONEST, 'paula');
  for (const host of [HONEST, EVIL]) {
    for (const registered of masto.apps(host)) assert.deepEqual(registered.redirectUris, [`${w.base}/oauth/callback/mastodon/${host}`], host);
  }
});

test("the proxy never hands the app a redirect off the instance's host: 502; one on the host passes, made absolute", async () => {
  const id = await connect(HONEST, 'rita');
  const refused = async (answer, why) => {
    masto.failNext(HONEST, 'timeline', answer);
    const r = await proxy(id, 'api/v1/timelines/home');
    assert.equal(r.status, 502, why);
    assert.equal(r.headers.get('location'), null, why);
    const body = await r.json();
    assert.equal(body.error.code, 'upstream_error');
    assert.match(body.error.message, /redirect off its own host/);
  };
  const away = [
    'https://evil.example/steal', '//evil.example/steal', `https://${HONEST}.evil.example/x`, `http://${HONEST}/x`,
    // Read whole, as the app's client reads it, each of these names evil.example: pieces split
    // at the comma would each look at home.
    `https://${HONEST},x@evil.example/`, `//${HONEST},x@evil.example/`,
    // The host called for WHATWG URL parsers, evil.example for Python's urllib: refused, as is
    // any userinfo or control character (a tab, which WHATWG parsers drop and others keep).
    `https://${HONEST}\\@evil.example/`, `https://someone@${HONEST}/x`, `https://${HONEST}/x\ty`,
  ];
  for (const location of away) await refused(() => new Response(null, { status: 302, headers: { location } }), location);
  // Two Location headers (the runtime joins them with ", "): no client agrees on which one counts.
  await refused(() => new Response(null, { status: 302, headers: [['location', '/api/v1/timelines/public'], ['location', 'https://evil.example/']] }), 'two headers');
  // On the host: passed on, as the absolute URL every client reads the same way.
  masto.failNext(HONEST, 'timeline', () => new Response(null, { status: 302, headers: { location: '/api/v1/timelines/home?max_id=7' } }));
  const same = await proxy(id, 'api/v1/timelines/home');
  assert.equal(same.status, 302);
  assert.equal(same.headers.get('location'), `https://${HONEST}/api/v1/timelines/home?max_id=7`);
  masto.failNext(HONEST, 'timeline', () => new Response(null, { status: 301, headers: { location: `https://${HONEST.toUpperCase()}:443/api/v1/timelines/public` } }));
  const moved = await proxy(id, 'api/v1/timelines/home');
  assert.equal(moved.status, 301);
  assert.equal(moved.headers.get('location'), `https://${HONEST}/api/v1/timelines/public`);
});

test("the proxy drops an instance's Refresh header, and a Location off its host on any other status", async () => {
  const id = await connect(HONEST, 'rhea');
  masto.failNext(HONEST, 'timeline', () => json(201, { id: '9' }, { location: 'https://evil.example/steal', refresh: '0;url=https://evil.example/steal' }));
  const created = await proxy(id, 'api/v1/timelines/home');
  assert.equal(created.status, 201, "the platform's answer");
  assert.deepEqual(await created.json(), { id: '9' });
  assert.equal(created.headers.get('location'), null, 'a Location off the host is dropped');
  assert.equal(created.headers.get('refresh'), null, 'Refresh is dropped');
  masto.failNext(HONEST, 'timeline', () => json(200, [], { location: '/api/v1/statuses/9', refresh: '5' }));
  const ok = await proxy(id, 'api/v1/timelines/home');
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('location'), `https://${HONEST}/api/v1/statuses/9`, 'on the host: kept, absolute');
  assert.equal(ok.headers.get('refresh'), null, 'even one that stays');
});

test('proxy: a Mastodon token revoked at the instance disconnects its profile at the first 401, with profile.disconnected at once', async () => {
  const id = await connect(HONEST, 'sam');
  masto.revokeAll(HONEST, 'sam');
  const checks = masto.count(HONEST, 'verify');
  const r = await proxy(id, 'api/v1/timelines/home');
  assert.equal(r.status, 409);
  assert.equal((await r.json()).error.code, 'conflict');
  assert.equal(masto.count(HONEST, 'verify'), checks + 1, 'the liveness call, made now');
  const p = await profile(id);
  assert.deepEqual([p.status, p.disconnect_reason], ['disconnected', 'revoked']);
  await w.settled();
  assert.equal(receiver.of('profile.disconnected', id).length, 1);
  // Disconnected: later calls are refused without a platform call.
  const calls = masto.calls.length;
  assert.equal((await proxy(id, 'api/v1/timelines/home')).status, 409);
  assert.equal(masto.calls.length, calls);
});

test('proxy: a 401 or 403 that is not about the token disconnects nobody, and costs one check a minute at most', async () => {
  const id = await connect(HONEST, 'tess');
  const checks = masto.count(HONEST, 'verify');
  for (let i = 0; i < 2; i++) {
    masto.failNext(HONEST, 'timeline', () => json(401, { error: 'This endpoint is behind a gate of its own' }));
    const r = await proxy(id, 'api/v1/timelines/home');
    assert.equal(r.status, 401, "the platform's answer");
    assert.deepEqual(await r.json(), { error: 'This endpoint is behind a gate of its own' });
  }
  assert.equal(masto.count(HONEST, 'verify'), checks + 1, 'the token was checked once: alive');
  assert.equal((await profile(id)).status, 'active');
  // A scope the token lacks: Mastodon's 403, not a dead token.
  const narrow = await connect(HONEST, 'uma', { scopes: ['read:accounts'] });
  const before = masto.count(HONEST, 'verify');
  const r = await proxy(narrow, 'api/v1/timelines/home');
  assert.equal(r.status, 403);
  assert.equal(masto.count(HONEST, 'verify'), before, 'no check for a 403');
  assert.equal((await profile(narrow)).status, 'active');
  await w.settled();
  assert.equal(receiver.of('profile.disconnected', id).length + receiver.of('profile.disconnected', narrow).length, 0);
});

test("proxy: a Facebook Page token that Meta declares dead (code 190) disconnects the Page's profile at once", async () => {
  mocks.setPages('pia', [{ id: '2701', name: 'Dying Page' }]);
  const { q } = await w.connectWithMock(mocks, app.api_key, 'facebook', { user: 'pia', redirect: REDIRECT, linkFields: { accounts: 'all' } });
  assert.equal(q.connected, 'true', JSON.stringify(q));
  const page = q.profile_id;
  const pageToken = (await w.call('GET', `/v1/profiles/${page}/access-token`, { token: app.api_key })).body.access_token;
  // The Page's feed, as Graph answers it: 190 once its token is dead.
  mocks.api = async (request, url) => {
    if (url.hostname !== 'graph.facebook.com' || url.pathname !== '/v25.0/2701/feed') return undefined;
    const live = mocks.graphBearer({ headers: Object.fromEntries(request.headers), query: Object.fromEntries(url.searchParams) }, ['page']);
    return live ? json(200, { data: [] }) : json(400, { error: { message: 'Error validating access token: The session has been invalidated.', type: 'OAuthException', code: 190, error_subcode: 460 } });
  };
  try {
    assert.equal((await proxy(page, 'v25.0/2701/feed')).status, 200);
    mocks.tokens.get(pageToken).revoked = true;
    const r = await proxy(page, 'v25.0/2701/feed');
    assert.equal(r.status, 409);
    assert.equal((await r.json()).error.code, 'conflict');
  } finally {
    mocks.api = undefined;
  }
  const p = await profile(page);
  assert.deepEqual([p.status, p.disconnect_reason], ['disconnected', 'revoked']);
  await w.settled();
  assert.equal(receiver.of('profile.disconnected', page).length, 1);
});

test('a registration whose client_id or client_secret is over 256 characters or outside the strict set stores nothing', async () => {
  const host = 'odd-clients.social';
  masto.addInstance(host, { version: '4.3' });
  for (const [clientId, secret] of [['c'.repeat(257), 'sec'], ['cid', 's'.repeat(257)], ['c id', 'sec'], ['cid', 'se"c'], ['cid\n', 'sec'], ['c%41', 'sec']]) {
    masto.failNext(host, 'apps', () => json(200, { id: '1', name: 'connect-links', client_id: clientId, client_secret: secret }));
    const r = await link({ instance: host });
    assert.equal(r.status, 502, JSON.stringify([clientId, secret]));
    assert.equal(r.body.error.code, 'upstream_error');
    assert.match(r.body.error.message, /client_(id|secret) that is not 1 to 256 of A-Z a-z 0-9 - \. _ ~ \+ \/ =/);
    assert.ok(!r.body.error.message.includes(secret) || secret === 'sec', 'the value is never shown');
    assert.equal((await w.row('SELECT COUNT(*) AS n FROM instance_clients WHERE instance = ?', host)).n, 0, 'nothing stored');
  }
  // A real one (256 characters of the set) is taken.
  masto.failNext(host, 'apps', () => json(200, { id: '1', name: 'connect-links', client_id: `${'a'.repeat(250)}-._~+/`, client_secret: 'x'.repeat(256) }));
  const ok = await link({ instance: host });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
});

test("an instance's over-long account id fails the connect; an over-long display name is cut, a picture URL dropped", async () => {
  masto.failNext(HONEST, 'verify', () => json(200, { id: '9'.repeat(257), username: 'long', display_name: 'Long' }));
  const created = await link({ instance: HONEST });
  const approved = masto.approve(created.body.authorize_url, { user: 'vic' });
  const res = await w.callback(`${approved.redirectUri}?${new URLSearchParams({ code: approved.code, state: approved.state })}`);
  const q = Object.fromEntries(new URL(res.headers.get('location')).searchParams);
  assert.deepEqual([q.connected, q.error], ['false', 'profile_failed']);
  masto.failNext(HONEST, 'verify', () => json(200, { id: '4242', username: 'wide', display_name: 'W'.repeat(1000), avatar: `https://files.${HONEST}/${'a'.repeat(3000)}.png` }));
  const p = await profile(await connect(HONEST, 'wide'));
  assert.equal(p.platform_user_id, `4242@${HONEST}`);
  assert.equal(p.display_name, 'W'.repeat(256));
  assert.equal(p.avatar_url, null);
});

test('instance clients that no link used for 30 days and no grant holds are purged by the cron; a link keeps one in use', async () => {
  const seed = (instance, lastUsed) => w.sql(
    "INSERT INTO instance_clients (platform, instance, redirect_uri, client_id, client_secret_enc, token_kid, scopes, pkce, created_at, updated_at, last_used_at) \
     VALUES ('mastodon', ?, ?, 'cid', 'v1.k1.AAAA', 'k1', '[]', 1, ?, ?, ?)",
    instance, `${w.base}/oauth/callback/mastodon/${instance}`, lastUsed, lastUsed, lastUsed);
  await seed('forgotten.social', now() - 31 * DAY);
  await seed('recent.social', now() - 29 * DAY);
  // A client with links but no account: its use is what keeps it.
  assert.equal((await link({ instance: QUIET })).status, 201);
  const registered = masto.registrations(QUIET);
  await w.sql('UPDATE instance_clients SET last_used_at = ? WHERE instance = ?', now() - 31 * DAY, QUIET);
  assert.equal((await link({ instance: QUIET })).status, 201, 'used again now');
  assert.ok((await w.row('SELECT last_used_at FROM instance_clients WHERE instance = ?', QUIET)).last_used_at >= now() - 5);
  // The honest instance's client is old, but grants there still need it (to be revoked).
  await w.sql('UPDATE instance_clients SET last_used_at = ? WHERE instance = ?', now() - 90 * DAY, HONEST);
  await w.cron();
  const left = async (instance) => (await w.row('SELECT COUNT(*) AS n FROM instance_clients WHERE instance = ?', instance)).n;
  assert.equal(await left('forgotten.social'), 0, 'unused for 31 days: purged');
  assert.equal(await left('recent.social'), 1, 'used 29 days ago: kept');
  assert.equal(await left(QUIET), 1, 'a link used it now: kept');
  assert.equal(await left(HONEST), 1, 'a grant on the instance holds it');
  // Unused again: purged, and the next link registers a new client.
  await w.sql('UPDATE instance_clients SET last_used_at = ? WHERE instance = ?', now() - 31 * DAY, QUIET);
  await w.cron();
  assert.equal(await left(QUIET), 0);
  assert.equal((await link({ instance: QUIET })).status, 201);
  assert.equal(masto.registrations(QUIET), registered + 1);
});

test('a client purged while a link is being made is not handed to that link: the link registers a new one, and connects', async () => {
  const host = 'raced.social';
  masto.addInstance(host, { version: '4.3' });
  assert.equal((await link({ instance: host })).status, 201);
  // Unused for 31 days, and confirmed over an hour ago: the next link asks the instance about
  // it (a client_credentials token call), and the cron's purge runs while it waits.
  await w.sql('UPDATE instance_clients SET last_used_at = ?, checked_at = ? WHERE instance = ?', now() - 31 * DAY, now() - 2 * 3600, host);
  const asked = masto.count(host, 'token');
  const release = masto.hold(host, 'token');
  const made = link({ instance: host });
  try {
    await until('the client check', () => masto.calls.some((c) => c.host === host && c.endpoint === 'token'));
    await w.cron();
    assert.equal((await w.row('SELECT COUNT(*) AS n FROM instance_clients WHERE instance = ?', host)).n, 0, 'purged meanwhile');
  } finally {
    release();
  }
  const r = await made;
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.ok(masto.count(host, 'token') > asked);
  assert.equal(masto.registrations(host), 2, 'registered again');
  const stored = await w.row('SELECT client_id FROM instance_clients WHERE instance = ? AND client_id IS NOT NULL', host);
  assert.equal(stored?.client_id, new URL(r.body.authorize_url).searchParams.get('client_id'), 'the link names the client stored');
  const approved = masto.approve(r.body.authorize_url, { user: 'yara' });
  const done = await w.callback(`${approved.redirectUri}?${new URLSearchParams({ code: approved.code, state: approved.state })}`);
  assert.equal(new URL(done.headers.get('location')).searchParams.get('connected'), 'true');
});

test("a storage error on the client's best-effort last-use write does not fail the link", async () => {
  const host = 'untouchable.social';
  masto.addInstance(host, { version: '4.3' });
  assert.equal((await link({ instance: host })).status, 201);
  const twoDaysAgo = now() - 2 * DAY;
  await w.sql('UPDATE instance_clients SET last_used_at = ? WHERE instance = ?', twoDaysAgo, host);
  await w.sql("CREATE TRIGGER touch_fails BEFORE UPDATE OF last_used_at ON instance_clients BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END");
  try {
    const r = await link({ instance: host });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  } finally {
    await w.sql('DROP TRIGGER touch_fails');
  }
  assert.equal(masto.registrations(host), 1, 'the stored client served');
  assert.equal((await w.row('SELECT last_used_at FROM instance_clients WHERE instance = ?', host)).last_used_at, twoDaysAgo, 'the write failed');
});

test('a profile connected through a client registered with the shared callback (before per-instance paths) is still revoked with its own client', async () => {
  const host = 'upgraded.social';
  masto.addInstance(host, { version: '4.3' });
  const old = await connect(host, 'wes');
  // What an upgrade finds: that client registered with the shared callback path.
  await w.sql('UPDATE instance_clients SET redirect_uri = ? WHERE instance = ?', `${w.base}/oauth/callback`, host);
  const oldClient = masto.apps(host)[0].clientId;
  // The next connect registers the instance's own-path client.
  await connect(host, 'xia');
  assert.equal(masto.registrations(host), 2);
  assert.equal(masto.tokensOf(host, 'wes').length, 1);
  assert.equal((await w.call('DELETE', `/v1/profiles/${old}`, { token: app.api_key })).status, 204);
  // The revoke runs after the answer.
  await until('the revoke', () => masto.tokensOf(host, 'wes').length === 0).catch(() => {});
  assert.deepEqual(masto.tokensOf(host, 'wes'), [], 'revoked at the instance');
  const revokes = masto.calls.filter((c) => c.host === host && c.endpoint === 'revoke');
  assert.equal(revokes.at(-1).form.client_id, oldClient, 'by the client that issued it');
  assert.equal(masto.tokensOf(host, 'xia').length, 1, "the other client's token is untouched");
});
