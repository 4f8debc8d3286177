import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';

let w;
before(async () => { w = await startWorker(); });
after(async () => { await w?.stop(); });

test('health answers', async () => {
  const r = await w.call('GET', '/health');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { status: 'ok' });
});

test('a full sandbox connect lands on the app', async () => {
  const { api_key } = await w.createApp();
  const link = await w.createLink(api_key, { state: 'app-state-1' });
  const { back } = await w.consent(link);
  const res = await w.callback(back);
  console.log(res.status, res.headers.get('location'), await res.text());
});
