// The proxy (issue 11) on the real runtime: forwarding, the host allowlist, streaming both
// ways, refresh on a dead token, 429 memory, retries, budgets shared through the Durable
// Object, the log line and the admin counters. Platform APIs are answered by `mocks.api`.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { startWorker } from './harness.mjs';
import { PlatformMocks, credentialVars } from './platform-mocks.mjs';

const PLATFORMS = ['x', 'linkedin', 'facebook', 'youtube'];
const REDIRECT = 'https://app.example.com/connected';

const mocks = new PlatformMocks();
let w;
let app;
let seen; // API calls the mock received in this test: { method, host, path, search, headers, bytes, sha256 }

before(async () => {
  w = await startWorker({ vars: { ...credentialVars(PLATFORMS), PLATFORM_TIMEOUT_MS: '2000' }, outbound: mocks.handle, captureLogs: true });
  const r = await w.admin('POST', '/v1/admin/apps', { name: 'Proxy app', allowed_redirect_urls: [REDIRECT] });
  assert.equal(r.status, 201);
  app = r.body;
});
after(async () => {
  await w?.stop();
});
beforeEach(() => {
  seen = [];
  mocks.api = undefined;
});

async function connect(platform, user, linkFields = {}) {
  const { q } = await w.connectWithMock(mocks, app.api_key, platform, { user, redirect: REDIRECT, linkFields });
  assert.equal(q.connected, 'true', JSON.stringify(q));
  return q.profile_id;
}

/** Installs an API mock for `host`: records each call (body hashed), then answers `answer(call, n)`. */
function serve(host, answer) {
  let n = 0;
  mocks.api = async (request, url) => {
    if (url.hostname !== host) return undefined;
    // Token and refresh calls go to the ordinary mock routes.
    if (/oauth2?\/|\/token$|accessToken/.test(url.pathname)) return undefined;
    const bytes = ['GET', 'HEAD'].includes(request.method) ? Buffer.alloc(0) : Buffer.from(await request.arrayBuffer());
    const call = {
      method: request.method, host: url.hostname, path: url.pathname, search: url.search,
      headers: Object.fromEntries(request.headers), bytes: bytes.length, sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
    };
    seen.push(call);
    n += 1;
    return answer(call, n);
  };
}

const json = (status, body, headers = {}) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const bearerOf = (call) => (/^Bearer (.+)$/.exec(call.headers.authorization || '') || [])[1];
const liveX = (call) => {
  const g = mocks.tokens.get(bearerOf(call));
  return g && g.platform === 'x' && g.kind === 'access' && !g.revoked ? g : null;
};

/** A call through the proxy as the app. */
function proxy(id, path, { method = 'GET', headers = {}, body, duplex } = {}) {
  return fetch(`${w.base}/v1/profiles/${id}/proxy/${path}`, {
    method, body, ...(duplex ? { duplex } : {}),
    headers: { authorization: `Bearer ${app.api_key}`, ...headers },
  });
}

