// Test-only entry: the built worker, with its RateLimiter binding wrapped to record each call
// to an object (its name and the request's `op`), so a test can count Durable Object round
// trips. The worker code is unchanged; this module only wraps the binding it is given (as
// limiter-overload-entry.mjs does) and answers `GET /__test/limiter-calls` (the calls so far,
// each with `done` once the object answered, then forgotten; kept with `?keep`) itself.
import Worker from '../../build/index.js';

export { RateLimiter } from '../../build/index.js';

/** The calls this isolate's worker made: { name, op, lease, units, returned, done }. */
let calls = [];

function wrapNamespace(ns) {
  const names = new WeakMap();
  return new Proxy(ns, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      // workers-rs checks constructor.name; keep it as it is.
      if (typeof value !== 'function' || prop === 'constructor') return value;
      if (prop === 'idFromName') {
        return (name) => {
          const id = value.call(target, name);
          names.set(id, name);
          return id;
        };
      }
      if (prop === 'get') {
        return (id, ...rest) => {
          const stub = value.call(target, id, ...rest);
          const name = names.get(id) ?? '';
          return new Proxy(stub, {
            get(s, p) {
              const v = Reflect.get(s, p);
              if (p !== 'fetch') return typeof v === 'function' ? v.bind(s) : v;
              return async (req, init) => {
                const request = new Request(req, init);
                const body = JSON.parse(await request.clone().text());
                const call = { name, op: body.op, lease: body.lease ?? 0, units: body.units ?? null, returned: body.returned ?? null, done: false };
                calls.push(call);
                const answer = await v.call(s, request);
                call.done = true;
                return answer;
              };
            },
          });
        };
      }
      return value.bind(target);
    },
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
