// Bounded work on the real runtime (issue #8): outbound answers and request bodies are cut
// while they stream in, never read whole first, and every number from a request is
// range-checked before it reaches D1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';
import { PlatformMocks, credentialVars } from './platform-mocks.mjs';
import { WebhookReceiver } from './webhook-receiver.mjs';
import { lazyStream, streamingOutbound, until } from './streams.mjs';

const REDIRECT = 'https://app.example.com/connected';
const MiB = 1024 * 1024;
const HUGE = 200 * 1000 * 1000;
// What a worker that stops early may still have pulled: the cap plus what sits in the
// buffers between Node, Miniflare and workerd. A full read is 200 MB.
const EARLY = 16 * MiB;
const now = () => Math.floor(Date.now() / 1000);

const mocks = new PlatformMocks();
const receiver = new WebhookReceiver();
let w;
let app;

before(async () => {
  await receiver.start();
  // Long enough that the platform timeout cannot be what stops a 200 MB read.
  const vars = { ...credentialVars(['x', 'youtube']), PLATFORM_TIMEOUT_MS: '30000' };
  w = await startWorker({ vars, outbound: streamingOutbound(mocks.handle) });
  const r = await w.admin('POST', '/v1/admin/apps', { name: 'Bounds app', allowed_redirect_urls: [REDIRECT], webhook_url: receiver.url });
  assert.equal(r.status, 201);
  app = r.body;
  receiver.useSecret(app.webhook_secret);
});
after(async () => {
  await w?.stop();
  await receiver.stop();
});

function assertError(r, status, code) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.error.code, code);
}

async function connect(platform, user) {
  const { q } = await w.connectWithMock(mocks, app.api_key, platform, { user, redirect: REDIRECT });
  assert.equal(q.connected, 'true', JSON.stringify(q));
  return q.profile_id;
}
const storedAccess = async (id) => {
  const grant = await w.grantOf(id);
  const row = await w.row('SELECT access_token_enc FROM grants WHERE id = ?', grant);
  return w.openEnvelope(row.access_token_enc, grant, 'access_token');
};

test('a platform answer that declares a length over the cap is refused without reading it', async () => {
  const huge = await connect('youtube', 'declared-huge');
  const before = await storedAccess(huge);
  const platform = {};
  const head = JSON.stringify({ access_token: 'ya29.declared', expires_in: 3599, token_type: 'Bearer' });
  mocks.failNext('youtube', 'token', () => new Response(lazyStream(HUGE, platform, head), {
    status: 200, headers: { 'content-type': 'application/json', 'content-length': String(HUGE) },
  }));
  await w.sql('UPDATE grants SET next_refresh_at = ? WHERE id = (SELECT grant_id FROM profiles WHERE id = ?)', now() - 1, huge);
  await w.cron();
  assert.ok(platform.sent < EARLY, `the worker pulled ${platform.sent} bytes of an answer declared as ${HUGE}`);
  const row = await w.row('SELECT p.status, g.refresh_failures FROM profiles p JOIN grants g ON g.id = p.grant_id WHERE p.id = ?', huge);
  assert.deepEqual([row.status, row.refresh_failures], ['active', 1], 'a transient failure');
  assert.equal(await storedAccess(huge), before);
});

test('a platform and a webhook receiver that answer 200 MB: the cron stops reading at the cap, the other refreshes succeed', async () => {
  const huge = await connect('youtube', 'huge');
  const others = [await connect('x', 'calm1'), await connect('x', 'calm2')];
  const tokensBefore = {};
  for (const id of [huge, ...others]) tokensBefore[id] = await storedAccess(id);
  // A valid token answer padded with 200 MB of spaces: a client that read it whole, or
  // read it whole and kept the first MiB, would parse it and store 'ya29.padded'.
  const platform = {};
  const head = JSON.stringify({ access_token: 'ya29.padded', expires_in: 3599, token_type: 'Bearer' });
  mocks.failNext('youtube', 'token', () => new Response(lazyStream(HUGE, platform, head), { status: 200, headers: { 'content-type': 'application/json' } }));
  receiver.answerBytes = HUGE;
  await w.sql(`UPDATE grants SET next_refresh_at = ? WHERE id IN (SELECT grant_id FROM profiles WHERE id IN (?, ?, ?))`, now() - 1, huge, ...others);

  const t0 = Date.now();
  await w.cron();
  receiver.answerBytes = 0;

  // The platform's answer: read only up to the cap, then cancelled.
  assert.ok(platform.sent < EARLY, `the worker pulled ${platform.sent} bytes of the platform's answer`);
  await until('the platform answer to be cancelled', () => platform.cancelled);
  // ... and treated as a transient failure: still active, backed off, tokens kept.
  const row = await w.row('SELECT p.status, g.refresh_failures, g.next_refresh_at FROM profiles p JOIN grants g ON g.id = p.grant_id WHERE p.id = ?', huge);
  assert.equal(row.status, 'active');
  assert.equal(row.refresh_failures, 1);
  // The first failure's backoff is 30 to 60 s from the run, which began after t0.
  assert.ok(row.next_refresh_at >= Math.floor(t0 / 1000) + 30, 'backed off');
  assert.equal(await storedAccess(huge), tokensBefore[huge], 'nothing of the oversized answer was stored');
  // The other refreshes of the same run succeeded.
  for (const id of others) {
    const r = await w.row('SELECT p.status, g.refresh_failures, p.last_refreshed_at FROM profiles p JOIN grants g ON g.id = p.grant_id WHERE p.id = ?', id);
    assert.deepEqual([r.status, r.refresh_failures], ['active', 0]);
    assert.ok(r.last_refreshed_at >= Math.floor(t0 / 1000) - 1, 'refreshed in this run');
    assert.notEqual(await storedAccess(id), tokensBefore[id]);
  }
  // The webhook to the receiver that answered 200 MB: status read, body cancelled unread.
  const [event] = receiver.of('profile.refresh_failed', huge);
  assert.ok(event, 'profile.refresh_failed delivered');
  const outbox = await w.row('SELECT attempts, delivered_at, last_status FROM webhook_outbox WHERE id = ?', event.id);
  assert.equal(outbox.last_status, 200);
  assert.equal(outbox.attempts, 1);
  assert.ok(outbox.delivered_at);
  assert.ok(receiver.answerStats.sent < EARLY, `the worker pulled ${receiver.answerStats.sent} bytes of the receiver's answer`);
  await until('the worker to hang up on the receiver', () => receiver.answerStats.closed);
});