/** A request with its path sent byte for byte (fetch would normalize `..` and friends). */
function rawRequest(path, headers = {}) {
  const { hostname, port } = new URL(w.base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, path, method: 'GET', headers: { authorization: `Bearer ${app.api_key}`, ...headers } }, (res) => {
      let data = '';
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve({ status: res.statusCode, body: data }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('a call goes to the platform with the token injected, and its answer comes back unchanged', async () => {
  const id = await connect('x', 'fwd');
  serve('api.x.com', (c) => {
    if (!liveX(c)) return json(401, { title: 'Unauthorized' });
    return json(200, { data: [{ id: '1', text: 'hi' }] }, {
      'x-rate-limit-remaining': '899', 'x-rate-limit-reset': String(Math.floor(Date.now() / 1000) + 900),
      'set-cookie': 'guest_id=v1; Domain=x.com', etag: '"abc"', 'x-custom': 'kept',
    });
  });
  const res = await proxy(id, '2/users/1234/tweets?max_results=5&pagination_token=abc%20d', {
    headers: {
      accept: 'application/json', cookie: 'session=caller', 'x-forwarded-for': '1.2.3.4', 'linkedin-version': '202608',
      'proxy-authorization': 'Basic abc', te: 'trailers', 'idempotency-key': 'k1',
    },
  });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { data: [{ id: '1', text: 'hi' }] });
  assert.equal(res.headers.get('x-connect-links-attempts'), '1');
  assert.equal(res.headers.get('x-connect-links-refreshed'), 'false');
  assert.equal(res.headers.get('etag'), '"abc"');
  assert.equal(res.headers.get('x-custom'), 'kept');
  assert.equal(res.headers.get('x-rate-limit-remaining'), '899');
  assert.equal(res.headers.get('set-cookie'), null, 'the platform cookie stays with the worker');
  assert.equal(seen.length, 1);
  const c = seen[0];
  assert.equal(c.path, '/2/users/1234/tweets');
  assert.equal(c.search, '?max_results=5&pagination_token=abc%20d');
  assert.match(c.headers.authorization, /^Bearer xat_/, 'the profile token, not the API key');
  assert.equal(c.headers.accept, 'application/json');
  assert.equal(c.headers['idempotency-key'], 'k1');
  for (const h of ['cookie', 'x-forwarded-for', 'linkedin-version', 'proxy-authorization', 'te']) assert.equal(c.headers[h], undefined, h);
});

test("a platform's caching headers do not reach the caller: every proxied answer is no-store", async () => {
  const id = await connect('x', 'cache');
  serve('api.x.com', () => json(200, { data: [] }, { 'cache-control': 'public, max-age=3600', etag: '"e1"' }));
  const res = await proxy(id, '2/users/me');
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  assert.equal(res.headers.get('cache-control'), 'no-store', 'a shared cache must not keep a profile\'s answer');
  assert.equal(res.headers.get('etag'), '"e1"');
  assert.equal(seen.length, 1);
});

test('LinkedIn headers pass to LinkedIn, and a Page profile calls with its Page token', async () => {
  mocks.setOrganizations('lhead', []);
  const li = await connect('linkedin', 'lhead');
  serve('api.linkedin.com', () => json(201, {}, { 'x-restli-id': 'urn:li:share:1' }));
  const res = await proxy(li, 'rest/posts', {
    method: 'POST', body: JSON.stringify({ commentary: 'hi' }),
    headers: { 'content-type': 'application/json', 'linkedin-version': '202608', 'x-restli-protocol-version': '2.0.0' },
  });
  assert.equal(res.status, 201);
  assert.equal(res.headers.get('x-restli-id'), 'urn:li:share:1');
  assert.equal(seen[0].headers['linkedin-version'], '202608');
  assert.equal(seen[0].headers['x-restli-protocol-version'], '2.0.0');
  assert.equal(seen[0].headers['content-type'], 'application/json');
  assert.equal(seen[0].sha256, crypto.createHash('sha256').update(JSON.stringify({ commentary: 'hi' })).digest('hex'));

  mocks.setPages('fbpage', [{ id: '77001', name: 'Only Page' }]);
  const page = await connect('facebook', 'fbpage');
  seen = [];
  serve('graph.facebook.com', (c) => json(200, { id: 'post1', token_ok: bearerOf(c) === mocks.pageToken('77001') }));
  const posted = await proxy(page, 'v25.0/77001/feed', { method: 'POST', body: 'message=hi', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.deepEqual(await posted.json(), { id: 'post1', token_ok: true });
});

test('paths and hosts that would leave the platform API are refused before any call', async () => {
  const id = await connect('x', 'escape');
  serve('api.x.com', () => json(200, {}));
  let calls = 0;
  const before = mocks.api;
  mocks.api = async (request, url) => { calls += 1; return before(request, url); };
  const base = `/v1/profiles/${id}/proxy/`;
  for (const p of [
    'https://evil.test/steal', '//evil.test/steal', 'https:%2F%2Fevil.test', '2%2F..%2F..%2Fevil', '2/..%5c..%5cevil',
    '@evil.test/x', 'user:pw@evil.test/x', 'evil.test%40api.x.com/x', '2/users%00', '2/users%2f..%2f..%2fadmin',
    // Escapes put together by decoding (`%2%66` would become `%2f`), and broken ones.
    'a/%2%66b', 'a/%%32fb', 'a/x%2%66..%2%66y', 'a/%%30%30', 'a/%', 'a/%zz',
  ]) {
    const r = await rawRequest(base + p);
    assert.equal(r.status, 400, `${p}: ${r.status} ${r.body}`);
    assert.equal(JSON.parse(r.body).error.code, 'invalid_request');
  }
  // Dot segments, plain or encoded (and backslashes, read as slashes), are resolved by the
  // runtime's URL parser before routing: they land on another route of ours, never on the
  // platform.
  for (const p of ['%2e%2e/%2e%2e/evil', '2/%2E%2E/%2e%2e/x', '.%2e/x', '../../../v1/admin/apps', '2/../../x', '2\\..\\..\\evil']) {
    const r = await rawRequest(base + p);
    assert.ok([400, 401, 404, 405].includes(r.status), `${p}: ${r.status} ${r.body}`);
  }
  for (const host of ['evil.test', 'api.x.com.evil.test', 'api.x.com:8443', 'localhost']) {
    const r = await rawRequest(`${base}2/users/me`, { 'x-connect-links-host': host });
    assert.equal(r.status, 403, host);
    assert.equal(JSON.parse(r.body).error.code, 'forbidden');
  }
  assert.equal(calls, 0, 'the mock platform received nothing');
  assert.equal(seen.length, 0);
});

test('a 20 MB upload streams through to the platform, and a 20 MB answer streams back', async () => {
  const id = await connect('youtube', 'big');
  const upload = crypto.randomBytes(20 * 1024 * 1024);
  const download = crypto.randomBytes(20 * 1024 * 1024);
  serve('www.googleapis.com', (c) => {
    if (c.method === 'PUT') return json(200, { bytes: c.bytes, sha256: c.sha256, length_header: c.headers['content-length'] ?? null });
    return new Response(download, { status: 200, headers: { 'content-type': 'application/octet-stream' } });
  });
  const up = await proxy(id, 'upload/youtube/v3/videos?uploadType=resumable&upload_id=abc', {
    method: 'PUT', body: upload, headers: { 'content-type': 'video/mp4', 'content-range': `bytes 0-${upload.length - 1}/${upload.length}` },
  });
  assert.equal(up.status, 200);
  const got = await up.json();
  assert.equal(got.bytes, upload.length);
  assert.equal(got.sha256, crypto.createHash('sha256').update(upload).digest('hex'));
  // Streamed, yet with its length: platforms that refuse chunked uploads get Content-Length.
  assert.equal(got.length_header, String(upload.length));
  assert.equal(seen[0].headers['content-range'], `bytes 0-${upload.length - 1}/${upload.length}`);
  const down = await proxy(id, 'youtube/v3/videos/download');
  assert.equal(down.status, 200);
  const body = Buffer.from(await down.arrayBuffer());
  assert.equal(crypto.createHash('sha256').update(body).digest('hex'), crypto.createHash('sha256').update(download).digest('hex'));
});

test('a 401 refreshes the token once and the call is retried with the new one', async () => {
  const id = await connect('x', 'expired');
  const first = (await w.call('GET', `/v1/profiles/${id}/access-token`, { token: app.api_key })).body.access_token;
  // The platform has dropped the token early (it would otherwise live two hours).
  mocks.tokens.get(first).revoked = true;
  serve('api.x.com', (c) => (liveX(c) ? json(200, { data: { ok: true } }) : json(401, { title: 'Unauthorized', status: 401 })));
  const res = await proxy(id, '2/tweets/search/recent?query=a');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-connect-links-attempts'), '2');
  assert.equal(res.headers.get('x-connect-links-refreshed'), 'true');
  assert.equal(seen.length, 2);
  assert.equal(bearerOf(seen[0]), first);
  assert.notEqual(bearerOf(seen[1]), first);
  assert.equal(mocks.calls.filter((c) => c.platform === 'x' && c.endpoint === 'refresh').length >= 1, true);
  const now = (await w.call('GET', `/v1/profiles/${id}/access-token`, { token: app.api_key })).body.access_token;
  assert.equal(now, bearerOf(seen[1]), 'the new token is stored');
  // Another 401 within a minute of that refresh is passed back without refreshing again: an
  // endpoint that refuses the token for its own reasons must not cost a refresh per call.
  const refreshes = mocks.calls.filter((c) => c.platform === 'x' && c.endpoint === 'refresh').length;
  mocks.tokens.get(now).revoked = true;
  const again = await proxy(id, '2/tweets/search/recent?query=b');
  assert.equal(again.status, 401);
  assert.equal(mocks.calls.filter((c) => c.platform === 'x' && c.endpoint === 'refresh').length, refreshes);
});

test('a 401 whose refresh is refused for good disconnects the profile', async () => {
  const id = await connect('x', 'gone');
  for (const g of mocks.tokens.values()) if (g.platform === 'x' && g.user === 'gone') g.revoked = true;
  serve('api.x.com', () => json(401, { title: 'Unauthorized', status: 401 }));
  const res = await proxy(id, '2/users/me');
  assert.equal(res.status, 409);
  assert.equal((await res.json()).error.code, 'conflict');
  assert.equal(seen.length, 1, 'not retried without a new token');
  const p = (await w.call('GET', `/v1/profiles/${id}`, { token: app.api_key })).body;
  assert.equal(p.status, 'disconnected');
  // A disconnected profile gets 409 without a platform call.
  const again = await proxy(id, '2/users/me');
  assert.equal(again.status, 409);
  assert.equal(seen.length, 1);
});

test('a 429 is passed back with its Retry-After and remembered: the next call is refused here', async () => {
  const id = await connect('x', 'limited');
  const other = await connect('x', 'limited2');
  serve('api.x.com', (c) => (c.path === '/2/tweets/search/recent'
    ? json(429, { title: 'Too Many Requests', detail: 'Too Many Requests' }, { 'retry-after': '120' })
    : json(200, { data: {} })));
  const res = await proxy(id, '2/tweets/search/recent?query=a');
  assert.equal(res.status, 429);
  assert.equal(res.headers.get('retry-after'), '120');
  assert.equal((await res.json()).title, 'Too Many Requests', "the platform's own answer");
  assert.equal(res.headers.get('x-connect-links-attempts'), '1', 'never retried blind');
  const local = await proxy(id, '2/tweets/search/recent?query=b');
  assert.equal(local.status, 429);
  assert.equal((await local.json()).error.code, 'rate_limited');
  const wait = Number(local.headers.get('retry-after'));
  assert.ok(wait > 100 && wait <= 120, `Retry-After ${wait}`);
  assert.equal(seen.length, 1, 'refused without touching the platform');
  // Another endpoint class of the same profile still goes.
  assert.equal((await proxy(id, '2/users/me')).status, 200);
  // So does the same endpoint for another profile.
  assert.equal((await proxy(other, '2/tweets/search/recent?query=a')).status, 429);
  assert.equal(seen.length, 3);
});

test('X reporting a spent window blocks the endpoint until its reset', async () => {
  const id = await connect('x', 'spent');
  const reset = Math.floor(Date.now() / 1000) + 300;
  serve('api.x.com', () => json(200, { data: {} }, { 'x-rate-limit-remaining': '0', 'x-rate-limit-reset': String(reset) }));
  assert.equal((await proxy(id, '2/users/1/followers')).status, 200);
  const local = await proxy(id, '2/users/2/followers');
  assert.equal(local.status, 429);
  assert.ok(Number(local.headers.get('retry-after')) > 250);
  assert.equal(seen.length, 1);
});

test('5xx answers to a GET are retried with backoff; a POST only with Idempotency-Key', async () => {
  const id = await connect('x', 'flaky');
  serve('api.x.com', (c, n) => (n <= 2 ? json(503, { title: 'Service Unavailable' }) : json(200, { data: { n } })));
  const got = await proxy(id, '2/users/me');
  assert.equal(got.status, 200);
  assert.deepEqual(await got.json(), { data: { n: 3 } });
  assert.equal(got.headers.get('x-connect-links-attempts'), '3');
  assert.equal(seen.length, 3);

  seen = [];
  serve('api.x.com', () => json(503, { title: 'Service Unavailable' }));
  const post = await proxy(id, '2/tweets', { method: 'POST', body: JSON.stringify({ text: 'once' }), headers: { 'content-type': 'application/json' } });
  assert.equal(post.status, 503);
  assert.equal(post.headers.get('x-connect-links-attempts'), '1');
  assert.equal(seen.length, 1, 'a POST is not sent twice');

  seen = [];
  const keyed = await proxy(id, '2/tweets', {
    method: 'POST', body: JSON.stringify({ text: 'keyed' }), headers: { 'content-type': 'application/json', 'idempotency-key': 'abc' },
  });
  assert.equal(keyed.status, 503);
  assert.equal(keyed.headers.get('x-connect-links-attempts'), '3');
  assert.equal(seen.length, 3);
  assert.ok(seen.every((c) => c.sha256 === seen[0].sha256 && c.bytes > 0), 'the same body each time');

  // Other 4xx: back at once.
  seen = [];
  serve('api.x.com', () => json(400, { title: 'Invalid Request' }));
  const bad = await proxy(id, '2/users/me');
  assert.equal(bad.status, 400);
  assert.equal(seen.length, 1);
});

test('concurrent calls share one budget through the Durable Object', async () => {
  const id = await connect('x', 'burst');
  const other = await connect('x', 'burst2');
  serve('api.x.com', () => json(200, { data: { deleted: true } }));
  // X allows 50 deletes per 15 minutes per user.
  const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => proxy(id, `2/tweets/${1000 + i}`, { method: 'DELETE' })));
  const statuses = answers.map((r) => r.status);
  assert.equal(statuses.filter((s) => s === 200).length, 50);
  assert.equal(statuses.filter((s) => s === 429).length, 10);
  assert.equal(seen.length, 50, 'the platform saw exactly the budget');
  // Another profile has a budget of its own.
  assert.equal((await proxy(other, '2/tweets/1', { method: 'DELETE' })).status, 200);
});

test('a pending profile gets 409 without a platform call', async () => {
  const link = await w.createLink(app.api_key, { platform: 'x', redirect_url: REDIRECT });
  const approved = mocks.approve(link.authorize_url, { user: 'pend' });
  const qs = new URLSearchParams({ code: approved.code, state: approved.state });
  const res = await w.callback(`${w.base}/oauth/callback?${qs}`, { claim: false });
  const id = new URL(res.headers.get('location')).searchParams.get('profile_id');
  serve('api.x.com', () => json(200, {}));
  const r = await proxy(id, '2/users/me');
  assert.equal(r.status, 409);
  assert.equal(seen.length, 0);
  // Another app's profile is not found.
  const other = await w.admin('POST', '/v1/admin/apps', { name: 'Other', allowed_redirect_urls: [REDIRECT] });
  const r2 = await fetch(`${w.base}/v1/profiles/${id}/proxy/2/users/me`, { headers: { authorization: `Bearer ${other.body.api_key}` } });
  assert.equal(r2.status, 404);
  assert.equal(seen.length, 0);
});

/** X's 200s from the platform in `GET /v1/admin/stats`. */
const xOk = (stats) => (stats.proxy.data.find((r) => r.platform === 'x' && r.status === 200 && r.source === 'platform') || { calls: 0 }).calls;

/** `GET /v1/admin/stats` once `done(stats)` holds, read every 100 ms for at most 5 s (the last read otherwise). */
async function statsWhen(done) {
  let stats;
  for (const end = Date.now() + 5000; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
    stats = (await w.admin('GET', '/v1/admin/stats')).body;
    if (done(stats)) return stats;
  }
  return stats;
}

/** X's 200 count once the earlier tests' counts are written: two reads a write's delay apart agree. */
async function settledXOk() {
  let was = xOk((await w.admin('GET', '/v1/admin/stats')).body);
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 1200));
    const now = xOk((await w.admin('GET', '/v1/admin/stats')).body);
    if (now === was) return now;
    was = now;
  }
  throw new Error('the proxy counters did not settle');
}

