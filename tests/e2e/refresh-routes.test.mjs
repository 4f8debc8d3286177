// Each platform's refresh in its own dialect, end to end, for TikTok, Pinterest, Reddit and
// Threads: a forced refresh (`POST /v1/profiles/{id}/refresh`) reaches the platform's refresh
// route as the platform documents it, the new token is what `/access-token` hands out and what
// the proxy sends, and a refresh token (or, for Threads, a token) the platform no longer honours
// is refused as the platform refuses it. Also: each consent screen refuses a scope it does not know.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';
import { PlatformMocks, credsFor, credentialVars } from './platform-mocks.mjs';

const PLATFORMS = ['tiktok', 'pinterest', 'reddit', 'threads'];
const REDIRECT = 'https://app.example.com/connected';
const now = () => Math.floor(Date.now() / 1000);
const mocks = new PlatformMocks();
let w;
let app;

before(async () => {
  w = await startWorker({ vars: credentialVars(PLATFORMS), outbound: mocks.handle });
  app = await w.createApp('Refresh routes app', [REDIRECT]);
});
after(async () => { await w?.stop(); });

async function connect(platform, user) {
  const { q } = await w.connectWithMock(mocks, app.api_key, platform, { user, redirect: REDIRECT });
  assert.equal(q.connected, 'true', JSON.stringify(q));
  return q.profile_id;
}
const calls = (platform, endpoint) => mocks.calls.filter((c) => c.platform === platform && c.endpoint === endpoint);
const forceRefresh = (id) => w.call('POST', `/v1/profiles/${id}/refresh`, { token: app.api_key });
const accessToken = async (id) => (await w.call('GET', `/v1/profiles/${id}/access-token`, { token: app.api_key })).body.access_token;
const profile = async (id) => (await w.call('GET', `/v1/profiles/${id}`, { token: app.api_key })).body;
const basic = (platform) => `Basic ${Buffer.from(`${credsFor(platform).id}:${credsFor(platform).secret}`).toString('base64')}`;

/**
 * Calls the platform's identity endpoint through the proxy; returns the proxy's status and the
 * token the platform saw (its Authorization header).
 */
async function throughProxy(id, platform, path) {
  const res = await fetch(`${w.base}/v1/profiles/${id}/proxy/${path}`, { headers: { authorization: `Bearer ${app.api_key}` } });
  await res.arrayBuffer();
  return { status: res.status, sent: calls(platform, 'identity').at(-1).headers.authorization };
}

/** Asks the mock directly, as the worker would (to show its refusal in the platform's words). */
async function askPlatform(url, init) {
  const res = await mocks.handle(new Request(url, init));
  return { status: res.status, body: await res.json() };
}
const formPost = (headers, form) => ({
  method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form),
});

test('TikTok: a forced refresh rotates at POST /v2/oauth/token/ (client_key in the body); the app and the proxy get the new token; a spent or revoked refresh token is invalid_grant', async () => {
  const id = await connect('tiktok', 'ttfresh');
  const before = await w.tokensOf(id);
  const sent = calls('tiktok', 'refresh').length;
  const r = await forceRefresh(id);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(calls('tiktok', 'refresh').length, sent + 1);
  const call = calls('tiktok', 'refresh').at(-1);
  assert.deepEqual([call.method, call.path, call.form.grant_type, call.form.client_key, call.form.refresh_token], ['POST', '/v2/oauth/token/', 'refresh_token', credsFor('tiktok').id, before.refresh]);
  const after = await w.tokensOf(id);
  assert.notEqual(after.access, before.access);
  assert.notEqual(after.refresh, before.refresh, 'the rotated refresh token is stored');
  assert.equal(mocks.tokens.get(after.refresh).revoked, false);
  assert.equal(await accessToken(id), after.access);
  assert.deepEqual(await throughProxy(id, 'tiktok', 'v2/user/info/?fields=open_id'), { status: 200, sent: `Bearer ${after.access}` });
  // The refresh token sent is spent: TikTok refuses it.
  const spent = await askPlatform('https://open.tiktokapis.com/v2/oauth/token/', formPost({}, {
    client_key: credsFor('tiktok').id, client_secret: credsFor('tiktok').secret, grant_type: 'refresh_token', refresh_token: before.refresh,
  }));
  assert.deepEqual([spent.status, spent.body.error], [400, 'invalid_grant']);
  // The user disconnects the app at TikTok: the stored refresh token is refused, the profile ends.
  for (const t of mocks.tokens.values()) if (t.platform === 'tiktok' && t.user === 'ttfresh') t.revoked = true;
  assert.equal((await forceRefresh(id)).status, 409);
  assert.deepEqual([(await profile(id)).status, (await profile(id)).disconnect_reason], ['disconnected', 'invalid_grant']);
});

