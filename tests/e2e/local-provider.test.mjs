// A custom provider served over plain http on 127.0.0.1, as a local identity server
// (Keycloak, Ory Hydra, node oidc-provider) is in development: a real node http server with
// an authorize step, a token endpoint (HTTP Basic, PKCE S256, authorization_code and
// refresh_token grants) and a userinfo endpoint. The worker reaches it by a real fetch.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { startWorker, freePort } from './harness.mjs';

const ID = 'localid';
const CLIENT = { id: 'local-client', secret: 'local-secret' };
const REDIRECT = 'https://app.example.com/connected';

const rand = (p) => `${p}${crypto.randomBytes(12).toString('hex')}`;
const s256 = (v) => crypto.createHash('sha256').update(v).digest('base64url');

/** A minimal OAuth 2.0 server on 127.0.0.1 that refuses what a strict one refuses. */
class LocalIdp {
  constructor() {
    this.codes = new Map(); // code -> { user, redirectUri, challenge, scope }
    this.tokens = new Map(); // token -> { user, scope, kind, live }
    this.calls = []; // { method, path, form, authorization }
    this.nextUser = 'ada'; // who "signs in" at the next authorize request
  }

  async start() {
    const port = await freePort();
    this.base = `http://127.0.0.1:${port}`;
    // Connection: close on every answer, as in platform-mocks.mjs (no pooled socket that
    // Node closes after 5 s idle for workerd to trip over).
    this.server = http.createServer((req, res) => {
      res.setHeader('connection', 'close');
      this.route(req, res);
    });
    await new Promise((resolve) => this.server.listen(port, '127.0.0.1', resolve));
  }

  stop() {
    return new Promise((resolve) => this.server.close(resolve));
  }

  async route(req, res) {
    const url = new URL(req.url, this.base);
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks).toString('utf8');
    const form = Object.fromEntries(new URLSearchParams(body));
    this.calls.push({ method: req.method, path: url.pathname, form, authorization: req.headers.authorization });
    const send = (status, json, headers = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(json));
    };
    const oauthError = (status, error, description) => send(status, { error, error_description: description });
    if (req.method === 'GET' && url.pathname === '/authorize') return this.authorize(url, res, oauthError);
    if (req.method === 'POST' && url.pathname === '/token') return this.token(req, form, send, oauthError);
    if (req.method === 'GET' && url.pathname === '/userinfo') {
      const m = /^Bearer (.+)$/.exec(req.headers.authorization || '');
      const g = m && this.tokens.get(m[1]);
      if (!g || g.kind !== 'access' || !g.live) return send(401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
      return send(200, { sub: `local|${g.user}`, preferred_username: `loc_${g.user}`, name: `Local ${g.user}`, email: `${g.user}@local.test` });
    }
    return send(404, { error: 'not_found' });
  }

  /** The consent step, approved at once for `nextUser`: redirects back with a code. */
  authorize(url, res, oauthError) {
    const q = url.searchParams;
    if (q.get('client_id') !== CLIENT.id) return oauthError(400, 'invalid_client', 'unknown client');
    if (q.get('response_type') !== 'code' || !q.get('state') || !q.get('redirect_uri')) return oauthError(400, 'invalid_request', 'bad authorize request');
    if (!q.get('code_challenge') || q.get('code_challenge_method') !== 'S256') return oauthError(400, 'invalid_request', 'PKCE S256 required');
    const code = rand('code_');
    this.codes.set(code, { user: this.nextUser, redirectUri: q.get('redirect_uri'), challenge: q.get('code_challenge'), scope: q.get('scope') || '' });
    const back = new URL(q.get('redirect_uri'));
    back.searchParams.set('code', code);
    back.searchParams.set('state', q.get('state'));
    res.writeHead(302, { location: back.toString() });
    res.end();
  }

  token(req, form, send, oauthError) {
    const basic = `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`;
    if (req.headers.authorization !== basic || form.client_secret) return oauthError(401, 'invalid_client', 'HTTP Basic client authentication required');
    if (!(req.headers['content-type'] || '').startsWith('application/x-www-form-urlencoded')) return oauthError(400, 'invalid_request', 'form body required');
    const issue = (user, scope) => {
      const access = rand('lat_');
      const refresh = rand('lrt_');
      this.tokens.set(access, { user, scope, kind: 'access', live: true });
      this.tokens.set(refresh, { user, scope, kind: 'refresh', live: true });
      return send(200, { access_token: access, token_type: 'Bearer', expires_in: 3600, refresh_token: refresh, scope });
    };
    if (form.grant_type === 'authorization_code') {
      const g = this.codes.get(form.code);
      if (!g) return oauthError(400, 'invalid_grant', 'unknown or used code');
      this.codes.delete(form.code);
      if (g.redirectUri !== form.redirect_uri) return oauthError(400, 'invalid_grant', 'redirect_uri mismatch');
      if (!form.code_verifier) return oauthError(400, 'invalid_request', 'code_verifier required');
      if (s256(form.code_verifier) !== g.challenge) return oauthError(400, 'invalid_grant', 'PKCE verification failed');
      return issue(g.user, g.scope);
    }
    if (form.grant_type === 'refresh_token') {
      const g = this.tokens.get(form.refresh_token);
      if (!g || g.kind !== 'refresh' || !g.live) return oauthError(400, 'invalid_grant', 'unknown or used refresh token');
      g.live = false; // rotating, as Hydra and Keycloak can be configured to
      return issue(g.user, g.scope);
    }
    return oauthError(400, 'unsupported_grant_type', 'unsupported grant_type');
  }

  of(path, grant) {
    return this.calls.filter((c) => c.path === path && (!grant || c.form.grant_type === grant));
  }
}