test('a burst of proxied calls is counted exactly: summed in the isolate, written after the answers', async () => {
  const id = await connect('x', 'burst');
  serve('api.x.com', () => json(200, { data: {} }));
  const was = await settledXOk();
  const answers = await Promise.all(Array.from({ length: 25 }, () => proxy(id, '2/users/me')));
  assert.deepEqual([...new Set(answers.map((r) => r.status))], [200]);
  // Nothing lost, nothing counted twice, once the isolate's write has gone.
  const stats = await statsWhen((s) => xOk(s) >= was + 25);
  assert.equal(xOk(stats), was + 25);
});

test('one log line per proxied call, with no token or query value; counters in /v1/admin/stats', async () => {
  const id = await connect('x', 'logged');
  serve('api.x.com', () => json(200, { data: {} }));
  const before = (await w.admin('GET', '/v1/admin/stats')).body;
  const was = (before.proxy.data.find((r) => r.platform === 'x' && r.status === 200 && r.source === 'platform') || { calls: 0 }).calls;
  const res = await proxy(id, '2/users/987654321/mentions?secretquery=hunter2');
  assert.equal(res.status, 200);
  await new Promise((r) => setTimeout(r, 300));
  const lines = w.logs.join('').split('\n').filter((l) => l.includes('"event":"proxy_call"') && l.includes(id));
  const line = lines.find((l) => l.includes('mentions'));
  assert.ok(line, 'a proxy_call line');
  const entry = JSON.parse(line.slice(line.indexOf('{')));
  assert.equal(entry.endpoint, 'GET /2/users/{id}/mentions');
  assert.equal(entry.platform, 'x');
  assert.equal(entry.status, 200);
  assert.equal(entry.attempts, 1);
  assert.equal(typeof entry.latency_ms, 'number');
  const all = w.logs.join('');
  assert.equal(all.includes('hunter2'), false, 'no query value in logs');
  assert.equal(all.includes('987654321'), false, 'no id from the path in logs');
  assert.equal(/xat_[0-9a-f]{8}/.test(all), false, 'no token in logs');
  // Counts are summed in the isolate and written about a second after the answer.
  const stats = await statsWhen((s) => xOk(s) === was + 1);
  const now = stats.proxy.data.find((r) => r.platform === 'x' && r.status === 200 && r.source === 'platform');
  assert.equal(now.calls, was + 1);
  assert.ok(stats.proxy.totals.x >= now.calls);
  assert.ok(stats.proxy.data.some((r) => r.source === 'local' && r.status === 429), 'local refusals are counted');
  // Refusals before any call are logged too (a host escape attempt is worth seeing).
  await proxy(id, 'https:%2F%2Fevil.test');
  await new Promise((r) => setTimeout(r, 300));
  const refused = w.logs.join('').split('\n').filter((l) => l.includes('"event":"proxy_call"') && l.includes(id) && l.includes('"status":400'));
  assert.equal(refused.length, 1);
  assert.equal(refused[0].includes('evil'), false, 'the refused path is not logged');
  assert.equal((await w.call('GET', '/v1/admin/stats', { token: app.api_key })).status, 401, 'operators only');
});

