// The proxy's profile rows kept in isolate memory (issue 26): a proxied call reads the
// profile and its grant's sealed token from D1 only when this isolate did not read them for
// it in the last `PROXY_PROFILE_CACHE_MS` (2 s here). Whatever this isolate does to a profile
// or grant (a delete, a refresh, anything but a proxied call) drops the kept rows at once;
// what another isolate does is seen once the window has passed (a change written to D1 by
// hand stands for another isolate's).
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';
import { PlatformMocks, credentialVars } from './platform-mocks.mjs';

const REDIRECT = 'https://app.example.com/connected';
const WINDOW_MS = 2000;

const mocks = new PlatformMocks();
let w;
let app;
let tokens; // the bearer token of each call the X API mock answered

before(async () => {
  w = await startWorker({ vars: { ...credentialVars(['x']), PROXY_PROFILE_CACHE_MS: String(WINDOW_MS) }, outbound: mocks.handle });
  const r = await w.admin('POST', '/v1/admin/apps', { name: 'Cache app', allowed_redirect_urls: [REDIRECT] });
  assert.equal(r.status, 201);
  app = r.body;
});
after(async () => {
  await w?.stop();
});
beforeEach(() => {
  tokens = [];
  mocks.api = async (request, url) => {
    if (url.hostname !== 'api.x.com' || url.pathname !== '/2/tweets/search/recent') return undefined;
    tokens.push((/^Bearer (.+)$/.exec(request.headers.get('authorization') || '') || [])[1]);
    return Response.json({ data: [], meta: { result_count: 0 } });
  };
});

async function connect(user) {
  const { q } = await w.connectWithMock(mocks, app.api_key, 'x', { user, redirect: REDIRECT });
  assert.equal(q.connected, 'true', JSON.stringify(q));
  return q.profile_id;
}

const proxy = (id) => fetch(`${w.base}/v1/profiles/${id}/proxy/2/tweets/search/recent?query=a`, { headers: { authorization: `Bearer ${app.api_key}` } });

test('a profile this isolate deletes is not proxied from memory: the next call is a 404', async () => {
  const id = await connect('deleted');
  assert.equal((await proxy(id)).status, 200);
  assert.equal((await w.call('DELETE', `/v1/profiles/${id}`, { token: app.api_key })).status, 204);
  const after = await proxy(id);
  assert.equal(after.status, 404);
  assert.equal(tokens.length, 1, 'the platform was called once, before the delete');
});

test('a refresh in this isolate is used by the next proxied call at once', async () => {
  const id = await connect('refreshed');
  assert.equal((await proxy(id)).status, 200);
  const refreshed = await w.call('POST', `/v1/profiles/${id}/refresh`, { token: app.api_key });
  assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
  assert.equal((await proxy(id)).status, 200);
  assert.equal(tokens.length, 2);
  assert.notEqual(tokens[1], tokens[0], 'the second call went with the refreshed token');
  assert.equal(tokens[1], (await w.tokensOf(id)).access, 'the token D1 now holds');
});

test('a refresh made inside a proxied call (the platform said 401) is what the next call uses', async () => {
  const id = await connect('rotated');
  const before = (await w.tokensOf(id)).access;
  // The platform takes every token but the one the profile was connected with.
  mocks.api = async (request, url) => {
    if (url.hostname !== 'api.x.com' || url.pathname !== '/2/tweets/search/recent') return undefined;
    const token = (/^Bearer (.+)$/.exec(request.headers.get('authorization') || '') || [])[1];
    tokens.push(token);
    return token === before ? Response.json({ title: 'Unauthorized' }, { status: 401 }) : Response.json({ data: [], meta: { result_count: 0 } });
  };
  assert.equal((await proxy(id)).status, 200, 'refreshed after the 401 and retried');
  const after = (await w.tokensOf(id)).access;
  assert.notEqual(after, before);
  assert.equal((await proxy(id)).status, 200);
  assert.deepEqual(tokens, [before, after, after], 'the second call went with the refreshed token, not the one read before');
});

test('a change another isolate makes is seen once the window has passed, and at once with the window at 0', async () => {
  const id = await connect('elsewhere');
  const started = Date.now(); // before the read the kept row's age counts from
  assert.equal((await proxy(id)).status, 200);
  const answered = Date.now(); // after it: the row was kept between the two
  // Another isolate disconnects the profile: D1 says so, this isolate's memory does not.
  await w.sql("UPDATE profiles SET status = 'disconnected', disconnect_reason = 'revoked' WHERE id = ?", id);
  const within = await proxy(id);
  if (Date.now() - started < WINDOW_MS) assert.equal(within.status, 200, 'inside the window the kept row answers');
  await new Promise((r) => setTimeout(r, Math.max(0, WINDOW_MS + 100 - (Date.now() - answered))));
  assert.equal((await proxy(id)).status, 409, 'past the window D1 is read again');

  await w.restart({ PROXY_PROFILE_CACHE_MS: '0' });
  const fresh = await connect('never-kept');
  assert.equal((await proxy(fresh)).status, 200);
  await w.sql("UPDATE profiles SET status = 'disconnected', disconnect_reason = 'revoked' WHERE id = ?", fresh);
  assert.equal((await proxy(fresh)).status, 409, 'with the window at 0 every call reads D1');
});

test('inside the window the kept row answers; any other request in the isolate drops it at once', async () => {
  // A window no run is slow enough to outlast: the kept row is certain to be used.
  await w.restart({ PROXY_PROFILE_CACHE_MS: '10000' });
  const id = await connect('kept');
  assert.equal((await proxy(id)).status, 200);
  await w.sql("UPDATE profiles SET status = 'disconnected', disconnect_reason = 'revoked' WHERE id = ?", id);
  assert.equal((await proxy(id)).status, 200, 'served from the kept row: D1 was not read');
  assert.equal((await proxy(id)).status, 200, 'and again');
  // Any request but a proxied call (here a read of the profile) drops what the proxy keeps.
  assert.equal((await w.call('GET', `/v1/profiles/${id}`, { token: app.api_key })).body.status, 'disconnected');
  assert.equal((await proxy(id)).status, 409, 'read from D1 again');
});
