// What an isolate keeps between requests (issue 14): an API key's app is trusted for a few
// seconds without asking D1. A key revoked elsewhere (another isolate: here, straight in
// D1) stops working once that window has passed; one revoked through this isolate stops at
// once; API_KEY_CACHE_MS=0 turns the cache off.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';
import { until } from './streams.mjs';

// API_KEY_CACHE_MS for the window test: shorter than the 5 s default so the test does not wait
// it out, long enough that the request right after the revocation falls inside it.
const WINDOW_MS = 2_000;
const workers = [];
after(async () => { for (const w of workers) await w.stop(); });

async function keyedApp(w) {
  const { app, api_key } = await w.createApp('Cache app');
  const keyId = (await w.row('SELECT id FROM api_keys WHERE app_id = ?1', app.id)).id;
  return { app, api_key, keyId };
}

const platforms = (w, key) => w.call('GET', '/v1/platforms', { token: key, unchecked: true });

test('a key revoked in D1 by another isolate is refused once the cache window has passed', async () => {
  const w = await startWorker({ vars: { API_KEY_CACHE_MS: String(WINDOW_MS) } });
  workers.push(w);
  const { api_key, keyId } = await keyedApp(w);
  assert.equal((await platforms(w, api_key)).status, 200);
  await w.sql('UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1', keyId, Math.floor(Date.now() / 1000));
  // Within the window this isolate still trusts what it read (the documented cost).
  assert.equal((await platforms(w, api_key)).status, 200, 'remembered within the window');
  // Past it, D1 is asked again and the key is refused.
  await until('the revoked key to be refused', async () => (await platforms(w, api_key)).status === 401, WINDOW_MS + 10_000);
  // And every route refuses it, not only the one that saw it.
  const link = await w.call('POST', '/v1/connect-links', {
    token: api_key,
    json: { platform: 'sandbox', redirect_url: 'http://localhost:3000/connected' },
  });
  assert.equal(link.status, 401);
});

test('a key revoked through this isolate is refused at once, and the app\'s other keys still work', async () => {
  const w = await startWorker();
  workers.push(w);
  const { app, api_key } = await keyedApp(w);
  const second = await w.admin('POST', `/v1/admin/apps/${app.id}/api-keys`);
  assert.equal(second.status, 201);
  assert.equal((await platforms(w, second.body.api_key)).status, 200);
  assert.equal((await platforms(w, api_key)).status, 200);
  assert.equal((await w.admin('DELETE', `/v1/admin/api-keys/${second.body.id}`)).status, 204);
  assert.equal((await platforms(w, second.body.api_key)).status, 401);
  assert.equal((await platforms(w, api_key)).status, 200);
});

test('an app changed through this isolate is seen at once (its allowlist)', async () => {
  const w = await startWorker();
  workers.push(w);
  const { app, api_key } = await keyedApp(w);
  const body = { platform: 'sandbox', redirect_url: 'http://localhost:3000/connected' };
  assert.equal((await w.call('POST', '/v1/connect-links', { token: api_key, json: body })).status, 201);
  const patch = await w.admin('PATCH', `/v1/admin/apps/${app.id}`, { allowed_redirect_urls: ['http://localhost:4000/elsewhere'] });
  assert.equal(patch.status, 200, JSON.stringify(patch.body));
  const r = await w.call('POST', '/v1/connect-links', { token: api_key, json: body });
  assert.equal(r.status, 422);
  assert.equal(r.body.error.code, 'redirect_not_allowed');
});

test('API_KEY_CACHE_MS=0: a key revoked in D1 is refused on the next request', async () => {
  const w = await startWorker({ vars: { API_KEY_CACHE_MS: '0' } });
  workers.push(w);
  const { api_key, keyId } = await keyedApp(w);
  assert.equal((await platforms(w, api_key)).status, 200);
  await w.sql('UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1', keyId, Math.floor(Date.now() / 1000));
  assert.equal((await platforms(w, api_key)).status, 401);
});