test('spellings of one endpoint share its memory: encoded letters, case, a long path', async () => {
  const id = await connect('x', 'spell');
  serve('api.x.com', () => json(429, { title: 'Too Many Requests' }, { 'retry-after': '120' }));
  assert.equal((await proxy(id, '2/tweets/search/recent?query=a')).status, 429);
  for (const p of ['2/tweets/search/rec%65nt?query=a', '2/tweets/search/Recent?query=a', '2/tweets/search/recent/?query=a', '2/tweets/search/recent;x?query=a']) {
    const r = await proxy(id, p);
    assert.equal(r.status, 429, p);
    assert.equal((await r.json()).error.code, 'rate_limited', p);
  }
  assert.equal(seen.length, 1, 'none of the spellings reached the platform');
  // The forwarded path is the decoded one the budget counted.
  seen = [];
  serve('api.x.com', () => json(200, {}));
  await proxy(id, '2/users/%6De');
  assert.equal(seen[0].path, '/2/users/me');
  // A path longer than the limiter's keys is still remembered.
  seen = [];
  const long = `2/${'ab/'.repeat(80)}x`;
  serve('api.x.com', () => json(429, { title: 'Too Many Requests' }, { 'retry-after': '60' }));
  assert.equal((await proxy(id, long)).status, 429);
  const again = await proxy(id, long);
  assert.equal((await again.json()).error.code, 'rate_limited');
  assert.equal(seen.length, 1);
});

