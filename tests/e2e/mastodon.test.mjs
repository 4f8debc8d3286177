// Mastodon on any instance (issue 12), on the real runtime against mock instances that speak
// each version's dialect: the instance value checked before any fetch, the worker registering
// itself once per instance (also when two first connects race), PKCE where the instance
// advertises it and not on older ones, account ids scoped to their instance, liveness,
// revocation, the proxy to that instance only, and a client the instance forgot.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker, randomKey } from './harness.mjs';
import { PlatformMocks, chainOutbound } from './platform-mocks.mjs';
import { MastodonMocks } from './mocks-mastodon.mjs';

const REDIRECT = 'https://app.example.com/connected';
const NEW = 'mastodon.social';
const OLD = 'old.mastodon-instance.org';
const RACE = 'fosstodon.org';
const now = () => Math.floor(Date.now() / 1000);

const mocks = new PlatformMocks();
const masto = new MastodonMocks().addInstance(NEW, { version: '4.3' }).addInstance(OLD, { version: '4.2' }).addInstance(RACE, { version: '4.4' });
let w;
let app;

const outbound = chainOutbound(masto, mocks);

before(async () => {
  w = await startWorker({ vars: { PLATFORM_TIMEOUT_MS: '3000' }, outbound, tokenKeys: `k2:${randomKey()},k1:${randomKey()}` });
  app = await w.createApp('Mastodon app', [REDIRECT]);
});
after(async () => { await w?.stop(); });

const link = (json) => w.call('POST', '/v1/connect-links', { token: app.api_key, json: { platform: 'mastodon', redirect_url: REDIRECT, ...json } });
const profile = async (id) => (await w.call('GET', `/v1/profiles/${id}`, { token: app.api_key })).body;
const connect = (instance, user) => w.connectWithMock(masto, app.api_key, 'mastodon', { user, redirect: REDIRECT, linkFields: { instance } });

test('a 4.3 instance: registered once, PKCE S256, the account keyed by its instance', async () => {
  const { q } = await connect(`https://${NEW}/`, 'alice');
  assert.equal(q.connected, 'true', JSON.stringify(q));
  assert.equal(masto.registrations(NEW), 1);
  const [registered] = masto.apps(NEW);
  assert.deepEqual(registered.redirectUris, [`${w.base}/oauth/callback/mastodon/${NEW}`], 'a callback path of its own');
  const auth = masto.authorizations.at(-1);
  assert.ok(auth.challenge, 'a PKCE challenge was sent');
  assert.equal(auth.clientId, registered.clientId);
  const p = await profile(q.profile_id);
  const account = masto.account(NEW, 'alice');
  assert.equal(p.platform, 'mastodon');
  assert.equal(p.instance, NEW);
  assert.equal(p.platform_user_id, `${account.id}@${NEW}`);
  assert.equal(p.username, `alice@${NEW}`);
  assert.equal(p.display_name, account.display_name);
  assert.equal(p.access_token_expires_at, null, 'Mastodon tokens do not expire');
  const token = await w.call('GET', `/v1/profiles/${p.id}/access-token`, { token: app.api_key });
  assert.ok(masto.tokensOf(NEW, 'alice').includes(token.body.access_token));
  // The client secret is sealed in D1.
  const row = await w.row('SELECT client_id, client_secret_enc, pkce FROM instance_clients WHERE instance = ?', NEW);
  assert.equal(row.client_id, registered.clientId);
  assert.equal(row.pkce, 1);
  const secret = masto.instance(NEW).apps.get(registered.clientId).secret;
  assert.ok(secret && !row.client_secret_enc.includes(secret));

  // The next connect to that instance reuses the client: no discovery, no registration.
  const discoveries = masto.count(NEW, 'discovery');
  const second = await connect(NEW, 'bob');
  assert.equal(second.q.connected, 'true');
  assert.equal(masto.registrations(NEW), 1);
  assert.equal(masto.count(NEW, 'discovery'), discoveries);
  assert.equal(masto.authorizations.at(-1).clientId, registered.clientId);
});

