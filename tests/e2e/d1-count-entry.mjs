// Test-only entry: the built worker, with its D1 binding wrapped to count the statements each
// request runs before its answer, reported in the answer's `x-test-d1-statements` header (the
// console's pages are held to a documented budget of statements, docs/console.md). Each
// statement of a batch counts as one, as D1 and `make bench` count them. The worker code is
// unchanged; this module only wraps what it is given (as bench/counting-entry.mjs does).
import Worker from '../../build/index.js';

export { RateLimiter } from '../../build/index.js';

const targets = new WeakMap();

function wrapStatement(stmt, count) {
  const proxy = new Proxy(stmt, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      // workers-rs checks constructor.name; keep it as it is.
      if (typeof value !== 'function' || prop === 'constructor') return value;
      if (prop === 'bind') return (...args) => wrapStatement(value.apply(target, args), count);
      if (['first', 'run', 'all', 'raw'].includes(prop)) {
        return (...args) => { count.n += 1; return value.apply(target, args); };
      }
      return value.bind(target);
    },
  });
  targets.set(proxy, stmt);
  return proxy;
}

function wrapDb(db, count) {
  return new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (prop === 'prepare') return (sql) => wrapStatement(value.call(target, sql), count);
      if (prop === 'batch') {
        return (stmts) => { count.n += stmts.length; return value.call(target, stmts.map((s) => targets.get(s) ?? s)); };
      }
      if (prop === 'exec') return (...args) => { count.n += 1; return value.apply(target, args); };
      return typeof value === 'function' && prop !== 'constructor' ? value.bind(target) : value;
    },
  });
}

/** One instance per invocation (request, cron run, queue batch), each with its own count. */
export default class D1CountWorker extends Worker {
  constructor(ctx, env) {
    const count = { n: 0 };
    super(ctx, { ...env, DB: wrapDb(env.DB, count) });
    this.count = count;
  }

  async fetch(request) {
    const res = await super.fetch(request);
    const out = new Response(res.body, res);
    out.headers.set('x-test-d1-statements', String(this.count.n));
    return out;
  }
}
