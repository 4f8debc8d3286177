// What an isolate keeps between requests (issue 14): an API key's app is trusted for a few
// seconds without asking D1. A key revoked elsewhere (another isolate: here, straight in
// D1) stops working once that window has passed; one revoked through this isolate stops at
// once; API_KEY_CACHE_MS=0 turns the cache off.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';

// API_KEY_CACHE_MS for the window test: short, so the test waits about a second.
const WINDOW_MS = 1_000;
// Clock readings are whole milliseconds on both sides.
const SLACK_MS = 5;
const workers = [];
after(async () => { for (const w of workers) await w.stop(); });

async function keyedApp(w) {
  const { app, api_key } = await w.createApp('Cache app');
  const keyId = (await w.row('SELECT id FROM api_keys WHERE app_id = ?1', app.id)).id;
  return { app, api_key, keyId };
}

const platforms = (w, key) => w.call('GET', '/v1/platforms', { token: key, unchecked: true });
const revokeInD1 = (w, keyId) => w.sql('UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1', keyId, Math.floor(Date.now() / 1000));
const createLink = (w, key) => w.call('POST', '/v1/connect-links', {
  token: key,
  json: { platform: 'sandbox', redirect_url: 'http://localhost:3000/connected' },
});

// The window is told by the clock, but nothing here asserts a speed: the worker remembered the
// key at some moment between the sending of the first request (s0) and its answer (r0), and
// judges each later request at a moment between its own sending (s) and answer (r). So a
// request answered before s0 + window must still be trusted, one sent after r0 + window must
// be refused, and anything between may go either way. A slow machine only moves requests into
// the undecided middle; the loop goes on until one falls past the window.
test('a key revoked in D1 by another isolate answers 200 until the window from its lookup ends, 401 once it has', async () => {
  const w = await startWorker({ vars: { API_KEY_CACHE_MS: String(WINDOW_MS) } });
  workers.push(w);
  const { api_key, keyId } = await keyedApp(w);
  const s0 = Date.now();
  assert.equal((await platforms(w, api_key)).status, 200, 'the lookup this isolate remembers');
  const r0 = Date.now();
  await revokeInD1(w, keyId);
  const seen = [];
  for (;;) {
    const s = Date.now();
    const { status } = await platforms(w, api_key);
    const r = Date.now();
    seen.push(`${s - s0}..${r - s0} ms: ${status}`);
    if (r < s0 + WINDOW_MS - SLACK_MS) assert.equal(status, 200, `remembered within the window: ${seen.join(', ')}`);
    if (s > r0 + WINDOW_MS + SLACK_MS) {
      assert.equal(status, 401, `asked D1 again past the window: ${seen.join(', ')}`);
      break;
    }
    await new Promise((done) => setTimeout(done, 50));
  }
  // And every route refuses it, not only the one that saw it.
  assert.equal((await createLink(w, api_key)).status, 401);
});

test('API_KEY_CACHE_MS=60000: a key revoked in D1 by another isolate is still trusted right after, on every route (the documented cost)', async () => {
  const w = await startWorker({ vars: { API_KEY_CACHE_MS: '60000' } });
  workers.push(w);
  const { api_key, keyId } = await keyedApp(w);
  assert.equal((await platforms(w, api_key)).status, 200);
  await revokeInD1(w, keyId);
  assert.equal((await platforms(w, api_key)).status, 200, 'remembered');
  assert.equal((await createLink(w, api_key)).status, 201, 'remembered on another route');
  assert.equal((await platforms(w, api_key)).status, 200, 'still remembered');
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
  await revokeInD1(w, keyId);
  assert.equal((await platforms(w, api_key)).status, 401);
  assert.equal((await createLink(w, api_key)).status, 401);
});