test('a 4.2 instance (no metadata document): no PKCE on either leg, and the connect works', async () => {
  const { q } = await connect(OLD, 'carol');
  assert.equal(q.connected, 'true', JSON.stringify(q));
  assert.equal(masto.authorizations.at(-1).challengeSent, false);
  const exchange = masto.calls.filter((c) => c.host === OLD && c.endpoint === 'token').at(-1);
  assert.equal(exchange.form.code_verifier, undefined);
  assert.equal((await w.row('SELECT pkce FROM instance_clients WHERE instance = ?', OLD)).pkce, 0);
  // The same account id on two instances is two accounts.
  const p = await profile(q.profile_id);
  assert.equal(p.platform_user_id, `${masto.account(OLD, 'carol').id}@${OLD}`);
  assert.equal(masto.account(OLD, 'carol').id, masto.account(NEW, 'alice').id, 'ids restart per instance');
});

test('two parallel first connects to one instance register one app', async () => {
  const release = masto.hold(RACE, 'apps');
  const both = Promise.all([link({ instance: RACE }), link({ instance: RACE })]);
  for (let i = 0; i < 100 && masto.calls.filter((c) => c.host === RACE && c.endpoint === 'apps').length === 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 300)); // the second connect is now waiting on the first
  release();
  const [a, b] = await both;
  assert.equal(a.status, 201, JSON.stringify(a.body));
  assert.equal(b.status, 201, JSON.stringify(b.body));
  assert.equal(masto.registrations(RACE), 1);
  assert.equal(masto.calls.filter((c) => c.host === RACE && c.endpoint === 'apps').length, 1);
  const ids = [a, b].map((r) => new URL(r.body.authorize_url).searchParams.get('client_id'));
  assert.equal(ids[0], ids[1]);
});

test('SSRF-shaped instance values are refused with 400 before any fetch', async () => {
  const calls = masto.calls.length + mocks.calls.length;
  const loopback = mocks.loopback.length;
  for (const instance of [
    'localhost', 'LOCALHOST', 'https://localhost', '127.0.0.1', 'https://127.0.0.1/', '169.254.169.254', '10.0.0.1',
    'https://2130706433/', 'https://0x7f.1/', '[::1]', 'https://[::1]/', 'http://mastodon.social', 'ftp://mastodon.social',
    'mastodon.social:8443', 'https://mastodon.social:443', 'https://user:pw@mastodon.social', 'mastodon.social@evil.com',
    'https://mastodon.social/path', 'mastodon.social/../x', 'https://mastodon.social/?q=1', 'printer.local',
    'metadata.google.internal', 'router.lan', 'intranet', 'x.test', 'mastodon.social.', `${'a'.repeat(300)}.social`, '',
  ]) {
    const r = await link({ instance });
    assert.equal(r.status, 400, instance);
    assert.equal(r.body.error.code, 'invalid_request', instance);
  }
  for (const instance of ['bücher.social', 'https://bücher.social/', 'BÜCHER.social']) {
    const r = await link({ instance });
    assert.equal(r.status, 400, instance);
    assert.match(r.body.error.message, /^instance must be ASCII: an international name in its xn-- form/, instance);
  }
  assert.equal((await link({})).status, 400, 'an instance is required');
  const appCallback = await link({ instance: NEW, callback: 'app' });
  assert.equal(appCallback.status, 422, 'the hosted callback only');
  assert.equal(appCallback.body.error.code, 'platform_unsupported');
  const x = await w.call('POST', '/v1/connect-links', { token: app.api_key, json: { platform: 'sandbox', redirect_url: REDIRECT, instance: NEW } });
  assert.equal(x.status, 422, 'instance is for Mastodon only');
  assert.equal(x.body.error.code, 'platform_unsupported');
  assert.equal(masto.calls.length + mocks.calls.length, calls, 'nothing was fetched');
  assert.equal(mocks.loopback.length, loopback, 'not even on this machine');
});

test('scopes the instance client was not registered for are refused before the consent screen', async () => {
  const r = await link({ instance: NEW, scopes: ['read:statuses', 'admin:write'] });
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /admin:write/);
  // On an instance never seen: refused before the worker calls it at all.
  masto.addInstance('unseen.social', { version: '4.3' });
  const unseen = await link({ instance: 'unseen.social', scopes: ['follow'] });
  assert.equal(unseen.status, 400);
  assert.equal(masto.calls.filter((c) => c.host === 'unseen.social').length, 0);
  const ok = await link({ instance: NEW, scopes: ['read:accounts', 'write:favourites'] });
  assert.equal(ok.status, 201);
  assert.equal(new URL(ok.body.authorize_url).searchParams.get('scope'), 'read:accounts write:favourites');
});

