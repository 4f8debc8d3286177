// Bench-only entry: the built worker, with its D1 binding wrapped to count statements.
// The worker code is unchanged; this module only wraps what it is given.
import Worker from '../build/index.js';

// The rate-limit Durable Object class, for the benches whose worker binds it (the proxy's).
export { RateLimiter } from '../build/index.js';

export const counts = { statements: 0 };
const targets = new WeakMap();

function wrapStatement(stmt) {
  const proxy = new Proxy(stmt, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      // workers-rs checks constructor.name; keep it as it is.
      if (typeof value !== 'function' || prop === 'constructor') return value;
      if (prop === 'bind') return (...args) => wrapStatement(value.apply(target, args));
      if (['first', 'run', 'all', 'raw'].includes(prop)) {
        return (...args) => { counts.statements += 1; return value.apply(target, args); };
      }
      return value.bind(target);
    },
  });
  targets.set(proxy, stmt);
  return proxy;
}

function wrapDb(db) {
  return new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (prop === 'prepare') return (sql) => wrapStatement(value.call(target, sql));
      if (prop === 'batch') {
        return (stmts) => { counts.statements += stmts.length; return value.call(target, stmts.map((s) => targets.get(s) ?? s)); };
      }
      return typeof value === 'function' && prop !== 'constructor' ? value.bind(target) : value;
    },
  });
}

export default class CountingWorker extends Worker {
  constructor(ctx, env) {
    super(ctx, { ...env, DB: wrapDb(env.DB) });
  }

  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === '/__bench/counts') return Response.json(counts);
    if (url.pathname === '/__bench/reset') { counts.statements = 0; return Response.json(counts); }
    return super.fetch(request);
  }
}
