// The JSON API on the real runtime: operators, API keys, app isolation, the app-owned
// callback exchange, limits and the error format.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import fs from 'node:fs';
import { startWorker } from './harness.mjs';

let w;
before(async () => { w = await startWorker(); });
after(async () => { await w?.stop(); });

const REDIRECT = 'http://localhost:3000/connected';

function assertError(r, status, code) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.error.code, code);
  assert.equal(typeof r.body.error.message, 'string');
  assert.deepEqual(Object.keys(r.body), ['error']);
}

test('GET /openapi.json serves the document the tests check answers against', async () => {
  const r = await w.call('GET', '/openapi.json');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  const file = JSON.parse(fs.readFileSync(new URL('../../openapi/openapi.json', import.meta.url), 'utf8'));
  assert.deepEqual(r.body, file);
  assert.equal(r.body.openapi, '3.1.0');
  // The document is a static asset (build/assets, read through the ASSETS binding), but the
  // answer is the worker's own, with its headers.
  assert.equal(r.headers.get('cache-control'), 'no-store');
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(r.headers.get('etag'), null);
  assert.equal((await w.call('POST', '/openapi.json', { unchecked: true })).status, 405);
});

test('wrangler.toml binds the assets as the harness does, every request reaching the worker first', async () => {
  // Without run_worker_first the platform would serve build/assets/openapi.json at
  // /openapi.json itself, without the worker's headers; the harness binds the assets as a
  // service (no router in front), so this reads what a deploy and `wrangler dev` get.
  const { unstable_readConfig } = await import('wrangler');
  const config = unstable_readConfig({ config: new URL('../../wrangler.toml', import.meta.url).pathname });
  assert.deepEqual(config.assets, { directory: 'build/assets', binding: 'ASSETS', run_worker_first: true });
});

test('admin routes need the admin token', async () => {
  assertError(await w.call('GET', '/v1/admin/apps'), 401, 'unauthorized');
  assertError(await w.call('GET', '/v1/admin/apps', { token: 'wrong' }), 401, 'unauthorized');
  const { api_key } = await w.createApp();
  assertError(await w.call('GET', '/v1/admin/apps', { token: api_key }), 401, 'unauthorized');
});

test('creating an app shows the key and webhook secret once and stores only a hash', async () => {
  const r = await w.admin('POST', '/v1/admin/apps', {
    name: 'Shape app', allowed_redirect_urls: ['https://app.example.com/cb'], webhook_url: 'https://app.example.com/hooks',
  });
  assert.equal(r.status, 201);
  const { app, api_key, webhook_secret } = r.body;
  assert.match(app.id, /^app_[0-9a-f]{32}$/);
  assert.deepEqual(Object.keys(app).sort(), ['accent_color', 'allowed_redirect_urls', 'claim', 'created_at', 'display_name', 'id', 'limits', 'logo_url', 'name', 'platform_events', 'refresh_mode', 'self_service_credentials', 'webhook_url']);
  assert.equal(app.claim, 'required', 'the claim step is on by default');
  assert.match(api_key, /^ck_[A-Za-z0-9_-]{43}$/);
  assert.equal(Buffer.from(webhook_secret.replace(/^whsec_/, ''), 'base64').length, 32);
  const hash = crypto.createHash('sha256').update(api_key).digest('hex');
  const row = await w.db.prepare('SELECT key_hash FROM api_keys WHERE app_id = ?').bind(app.id).first();
  assert.equal(row.key_hash, hash);
  for (const { table, value } of await w.allStoredText()) {
    assert.ok(!value.includes(api_key), `api key in ${table}`);
    assert.ok(!value.includes(webhook_secret.slice(6)), `webhook secret in ${table}`);
  }
  const shown = await w.admin('GET', `/v1/admin/apps/${app.id}`);
  assert.deepEqual(shown.body, app);
});