test('the proxy calls the profile\'s own instance with its token', async () => {
  const { q } = await connect(NEW, 'dora');
  const res = await fetch(`${w.base}/v1/profiles/${q.profile_id}/proxy/api/v1/timelines/home?limit=5`, { headers: { authorization: `Bearer ${app.api_key}` } });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), []);
  const call = masto.calls.filter((c) => c.endpoint === 'timeline').at(-1);
  assert.equal(call.host, NEW);
  assert.ok(masto.tokensOf(NEW, 'dora').includes(call.headers.authorization.replace('Bearer ', '')));
  const other = await fetch(`${w.base}/v1/profiles/${q.profile_id}/proxy/api/v1/timelines/home`, {
    headers: { authorization: `Bearer ${app.api_key}`, 'x-connect-links-host': OLD },
  });
  assert.equal(other.status, 403, 'no other instance');
});

test('a token revoked on the instance disconnects the profile at the liveness check; DELETE revokes at the instance', async () => {
  const { q } = await connect(NEW, 'erin');
  masto.revokeAll(NEW, 'erin');
  await w.sql('UPDATE profiles SET next_check_at = ? WHERE id = ?', now() - 1, q.profile_id);
  await w.cron();
  await w.settled();
  assert.equal((await profile(q.profile_id)).status, 'disconnected');

  const kept = await connect(NEW, 'finn');
  const token = masto.tokensOf(NEW, 'finn')[0];
  assert.ok(token);
  const del = await w.call('DELETE', `/v1/profiles/${kept.q.profile_id}`, { token: app.api_key });
  assert.equal(del.status, 204);
  await w.settled();
  const revoke = masto.calls.filter((c) => c.host === NEW && c.endpoint === 'revoke').at(-1);
  assert.ok(revoke, 'revoked at the instance');
  assert.equal(revoke.form.token, token);
  assert.equal(revoke.form.client_id, masto.apps(NEW)[0].clientId);
  assert.deepEqual(masto.tokensOf(NEW, 'finn'), []);
});

test('a client the instance forgot is registered again after the failed exchange', async () => {
  const created = await link({ instance: OLD });
  assert.equal(created.status, 201);
  const approved = masto.approve(created.body.authorize_url, { user: 'gus' });
  masto.vacuum(OLD, { all: true });
  const res = await w.callback(`${approved.redirectUri}?${new URLSearchParams({ code: approved.code, state: approved.state })}`);
  const q = Object.fromEntries(new URL(res.headers.get('location')).searchParams);
  assert.equal(q.connected, 'false');
  assert.equal(q.error, 'exchange_failed');
  assert.equal(await w.row('SELECT client_id FROM instance_clients WHERE instance = ?', OLD), null, 'forgotten');
  const before = masto.registrations(OLD);
  const again = await connect(OLD, 'gus');
  assert.equal(again.q.connected, 'true');
  assert.equal(masto.registrations(OLD), before + 1);
});

test('key rotation re-seals instance client secrets, and forgets one that no longer opens', async () => {
  // The state after a rotation: the 4.3 instance's client sealed under the old key k1, and the
  // 4.4 one under a key that left the ring.
  const newApp = masto.apps(NEW)[0];
  const newSecret = masto.instance(NEW).apps.get(newApp.clientId).secret;
  await w.sql("UPDATE instance_clients SET client_secret_enc = ?, token_kid = 'k1' WHERE instance = ?", w.sealEnvelope(newSecret, `mastodon:${NEW}`, 'client_secret', 'k1'), NEW);
  await w.sql("UPDATE instance_clients SET client_secret_enc = 'v1.k0.AAAA', token_kid = 'k1' WHERE instance = ?", RACE);
  const usage = async () => (await w.admin('GET', '/v1/admin/keys')).body.data.find((k) => k.kid === 'k1');
  assert.ok((await usage()).apps >= 2, 'counted under k1');
  await w.cron();
  const row = await w.row('SELECT client_secret_enc, token_kid FROM instance_clients WHERE instance = ?', NEW);
  assert.equal(row.token_kid, 'k2');
  assert.match(row.client_secret_enc, /^v1\.k2\./);
  assert.equal(await w.row('SELECT instance FROM instance_clients WHERE instance = ?', RACE), null, 'the unreadable one is forgotten');
  // Both instances still connect: the re-sealed secret opens, the forgotten client is registered again.
  assert.equal((await connect(NEW, 'hana')).q.connected, 'true');
  const registrations = masto.registrations(RACE);
  assert.equal((await connect(RACE, 'ivo')).q.connected, 'true');
  assert.equal(masto.registrations(RACE), registrations + 1);
});

