// Scopes the user may decline (issue 25): a link's `optional_scopes` are asked with its
// `scopes`; a connect in which the user declined only optional ones succeeds and the profile
// names what was granted and declined (API, claim, list, `profile.connected`); a declined
// required scope still fails with `missing_scopes`, and the link's status (or the exchange's
// answer) names the scopes, never the platform's own text. Facebook says what was granted
// only through `GET /me/permissions`; a reconnect asking again for a declined permission
// carries `auth_type=rerequest`, without which Meta's dialog does not show it again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';
import { PlatformMocks, credentialVars } from './platform-mocks.mjs';
import { WebhookReceiver } from './webhook-receiver.mjs';

const REDIRECT = 'https://app.example.com/connected';
const mocks = new PlatformMocks();
const receiver = new WebhookReceiver();
const X_REQUIRED = ['tweet.read', 'users.read', 'offline.access'];
const FB_REQUIRED = ['pages_show_list', 'pages_read_engagement'];
let w;
let app;

before(async () => {
  await receiver.start();
  w = await startWorker({ vars: credentialVars(['x', 'facebook', 'threads']), outbound: mocks.handle });
  const r = await w.admin('POST', '/v1/admin/apps', { name: 'Optional scopes app', allowed_redirect_urls: [REDIRECT], webhook_url: receiver.url });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  receiver.useSecret(r.body.webhook_secret);
  app = r.body;
});
after(async () => {
  await w?.stop();
  await receiver.stop();
});

/**
 * Creates a link, plays the user at the mock (`approve` options), follows the callback (and
 * the Choose accounts page, choosing `pick`, when there is one).
 */
async function connect(fields, approve = {}, pick = undefined) {
  const link = await w.createLink(app.api_key, { redirect_url: REDIRECT, ...fields });
  const approved = mocks.approve(link.authorize_url, approve);
  const res = await w.callback(`${w.base}/oauth/callback?${new URLSearchParams({ code: approved.code, state: approved.state })}`, { pick });
  assert.equal(res.status, 302);
  const final = new URL(res.headers.get('location'));
  return { link, final, q: Object.fromEntries(final.searchParams), claimed: res.claimed };
}

const scopeParam = (link) => new URL(link.authorize_url).searchParams.get('scope');

test('optional_scopes are checked like scopes, may not repeat a required scope, and are asked with them', async () => {
  const post = (json) => w.call('POST', '/v1/connect-links', { token: app.api_key, json: { platform: 'x', redirect_url: REDIRECT, ...json } });
  const both = await post({ scopes: X_REQUIRED, optional_scopes: ['like.read', 'users.read'] });
  assert.equal(both.status, 400);
  assert.match(both.body.error.message, /optional_scopes may not name a scope that scopes requires: users\.read$/);
  // Without `scopes`, the platform's defaults are the required ones.
  const defaults = await post({ optional_scopes: ['tweet.read'] });
  assert.equal(defaults.status, 400);
  assert.match(defaults.body.error.message, /tweet\.read/);
  for (const bad of [['a b'], [''], ['x'.repeat(201)], Array.from({ length: 51 }, (_, i) => `s${i}`), 'like.read']) {
    const r = await post({ optional_scopes: bad });
    assert.equal(r.status, 400, JSON.stringify(bad).slice(0, 80));
  }
  const ok = await post({ scopes: X_REQUIRED, optional_scopes: ['like.read', 'tweet.write'] });
  assert.equal(ok.status, 201);
  assert.equal(scopeParam(ok.body), 'tweet.read users.read offline.access like.read tweet.write');
  const stored = await w.row('SELECT scopes, optional_scopes FROM connect_links WHERE id = ?', ok.body.id);
  assert.deepEqual([JSON.parse(stored.scopes), JSON.parse(stored.optional_scopes)], [X_REQUIRED, ['like.read', 'tweet.write']]);
});