test('Pinterest: a forced refresh rotates at POST /v5/oauth/token (Basic auth); the app and the proxy get the new token; a spent refresh token is refused', async () => {
  const id = await connect('pinterest', 'pinfresh');
  const before = await w.tokensOf(id);
  const sent = calls('pinterest', 'refresh').length;
  const r = await forceRefresh(id);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(calls('pinterest', 'refresh').length, sent + 1);
  const call = calls('pinterest', 'refresh').at(-1);
  assert.deepEqual([call.method, call.path, call.headers.authorization, call.form.grant_type, call.form.refresh_token],
    ['POST', '/v5/oauth/token', basic('pinterest'), 'refresh_token', before.refresh]);
  const after = await w.tokensOf(id);
  assert.notEqual(after.access, before.access);
  assert.notEqual(after.refresh, before.refresh, 'the continuous-refresh token is stored');
  assert.equal(mocks.tokens.get(after.refresh).revoked, false);
  assert.equal(await accessToken(id), after.access);
  assert.deepEqual(await throughProxy(id, 'pinterest', 'v5/user_account'), { status: 200, sent: `Bearer ${after.access}` });
  const spent = await askPlatform('https://api.pinterest.com/v5/oauth/token', formPost({ authorization: basic('pinterest') }, {
    grant_type: 'refresh_token', refresh_token: before.refresh,
  }));
  assert.equal(spent.status, 400);
  // The worker meets the refusal too: nothing is stored. Pinterest's error answer ({code,
  // message}) names no OAuth error, so the worker takes it as transient and retries later.
  mocks.tokens.get(after.refresh).revoked = true;
  const dead = await forceRefresh(id);
  assert.deepEqual([dead.status, dead.body.error.code], [502, 'upstream_error']);
  assert.deepEqual(await w.tokensOf(id), after);
});

test('Reddit: a forced refresh at POST /api/v1/access_token (Basic auth, its User-Agent) keeps the refresh token, which works again; a revoked one is invalid_grant', async () => {
  const id = await connect('reddit', 'rdfresh');
  const before = await w.tokensOf(id);
  const sent = calls('reddit', 'refresh').length;
  const r = await forceRefresh(id);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const call = calls('reddit', 'refresh').at(-1);
  assert.deepEqual([call.method, call.path, call.headers.authorization, call.form.grant_type, call.form.refresh_token],
    ['POST', '/api/v1/access_token', basic('reddit'), 'refresh_token', before.refresh]);
  assert.match(call.headers['user-agent'], /^web:connect-links:/);
  const after = await w.tokensOf(id);
  assert.notEqual(after.access, before.access);
  assert.equal(after.refresh, before.refresh, 'no rotation: the same refresh token is kept');
  assert.equal(await accessToken(id), after.access);
  assert.deepEqual(await throughProxy(id, 'reddit', 'api/v1/me'), { status: 200, sent: `Bearer ${after.access}` });
  // The kept refresh token works again.
  assert.equal((await forceRefresh(id)).status, 200);
  assert.equal(calls('reddit', 'refresh').length, sent + 2);
  assert.equal(calls('reddit', 'refresh').at(-1).form.refresh_token, before.refresh);
  // An unknown refresh token: Reddit's invalid_grant, in a 200.
  const unknown = await askPlatform('https://www.reddit.com/api/v1/access_token', formPost({ authorization: basic('reddit'), 'user-agent': call.headers['user-agent'] }, {
    grant_type: 'refresh_token', refresh_token: 'rdrt_unknown',
  }));
  assert.deepEqual([unknown.status, unknown.body], [200, { error: 'invalid_grant' }]);
  // The user revokes the app: the worker meets the same answer and ends the profile.
  mocks.tokens.get(before.refresh).revoked = true;
  assert.equal((await forceRefresh(id)).status, 409);
  assert.deepEqual([(await profile(id)).status, (await profile(id)).disconnect_reason], ['disconnected', 'invalid_grant']);
});