const idp = new LocalIdp();
let w;
let app;

before(async () => {
  await idp.start();
  const CUSTOM_PROVIDERS = {
    [ID]: {
      name: 'Local ID', authorize_url: `${idp.base}/authorize`, token_url: `${idp.base}/token`,
      userinfo_url: `${idp.base}/userinfo`, scopes: ['openid', 'profile', 'offline_access'],
    },
    // Refused, so never listed: plain http off loopback, a loopback look-alike, an email as the id.
    plainhttp: { name: 'Plain', authorize_url: 'http://id.example.com/a', token_url: 'http://id.example.com/t', userinfo_url: 'http://id.example.com/u' },
    lookalike: { name: 'Look-alike', authorize_url: 'http://127.0.0.1.nip.io/a', token_url: 'http://127.0.0.1.nip.io/t', userinfo_url: 'http://127.0.0.1.nip.io/u' },
    byemail: { name: 'By email', authorize_url: `${idp.base}/authorize`, token_url: `${idp.base}/token`, userinfo_url: `${idp.base}/userinfo`, user_id_field: 'email' },
  };
  // No outbound handler: the worker's fetch goes straight to the loopback server, as it would
  // under `make dev`.
  w = await startWorker({
    vars: {
      CUSTOM_PROVIDERS: JSON.stringify(CUSTOM_PROVIDERS),
      [`${ID.toUpperCase()}_CLIENT_ID`]: CLIENT.id,
      [`${ID.toUpperCase()}_CLIENT_SECRET`]: CLIENT.secret,
    },
  });
  app = await w.createApp('Local provider app', [REDIRECT]);
});
after(async () => {
  await w?.stop();
  await idp.stop();
});

/**
 * The browser's part of a connect, kept in one place: creates a link, opens it, lets the
 * local server approve, follows its redirect into the worker's hosted callback, and returns
 * the query of the final redirect to the app.
 */
async function connectThroughHostedCallback(user) {
  idp.nextUser = user;
  const link = await w.createLink(app.api_key, { platform: ID, redirect_url: REDIRECT });
  const open = await fetch(link.url, { redirect: 'manual' });
  assert.equal(open.status, 302);
  const authorizeUrl = open.headers.get('location');
  assert.ok(authorizeUrl.startsWith(`${idp.base}/authorize?`), authorizeUrl);
  const consent = await fetch(authorizeUrl, { redirect: 'manual' });
  assert.equal(consent.status, 302, await consent.text());
  const back = new URL(consent.headers.get('location'));
  assert.equal(back.origin + back.pathname, `${w.base}/oauth/callback`);
  // The harness plays the app's redirect handler: it claims the connect.
  const res = await w.callback(back);
  assert.equal(res.status, 302, await res.text());
  const final = new URL(res.headers.get('location'));
  assert.equal(final.origin + final.pathname, REDIRECT);
  return Object.fromEntries(final.searchParams);
}

test('an http provider on 127.0.0.1 is listed; http off loopback and an email user id are not', async () => {
  const r = await w.call('GET', '/v1/platforms', { token: app.api_key });
  assert.equal(r.status, 200);
  const ids = r.body.data.map((p) => p.id);
  assert.ok(ids.includes(ID), JSON.stringify(ids));
  for (const refused of ['plainhttp', 'lookalike', 'byemail']) assert.ok(!ids.includes(refused), refused);
  assert.equal(r.body.data.find((p) => p.id === ID).configured, true);
});

test('connecting through the hosted callback creates a profile keyed on the provider id', async () => {
  const q = await connectThroughHostedCallback('grace');
  assert.equal(q.connected, 'true', JSON.stringify(q));
  assert.match(q.profile_id, /^prf_/);
  const p = (await w.call('GET', `/v1/profiles/${q.profile_id}`, { token: app.api_key })).body;
  assert.deepEqual([p.platform, p.platform_user_id, p.username, p.display_name], [ID, 'local|grace', 'loc_grace', 'Local grace']);
  const exchange = idp.of('/token', 'authorization_code').at(-1);
  assert.equal(exchange.authorization, `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`);
  assert.match(exchange.form.code_verifier, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(exchange.form.client_secret, undefined);
  assert.ok(idp.of('/userinfo').length >= 1);
});

test('a forced refresh reaches the local server with the stored refresh token', async () => {
  const q = await connectThroughHostedCallback('linus');
  assert.equal(q.connected, 'true', JSON.stringify(q));
  const issued = [...idp.tokens].filter(([, g]) => g.user === 'linus' && g.kind === 'refresh').map(([t]) => t);
  assert.equal(issued.length, 1);
  const before = (await w.call('GET', `/v1/profiles/${q.profile_id}/access-token`, { token: app.api_key })).body.access_token;
  const calls = idp.of('/token', 'refresh_token').length;

  const r = await w.call('POST', `/v1/profiles/${q.profile_id}/refresh`, { token: app.api_key });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(idp.of('/token', 'refresh_token').length, calls + 1);
  const call = idp.of('/token', 'refresh_token').at(-1);
  assert.equal(call.form.refresh_token, issued[0]);
  assert.ok(call.authorization.startsWith('Basic '));
  const after = (await w.call('GET', `/v1/profiles/${q.profile_id}/access-token`, { token: app.api_key })).body.access_token;
  assert.notEqual(after, before);
  assert.equal(idp.tokens.get(after).user, 'linus');
  assert.equal((await w.call('GET', `/v1/profiles/${q.profile_id}`, { token: app.api_key })).body.status, 'active');
});