test('declining only optional scopes connects; the profile shows granted and declined scopes everywhere', async () => {
  const { q, claimed } = await connect(
    { platform: 'x', scopes: X_REQUIRED, optional_scopes: ['tweet.write', 'like.read'], external_user_id: 'opt-1' },
    { user: 'optional1', decline: ['tweet.write'] },
  );
  assert.equal(q.connected, 'true', JSON.stringify(q));
  const granted = [...X_REQUIRED, 'like.read'];
  const check = (p, where) => {
    assert.deepEqual(p.granted_scopes, granted, where);
    assert.deepEqual(p.scopes, p.granted_scopes, `${where}: scopes is granted_scopes`);
    assert.deepEqual(p.declined_scopes, ['tweet.write'], where);
  };
  check(claimed.body.data[0], 'claim');
  check((await w.call('GET', `/v1/profiles/${q.profile_id}`, { token: app.api_key })).body, 'get');
  const listed = await w.call('GET', '/v1/profiles?external_user_id=opt-1', { token: app.api_key });
  check(listed.body.data[0], 'list');
  await w.settled();
  const [hook] = receiver.of('profile.connected', q.profile_id);
  assert.ok(hook, 'profile.connected was delivered');
  check(hook.data, 'webhook');
});

test('a platform that does not say what it granted reports nothing declined', async () => {
  // Threads' token answer names no permission and Threads has no list for a user token.
  const { q, claimed } = await connect({ platform: 'threads', optional_scopes: ['threads_manage_replies'] }, { user: 'optional2', decline: ['threads_manage_replies'] });
  assert.equal(q.connected, 'true');
  assert.deepEqual(claimed.body.data[0].granted_scopes, ['threads_basic', 'threads_content_publish', 'threads_manage_replies']);
  assert.deepEqual(claimed.body.data[0].declined_scopes, []);
});

test('a declined required scope fails with missing_scopes; the link names the scopes, the redirect does not', async () => {
  const { link, q, final } = await connect(
    { platform: 'x', scopes: X_REQUIRED, optional_scopes: ['like.read'] },
    { user: 'optional3', decline: ['users.read', 'like.read'] },
  );
  assert.deepEqual([q.connected, q.error], ['false', 'missing_scopes']);
  assert.ok(!final.search.includes('users.read'), 'the redirect carries the code only');
  const status = await w.call('GET', `/v1/connect-links/${link.id}`, { token: app.api_key });
  assert.equal(status.body.status, 'failed');
  assert.equal(status.body.error, 'missing_scopes');
  assert.deepEqual(status.body.missing_scopes, ['users.read'], 'only the required scope is missing');
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM profiles WHERE platform_user_id LIKE ?', '%optional3')).n, 0);
  // The app is told with the scopes named, as the status names them.
  await w.settled();
  const [told] = receiver.of('connect_link.failed').filter((e) => e.data.link_id === link.id);
  assert.deepEqual(told?.data, { link_id: link.id, platform: 'x', error: 'missing_scopes', external_user_id: null, missing_scopes: ['users.read'] });
  // A link failed otherwise names none.
  const other = await connect({ platform: 'x', scopes: X_REQUIRED }, { user: 'optional3' });
  assert.equal(other.q.connected, 'true');
  assert.equal((await w.call('GET', `/v1/connect-links/${other.link.id}`, { token: app.api_key })).body.missing_scopes, null);
});

test('an app-callback exchange names the declined required scopes in its error, not the platform text', async () => {
  const link = await w.createLink(app.api_key, { platform: 'x', redirect_url: REDIRECT, callback: 'app', scopes: X_REQUIRED, optional_scopes: ['like.read'] });
  const approved = mocks.approve(link.authorize_url, { user: 'optional4', decline: ['offline.access', 'tweet.read'] });
  const r = await w.call('POST', '/v1/oauth/exchange', { token: app.api_key, json: { state: approved.state, code: approved.code } });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.message, 'the user declined required scopes: tweet.read offline.access (missing_scopes)');
  const status = await w.call('GET', `/v1/connect-links/${link.id}`, { token: app.api_key });
  assert.deepEqual([status.body.error, status.body.missing_scopes], ['missing_scopes', ['tweet.read', 'offline.access']]);
});

