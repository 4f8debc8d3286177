// Every built-in redirect platform, and providers defined only by CUSTOM_PROVIDERS,
// connected end to end on the real runtime against mocks that speak each platform's dialect.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';
import { PlatformMocks, credsFor, credentialVars, CUSTOM_PROVIDERS } from './platform-mocks.mjs';

const PLATFORMS = ['instagram', 'facebook', 'threads', 'linkedin', 'x', 'youtube', 'tiktok', 'pinterest', 'reddit'];
const META = ['instagram', 'facebook', 'threads'];
const REDIRECT = 'https://app.example.com/connected';
const DAY = 24 * 3600;

const mocks = new PlatformMocks();
let w;
let app;

before(async () => {
  const vars = { ...credentialVars([...PLATFORMS, 'acme', 'globex']), CUSTOM_PROVIDERS: JSON.stringify(CUSTOM_PROVIDERS) };
  w = await startWorker({ vars, outbound: mocks.handle });
  app = await w.createApp('Platforms app', [REDIRECT]);
});
after(async () => { await w?.stop(); });

function connect(platform, opts = {}) {
  return w.connectWithMock(mocks, app.api_key, platform, { redirect: REDIRECT, ...opts });
}

/** The grant behind a profile (its tokens; envelopes are bound to the grant's id, `row.id`). */
async function grantRow(id) {
  return w.grantRow(id);
}

const lastCall = (platform, endpoint) => mocks.calls.filter((c) => c.platform === platform && c.endpoint === endpoint).at(-1);

for (const platform of PLATFORMS) {
  test(`${platform}: connects end to end in its own dialect`, async () => {
    const user = `${platform}user`;
    // Meta appends '#_' to the code; the worker must strip it (the mocks refuse '#').
    const { q, link } = await connect(platform, { user, code: (c) => (META.includes(platform) ? `${c}#_` : c) });
    assert.equal(q.connected, 'true', JSON.stringify(q));
    assert.equal(q.platform, platform);
    assert.equal(q.link_id, link.id);
    const p = (await w.call('GET', `/v1/profiles/${q.profile_id}`, { token: app.api_key })).body;
    const expected = {
      instagram: [`17841${user}`, `ig_${user}`, `IG ${user}`, `https://cdn.instagram.test/${user}.jpg`],
      // Facebook connects Pages, not the person: the picker's first, its Page token its own.
      facebook: [`1001${user}`, null, `Page One of ${user}`, `https://cdn.facebook.test/page_1001${user}.jpg`],
      threads: [`th${user}`, `th_${user}`, `TH ${user}`, `https://cdn.threads.test/${user}.jpg`],
      linkedin: [`li_${user}`, null, `LI ${user}`, `https://media.linkedin.test/${user}.jpg`],
      x: [`22${user.length}${user}`, `x_${user}`, `X ${user}`, `https://pbs.x.test/${user}.jpg`],
      youtube: [`UC${user}`, `@yt_${user}`, `YT ${user}`, `https://yt3.test/${user}.jpg`],
      tiktok: [`oid_${user}`, `tt_${user}`, `TT ${user}`, `https://p16.tiktok.test/${user}.jpg`],
      pinterest: [`pin${user}`, `pin_${user}`, `PIN ${user}`, `https://i.pinimg.test/${user}.jpg`],
      reddit: [`t2_${user}`, `rd_${user}`, `RD ${user}`, `https://styles.redditmedia.test/${user}.png`],
    }[platform];
    assert.deepEqual([p.platform_user_id, p.username, p.display_name, p.avatar_url], expected);

    const row = await grantRow(q.profile_id);
    const token = w.openEnvelope(row.access_token_enc, row.id, 'access_token');
    const lifetime = row.access_token_expires_at - row.token_issued_at;
    if (META.includes(platform)) {
      // The long-lived swap happened at connect time: the stored token and expiry are the long ones.
      assert.match(token, /^(IGlong_|EAAlong_|THlong_)/);
      assert.ok(lifetime > 59 * DAY, `lifetime ${lifetime}`);
      assert.equal(lastCall(platform, 'swap').query.client_secret, credsFor(platform).secret);
    } else {
      assert.ok(lifetime > 0 && lifetime <= 60 * DAY, `lifetime ${lifetime}`);
    }
    const tokenCall = lastCall(platform, 'token');
    assert.ok(tokenCall, 'the token endpoint was called');
    assert.equal(lastCall(platform, 'identity').headers.authorization, `Bearer ${token}`);
  });
}

