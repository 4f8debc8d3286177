// POST /v1/profiles (issue 12) with API-key providers (`"kind": "api_key"` in CUSTOM_PROVIDERS):
// the key is checked with one identity call where the provider takes it (its own header, or
// the query), stored encrypted as a token that never expires, used by the proxy and the
// liveness check, and refused cleanly when wrong.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';
import { PlatformMocks, CUSTOM_PROVIDERS } from './platform-mocks.mjs';

const mocks = new PlatformMocks();
let w;
let app;
const now = () => Math.floor(Date.now() / 1000);

before(async () => {
  w = await startWorker({ vars: { CUSTOM_PROVIDERS: JSON.stringify(CUSTOM_PROVIDERS), X_CLIENT_ID: 'x', X_CLIENT_SECRET: 'y' }, outbound: mocks.handle });
  app = await w.createApp('Posted app', ['https://app.example.com/cb']);
});
after(async () => { await w?.stop(); });

const post = (json, token = app.api_key) => w.call('POST', '/v1/profiles', { token, json });
const identityCalls = (platform) => mocks.calls.filter((c) => c.platform === platform && c.endpoint === 'identity');

test('a pasted key is checked in its header, stored encrypted and answered as a token that never expires', async () => {
  const key = mocks.issueApiKey('ada');
  const r = await post({ platform: 'keyed', credentials: { api_key: key }, external_user_id: 'user-1', metadata: { plan: 'pro' } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.platform, 'keyed');
  assert.equal(r.body.platform_user_id, 'kd-ada');
  assert.equal(r.body.username, 'keyed_ada');
  assert.equal(r.body.display_name, 'Keyed ada');
  assert.equal(r.body.status, 'active');
  assert.equal(r.body.access_token_expires_at, null);
  assert.equal(r.body.external_user_id, 'user-1');
  assert.deepEqual(r.body.metadata, { plan: 'pro' });
  assert.equal(JSON.stringify(r.body).includes(key), false, 'the key is never shown in a profile');
  const call = identityCalls('keyed').at(-1);
  assert.equal(call.headers['x-api-key'], key);
  assert.equal(call.headers.authorization, undefined);

  const grant = await w.grantRow(r.body.id, 'access_token_enc, refresh_token_enc, next_refresh_at');
  assert.notEqual(grant.access_token_enc, key);
  assert.equal(grant.access_token_enc.includes(key), false);
  assert.equal(grant.refresh_token_enc, null);
  assert.equal(grant.next_refresh_at, null, 'never refreshed');
  const dump = JSON.stringify((await w.db.prepare('SELECT * FROM connect_links').all()).results);
  assert.equal(dump.includes(key), false, 'the key is in no link row');
  const scheduled = await w.row('SELECT next_check_at FROM profiles WHERE id = ?', r.body.id);
  assert.ok(scheduled.next_check_at > now(), 'its liveness is checked instead');

  const t = await w.call('GET', `/v1/profiles/${r.body.id}/access-token`, { token: app.api_key });
  assert.equal(t.status, 200);
  assert.equal(t.body.access_token, key);
  assert.equal(t.body.expires_at, null);

  // The same key again for the same user keeps the profile.
  const again = await post({ platform: 'keyed', credentials: { api_key: key }, external_user_id: 'user-1' });
  assert.equal(again.status, 201);
  assert.equal(again.body.id, r.body.id);
  // Another user of the app cannot take the account over.
  const other = await post({ platform: 'keyed', credentials: { api_key: key }, external_user_id: 'user-2' });
  assert.equal(other.status, 409);
  assert.equal(other.body.error.code, 'conflict');
});

test('a key taken in the query works the same way', async () => {
  const key = mocks.issueApiKey('bo');
  const r = await post({ platform: 'querykey', credentials: { api_key: key } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.platform_user_id, 'qk-bo');
  assert.equal(r.body.username, 'qk_bo');
  const call = identityCalls('querykey').at(-1);
  assert.equal(call.query.api_key, key);
  assert.equal(call.headers.authorization, undefined);
});

test('a wrong key is 422 invalid_credentials and stores nothing', async () => {
  const links = (await w.row('SELECT COUNT(*) AS n FROM connect_links')).n;
  const profiles = (await w.row('SELECT COUNT(*) AS n FROM profiles')).n;
  const r = await post({ platform: 'keyed', credentials: { api_key: 'key_not_issued' } });
  assert.equal(r.status, 422);
  assert.equal(r.body.error.code, 'invalid_credentials');
  assert.equal(r.text.includes('key_not_issued'), false, 'the key is not echoed');
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM connect_links')).n, links);
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM profiles')).n, profiles);
});

test('malformed posts are refused before any call', async () => {
  const calls = mocks.calls.length;
  for (const [json, status] of [
    [{ platform: 'keyed' }, 400],
    [{ platform: 'keyed', credentials: {} }, 400],
    [{ platform: 'keyed', credentials: { api_key: '' } }, 400],
    [{ platform: 'keyed', credentials: { api_key: 42 } }, 400],
    [{ platform: 'keyed', credentials: { api_key: 'a\nb' } }, 400],
    [{ platform: 'keyed', credentials: { api_key: 'k'.repeat(5000) } }, 400],
    [{ platform: 'keyed', credentials: { api_key: 'k', password: 'p' } }, 400],
    [{ platform: 'keyed', credentials: { api_key: 'k' }, surprise: 1 }, 400],
    [{ platform: 'keyed', credentials: { api_key: 'k' }, external_user_id: '' }, 400],
  ]) {
    const r = await post(json);
    assert.equal(r.status, status, JSON.stringify(json).slice(0, 80));
    assert.equal(r.body.error.code, 'invalid_request');
  }
  // Well-formed, but not what this deployment or platform takes: 422, not a form error.
  for (const [json, code] of [
    [{ platform: 'nope', credentials: { api_key: 'k' } }, 'platform_not_configured'],
    // A redirect platform connects through a connect link.
    [{ platform: 'x', credentials: { api_key: 'k' } }, 'platform_unsupported'],
  ]) {
    const r = await post(json);
    assert.equal(r.status, 422, JSON.stringify(json));
    assert.equal(r.body.error.code, code);
  }
  assert.equal((await post({ platform: 'keyed', credentials: { api_key: 'k' } }, 'ck_wrong')).status, 401);
  assert.equal(mocks.calls.length, calls, 'no platform call');
  // And a key platform has no connect link.
  const link = await w.call('POST', '/v1/connect-links', { token: app.api_key, json: { platform: 'keyed', redirect_url: 'https://app.example.com/cb' } });
  assert.equal(link.status, 422);
  assert.equal(link.body.error.code, 'platform_unsupported');
  assert.match(link.body.error.message, /POST \/v1\/profiles/);
});

test('the proxy sends the key in the provider header, never the caller\'s', async () => {
  const key = mocks.issueApiKey('cy');
  const r = await post({ platform: 'keyed', credentials: { api_key: key } });
  assert.equal(r.status, 201);
  const res = await fetch(`${w.base}/v1/profiles/${r.body.id}/proxy/v1/things`, {
    headers: { authorization: `Bearer ${app.api_key}`, 'x-api-key': 'caller-chosen' },
  });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.user, 'cy');
  const call = mocks.calls.filter((c) => c.platform === 'keyed' && c.endpoint === 'api').at(-1);
  assert.equal(call.headers['x-api-key'], key);
  assert.equal(call.headers.authorization, undefined, 'no bearer token and not the app key');
});

test('a key revoked at the provider disconnects its profile at the liveness check', async () => {
  const key = mocks.issueApiKey('dee');
  const r = await post({ platform: 'keyed', credentials: { api_key: key } });
  assert.equal(r.status, 201);
  mocks.apiKeys.delete(key);
  await w.sql('UPDATE profiles SET next_check_at = ? WHERE id = ?', now() - 1, r.body.id);
  await w.cron();
  await w.settled();
  const p = await w.call('GET', `/v1/profiles/${r.body.id}`, { token: app.api_key });
  assert.equal(p.body.status, 'disconnected');
  assert.equal(identityCalls('keyed').at(-1).headers['x-api-key'], key);
});
