// A chunked request body a little over the 64 KiB cap: the client that is still sending it
// gets the 413, not a connection reset (what `wrangler dev`'s proxy turns into a 503 "Your
// worker restarted mid-request"). The worker drains up to 1 MiB past the cap before it
// answers; a longer body is still cut (bounds.test.mjs).
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

/** POSTs `total` bytes streamed with no Content-Length, as fast as the worker takes them. */
async function postChunked(path, token, total) {
  const stats = {};
  try {
    const res = await fetch(w.base + path, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: lazyStream(total, stats, '{"name": "'), duplex: 'half',
    });
    return { status: res.status, body: await res.json(), stats };
  } catch (e) {
    return { error: `${e.message}: ${e.cause?.code ?? e.cause?.message}`, stats };
  }
}

test('a chunked body of 64 KiB + 512 KiB: the client receives the 413 (it is read to its end, not reset)', async () => {
  // Several times over, on an app route and an operator route: a reset is a race the
  // client loses most of the time, never all of the time.
  for (let i = 0; i < 4; i++) {
    for (const [path, token] of [['/v1/connect-links', app.api_key], ['/v1/admin/apps', w.bindings.ADMIN_TOKEN]]) {
      const r = await postChunked(path, token, 64 * KiB + 512 * KiB);
      assert.equal(r.error, undefined, `${path}: the client saw ${r.error} after sending ${r.stats.sent} bytes`);
      assert.equal(r.status, 413);
      assert.equal(r.body.error.code, 'payload_too_large');
      assert.equal(r.stats.sent, 64 * KiB + 512 * KiB, 'the whole body was taken');
    }
  }
});
