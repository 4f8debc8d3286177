// Self-check of the platform mocks' second clients: `node tests/e2e/platform-mocks.selfcheck.mjs`.
// Plays the worker's calls by hand: an app's own client (allowClient) is taken beside the
// deployment's, any other id or a wrong secret is refused, a code or token stays with the
// client it was issued to, and each call records the client id it used.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { PlatformMocks, credsFor } from './platform-mocks.mjs';

const m = new PlatformMocks();
const redirect = 'https://links.acme.com/oauth/callback';
const verifier = crypto.randomBytes(32).toString('base64url');
const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
const basic = (id, secret) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const check = async (name, fn) => {
  await fn();
  console.log(`ok - ${name}`);
};
const post = async (url, form, headers = {}) => {
  const res = await m.handle(new Request(url, {
    method: 'POST', body: new URLSearchParams(form).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  }));
  return { status: res.status, body: await res.json(), call: m.calls.at(-1) };
};
const get = async (url) => {
  const res = await m.handle(new Request(url));
  return { status: res.status, body: await res.json(), call: m.calls.at(-1) };
};
const xAuthorize = (clientId) => `https://x.com/i/oauth2/authorize?${new URLSearchParams({
  response_type: 'code', client_id: clientId, redirect_uri: redirect, scope: 'tweet.read users.read offline.access', state: 'st4te',
  code_challenge: challenge, code_challenge_method: 'S256',
})}`;
const xToken = (code, id, secret) => post('https://api.x.com/2/oauth2/token',
  { grant_type: 'authorization_code', code, redirect_uri: redirect, code_verifier: verifier }, { authorization: basic(id, secret) });

await check('an unknown client is refused at the consent screen until an app registers it', async () => {
  assert.throws(() => m.approve(xAuthorize('tenant-x')), /wrong client id tenant-x/);
  assert.throws(() => m.allowClient('x', credsFor('x').id, 'other'), /deployment's client/);
  m.allowClient('x', 'tenant-x', 'tenant-x-secret');
  const a = m.approve(xAuthorize('tenant-x'), { user: 'ten' });
  assert.equal(a.clientId, 'tenant-x');
  assert.deepEqual(m.authorizations.at(-1), { platform: 'x', clientId: 'tenant-x', user: 'ten', scopes: ['tweet.read', 'users.read', 'offline.access'], authType: null });
  assert.equal(m.approve(xAuthorize(credsFor('x').id)).clientId, credsFor('x').id, "the deployment's client still passes");
});

await check("X: either client exchanges its own code, with its own secret only", async () => {
  const mine = m.approve(xAuthorize('tenant-x'), { user: 'ten' });
  assert.equal((await xToken(mine.code, 'tenant-x', credsFor('x').secret)).status, 401, "the deployment's secret with the app's id");
  assert.equal((await xToken(mine.code, 'someone-else', 'tenant-x-secret')).status, 401, 'an unknown id');
  const other = await xToken(mine.code, credsFor('x').id, credsFor('x').secret);
  assert.equal(other.status, 400, "the deployment's client cannot redeem the app's code");
  assert.equal(other.body.error, 'invalid_grant');
  assert.equal(other.call.clientId, credsFor('x').id);
  const again = m.approve(xAuthorize('tenant-x'), { user: 'ten' });
  const ok = await xToken(again.code, 'tenant-x', 'tenant-x-secret');
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.call.clientId, 'tenant-x', 'the call records the client id it used');
  assert.equal(m.clientOfToken(ok.body.access_token), 'tenant-x');
  const me = await m.handle(new Request('https://api.x.com/2/users/me?user.fields=profile_image_url', { headers: { authorization: `Bearer ${ok.body.access_token}` } }));
  assert.equal(me.status, 200);
  assert.equal(m.calls.at(-1).clientId, 'tenant-x', "a bearer call records its token's client");

  // The refresh token is the app's: the deployment's client cannot spend it, the app can.
  const refresh = (id, secret) => post('https://api.x.com/2/oauth2/token', { grant_type: 'refresh_token', refresh_token: ok.body.refresh_token }, { authorization: basic(id, secret) });
  assert.equal((await refresh(credsFor('x').id, credsFor('x').secret)).status, 400);
  assert.equal(m.tokens.get(ok.body.refresh_token).revoked, false, 'a refused refresh does not spend the token');
  const renewed = await refresh('tenant-x', 'tenant-x-secret');
  assert.equal(renewed.status, 200);
  assert.equal(m.clientOfToken(renewed.body.access_token), 'tenant-x');

  // Revoke: the deployment's client does not end the app's token; the app's does.
  const revoke = (id, secret) => post('https://api.x.com/2/oauth2/revoke', { token: renewed.body.access_token }, { authorization: basic(id, secret) });
  await revoke(credsFor('x').id, credsFor('x').secret);
  assert.equal(m.tokens.get(renewed.body.access_token).revoked, false);
  await revoke('tenant-x', 'tenant-x-secret');
  assert.equal(m.tokens.get(renewed.body.access_token).revoked, true);
});

