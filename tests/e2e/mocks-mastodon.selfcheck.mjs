// Self-check of the Mastodon mock: `node tests/e2e/mocks-mastodon.selfcheck.mjs`.
// Plays the worker's calls by hand and asserts each instance answers as the real one does.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { MastodonMocks } from './mocks-mastodon.mjs';

const m = new MastodonMocks()
  .addInstance('mastodon.social', { version: '4.3' })
  .addInstance('fosstodon.org', { version: '4.4' })
  .addInstance('old.mastodon-instance.org', { version: '4.2' });

const call = async (method, url, { form, json: body, headers = {} } = {}) => {
  const init = { method, headers: { ...headers } };
  if (form) {
    init.body = new URLSearchParams(form).toString();
    init.headers['content-type'] = 'application/x-www-form-urlencoded';
  } else if (body) {
    init.body = JSON.stringify(body);
    init.headers['content-type'] = 'application/json';
  }
  const res = await m.answer(new Request(url, init), new URL(url));
  return res && { status: res.status, body: await res.json() };
};
const redirect = 'https://links.acme.com/v1/callback/mastodon';
const verifier = crypto.randomBytes(32).toString('base64url');
const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
const authorize = (host, clientId, scope, extra = {}) => {
  const q = new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: redirect, scope, state: 'st4te', ...extra });
  return `https://${host}/oauth/authorize?${q}`;
};
const REG = 'read write push read:accounts read:statuses write:statuses write:media';
const check = async (name, fn) => {
  await fn();
  console.log(`ok - ${name}`);
};

await check('other hosts are left alone', async () => {
  assert.equal(await m.answer(new Request('https://api.x.com/2/users/me'), new URL('https://api.x.com/2/users/me')), null);
});

await check('discovery: 4.3 document with S256 and profile, 404 on 4.2', async () => {
  const d = await call('GET', 'https://mastodon.social/.well-known/oauth-authorization-server');
  assert.equal(d.status, 200);
  assert.deepEqual(d.body.code_challenge_methods_supported, ['S256']);
  assert.ok(d.body.scopes_supported.includes('profile'));
  assert.equal(d.body.token_endpoint, 'https://mastodon.social/oauth/token');
  assert.equal((await call('GET', 'https://old.mastodon-instance.org/.well-known/oauth-authorization-server')).status, 404);
});

let app43, app42, app44;
await check('registration refuses what the version refuses', async () => {
  const old = 'https://old.mastodon-instance.org/api/v1/apps';
  let r = await call('POST', old, { json: { client_name: 'Acme', redirect_uris: [redirect], scopes: 'read' } });
  assert.deepEqual([r.status, r.body.error], [422, "Validation failed: Redirect URI can't be blank"], 'array on 4.2');
  r = await call('POST', old, { form: { client_name: 'Acme', redirect_uris: redirect, scopes: 'read profile' } });
  assert.deepEqual([r.status, r.body.error], [422, "Validation failed: Scopes doesn't match configured on the server."]);
  r = await call('POST', old, { form: { client_name: 'Acme', redirect_uris: '/callback', scopes: 'read' } });
  assert.deepEqual([r.status, r.body.error], [422, 'Validation failed: Redirect URI must be an absolute URI.']);
  r = await call('POST', old, { form: { redirect_uris: redirect } });
  assert.equal(r.status, 422);
  assert.equal(m.registrations('old.mastodon-instance.org'), 0);
  r = await call('POST', old, { form: { client_name: 'Acme', redirect_uris: redirect, scopes: REG, website: 'https://acme.com' } });
  assert.equal(r.status, 200);
  assert.ok(r.body.vapid_key && !('scopes' in r.body) && !('redirect_uris' in r.body), '4.2 shape');
  assert.equal(r.body.redirect_uri, redirect);
  app42 = r.body;
  r = await call('POST', 'https://mastodon.social/api/v1/apps', { json: { client_name: 'Acme', redirect_uris: [redirect], scopes: `${REG} profile` } });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.redirect_uris, [redirect]);
  assert.ok(r.body.scopes.includes('profile') && !('client_secret_expires_at' in r.body));
  app43 = r.body;
  r = await call('POST', 'https://fosstodon.org/api/v1/apps', { form: { client_name: 'Acme', redirect_uris: redirect, scopes: REG } });
  assert.equal(r.body.client_secret_expires_at, 0);
  app44 = r.body;
  assert.equal(m.registrations('old.mastodon-instance.org'), 1);
  assert.equal(m.registrations('mastodon.social'), 1);
});