/**
 * POSTs `total` bytes (starting with `head`) as a stream: no Content-Length, chunked. Once
 * 1,152 KiB are out (past the limit, the 1 MiB the worker drains after it, and a chunk) the
 * stream pauses until the answer is read: a worker that answers early closes the connection,
 * and a client still writing then sees a reset instead of the answer. A worker that reads on
 * waits out the pause and takes everything. `stats.released` says whether the answer ('hold')
 * or the timeout ended the pause: a worker that drained more than it promises stalls at the
 * pause until the timeout.
 */
const DRAINED = 64 * 1024 + MiB + 64 * 1024;
async function postStream(path, token, total, head) {
  const stats = {};
  let answered;
  const hold = new Promise((r) => { answered = r; });
  const res = await fetch(w.base + path, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: lazyStream(total, stats, head, { holdAt: total > DRAINED ? DRAINED : Infinity, hold }), duplex: 'half',
  });
  const text = await res.text();
  answered();
  return { status: res.status, body: text ? JSON.parse(text) : null, stats };
}

/** POSTs `text` streamed in small chunks (no Content-Length). */
async function postChunked(path, token, text, size = 1000) {
  const res = await fetch(w.base + path, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: chunked(text, size), duplex: 'half',
  });
  return { status: res.status, body: await res.json() };
}

/** A stream of `text` in small chunks. */
function chunked(text, size = 1000) {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.length) return c.close();
      c.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

test('a chunked request body over 64 KiB is cut while reading: 413, never a full read', async () => {
  for (const [path, token] of [['/v1/connect-links', app.api_key], ['/v1/admin/apps', w.bindings.ADMIN_TOKEN]]) {
    const r = await postStream(path, token, HUGE, '{"name": "');
    assertError(r, 413, 'payload_too_large');
    // Bytes, not time: a worker that waited for the rest of the body would have pulled it.
    assert.ok(r.stats.sent < EARLY, `${path}: the worker pulled ${r.stats.sent} bytes`);
    // The answer came while the stream was held at 1 MiB past the limit (and a chunk).
    assert.notEqual(r.stats.released, 'timeout', `${path}: the worker waited for more than 1 MiB past the limit`);
  }
  // One byte over the limit is over.
  assertError(await postStream('/v1/connect-links', app.api_key, 64 * 1024 + 1, '{'), 413, 'payload_too_large');
});

test('a chunked request body under 64 KiB still works', async () => {
  // About 60 KiB, in 1,000-byte chunks.
  const json = JSON.stringify({ name: `Chunked ${'n'.repeat(150)}`, allowed_redirect_urls: [REDIRECT] }).padEnd(60 * 1024, ' ');
  const created = await postChunked('/v1/admin/apps', w.bindings.ADMIN_TOKEN, json);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  // Exactly 64 KiB is within the limit.
  const exactly = JSON.stringify({ platform: 'sandbox', redirect_url: REDIRECT }).padEnd(64 * 1024, ' ');
  const link = await postChunked('/v1/connect-links', app.api_key, exactly, 4096);
  assert.equal(link.status, 201, JSON.stringify(link.body));
  assert.match(link.body.id, /^cl_/);
});

const cursorOf = (t, id) => `${t}.${id}`;

test('cursor times and limits outside what JavaScript numbers hold exactly are 400 on every list route, never 500', async () => {
  await connect('x', 'listed');
  // Every list route there is; both bind the cursor's time and `limit` in their query.
  const routes = [['/v1/profiles', app.api_key, 'prf_0'], ['/v1/admin/apps', w.bindings.ADMIN_TOKEN, 'app_0']];
  for (const [path, token, id] of routes) {
    // The cursor's time has at most 15 digits (openapi/openapi.json's pattern), so every
    // time it can carry is exact in JavaScript; longer or signed ones are refused.
    for (const t of ['9223372036854775807', '9007199254740993', '9007199254740992', '-9007199254740992', '-1', '1000000000000000', '99999999999999999999']) {
      const r = await w.call('GET', `${path}?cursor=${cursorOf(t, id)}`, { token });
      assertError(r, 400, 'invalid_request');
    }
    // The edges of the cursor's range still page.
    for (const t of ['999999999999999', '0']) {
      const r = await w.call('GET', `${path}?cursor=${cursorOf(t, id)}`, { token });
      assert.equal(r.status, 200, `${path} cursor ${t}: ${JSON.stringify(r.body)}`);
    }
    assert.ok((await w.call('GET', `${path}?cursor=${cursorOf('0', id)}`, { token })).body.data.length > 0);
    for (const limit of ['9007199254740993', '-9223372036854775808', '18446744073709551617', '1e2']) {
      assertError(await w.call('GET', `${path}?limit=${limit}`, { token }), 400, 'invalid_request');
    }
  }
});
