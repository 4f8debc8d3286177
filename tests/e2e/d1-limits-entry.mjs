// Test-only entry: the built worker, with its D1 binding held to the limits Cloudflare
// documents for D1 and local D1 does not enforce (https://developers.cloudflare.com/d1/platform/limits/):
// at most 1,000 queries per Worker invocation (Workers Paid), each statement of a batch
// counting as one, as `make bench` counts them; local D1 already refuses more than 100 bound
// parameters per statement. The worker code is unchanged; this module only wraps what it is
// given (as bench/counting-entry.mjs does), and a query past the limit fails as D1 fails it.
import Worker from '../../build/index.js';

export { RateLimiter } from '../../build/index.js';

/** Queries per invocation on Workers Paid. */
const MAX_QUERIES = 1000;

const targets = new WeakMap();

function overLimit() {
  return Promise.reject(new Error('D1_ERROR: Too many API requests by single worker invocation.'));
}

function wrapStatement(stmt, budget) {
  const proxy = new Proxy(stmt, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      // workers-rs checks constructor.name; keep it as it is.
      if (typeof value !== 'function' || prop === 'constructor') return value;
      if (prop === 'bind') return (...args) => wrapStatement(value.apply(target, args), budget);
      if (['first', 'run', 'all', 'raw'].includes(prop)) {
        return (...args) => (budget.spend(1) ? value.apply(target, args) : overLimit());
      }
      return value.bind(target);
    },
  });
  targets.set(proxy, stmt);
  return proxy;
}

function wrapDb(db, budget) {
  return new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (prop === 'prepare') return (sql) => wrapStatement(value.call(target, sql), budget);
      if (prop === 'batch') {
        return (stmts) => (budget.spend(stmts.length) ? value.call(target, stmts.map((s) => targets.get(s) ?? s)) : overLimit());
      }
      if (prop === 'exec') return (...args) => (budget.spend(1) ? value.apply(target, args) : overLimit());
      return typeof value === 'function' && prop !== 'constructor' ? value.bind(target) : value;
    },
  });
}

/** Every invocation (one instance per request, cron run or queue batch) gets its own count. */
export default class D1LimitsWorker extends Worker {
  constructor(ctx, env) {
    const budget = { used: 0, spend(n) { this.used += n; return this.used <= MAX_QUERIES; } };
    super(ctx, { ...env, DB: wrapDb(env.DB, budget) });
  }
}
