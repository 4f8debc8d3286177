// Test-only entry: the built worker, with some of its RateLimiter objects overloaded, as a
// Durable Object is when more requests reach it than it can handle (an app flooding its own
// object): the stub's fetch rejects with the runtime's overload error. The worker code is
// unchanged; this module only wraps the binding it is given (as d1-limits-entry.mjs wraps D1).
//
// `OVERLOADED_LIMITERS` (a binding the test sets; the worker never reads it): a comma-separated
// list of object-name prefixes (`tenant:`), each optionally with `#<counter key>` to overload
// only the requests that name that counter (`tenant:#instance registrations`). Empty: none.
import Worker from '../../build/index.js';

export { RateLimiter } from '../../build/index.js';

function overloaded() {
  const e = new Error('Durable Object is overloaded. Too many requests queued.');
  e.overloaded = true;
  e.retryable = false;
  return Promise.reject(e);
}

function wrapNamespace(ns, rules) {
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
          const matching = rules.filter((r) => name.startsWith(r.prefix));
          if (matching.length === 0) return stub;
          return new Proxy(stub, {
            get(s, p) {
              const v = Reflect.get(s, p);
              if (p !== 'fetch') return typeof v === 'function' ? v.bind(s) : v;
              return async (req, init) => {
                const request = new Request(req, init);
                const body = await request.clone().text();
                if (matching.some((r) => !r.key || body.includes(JSON.stringify(r.key)))) return overloaded();
                return v.call(s, request);
              };
            },
          });
        };
      }
      return value.bind(target);
    },
  });
}

export default class OverloadedLimiterWorker extends Worker {
  constructor(ctx, env) {
    const rules = String(env.OVERLOADED_LIMITERS ?? '')
      .split(',')
      .filter(Boolean)
      .map((r) => {
        const [prefix, key] = r.split('#');
        return { prefix, key };
      });
    super(ctx, rules.length ? { ...env, RATE_LIMITER: wrapNamespace(env.RATE_LIMITER, rules) } : env);
  }
}
