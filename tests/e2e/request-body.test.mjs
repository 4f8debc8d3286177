// A chunked request body a little over the 64 KiB cap: the client that is still sending it
// gets the 413, not a connection reset (what `wrangler dev`'s proxy turns into a 503 "Your
// worker restarted mid-request"). The worker drains up to 1 MiB past the cap before it
// answers; a longer body is still cut (bounds.test.mjs). Only for authenticated callers:
// a body from anyone else (platform webhooks, the picker's form) is cut at the cap.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';
import { lazyStream } from './streams.mjs';

const KiB = 1024;
let w;
let app;

before(async () => {
  w = await startWorker({});
  app = await w.createApp('Body app');
});
after(async () => {
  await w?.stop();
});

/**
 * POSTs `total` bytes streamed with no Content-Length. After 128 KiB the stream pauses until
 * the answer arrives or 300 ms pass (`stats.released`: 'hold' or 'timeout'). A worker that
 * reads the body to its end has to wait out the pause for the rest; one that answers early
 * answers during the pause and closes, and the resumed write then fails.
 */
async function postChunked(path, token, total) {
  const stats = {};
  let answered;
  const hold = new Promise((r) => { answered = r; });
  try {
    const pending = fetch(w.base + path, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: lazyStream(total, stats, '{"name": "', { holdAt: 128 * KiB, hold, holdMs: 300 }), duplex: 'half',
    });
    pending.then(answered, answered);
    const res = await pending;
    return { status: res.status, body: await res.json(), stats };
  } catch (e) {
    return { error: `${e.message}: ${e.cause?.code ?? e.cause?.message}`, stats };
  } finally {
    answered();
  }
}

test('a chunked body of 64 KiB + 512 KiB: the client receives the 413 (it is read to its end, not reset)', async () => {
  // On an app route and an operator route, a few times over.
  for (let i = 0; i < 2; i++) {
    for (const [path, token] of [['/v1/connect-links', app.api_key], ['/v1/admin/apps', w.bindings.ADMIN_TOKEN]]) {
      const r = await postChunked(path, token, 64 * KiB + 512 * KiB);
      assert.equal(r.error, undefined, `${path}: the client saw ${r.error} after sending ${r.stats.sent} bytes`);
      assert.equal(r.stats.released, 'timeout', `${path}: the answer came before the rest of the body was sent`);
      assert.equal(r.status, 413);
      assert.equal(r.body.error.code, 'payload_too_large');
    }
  }
});

/**
 * POSTs a chunked body of 64 KiB + 2 MiB to `path` with no credentials, paused once
 * 64 KiB + 256 KiB are out until the answer arrives: the bytes out when it arrives are what
 * the worker needed before answering.
 */
async function postUnauthenticated(path) {
  const stats = {};
  let answered;
  const hold = new Promise((r) => { answered = r; });
  const holdAt = 64 * KiB + 256 * KiB;
  // Read when the answer (or the reset) comes, before the pause ends.
  let sentAtAnswer;
  try {
    const res = await fetch(w.base + path, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: lazyStream(64 * KiB + 2048 * KiB, stats, 'signed_request=', { holdAt, hold, holdMs: 10_000 }), duplex: 'half',
    });
    sentAtAnswer = stats.sent;
    answered();
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text(), sentAtAnswer, holdAt };
  } catch (e) {
    sentAtAnswer ??= stats.sent;
    answered();
    return { error: `${e.message}: ${e.cause?.code ?? e.cause?.message}`, sentAtAnswer, holdAt };
  }
}

test('a chunked body over the cap from a caller nobody authenticated is cut at the cap, not drained', async () => {
  // Platform webhooks and the account picker's form take bodies from anyone: the 1 MiB drain
  // is for callers who proved who they are. A worker that drained would wait for the paused
  // body and answer only after more of it came.
  for (const path of ['/platform-webhooks/tiktok', '/platform-webhooks/meta/data-deletion', '/platform-webhooks/meta/deauthorize', '/connect/cl_nope/accounts']) {
    const r = await postUnauthenticated(path);
    assert.ok(r.sentAtAnswer <= r.holdAt, `${path}: the worker read on to ${r.sentAtAnswer} bytes before answering`);
    // The answer may race the cut body (a reset): what counts is that it came that early.
    if (!r.error) {
      assert.equal(r.status, 413, path);
      // The picker's form is a browser route (an HTML page); the webhooks answer JSON.
      if (r.type.startsWith('application/json')) assert.equal(JSON.parse(r.text).error.code, 'payload_too_large');
    }
  }
});