await check('a secret rotated at the platform: the old one is refused, the new one taken', async () => {
  m.allowClient('x', 'tenant-x', 'tenant-x-secret-2');
  const a = m.approve(xAuthorize('tenant-x'), { user: 'rot' });
  assert.equal((await xToken(a.code, 'tenant-x', 'tenant-x-secret')).status, 401);
  assert.equal((await xToken(a.code, 'tenant-x', 'tenant-x-secret-2')).status, 200);
  m.forgetClient('x', 'tenant-x');
  assert.throws(() => m.approve(xAuthorize('tenant-x')), /wrong client id/);
});

await check('body-auth platforms (LinkedIn, TikTok) and the custom providers take the second client too', async () => {
  m.allowClient('linkedin', 'tenant-li', 'tenant-li-secret');
  const q = new URLSearchParams({ response_type: 'code', client_id: 'tenant-li', redirect_uri: redirect, scope: 'openid profile', state: 's' });
  const a = m.approve(`https://www.linkedin.com/oauth/v2/authorization?${q}`);
  const token = (id, secret) => post('https://www.linkedin.com/oauth/v2/accessToken', { grant_type: 'authorization_code', code: a.code, redirect_uri: redirect, client_id: id, client_secret: secret });
  assert.equal((await token('tenant-li', credsFor('linkedin').secret)).status, 401);
  const ok = await token('tenant-li', 'tenant-li-secret');
  assert.equal(ok.status, 200);
  assert.equal(ok.call.clientId, 'tenant-li');

  m.allowClient('tiktok', 'tenant-tt', 'tenant-tt-secret');
  const tq = new URLSearchParams({ response_type: 'code', client_key: 'tenant-tt', redirect_uri: redirect, scope: 'user.info.basic', state: 's', code_challenge: challenge, code_challenge_method: 'S256' });
  const t = m.approve(`https://www.tiktok.com/v2/auth/authorize/?${tq}`);
  assert.equal(t.clientId, 'tenant-tt');
  const tt = await post('https://open.tiktokapis.com/v2/oauth/token/', { grant_type: 'authorization_code', code: t.code, redirect_uri: redirect, code_verifier: verifier, client_key: 'tenant-tt', client_secret: 'tenant-tt-secret' });
  assert.equal(tt.status, 200, JSON.stringify(tt.body));
  assert.equal(tt.call.clientId, 'tenant-tt');

  m.allowClient('globex', 'tenant-glx', 'tenant-glx-secret');
  const gq = new URLSearchParams({ response_type: 'code', client_id: 'tenant-glx', redirect_uri: redirect, scope: 'read', state: 's' });
  const g = m.approve(`https://login.globex.test/oauth/authorize?${gq}`);
  const glx = await post('https://login.globex.test/oauth/token', { grant_type: 'authorization_code', code: g.code, redirect_uri: redirect, client_id: 'tenant-glx', client_secret: 'tenant-glx-secret' });
  assert.equal(glx.status, 200, JSON.stringify(glx.body));
});

