// With REFRESH_QUEUE bound: the cron only enqueues, the consumer refreshes, and one lease
// makes twenty concurrent triggers of every kind cost exactly one token call.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';
import { PlatformMocks, credentialVars } from './platform-mocks.mjs';

const REDIRECT = 'https://app.example.com/connected';
const now = () => Math.floor(Date.now() / 1000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const mocks = new PlatformMocks();
let w;
let app;

before(async () => {
  w = await startWorker({ vars: credentialVars(['x']), outbound: mocks.handle, queue: true });
  app = await w.createApp('Queue app', [REDIRECT]);
});
after(async () => { await w?.stop(); });

const refreshCalls = () => mocks.calls.filter((c) => c.platform === 'x' && c.endpoint === 'refresh').length;
/** X's refresh calls for `user`'s grant (told by the refresh token sent). */
const refreshCallsOf = (user) => mocks.calls.filter((c) => c.platform === 'x' && c.endpoint === 'refresh' && mocks.tokens.get(c.form.refresh_token)?.user === user).length;
async function connect(user) {
  const { q } = await w.connectWithMock(mocks, app.api_key, 'x', { user, redirect: REDIRECT });
  assert.equal(q.connected, 'true');
  return q.profile_id;
}
async function waitFor(check, ms = 8000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await sleep(100);
  }
  return false;
}

test('the cron only enqueues; the queue consumer refreshes', async () => {
  const id = await connect('queued');
  const before = refreshCalls();
  await w.sql('UPDATE grants SET next_refresh_at = ? WHERE id = (SELECT grant_id FROM profiles WHERE id = ?)', now() - 1, id);
  await w.cron();
  assert.equal(refreshCalls(), before, 'nothing refreshed inline by the cron');
  const fenced = await w.grantRow(id, 'next_refresh_at');
  assert.ok(fenced.next_refresh_at > now(), 'the enqueued profile is fenced from the next cron');
  assert.ok(await waitFor(() => refreshCalls() === before + 1), 'the consumer refreshed it');
  assert.ok(await waitFor(async () => (await w.row('SELECT last_refreshed_at FROM profiles WHERE id = ?', id)).last_refreshed_at !== null));
});

test('twenty concurrent refresh triggers (cron, queue, endpoint) make exactly one token call', async () => {
  const id = await connect('crowd');
  const sentinel = await connect('sentinel');
  const oldToken = (await w.call('GET', `/v1/profiles/${id}/access-token`, { token: app.api_key })).body.access_token;
  await w.sql('UPDATE grants SET next_refresh_at = ? WHERE id = (SELECT grant_id FROM profiles WHERE id = ?)', now() - 1, id);
  const before = refreshCalls();
  const grantId = await w.grantOf(id);
  // Keep the winner's refresh in flight while the others arrive: a forced refresh that starts
  // after the winner's has finished rightly refreshes again, so the window is wide enough for
  // a slow runner to issue all twenty inside it.
  mocks.delays.set('x:token', 2000);
  const triggers = [];
  for (let i = 0; i < 20; i++) {
    if (i % 4 === 0) triggers.push(w.cron().then(() => 'cron'));
    else if (i % 4 === 1) triggers.push(w.enqueue({ grant_id: grantId, enqueued_ms: Date.now() }).then(() => 'queued'));
    else triggers.push(w.call('POST', `/v1/profiles/${id}/refresh`, { token: app.api_key }).then((r) => r.status));
  }
  const results = await Promise.all(triggers);
  const statuses = results.filter((r) => typeof r === 'number');
  assert.equal(statuses.length, 10);
  for (const s of statuses) assert.ok(s === 200 || s === 409, `endpoint answered ${s}`);
  // Every message is in the queue now (the crons' too: each sent before it returned). The
  // consumer takes batches one at a time, in order, so once a message sent after them all has
  // been consumed (another grant's refresh), so have they.
  await w.enqueue({ grant_id: await w.grantOf(sentinel), enqueued_ms: Date.now() });
  assert.ok(await waitFor(() => refreshCallsOf('sentinel') === 1, 15000), 'the queue reached the last message');
  mocks.delays.delete('x:token');
  assert.equal(refreshCallsOf('crowd'), 1, 'exactly one call to the token endpoint');
  assert.equal(refreshCalls(), before + 2, 'and no other');
  const newToken = (await w.call('GET', `/v1/profiles/${id}/access-token`, { token: app.api_key })).body.access_token;
  assert.notEqual(newToken, oldToken, 'the app gets the refreshed token');
  const row = await w.row('SELECT g.refresh_lease_id, p.status FROM profiles p JOIN grants g ON g.id = p.grant_id WHERE p.id = ?', id);
  assert.deepEqual([row.refresh_lease_id, row.status], [null, 'active']);
});