test('app validation: https required except loopback', async () => {
  for (const urls of [['http://app.example.com/cb'], ['/relative'], [], ['javascript:alert(1)']]) {
    assertError(await w.admin('POST', '/v1/admin/apps', { name: 'x', allowed_redirect_urls: urls }), 400, 'invalid_request');
  }
  assertError(await w.admin('POST', '/v1/admin/apps', { name: 'x' }), 400, 'invalid_request');
});

test('apps list pages with a cursor and PATCH edits the allowlist', async () => {
  for (let i = 0; i < 3; i++) await w.createApp(`Paged ${i}`);
  const seen = new Set();
  let cursor = null;
  do {
    const r = await w.admin('GET', `/v1/admin/apps?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(r.status, 200);
    assert.ok(r.body.data.length <= 2);
    for (const a of r.body.data) seen.add(a.id);
    cursor = r.body.next_cursor;
  } while (cursor);
  const total = await w.db.prepare('SELECT COUNT(*) AS n FROM apps').first();
  assert.equal(seen.size, total.n);
  assertError(await w.admin('GET', '/v1/admin/apps?limit=0'), 400, 'invalid_request');

  const { app, api_key } = await w.createApp('Patch app', [REDIRECT]);
  const p = await w.admin('PATCH', `/v1/admin/apps/${app.id}`, { allowed_redirect_urls: ['http://localhost:4000/done'], webhook_url: null });
  assert.equal(p.status, 200);
  assert.deepEqual(p.body.allowed_redirect_urls, ['http://localhost:4000/done']);
  assertError(await w.call('POST', '/v1/connect-links', { token: api_key, json: { platform: 'sandbox', redirect_url: REDIRECT } }), 422, 'redirect_not_allowed');
  assertError(await w.admin('PATCH', '/v1/admin/apps/app_missing', { name: 'y' }), 404, 'not_found');
});

test('a bad or revoked API key gets 401; another key of the app keeps working', async () => {
  const { app, api_key } = await w.createApp('Keys app', [REDIRECT]);
  assertError(await w.call('GET', '/v1/platforms', { token: 'ck_not-a-key' }), 401, 'unauthorized');
  assertError(await w.call('GET', '/v1/platforms'), 401, 'unauthorized');
  const second = await w.admin('POST', `/v1/admin/apps/${app.id}/api-keys`);
  assert.equal(second.status, 201);
  assert.match(second.body.id, /^key_/);
  assert.equal((await w.call('GET', '/v1/platforms', { token: second.body.api_key })).status, 200);
  const del = await w.call('DELETE', `/v1/admin/api-keys/${second.body.id}`, { token: w.bindings.ADMIN_TOKEN });
  assert.equal(del.status, 204);
  assertError(await w.call('GET', '/v1/platforms', { token: second.body.api_key }), 401, 'unauthorized');
  assertError(await w.call('POST', '/v1/connect-links', { token: second.body.api_key, json: { platform: 'sandbox', redirect_url: REDIRECT } }), 401, 'unauthorized');
  assert.equal((await w.call('GET', '/v1/platforms', { token: api_key })).status, 200);
  assertError(await w.call('DELETE', `/v1/admin/api-keys/${second.body.id}`, { token: w.bindings.ADMIN_TOKEN }), 404, 'not_found');
});

test('GET /v1/platforms lists the sandbox as configured', async () => {
  const { api_key } = await w.createApp();
  const r = await w.call('GET', '/v1/platforms', { token: api_key });
  assert.equal(r.status, 200);
  const sb = r.body.data.find((p) => p.id === 'sandbox');
  assert.deepEqual(sb, {
    id: 'sandbox', name: 'Sandbox', auth: 'oauth2', pkce: true,
    default_scopes: ['profile.read', 'offline.access'], refresh: 'rotating_refresh_token', configured: true, credentials: 'deployment',
  });
});

test('redirect_url outside the allowlist is 422 redirect_not_allowed', async () => {
  const { api_key } = await w.createApp('Allowlist app', [REDIRECT]);
  for (const redirect_url of ['https://evil.example.com/connected', 'http://localhost:3000/connected-evil', 'http://localhost:3001/connected', 'http://localhost:3000/other']) {
    assertError(await w.call('POST', '/v1/connect-links', { token: api_key, json: { platform: 'sandbox', redirect_url } }), 422, 'redirect_not_allowed');
  }
  const ok = await w.call('POST', '/v1/connect-links', { token: api_key, json: { platform: 'sandbox', redirect_url: `${REDIRECT}/sub?x=1` } });
  assert.equal(ok.status, 201);
});

test('a non-ASCII host name is 400 asking for its xn-- form, which works', async () => {
  const idn = 'https://bücher.example/cb';
  const puny = 'https://xn--bcher-kva.example/cb';
  const refused = await w.admin('POST', '/v1/admin/apps', { name: 'IDN app', allowed_redirect_urls: [idn] });
  assertError(refused, 400, 'invalid_request');
  assert.match(refused.body.error.message, /must be ASCII.*xn--/);
  const { api_key } = await w.createApp('IDN app', [puny]);
  const link = await w.call('POST', '/v1/connect-links', { token: api_key, json: { platform: 'sandbox', redirect_url: idn } });
  assertError(link, 400, 'invalid_request');
  assert.match(link.body.error.message, /^redirect_url: host names must be ASCII.*xn--/);
  const upper = await w.call('POST', '/v1/connect-links', { token: api_key, json: { platform: 'sandbox', redirect_url: 'https://BÜCHER.example/cb' } });
  assertError(upper, 400, 'invalid_request');
  const ok = await w.call('POST', '/v1/connect-links', { token: api_key, json: { platform: 'sandbox', redirect_url: `${puny}?x=1` } });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
});

test('connect-link input is checked', async () => {
  const { api_key } = await w.createApp('Input app', [REDIRECT]);
  const post = (json) => w.call('POST', '/v1/connect-links', { token: api_key, json });
  assertError(await post({ platform: 'nope', redirect_url: REDIRECT }), 422, 'platform_not_configured');
  assertError(await post({ platform: 'sandbox', redirect_url: REDIRECT, state: 'x'.repeat(513) }), 400, 'invalid_request');
  assertError(await post({ platform: 'sandbox', redirect_url: REDIRECT, metadata: { a: 'x'.repeat(5000) } }), 400, 'invalid_request');
  assertError(await post({ platform: 'sandbox', redirect_url: REDIRECT, profile_id: 'prf_missing' }), 404, 'not_found');
  assertError(await post({ platform: 'sandbox' }), 400, 'invalid_request');
  const bad = await w.call('POST', '/v1/connect-links', { token: api_key, raw: '{"platform": ', headers: { 'content-type': 'application/json' } });
  assertError(bad, 400, 'invalid_request');
});

test("a state created under app A is no use to app B's key", async () => {
  const a = await w.createApp('App A', [REDIRECT]);
  const b = await w.createApp('App B', [REDIRECT]);
  const link = await w.createLink(a.api_key, { callback: 'app' });
  // With callback "app" the platform sends the browser straight to the app's redirect_url.
  assert.equal(new URL(link.authorize_url).searchParams.get('redirect_uri'), REDIRECT);
  const { back } = await w.consent(link, { username: 'a-user' });
  assert.equal(back.origin + back.pathname, REDIRECT);
  const code = back.searchParams.get('code');
  const state = back.searchParams.get('state');

  const stolen = await w.call('POST', '/v1/oauth/exchange', { token: b.api_key, json: { code, state } });
  assertError(stolen, 403, 'forbidden');
  assert.ok(!stolen.text.includes(code) && !stolen.text.includes(state));
  assertError(await w.call('GET', `/v1/connect-links/${link.id}`, { token: b.api_key }), 404, 'not_found');

  // B's attempt did not burn the state: A completes the connect.
  const mine = await w.call('POST', '/v1/oauth/exchange', { token: a.api_key, json: { code, state } });
  assert.equal(mine.status, 201, JSON.stringify(mine.body));
  assert.match(mine.body.id, /^prf_/);
  assert.equal(mine.body.username, 'a-user');
  assertError(await w.call('GET', `/v1/profiles/${mine.body.id}`, { token: b.api_key }), 404, 'not_found');
  assert.equal((await w.call('GET', '/v1/profiles', { token: b.api_key })).body.data.length, 0);

  // Used once: the same state again is 410.
  assertError(await w.call('POST', '/v1/oauth/exchange', { token: a.api_key, json: { code, state } }), 410, 'link_expired');
  assertError(await w.call('POST', '/v1/oauth/exchange', { token: a.api_key, json: { code: 'c', state: 'unknown' } }), 410, 'link_expired');
});

/**
 * A POST on a connection of its own: the worker answers 413 without reading the rest of the
 * body, and the runtime then closes that connection; a pooled one would fail the next test's
 * request ("fetch failed"), a race of the test rig, not of the worker.
 */
function postAlone(path, token, body) {
  const { hostname, port } = new URL(w.base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, path, method: 'POST', agent: false, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
    });
    // The worker may stop reading mid-body; its answer still comes.
    req.on('error', reject);
    req.end(body);
  });
}

test('bodies over 64 KiB get 413', async () => {
  const { api_key } = await w.createApp('Big body app', [REDIRECT]);
  const big = JSON.stringify({ platform: 'sandbox', redirect_url: REDIRECT, metadata: { a: 'x'.repeat(70 * 1024) } });
  assertError(await postAlone('/v1/connect-links', api_key, big), 413, 'payload_too_large');
  assertError(await postAlone('/v1/admin/apps', w.bindings.ADMIN_TOKEN, big), 413, 'payload_too_large');
});

test('unknown routes are 404 and wrong methods 405, in the error format, never cached', async () => {
  // An unknown path, or a method a path does not have, has no operation in openapi/openapi.json
  // to hold its answer: those calls are unchecked (the format is asserted here instead).
  const { api_key } = await w.createApp();
  const r = await w.call('GET', '/nope', { unchecked: true });
  assertError(r, 404, 'not_found');
  assert.equal(r.headers.get('cache-control'), 'no-store');
  assertError(await w.call('PUT', '/v1/connect-links', { token: api_key, unchecked: true }), 405, 'method_not_allowed');
  assertError(await w.call('POST', '/health', { unchecked: true }), 405, 'method_not_allowed');
  assertError(await w.call('GET', '/v1/profiles?limit=500', { token: api_key }), 400, 'invalid_request');
  assertError(await w.call('GET', '/v1/profiles?cursor=%%%', { token: api_key }), 400, 'invalid_request');
});

test('a method the worker does not know is a 405 with Allow, never answered as a GET', async () => {
  // workers-rs reads any method it has no name for as GET; the router must not. (workerd
  // itself answers 501 to a method outside its own list, such as FOO.)
  const { api_key } = await w.createApp();
  for (const [method, p, token, allow] of [
    ['QUERY', '/health', undefined, 'GET'],
    ['PROPFIND', '/v1/profiles', api_key, 'GET, POST'],
    ['QUERY', '/v1/admin/apps', w.bindings.ADMIN_TOKEN, 'GET, POST'],
    ['REPORT', '/v1/platforms', api_key, 'GET'],
  ]) {
    const r = await w.call(method, p, { token, unchecked: true });
    assertError(r, 405, 'method_not_allowed');
    assert.equal(r.headers.get('allow'), allow, `${method} ${p}`);
  }
  // Every 405 names what the path takes, a known method's as well.
  assert.equal((await w.call('DELETE', '/health', { unchecked: true })).headers.get('allow'), 'GET');
});

test('a JSON body that is not an object is refused, even where serde would read an array as the fields in order', async () => {
  const { app, api_key } = await w.createApp('Array body', [REDIRECT]);
  const before = (await w.admin('GET', `/v1/admin/apps/${app.id}`)).body;
  for (const raw of ['[null, null]', '["Renamed"]', '  [1]', '"text"', '7', 'null']) {
    const r = await w.call('PATCH', `/v1/admin/apps/${app.id}`, { token: w.bindings.ADMIN_TOKEN, raw, headers: { 'content-type': 'application/json' }, unchecked: true });
    assertError(r, 400, 'invalid_request');
    assert.match(r.body.error.message, /JSON object/, raw);
  }
  assert.deepEqual((await w.admin('GET', `/v1/admin/apps/${app.id}`)).body, before, 'nothing changed');
  const link = await w.call('POST', '/v1/connect-links', { token: api_key, raw: '["sandbox", "http://localhost:3000/connected"]', headers: { 'content-type': 'application/json' }, unchecked: true });
  assertError(link, 400, 'invalid_request');
});

test('deleting a profile revokes its grant at the platform and deletes the tokens', async () => {
  const { api_key } = await w.createApp('Delete app', [REDIRECT]);
  const link = await w.createLink(api_key);
  const { back } = await w.consent(link, { username: 'delete-user' });
  const res = await w.callback(back);
  const id = new URL(res.headers.get('location')).searchParams.get('profile_id');
  const grant = await w.grantOf(id);
  const row = await w.db.prepare('SELECT refresh_token_enc FROM grants WHERE id = ?').bind(grant).first();
  const refresh = w.openEnvelope(row.refresh_token_enc, grant, 'refresh_token');

  const del = await w.call('DELETE', `/v1/profiles/${id}`, { token: api_key });
  assert.equal(del.status, 204);
  assertError(await w.call('GET', `/v1/profiles/${id}`, { token: api_key }), 404, 'not_found');
  assert.equal(await w.db.prepare('SELECT id FROM profiles WHERE id = ?').bind(id).first(), null);
  assert.equal(await w.db.prepare('SELECT id FROM grants WHERE id = ?').bind(grant).first(), null, 'its only profile gone, the grant (the tokens) goes too');
  // The sandbox saw the revocation: the refresh token no longer works there.
  const r = await fetch(`${w.base}/sandbox/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('sandbox-client:sandbox-secret').toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refresh }),
  });
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error, 'invalid_grant');
  assertError(await w.call('DELETE', `/v1/profiles/${id}`, { token: api_key }), 404, 'not_found');
});