test('dialect details the worker sent: Basic, body credentials, client_key, verifiers, User-Agent', () => {
  const basic = (id) => `Basic ${Buffer.from(`${credsFor(id).id}:${credsFor(id).secret}`).toString('base64')}`;
  for (const id of ['x', 'pinterest', 'reddit']) {
    const c = lastCall(id, 'token');
    assert.equal(c.headers.authorization, basic(id), id);
    assert.equal(c.form.client_secret, undefined, id);
  }
  for (const id of ['linkedin', 'youtube', 'instagram', 'threads']) {
    const c = lastCall(id, 'token');
    assert.equal(c.headers.authorization, undefined, id);
    assert.equal(c.form.client_secret, credsFor(id).secret, id);
  }
  const tt = lastCall('tiktok', 'token');
  assert.equal(tt.form.client_key, credsFor('tiktok').id);
  assert.equal(tt.form.client_id, undefined);
  for (const id of ['x', 'youtube', 'tiktok']) assert.match(lastCall(id, 'token').form.code_verifier, /^[A-Za-z0-9_-]{43}$/, id);
  assert.equal(lastCall('facebook', 'token').method, 'GET');
  assert.equal('code_verifier' in lastCall('facebook', 'token').query, false);
  for (const id of ['instagram', 'threads', 'linkedin', 'pinterest', 'reddit']) assert.equal(lastCall(id, 'token').form.code_verifier, undefined, id);
  assert.match(lastCall('reddit', 'token').headers['user-agent'], /^web:connect-links:/);
  assert.match(lastCall('reddit', 'identity').headers['user-agent'], /^web:connect-links:/);
});

test('the mocks refuse what the real platforms refuse', async () => {
  const post = (url, form, headers = {}) => mocks.handle(new Request(url, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form),
  }));
  // X without Basic, and X without a verifier.
  assert.equal((await post('https://api.x.com/2/oauth2/token', { grant_type: 'authorization_code', code: 'c' })).status, 401);
  const xBasic = `Basic ${Buffer.from('x-client:x-secret').toString('base64')}`;
  const noVerifier = await post('https://api.x.com/2/oauth2/token', { grant_type: 'authorization_code', code: 'c', redirect_uri: 'r' }, { authorization: xBasic });
  assert.match((await noVerifier.json()).error_description, /code_verifier/);
  // LinkedIn with Basic, TikTok with client_id, Facebook with a code_verifier, Reddit without its User-Agent.
  assert.equal((await post('https://www.linkedin.com/oauth/v2/accessToken', { code: 'c' }, { authorization: 'Basic eDp5' })).status, 401);
  assert.match((await (await post('https://open.tiktokapis.com/v2/oauth/token/', { client_id: 'tiktok-client', client_secret: 'tiktok-secret', code: 'c' })).json()).error_description, /client_key/);
  const fb = await mocks.handle(new Request('https://graph.facebook.com/v25.0/oauth/access_token?client_id=facebook-client&client_secret=facebook-secret&code=c&redirect_uri=r&code_verifier=v'));
  assert.match((await fb.json()).error.message, /code_verifier/);
  assert.equal((await post('https://www.reddit.com/api/v1/access_token', { code: 'c' }, { authorization: `Basic ${Buffer.from('reddit-client:reddit-secret').toString('base64')}` })).status, 429);
});

test('a declined scope ends in missing_scopes, leaves no profile and no platform text', async () => {
  const before = (await w.db.prepare('SELECT COUNT(*) AS n FROM profiles').first()).n;
  const { q } = await connect('x', { user: 'decliner', grant: ['tweet.read', 'users.read', 'offline.access'] });
  assert.deepEqual(Object.keys(q).sort(), ['connected', 'error', 'link_id', 'platform']);
  assert.equal(q.connected, 'false');
  assert.equal(q.error, 'missing_scopes');
  const tt = await connect('tiktok', { user: 'decliner2', grant: ['user.info.basic'] });
  assert.equal(tt.q.error, 'missing_scopes');
  assert.equal((await w.db.prepare('SELECT COUNT(*) AS n FROM profiles').first()).n, before);
});

test('a failing token endpoint ends in exchange_failed without leaking its text', async () => {
  const before = (await w.db.prepare('SELECT COUNT(*) AS n FROM profiles').first()).n;
  const leaky = 'Value passed for the code was invalid: LEAKY-DETAIL';
  mocks.failNext('x', 'token', () => new Response(JSON.stringify({ error: 'invalid_request', error_description: leaky }), { status: 400, headers: { 'content-type': 'application/json' } }));
  const { q, final } = await connect('x', { user: 'failer' });
  assert.equal(q.connected, 'false');
  assert.equal(q.error, 'exchange_failed');
  assert.ok(!final.toString().includes('LEAKY') && !final.toString().includes('invalid_request'));
  mocks.failNext('pinterest', 'token', () => new Response('<html>502 Bad Gateway</html>', { status: 502 }));
  assert.equal((await connect('pinterest', { user: 'failer' })).q.error, 'exchange_failed');
  // Reddit reports some errors inside a 200 answer: still a failure.
  mocks.failNext('reddit', 'token', () => new Response(JSON.stringify({ error: 'invalid_grant' }), { status: 200, headers: { 'content-type': 'application/json' } }));
  assert.equal((await connect('reddit', { user: 'failer' })).q.error, 'exchange_failed');
  mocks.failNext('instagram', 'swap', () => new Response(JSON.stringify({ error: { message: 'LEAKY', code: 190 } }), { status: 400 }));
  assert.equal((await connect('instagram', { user: 'failer' })).q.error, 'exchange_failed');
  assert.equal((await w.db.prepare('SELECT COUNT(*) AS n FROM profiles').first()).n, before);
});