await check("Meta: a second Facebook Login app and an Instagram swap with the token's own app secret", async () => {
  m.allowClient('facebook', 'tenant-fb', 'tenant-fb-secret');
  const fq = new URLSearchParams({ response_type: 'code', client_id: 'tenant-fb', redirect_uri: redirect, scope: 'pages_show_list', state: 's' });
  const a = m.approve(`https://www.facebook.com/v25.0/dialog/oauth?${fq}`);
  assert.equal(a.clientId, 'tenant-fb');
  const fbToken = (q) => get(`https://graph.facebook.com/v25.0/oauth/access_token?${new URLSearchParams(q)}`);
  assert.equal((await fbToken({ client_id: 'tenant-fb', client_secret: credsFor('facebook').secret, redirect_uri: redirect, code: a.code })).status, 400);
  const short = await fbToken({ client_id: 'tenant-fb', client_secret: 'tenant-fb-secret', redirect_uri: redirect, code: a.code });
  assert.equal(short.status, 200, JSON.stringify(short.body));
  assert.equal(short.call.platform, 'facebook');
  const swap = (id, secret) => fbToken({ grant_type: 'fb_exchange_token', client_id: id, client_secret: secret, fb_exchange_token: short.body.access_token });
  assert.equal((await swap(credsFor('facebook').id, credsFor('facebook').secret)).status, 400, "the deployment's app cannot swap the app's token");
  assert.equal((await swap('tenant-fb', 'tenant-fb-secret')).status, 200);

  m.allowClient('instagram', 'tenant-ig', 'tenant-ig-secret');
  const iq = new URLSearchParams({ response_type: 'code', client_id: 'tenant-ig', redirect_uri: redirect, scope: 'instagram_business_basic', state: 's' });
  const i = m.approve(`https://www.instagram.com/oauth/authorize?${iq}`);
  const ig = await post('https://api.instagram.com/oauth/access_token', { grant_type: 'authorization_code', code: i.code, redirect_uri: redirect, client_id: 'tenant-ig', client_secret: 'tenant-ig-secret' });
  assert.equal(ig.status, 200, JSON.stringify(ig.body));
  const shortIg = ig.body.data[0].access_token;
  const igSwap = (secret) => get(`https://graph.instagram.com/access_token?${new URLSearchParams({ grant_type: 'ig_exchange_token', client_secret: secret, access_token: shortIg })}`);
  assert.equal((await igSwap(credsFor('instagram').secret)).status, 400, "the deployment's secret does not swap the app's token");
  const long = await igSwap('tenant-ig-secret');
  assert.equal(long.status, 200);
  assert.equal(long.call.clientId, 'tenant-ig', "a swap records its token's client");
});

await check("Acme (custom provider): refresh at token_url and RFC 7009 revoke, each for the token's own client only", async () => {
  m.allowClient('acme', 'tenant-acme', 'tenant-acme-secret');
  const aq = new URLSearchParams({ response_type: 'code', client_id: 'tenant-acme', redirect_uri: redirect, scope: 'openid offline_access', state: 's', code_challenge: challenge, code_challenge_method: 'S256' });
  const a = m.approve(`https://id.acme.test/authorize?${aq}`, { user: 'acmeself' });
  const ok = await post('https://id.acme.test/token', { grant_type: 'authorization_code', code: a.code, redirect_uri: redirect, code_verifier: verifier }, { authorization: basic('tenant-acme', 'tenant-acme-secret') });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  const refresh = (id, secret, rt = ok.body.refresh_token) => post('https://id.acme.test/token', { grant_type: 'refresh_token', refresh_token: rt }, { authorization: basic(id, secret) });
  assert.equal((await refresh('tenant-acme', credsFor('acme').secret)).status, 401, "the deployment's secret with the app's id");
  const other = await refresh(credsFor('acme').id, credsFor('acme').secret);
  assert.deepEqual([other.status, other.body.error], [400, 'invalid_grant'], "the deployment's client cannot spend the app's refresh token");
  assert.equal(m.tokens.get(ok.body.refresh_token).revoked, false, 'a refused refresh does not spend the token');
  const renewed = await refresh('tenant-acme', 'tenant-acme-secret');
  assert.equal(renewed.status, 200, JSON.stringify(renewed.body));
  assert.deepEqual([renewed.call.endpoint, renewed.call.clientId], ['refresh', 'tenant-acme']);
  assert.equal(m.clientOfToken(renewed.body.access_token), 'tenant-acme');
  assert.equal(m.tokens.get(ok.body.refresh_token).revoked, true, 'rotated: the refresh token sent is spent');
  assert.equal((await refresh('tenant-acme', 'tenant-acme-secret')).status, 400, 'a spent refresh token is refused');

  const revoke = async (id, secret) => {
    const res = await m.handle(new Request('https://id.acme.test/revoke', {
      method: 'POST', body: new URLSearchParams({ token: renewed.body.refresh_token }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(id, secret) },
    }));
    return { status: res.status, call: m.calls.at(-1) };
  };
  assert.equal((await revoke('tenant-acme', 'wrong')).status, 401);
  const wrong = await revoke(credsFor('acme').id, credsFor('acme').secret);
  assert.equal(wrong.status, 200, 'RFC 7009: answered alike for a token of another client');
  assert.equal(m.tokens.get(renewed.body.refresh_token).revoked, false, '...and left alone');
  const done = await revoke('tenant-acme', 'tenant-acme-secret');
  assert.deepEqual([done.status, done.call.endpoint, done.call.clientId], [200, 'revoke', 'tenant-acme']);
  assert.equal(m.tokens.get(renewed.body.refresh_token).revoked, true);
  assert.equal(m.tokens.get(renewed.body.access_token).revoked, true, 'the grant ends: its access token too');
  const me = await m.handle(new Request('https://api.acme.test/userinfo', { headers: { authorization: `Bearer ${renewed.body.access_token}` } }));
  assert.equal(me.status, 401, 'a revoked token is refused at userinfo');
});