test('the Meta mock lists permissions as Graph does and shows a declined one again only on rerequest', async () => {
  const graph = (token) => mocks.handle(new Request('https://graph.facebook.com/v25.0/me/permissions', { headers: { authorization: `Bearer ${token}` } }));
  const bad = await graph('nope');
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error.code, 190);
  const base = 'https://www.facebook.com/v25.0/dialog/oauth?response_type=code&client_id=facebook-client&redirect_uri=https%3A%2F%2Fw%2Fcb&state=s&scope=pages_show_list,user_posts';
  const first = mocks.approve(base, { user: 'graphself', decline: ['user_posts'] });
  const token = mocks.issue(mocks.codes.get(first.code), 'EAAtest_');
  assert.deepEqual((await (await graph(token)).json()).data, [
    { permission: 'public_profile', status: 'granted' },
    { permission: 'pages_show_list', status: 'granted' },
    { permission: 'user_posts', status: 'declined' },
  ]);
  // Asked again without rerequest: not shown, so not granted whatever the user would tick.
  assert.ok(!mocks.codes.get(mocks.approve(base, { user: 'graphself' }).code).scopes.includes('user_posts'));
  assert.ok(mocks.codes.get(mocks.approve(`${base}&auth_type=rerequest`, { user: 'graphself' }).code).scopes.includes('user_posts'));
  // Paged as Graph pages an edge: `limit`, and `paging.next` on every page but the last.
  const paged = await (await mocks.handle(new Request('https://graph.facebook.com/v25.0/me/permissions?limit=2', { headers: { authorization: `Bearer ${token}` } }))).json();
  assert.equal(paged.data.length, 2);
  assert.match(paged.paging.next, /^https:\/\/graph\.facebook\.com\/v25\.0\/me\/permissions\?limit=2&after=2$/);
  // A permission whose data access expired is listed `expired`.
  mocks.metaExpire('facebook-client', 'graphself', ['pages_show_list']);
  const listed = (await (await graph(token)).json()).data;
  assert.deepEqual(listed.find((p) => p.permission === 'pages_show_list'), { permission: 'pages_show_list', status: 'expired' });
});

test('Facebook: what was granted is read from /me/permissions; a declined optional permission shows on every Page chosen', async () => {
  const before = mocks.calls.filter((c) => c.endpoint === 'permissions').length;
  const { q, claimed } = await connect(
    { platform: 'facebook', scopes: FB_REQUIRED, optional_scopes: ['pages_manage_posts'] },
    { user: 'fbopt1', decline: ['pages_manage_posts'] },
    'all', // through the Choose accounts page: the choice it holds keeps what was declined
  );
  assert.equal(q.connected, 'true', JSON.stringify(q));
  assert.equal(mocks.calls.filter((c) => c.endpoint === 'permissions').length, before + 1, 'one call to /me/permissions');
  assert.equal(claimed.body.data.length, 2, 'both Pages');
  for (const p of claimed.body.data) {
    assert.deepEqual(p.granted_scopes, ['public_profile', ...FB_REQUIRED]);
    assert.deepEqual(p.declined_scopes, ['pages_manage_posts']);
  }
});

