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
import { wrapLimiterNamespace } from './limiter-stubs.mjs';

function overloaded() {
  const e = new Error('Durable Object is overloaded. Too many requests queued.');
  e.overloaded = true;
  e.retryable = false;
  return Promise.reject(e);
}

function wrapNamespace(ns, rules) {
  return wrapLimiterNamespace(ns, (name) => {
    const matching = rules.filter((r) => name.startsWith(r.prefix));
    if (matching.length === 0) return null;
    return (request, body, send) => (matching.some((r) => !r.key || body.includes(JSON.stringify(r.key))) ? overloaded() : send());
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