await check('the consent screen checks scopes by exact name', async () => {
  const r = await call('POST', 'https://mastodon.social/api/v1/apps', { form: { client_name: 'Coarse', redirect_uris: redirect, scopes: 'read write' } });
  assert.throws(() => m.approve(authorize('mastodon.social', r.body.client_id, 'read:statuses')), /invalid_scope/);
  assert.throws(() => m.approve(authorize('mastodon.social', app43.client_id, 'admin:read')), /invalid_scope/);
  assert.throws(() => m.approve(authorize('mastodon.social', app43.client_id, 'read:accounts', { redirect_uri: 'https://evil.com/cb' })), /invalid_redirect_uri/);
  assert.throws(() => m.approve(authorize('mastodon.social', 'nope', 'read')), /invalid_client/);
  assert.throws(() => m.approve(authorize('mastodon.social', app43.client_id, 'read:accounts', { state: '' })), /no state/);
  const denied = m.approve(authorize('mastodon.social', app43.client_id, 'read:accounts'), { deny: true });
  assert.equal(denied.error, 'access_denied');
});

const tokenUrl = (host) => `https://${host}/oauth/token`;
const exchange = (host, app, code, extra = {}) => call('POST', tokenUrl(host), {
  form: { grant_type: 'authorization_code', code, client_id: app.client_id, client_secret: app.client_secret, redirect_uri: redirect, ...extra },
});

let aliceToken;
await check('4.3: PKCE is checked, a code is spent once', async () => {
  const url = authorize('mastodon.social', app43.client_id, 'read:accounts read:statuses', { code_challenge: challenge, code_challenge_method: 'S256' });
  let a = m.approve(url, { user: 'alice' });
  assert.equal(a.state, 'st4te');
  assert.equal((await exchange('mastodon.social', app43, a.code)).body.error, 'invalid_grant', 'verifier missing');
  a = m.approve(url, { user: 'alice' });
  assert.equal((await exchange('mastodon.social', app43, a.code, { code_verifier: 'wrong' })).body.error, 'invalid_grant');
  a = m.approve(url, { user: 'alice' });
  const ok = await exchange('mastodon.social', app43, a.code, { code_verifier: verifier });
  assert.equal(ok.status, 200);
  assert.deepEqual(Object.keys(ok.body).sort(), ['access_token', 'created_at', 'scope', 'token_type']);
  assert.equal(ok.body.token_type, 'Bearer');
  assert.equal(ok.body.scope, 'read:accounts read:statuses');
  aliceToken = ok.body.access_token;
  const again = await exchange('mastodon.social', app43, a.code, { code_verifier: verifier });
  assert.deepEqual([again.status, again.body.error], [400, 'invalid_grant']);
  const noChallenge = m.approve(authorize('mastodon.social', app43.client_id, 'read:accounts'), { user: 'alice' });
  assert.equal((await exchange('mastodon.social', app43, noChallenge.code, { code_verifier: verifier })).body.error, 'invalid_grant', 'verifier without challenge');
  const reused = m.approve(url, { user: 'alice' });
  const same = await exchange('mastodon.social', app43, reused.code, { code_verifier: verifier });
  assert.equal(same.body.access_token, aliceToken, 'reuse_access_token');
});

let oldToken;
await check('4.2: the challenge is ignored, and a verifier fails the exchange', async () => {
  const url = authorize('old.mastodon-instance.org', app42.client_id, 'read:accounts write:statuses', { code_challenge: challenge, code_challenge_method: 'S256' });
  let a = m.approve(url, { user: 'alice' });
  const last = m.authorizations.at(-1);
  assert.deepEqual([last.challengeSent, last.challenge], [true, null]);
  assert.equal((await exchange('old.mastodon-instance.org', app42, a.code, { code_verifier: verifier })).body.error, 'invalid_grant');
  a = m.approve(authorize('old.mastodon-instance.org', app42.client_id, 'read:accounts write:statuses'), { user: 'alice' });
  // Client auth by HTTP Basic this time.
  const basic = `Basic ${Buffer.from(`${app42.client_id}:${app42.client_secret}`).toString('base64')}`;
  const ok = await call('POST', tokenUrl('old.mastodon-instance.org'), {
    form: { grant_type: 'authorization_code', code: a.code, redirect_uri: redirect }, headers: { authorization: basic },
  });
  assert.equal(ok.status, 200);
  oldToken = ok.body.access_token;
  const bad = await exchange('old.mastodon-instance.org', { ...app42, client_secret: 'nope' }, 'x');
  assert.deepEqual([bad.status, bad.body.error], [401, 'invalid_client']);
});