test('Threads: a forced refresh exchanges the long-lived token at GET /refresh_access_token (th_refresh_token); the app and the proxy get the new token; a dead token is refused with 190', async () => {
  const id = await connect('threads', 'thfresh');
  const before = await w.tokensOf(id);
  assert.match(before.access, /^THlong_/, 'the long-lived token from the swap');
  // Threads refreshes tokens at least 24 hours old (the worker does not ask before): a day on,
  // on both sides.
  const dayOld = async () => {
    await w.sql('UPDATE grants SET token_issued_at = ? WHERE id = (SELECT grant_id FROM profiles WHERE id = ?)', now() - 25 * 3600, id);
    mocks.age((await w.tokensOf(id)).access, 25 * 3600);
  };
  await dayOld();
  const sent = calls('threads', 'refresh').length;
  const r = await forceRefresh(id);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(calls('threads', 'refresh').length, sent + 1);
  const call = calls('threads', 'refresh').at(-1);
  assert.deepEqual([call.method, call.path, call.query], ['GET', '/refresh_access_token', { grant_type: 'th_refresh_token', access_token: before.access }]);
  const after = await w.tokensOf(id);
  assert.match(after.access, /^THlong_/);
  assert.notEqual(after.access, before.access);
  assert.equal(await accessToken(id), after.access);
  assert.deepEqual(await throughProxy(id, 'threads', 'v1.0/me?fields=id'), { status: 200, sent: `Bearer ${after.access}` });
  // A short-lived or unknown token is not refreshed: Graph's 190.
  const unknown = await askPlatform('https://graph.threads.net/refresh_access_token?grant_type=th_refresh_token&access_token=THlong_unknown', { method: 'GET' });
  assert.deepEqual([unknown.status, unknown.body.error.code], [400, 190]);
  // The user removes the app: the worker meets 190 and ends the profile.
  mocks.tokens.get(after.access).revoked = true;
  await dayOld();
  assert.equal((await forceRefresh(id)).status, 409);
  assert.deepEqual([(await profile(id)).status, (await profile(id)).disconnect_reason], ['disconnected', 'revoked']);
});

test('Threads: a forced refresh of a token under 24 hours old is a 409 with no call; Threads itself would refuse it', async () => {
  const id = await connect('threads', 'thyoung');
  const before = await w.tokensOf(id);
  const sent = calls('threads', 'refresh').length;
  const r = await forceRefresh(id);
  assert.equal(r.status, 409, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'conflict');
  assert.equal(calls('threads', 'refresh').length, sent, 'the worker did not ask Threads');
  assert.deepEqual(await w.tokensOf(id), before);
  assert.equal((await profile(id)).status, 'active');
  // Asked anyway, Threads refuses a token that young (so a call would have shown).
  const young = await askPlatform(`https://graph.threads.net/refresh_access_token?grant_type=th_refresh_token&access_token=${before.access}`, { method: 'GET' });
  assert.deepEqual([young.status, young.body.error.type, young.body.error.code], [400, 'OAuthException', 100]);
  assert.match(young.body.error.message, /24 hours/);
});

test('a scope the platform does not know is refused at its consent screen, in its own way: no code, and the app hears access_denied', async () => {
  const unknown = { tiktok: 'video.delete', pinterest: 'pins:delete', reddit: 'moderate', threads: 'threads_manage_everything' };
  for (const platform of ['tiktok', 'pinterest', 'reddit']) {
    const link = await w.createLink(app.api_key, { platform, redirect_url: REDIRECT, scopes: [unknown[platform]] });
    const codes = mocks.codes.size;
    const refused = mocks.approve(link.authorize_url, { user: 'scoper' });
    assert.equal(refused.code, undefined, platform);
    assert.equal(mocks.codes.size, codes, `${platform} issued no code`);
    assert.equal(refused.back.origin + refused.back.pathname, `${w.base}/oauth/callback`);
    assert.deepEqual([refused.back.searchParams.get('error'), refused.back.searchParams.get('state')], ['invalid_scope', refused.state]);
    const res = await w.callback(refused.back);
    assert.equal(res.status, 302);
    const q = new URL(res.headers.get('location')).searchParams;
    assert.deepEqual([q.get('connected'), q.get('error'), q.get('link_id')], ['false', 'access_denied', link.id], platform);
  }
  // Meta's dialog shows the error itself and sends nobody back.
  const link = await w.createLink(app.api_key, { platform: 'threads', redirect_url: REDIRECT, scopes: ['threads_basic', unknown.threads] });
  const refused = mocks.approve(link.authorize_url, { user: 'scoper' });
  assert.deepEqual([refused.code, refused.back], [undefined, undefined]);
  assert.match(refused.page, /Invalid Scopes: threads_manage_everything/);
});