test('a failing identity call ends in profile_failed with no profile', async () => {
  const before = (await w.db.prepare('SELECT COUNT(*) AS n FROM profiles').first()).n;
  mocks.failNext('tiktok', 'identity', () => new Response(JSON.stringify({ error: { code: 'internal_error', message: 'LEAKY' } }), { status: 500 }));
  const { q, final } = await connect('tiktok', { user: 'idfail' });
  assert.equal(q.error, 'profile_failed');
  assert.ok(!final.toString().includes('LEAKY'));
  mocks.failNext('youtube', 'identity', () => new Response(JSON.stringify({ items: [] }), { status: 200 }));
  assert.equal((await connect('youtube', { user: 'idfail' })).q.error, 'profile_failed');
  assert.equal((await w.db.prepare('SELECT COUNT(*) AS n FROM profiles').first()).n, before);
});

test('providers defined only in CUSTOM_PROVIDERS connect end to end', async () => {
  const acme = await connect('acme', { user: 'wile' });
  assert.equal(acme.q.connected, 'true', JSON.stringify(acme.q));
  const a = (await w.call('GET', `/v1/profiles/${acme.q.profile_id}`, { token: app.api_key })).body;
  assert.deepEqual([a.platform, a.platform_user_id, a.username, a.display_name, a.avatar_url], ['acme', 'acme|wile', 'acme_wile', 'Acme wile', 'https://acme.test/wile.png']);
  const acmeToken = lastCall('acme', 'token');
  assert.ok(acmeToken.headers.authorization.startsWith('Basic '));
  assert.match(acmeToken.form.code_verifier, /^[A-Za-z0-9_-]{43}$/);

  const link = await w.createLink(app.api_key, { platform: 'globex', redirect_url: REDIRECT });
  const u = new URL(link.authorize_url);
  assert.equal(u.searchParams.get('audience'), 'globex-api');
  assert.equal(u.searchParams.get('scope'), 'read,write');
  assert.equal(u.searchParams.has('code_challenge'), false);
  const globex = await connect('globex', { user: 'hank' });
  assert.equal(globex.q.connected, 'true', JSON.stringify(globex.q));
  const g = (await w.call('GET', `/v1/profiles/${globex.q.profile_id}`, { token: app.api_key })).body;
  assert.deepEqual([g.platform_user_id, g.username, g.display_name], ['4242', 'glx_hank', 'Globex hank']);
  assert.equal(lastCall('globex', 'token').form.client_secret, 'globex-secret');
  assert.equal(lastCall('globex', 'token').headers.authorization, undefined);
  const row = await grantRow(globex.q.profile_id);
  assert.equal(row.access_token_expires_at - row.token_issued_at, 7200, 'expires_in given as a numeric string');
});

test('deleting profiles revokes in each platform\'s style', async () => {
  const x = await connect('x', { user: 'revoker' });
  const xRow = await grantRow(x.q.profile_id);
  const xRefresh = w.openEnvelope(xRow.refresh_token_enc, xRow.id, 'refresh_token');
  assert.equal((await w.call('DELETE', `/v1/profiles/${x.q.profile_id}`, { token: app.api_key })).status, 204);
  const xRevoke = lastCall('x', 'revoke');
  assert.equal(xRevoke.form.token, xRefresh);
  assert.ok(xRevoke.headers.authorization.startsWith('Basic '));

  const fb = await connect('facebook', { user: 'revoker' });
  const fbRow = await grantRow(fb.q.profile_id);
  const fbToken = w.openEnvelope(fbRow.access_token_enc, fbRow.id, 'access_token');
  assert.equal((await w.call('DELETE', `/v1/profiles/${fb.q.profile_id}`, { token: app.api_key })).status, 204);
  assert.equal(lastCall('facebook', 'revoke').headers.authorization, `Bearer ${fbToken}`);

  const tt = await connect('tiktok', { user: 'revoker' });
  const ttRow = await grantRow(tt.q.profile_id);
  const ttAccess = w.openEnvelope(ttRow.access_token_enc, ttRow.id, 'access_token');
  assert.equal((await w.call('DELETE', `/v1/profiles/${tt.q.profile_id}`, { token: app.api_key })).status, 204);
  assert.equal(lastCall('tiktok', 'revoke').form.token, ttAccess, 'TikTok revokes with the access token');
  assert.equal(mocks.tokens.get(ttAccess).revoked, true);
});

test('app-owned callbacks strip Meta\'s #_ too', async () => {
  const link = await w.createLink(app.api_key, { platform: 'threads', redirect_url: REDIRECT, callback: 'app' });
  const { code, state, redirectUri } = mocks.approve(link.authorize_url, { user: 'appcb' });
  assert.equal(redirectUri, REDIRECT);
  const r = await w.call('POST', '/v1/oauth/exchange', { token: app.api_key, json: { code: `${code}#_`, state } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.username, 'th_appcb');
});