await check('verify_credentials: the account, ids unique per instance only', async () => {
  const here = await call('GET', 'https://mastodon.social/api/v1/accounts/verify_credentials', { headers: { authorization: `Bearer ${aliceToken}` } });
  const there = await call('GET', 'https://old.mastodon-instance.org/api/v1/accounts/verify_credentials', { headers: { authorization: `Bearer ${oldToken}` } });
  assert.equal(here.status, 200);
  assert.equal(typeof here.body.id, 'string');
  assert.equal(here.body.id, there.body.id, 'the same id on two instances');
  assert.deepEqual([here.body.username, here.body.acct, here.body.url], ['alice', 'alice', 'https://mastodon.social/@alice']);
  const unknown = await call('GET', 'https://mastodon.social/api/v1/accounts/verify_credentials', { headers: { authorization: 'Bearer nope' } });
  assert.deepEqual([unknown.status, unknown.body.error], [401, 'The access token is invalid']);
  const tl = await call('GET', 'https://mastodon.social/api/v1/timelines/home', { headers: { authorization: `Bearer ${aliceToken}` } });
  assert.deepEqual([tl.status, tl.body], [200, []]);
  assert.equal((await call('GET', 'https://mastodon.social/api/v1/timelines/home')).status, 401);
});

await check('revoke: only by the owning client; then the token is dead', async () => {
  const r = await call('POST', 'https://fosstodon.org/oauth/revoke', { form: { client_id: app44.client_id, client_secret: app44.client_secret, token: 'unknown' } });
  assert.deepEqual([r.status, r.body], [200, {}]);
  const other = await call('POST', 'https://mastodon.social/oauth/revoke', { form: { client_id: app43.client_id, client_secret: 'wrong', token: aliceToken } });
  assert.deepEqual([other.status, other.body.error], [403, 'unauthorized_client']);
  const ok = await call('POST', 'https://mastodon.social/oauth/revoke', { form: { client_id: app43.client_id, client_secret: app43.client_secret, token: aliceToken } });
  assert.deepEqual([ok.status, ok.body], [200, {}]);
  const dead = await call('GET', 'https://mastodon.social/api/v1/accounts/verify_credentials', { headers: { authorization: `Bearer ${aliceToken}` } });
  assert.deepEqual([dead.status, dead.body.error], [401, 'The access token was revoked']);
  m.revokeAll('old.mastodon-instance.org', 'alice');
  assert.deepEqual(m.tokensOf('old.mastodon-instance.org', 'alice'), []);
});

await check('vacuum: a forgotten app is an unknown client at the token endpoint', async () => {
  const a = m.approve(authorize('fosstodon.org', app44.client_id, 'read:accounts'), { user: 'bob' });
  assert.equal(m.vacuum('fosstodon.org'), 1);
  const r = await exchange('fosstodon.org', app44, a.code);
  assert.deepEqual([r.status, r.body.error], [401, 'invalid_client']);
});

await check('failNext, hold and counters', async () => {
  m.failNext('mastodon.social', 'apps', () => new Response('oops', { status: 503 }));
  const form = { client_name: 'Acme', redirect_uris: redirect, scopes: 'read' };
  assert.equal((await m.answer(new Request('https://mastodon.social/api/v1/apps', { method: 'POST', body: new URLSearchParams(form) }))).status, 503);
  const release = m.hold('mastodon.social', 'apps');
  let done = false;
  const racing = call('POST', 'https://mastodon.social/api/v1/apps', { form }).then((r) => { done = true; return r; });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(done, false, 'held');
  release();
  assert.equal((await racing).status, 200);
  assert.equal(m.count('mastodon.social', 'apps'), 4);
  assert.equal(m.registrations('mastodon.social'), 3);
  assert.ok(m.calls.every((c) => c.host && c.path && c.method && c.headers && c.query && c.form));
});

console.log('mocks-mastodon: all checks passed');