test('a stored client the instance deleted (users sent to its consent screen never come back) is found and replaced', async () => {
  assert.equal((await connect(OLD, 'jay')).q.connected, 'true');
  const before = masto.registrations(OLD);
  const oldClient = (await w.row('SELECT client_id FROM instance_clients WHERE instance = ?', OLD)).client_id;
  masto.vacuum(OLD, { all: true });
  // Within the hour after its last check the client is trusted as it is.
  const trusted = await link({ instance: OLD });
  assert.equal(new URL(trusted.body.authorize_url).searchParams.get('client_id'), oldClient);
  assert.equal(masto.registrations(OLD), before);
  // An hour later the instance is asked first, says it does not know the client, and a new one is registered.
  await w.sql('UPDATE instance_clients SET checked_at = ? WHERE instance = ?', now() - 3601, OLD);
  const r = await link({ instance: OLD });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const newClient = new URL(r.body.authorize_url).searchParams.get('client_id');
  assert.notEqual(newClient, oldClient);
  assert.equal(masto.registrations(OLD), before + 1);
  assert.equal(masto.approve(r.body.authorize_url, { user: 'jay' }).code.length > 0, true, 'the new client passes the consent screen');
  // A client the instance still knows is confirmed, and its app token revoked at once.
  await w.sql('UPDATE instance_clients SET checked_at = ? WHERE instance = ?', now() - 3601, NEW);
  const revokes = masto.count(NEW, 'revoke');
  const kept = await link({ instance: NEW });
  assert.equal(kept.status, 201);
  assert.equal(masto.count(NEW, 'revoke'), revokes + 1);
  assert.ok((await w.row('SELECT checked_at FROM instance_clients WHERE instance = ?', NEW)).checked_at >= now() - 5);
  // An instance that cannot confirm (a 503) keeps its client, and is asked again in 5 minutes, not in an hour.
  await w.sql('UPDATE instance_clients SET checked_at = ? WHERE instance = ?', now() - 3601, NEW);
  masto.failNext(NEW, 'token', () => new Response('{"error":"busy"}', { status: 503, headers: { 'content-type': 'application/json' } }));
  const doubted = await link({ instance: NEW });
  assert.equal(doubted.status, 201);
  const checked = (await w.row('SELECT checked_at FROM instance_clients WHERE instance = ?', NEW)).checked_at;
  assert.ok(checked <= now() - 3600 + 300 && checked >= now() - 3600 + 290, `asked again in 5 minutes (${now() - checked} s ago)`);
});

test('a profile from before per-instance callbacks (its client registered with the shared callback): a forced refresh answers 409 "no refresh", nothing marked failing', async () => {
  const host = 'pre-upgrade.social';
  masto.addInstance(host, { version: '4.3' });
  const { q } = await connect(host, 'hal');
  assert.equal(q.connected, 'true', JSON.stringify(q));
  // What an upgrade finds: the instance's only client, registered with the shared callback.
  await w.sql('UPDATE instance_clients SET redirect_uri = ? WHERE instance = ?', `${w.base}/oauth/callback`, host);
  const r = await w.call('POST', `/v1/profiles/${q.profile_id}/refresh`, { token: app.api_key });
  assert.equal(r.status, 409, JSON.stringify(r.body));
  assert.match(r.body.error.message, /no refresh/);
  const g = await w.grantRow(q.profile_id, 'status, refresh_failures, refresh_failing');
  assert.deepEqual([g.status, g.refresh_failures, g.refresh_failing], ['active', 0, 0], 'no refresh_failed streak started');
  assert.equal((await w.row("SELECT COUNT(*) AS n FROM webhook_outbox WHERE type = 'profile.refresh_failed' AND body LIKE ?", `%${q.profile_id}%`)).n, 0);
});