test('the sandbox rotates refresh tokens and refuses reused codes', async () => {
  const { api_key } = await w.createApp('Rotate app', [REDIRECT]);
  const link = await w.createLink(api_key, { callback: 'app' });
  const { back } = await w.consent(link, { username: 'rotate-user' });
  const basic = `Basic ${Buffer.from('sandbox-client:sandbox-secret').toString('base64')}`;
  const token = (form, auth = basic) => fetch(`${w.base}/sandbox/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: auth }, body: new URLSearchParams(form),
  });
  const pending = JSON.parse(await w.kv.get(w.stateKey(back.searchParams.get('state'))));
  const codeForm = { grant_type: 'authorization_code', code: back.searchParams.get('code'), redirect_uri: REDIRECT, code_verifier: w.openEnvelope(pending.verifier, w.stateKey(back.searchParams.get('state')), 'pkce_verifier') };
  assert.equal((await token(codeForm, 'Basic d3Jvbmc6d3Jvbmc=')).status, 401);
  const first = await token(codeForm);
  assert.equal(first.status, 200);
  const t1 = await first.json();
  assert.equal(t1.token_type, 'Bearer');
  assert.ok(t1.expires_in > 0 && t1.refresh_token);
  const reused = await token(codeForm);
  assert.equal((await reused.json()).error, 'invalid_grant');
  const r2 = await (await token({ grant_type: 'refresh_token', refresh_token: t1.refresh_token })).json();
  assert.ok(r2.refresh_token && r2.refresh_token !== t1.refresh_token);
  const old = await token({ grant_type: 'refresh_token', refresh_token: t1.refresh_token });
  assert.equal((await old.json()).error, 'invalid_grant');
});