test("one platform account's limits are shared by its profiles in every app", async () => {
  const id = await connect('x', 'shared');
  const made = await w.admin('POST', '/v1/admin/apps', { name: 'Second app', allowed_redirect_urls: [REDIRECT] });
  const { q } = await w.connectWithMock(mocks, made.body.api_key, 'x', { user: 'shared', redirect: REDIRECT });
  assert.equal(q.connected, 'true');
  serve('api.x.com', () => json(429, { title: 'Too Many Requests' }, { 'retry-after': '90' }));
  assert.equal((await proxy(id, '2/users/me')).status, 429);
  const other = await fetch(`${w.base}/v1/profiles/${q.profile_id}/proxy/2/users/me`, { headers: { authorization: `Bearer ${made.body.api_key}` } });
  assert.equal(other.status, 429);
  assert.equal((await other.json()).error.code, 'rate_limited');
  assert.equal(seen.length, 1);
});

test('a tunnelled POST is not retried; HEAD keeps its length; a leading // changes nothing', async () => {
  const id = await connect('x', 'tunnel');
  mocks.setOrganizations('tunnel-li', []);
  const li = await connect('linkedin', 'tunnel-li');
  serve('api.x.com', () => json(503, { title: 'Service Unavailable' }));
  // X takes no method override: the header is dropped, and a GET stays a GET (retried).
  const r = await proxy(id, '2/tweets', { headers: { 'x-http-method-override': 'POST' } });
  assert.equal(r.status, 503);
  assert.equal(seen.length, 3);
  assert.ok(seen.every((c) => c.method === 'GET' && !c.headers['x-http-method-override']));
  // LinkedIn's query tunnelling: a POST standing for a GET passes, and is still not retried.
  seen = [];
  serve('api.linkedin.com', () => json(503, { message: 'unavailable' }));
  const t = await proxy(li, 'rest/posts', {
    method: 'POST', body: 'q=author&author=urn%3Ali%3Aperson%3A1', headers: { 'x-http-method-override': 'GET', 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(t.status, 503);
  assert.equal(seen.length, 1, 'a POST is sent once');
  assert.equal(seen[0].headers['x-http-method-override'], 'GET');
  seen = [];
  serve('api.x.com', (c) => new Response(c.method === 'HEAD' ? null : 'x'.repeat(12345), { status: 200, headers: { 'content-length': '12345', 'content-type': 'text/plain' } }));
  const head = await proxy(id, '2/media/abc', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-length'), '12345');
  seen = [];
  serve('api.x.com', () => json(200, {}));
  const slashes = await rawRequest(`//v1/profiles/${id}/proxy/2/users/me`);
  assert.equal(slashes.status, 200);
  assert.equal(seen[0].path, '/2/users/me');
});

test("Meta's answers: a large error body comes back whole, and code 190 on a token the liveness check finds alive passes back", async () => {
  mocks.setPages('fbbig', [{ id: '77002', name: 'Big Page' }]);
  const page = await connect('facebook', 'fbbig');
  const big = JSON.stringify({ error: { message: 'Invalid parameter', type: 'OAuthException', code: 100, detail: 'y'.repeat(70 * 1024) } });
  serve('graph.facebook.com', () => new Response(big, { status: 400, headers: { 'content-type': 'application/json' } }));
  const r = await proxy(page, 'v25.0/77002/feed');
  assert.equal(r.status, 400);
  assert.equal(await r.text(), big);
  // Graph's `?method=` given twice is ambiguous: refused before any call.
  seen = [];
  const twice = await proxy(page, 'v25.0/77002/feed?method=get&method=post');
  assert.equal(twice.status, 400);
  assert.equal(seen.length, 0);
  const dead = { error: { message: 'Error validating access token', type: 'OAuthException', code: 190, error_subcode: 460 } };
  seen = [];
  // Facebook has no refresh: the Page token is checked at once (Graph /me), and found alive.
  serve('graph.facebook.com', (c) => (c.path === '/v25.0/me' ? json(200, { id: '77002' }) : json(400, dead)));
  const d = await proxy(page, 'v25.0/77002/feed');
  assert.equal(d.status, 400);
  assert.deepEqual(await d.json(), dead, "the platform's answer");
  assert.equal(d.headers.get('x-connect-links-refreshed'), 'false');
  assert.deepEqual(seen.map((c) => c.path), ['/v25.0/77002/feed', '/v25.0/me']);
});

test('a sandbox profile reaches the sandbox API through the proxy, and nothing else of the worker', async () => {
  const sandboxApp = await w.createApp('Sandbox proxy app');
  const link = await w.createLink(sandboxApp.api_key);
  const { back } = await w.consent(link, { username: 'proxied' });
  const res = await w.callback(back);
  const id = new URL(res.headers.get('location')).searchParams.get('profile_id');
  const call = (path) => fetch(`${w.base}/v1/profiles/${id}/proxy/${path}`, { headers: { authorization: `Bearer ${sandboxApp.api_key}` } });
  const me = await call('userinfo');
  assert.equal(me.status, 200);
  const body = await me.json();
  assert.equal(body.preferred_username, 'proxied');
  assert.equal(me.headers.get('x-connect-links-attempts'), '1');
  // The worker's own routes are not under the sandbox's API base. Sent raw (http.get, not
  // fetch, which would resolve the dot segments itself).
  const { hostname, port } = new URL(w.base);
  const raw = (path) => new Promise((resolve, reject) => {
    http.get({ host: hostname, port, path, headers: { authorization: `Bearer ${sandboxApp.api_key}` } }, (r) => {
      let text = '';
      r.setEncoding('utf8');
      r.on('data', (d) => { text += d; });
      r.on('end', () => resolve({ status: r.statusCode, body: JSON.parse(text) }));
    }).on('error', reject);
  });
  const sandboxCalls = () => mocks.loopback.filter((c) => new URL(c.url).pathname.startsWith('/sandbox/')).length;
  const before = sandboxCalls();
  assert.ok(before >= 1, 'the userinfo call above was seen');
  // The runtime resolves the encoded dot segment before routing: the path lost its `proxy/`
  // and names no route: the router's own 404 (the admin API is neither reached through the
  // proxy nor directly), and no call to the sandbox's API.
  const escape = await raw(`/v1/profiles/${id}/proxy/%2e%2e/v1/admin/apps`);
  assert.equal(escape.status, 404);
  assert.equal(escape.body.error.code, 'not_found');
  // Spellings the runtime leaves alone reach the proxy, which refuses them before any call:
  // an encoded slash, and a dot segment encoded twice (a host that decodes twice reads `..`).
  for (const path of ['..%2fv1/admin/apps', '..%2F..%2Fv1/admin/apps', '%252e%252e/v1/admin/apps', '.%252e/v1/admin/apps', 'x%252f..%252f..%252fv1/admin/apps']) {
    const r = await raw(`/v1/profiles/${id}/proxy/${path}`);
    assert.equal(r.status, 400, path);
    assert.equal(r.body.error.code, 'invalid_request', path);
    assert.match(r.body.error.message, /relative path under the platform's API/, path);
  }
  assert.equal(sandboxCalls(), before, 'the sandbox API received no request');
});