test('Facebook: a declined required permission fails naming it; a failed permission read fails the connect', async () => {
  const declined = await connect({ platform: 'facebook', scopes: FB_REQUIRED }, { user: 'fbopt2', decline: ['pages_read_engagement'] });
  assert.equal(declined.q.error, 'missing_scopes');
  assert.deepEqual((await w.call('GET', `/v1/connect-links/${declined.link.id}`, { token: app.api_key })).body.missing_scopes, ['pages_read_engagement']);
  const leaky = 'LEAKY-GRAPH-TEXT';
  mocks.failNext('facebook', 'permissions', () => new Response(JSON.stringify({ error: { message: leaky, code: 2 } }), { status: 500, headers: { 'content-type': 'application/json' } }));
  // Each attempt is another person: a failed connect revokes its grant after the answer, and
  // Meta's revoke ends every token of the person, so a reused one could lose the next token.
  const failed = await connect({ platform: 'facebook', scopes: FB_REQUIRED }, { user: 'fbopt3' });
  assert.equal(failed.q.error, 'exchange_failed');
  assert.ok(!failed.final.toString().includes('LEAKY'));
  const status = await w.call('GET', `/v1/connect-links/${failed.link.id}`, { token: app.api_key });
  assert.ok(!JSON.stringify(status.body).includes('LEAKY'));
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM profiles WHERE platform_user_id LIKE ?', '%fbopt3')).n, 0);
  // A hostile list (a name no permission has, or no list at all) is no answer either, and
  // neither is a first page naming a next one: a required permission could be on it.
  const granted = [...FB_REQUIRED, 'public_profile'].map((permission) => ({ permission, status: 'granted' }));
  const next = 'https://graph.facebook.com/v25.0/me/permissions?limit=500&after=QVFI';
  const hostile = [
    { data: [{ permission: 'pages_show_list pages_read_engagement', status: 'granted' }] },
    { data: 'granted' },
    { data: granted, paging: { cursors: { before: 'QVFH', after: 'QVFI' }, next } },
  ];
  for (const [i, body] of hostile.entries()) {
    mocks.failNext('facebook', 'permissions', () => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } }));
    assert.equal((await connect({ platform: 'facebook', scopes: FB_REQUIRED }, { user: `fbopt3h${i}` })).q.error, 'exchange_failed', JSON.stringify(body));
  }
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM profiles WHERE platform_user_id LIKE ?', '%fbopt3%')).n, 0);
  // The permissions are asked for in one page large enough for all of them.
  const asked = mocks.calls.filter((c) => c.endpoint === 'permissions').at(-1);
  assert.equal(asked.query.limit, '500');
  // A required permission Graph lists as expired is not granted.
  mocks.failNext('facebook', 'permissions', () => new Response(JSON.stringify({ data: [
    { permission: 'public_profile', status: 'granted' }, { permission: 'pages_show_list', status: 'granted' },
    { permission: 'pages_read_engagement', status: 'expired' },
  ] }), { status: 200, headers: { 'content-type': 'application/json' } }));
  const expired = await connect({ platform: 'facebook', scopes: FB_REQUIRED }, { user: 'fbopt3e' });
  assert.equal(expired.q.error, 'missing_scopes');
  assert.deepEqual((await w.call('GET', `/v1/connect-links/${expired.link.id}`, { token: app.api_key })).body.missing_scopes, ['pages_read_engagement']);
});

test('a reconnect asking again for a declined permission carries auth_type=rerequest, and only then is it granted', async () => {
  const first = await connect(
    { platform: 'facebook', scopes: FB_REQUIRED, optional_scopes: ['pages_manage_posts'], accounts: 'all' },
    { user: 'fbopt4', decline: ['pages_manage_posts'] },
  );
  const profileId = first.claimed.body.data[0].id;
  // A new (not reconnect) link asking for it: no rerequest, Meta does not show it, still declined.
  const plain = await connect({ platform: 'facebook', scopes: FB_REQUIRED, optional_scopes: ['pages_manage_posts'], accounts: 'all' }, { user: 'fbopt4' });
  assert.equal(new URL(plain.link.authorize_url).searchParams.get('auth_type'), null);
  assert.deepEqual(plain.claimed.body.data[0].declined_scopes, ['pages_manage_posts']);
  // A reconnect of a profile that asks for nothing it declined: no rerequest either.
  const same = await w.createLink(app.api_key, { platform: 'facebook', redirect_url: REDIRECT, scopes: FB_REQUIRED, profile_id: profileId });
  assert.equal(new URL(same.authorize_url).searchParams.get('auth_type'), null);
  // The reconnect asking for it again: rerequest, the user ticks it, nothing is declined now.
  const again = await connect({ platform: 'facebook', scopes: FB_REQUIRED, optional_scopes: ['pages_manage_posts'], profile_id: profileId, accounts: 'all' }, { user: 'fbopt4' });
  assert.equal(new URL(again.link.authorize_url).searchParams.get('auth_type'), 'rerequest');
  assert.equal(again.q.connected, 'true');
  const p = (await w.call('GET', `/v1/profiles/${profileId}`, { token: app.api_key })).body;
  assert.deepEqual(p.declined_scopes, []);
  assert.ok(p.granted_scopes.includes('pages_manage_posts'));
  // X has no such parameter: a reconnect there asks as any link does.
  const x = await connect({ platform: 'x', scopes: X_REQUIRED, optional_scopes: ['like.read'] }, { user: 'optional5', decline: ['like.read'] });
  const xAgain = await w.createLink(app.api_key, { platform: 'x', redirect_url: REDIRECT, scopes: X_REQUIRED, optional_scopes: ['like.read'], profile_id: x.q.profile_id });
  assert.equal(new URL(xAgain.authorize_url).searchParams.get('auth_type'), null);
});
