// Huge bodies made lazily, a chunk at a time, so a test can send or answer 200 MB without
// holding it, and can tell how much of it the other side actually took.

const CHUNK = 64 * 1024;

/**
 * A web ReadableStream of `total` bytes: `head`, then spaces. A chunk is made only when
 * the reader pulls one, so `stats.sent` is what the reader took (plus what sits in
 * buffers between); `stats.cancelled` is set when the reader cancels. With `holdAt`, the
 * stream pauses once that many bytes are out, until `hold` settles (at most `holdMs`);
 * `stats.released` says which ended the pause: 'hold' or 'timeout'.
 */
export function lazyStream(total, stats = {}, head = '', { holdAt = Infinity, hold, holdMs = 5000 } = {}) {
  stats.sent = 0;
  stats.cancelled = false;
  let held = false;
  return new ReadableStream({
    async pull(controller) {
      if (!held && stats.sent >= holdAt) {
        held = true;
        await Promise.race([
          Promise.resolve(hold).then(() => { stats.released ??= 'hold'; }),
          new Promise((r) => setTimeout(() => { stats.released ??= 'timeout'; r(); }, holdMs)),
        ]);
      }
      if (stats.cancelled) return;
      if (stats.sent >= total) {
        controller.close();
        return;
      }
      const chunk = new Uint8Array(Math.min(CHUNK, total - stats.sent)).fill(0x20);
      if (stats.sent === 0) chunk.set(new TextEncoder().encode(head).subarray(0, chunk.length));
      stats.sent += chunk.length;
      controller.enqueue(chunk);
    },
    cancel() {
      stats.cancelled = true;
    },
  });
}

/**
 * Writes `total` bytes of spaces to a node `http.ServerResponse`, waiting for the socket to
 * drain between chunks and stopping as soon as the client goes away (`stats.closed`).
 */
export async function writeLazily(res, total, stats = {}) {
  stats.sent = 0;
  stats.closed = false;
  res.on('close', () => { stats.closed = true; });
  const chunk = Buffer.alloc(CHUNK, 0x20);
  while (stats.sent < total && !stats.closed) {
    const piece = chunk.subarray(0, Math.min(CHUNK, total - stats.sent));
    stats.sent += piece.length;
    if (!res.write(piece)) await drained(res);
  }
  if (!stats.closed) res.end();
}

/** Resolves when `res` can take more, or is gone. */
function drained(res) {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Waits until `check()` holds, or fails after `ms`. */
export async function until(what, check, ms = 5000) {
  for (const start = Date.now(); Date.now() - start < ms; await new Promise((r) => setTimeout(r, 20))) {
    if (await check()) return;
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Miniflare's outboundService for `handle` (a fetch-style mock), written as a Node service
 * so that answer bodies stream back with backpressure and stop when the worker hangs up.
 * (A fetch-style outboundService has Miniflare drain the whole answer body into the socket
 * whatever the worker reads, which would hide whether the worker stopped early.)
 */
export function streamingOutbound(handle) {
  return {
    async node(req, res) {
      const host = req.headers.host;
      const loopback = /^(127\.0\.0\.1|localhost)(:|$)/.test(host);
      const url = `${loopback ? 'http' : 'https'}://${host}${req.url}`;
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (!k.startsWith('mf-') && v !== undefined) headers.set(k, String(v));
      const body = ['GET', 'HEAD'].includes(req.method) ? undefined : await new Promise((resolve) => {
        const parts = [];
        req.on('data', (d) => parts.push(d));
        req.on('end', () => resolve(Buffer.concat(parts)));
      });
      const response = await handle(new Request(url, { method: req.method, headers, body }));
      res.writeHead(response.status, Object.fromEntries(response.headers));
      if (!response.body) return res.end();
      const reader = response.body.getReader();
      let gone = false;
      res.on('close', () => {
        gone = true;
        reader.cancel().catch(() => {});
      });
      while (!gone) {
        const { done, value } = await reader.read().catch(() => ({ done: true }));
        if (done) break;
        if (!res.write(value)) await drained(res);
      }
      if (!gone) res.end();
    },
  };
}
