// Test-only entry: the built worker, with its RateLimiter binding wrapped to record each call
// to an object (its name and the request's `op`), so a test can count Durable Object round
// trips. The worker code is unchanged; this module only wraps the binding it is given (as
// limiter-overload-entry.mjs does, through limiter-stubs.mjs) and answers `GET /__test/limiter-calls` (the calls so far,
// each with `done` once the object answered, then forgotten; kept with `?keep`) itself.
import Worker from '../../build/index.js';

export { RateLimiter } from '../../build/index.js';
import { wrapLimiterNamespace } from './limiter-stubs.mjs';

/** The calls this isolate's worker made: { name, op, lease, units, returned, done }. */
let calls = [];

/** `ns` wrapped to record each call to an object, and when the object answered it. */
function wrapNamespace(ns) {
  return wrapLimiterNamespace(ns, (name) => async (request, text, send) => {
    const body = JSON.parse(text);
    const call = { name, op: body.op, lease: body.lease ?? 0, units: body.units ?? null, returned: body.returned ?? null, done: false };
    calls.push(call);
    const answer = await send();
    call.done = true;
    return answer;
  });
}

export default class CountingLimiterWorker extends Worker {
  constructor(ctx, env) {
    super(ctx, { ...env, RATE_LIMITER: wrapNamespace(env.RATE_LIMITER) });
  }

  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === '/__test/limiter-calls') {
      const out = calls;
      if (!url.searchParams.has('keep')) calls = [];
      return Response.json(out);
    }
    return super.fetch(request);
  }
}
