// Test-only entry: the built worker, with a D1 binding that can lose the answer of a batch
// it committed (D1 can fail a call whose transaction went through: a connection lost on the
// way back). While the test's table `lose_answer` names a statement text fragment, the next
// batch holding a statement with that text runs for real, then fails as such a call fails;
// the row is used up. The worker code is unchanged; this module only wraps what it is given.
import Worker from '../../build/index.js';

export { RateLimiter } from '../../build/index.js';

const sqlOf = new WeakMap();

function wrapStatement(stmt, sql) {
  const proxy = new Proxy(stmt, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      // workers-rs checks constructor.name; keep it as it is.
      if (typeof value !== 'function' || prop === 'constructor') return value;
      if (prop === 'bind') return (...args) => wrapStatement(value.apply(target, args), sql);
      return value.bind(target);
    },
  });
  sqlOf.set(proxy, { stmt, sql });
  return proxy;
}

/** The fragment to lose the answer of, used up as it is taken; null when none is set. */
async function takeFragment(db) {
  try {
    const row = await db.prepare('DELETE FROM lose_answer WHERE rowid = (SELECT MIN(rowid) FROM lose_answer) RETURNING fragment').first();
    return row?.fragment ?? null;
  } catch {
    return null; // no such table: nothing to lose
  }
}

function wrapDb(db) {
  return new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (prop === 'prepare') return (sql) => wrapStatement(value.call(target, sql), sql);
      if (prop === 'batch') {
        return async (stmts) => {
          const real = stmts.map((s) => sqlOf.get(s)?.stmt ?? s);
          const texts = stmts.map((s) => sqlOf.get(s)?.sql ?? '');
          const pending = await target.prepare('SELECT fragment FROM lose_answer ORDER BY rowid LIMIT 1').first().catch(() => null);
          if (pending && texts.some((t) => t.includes(pending.fragment)) && (await takeFragment(target))) {
            await value.call(target, real);
            throw new Error('D1_ERROR: Network connection lost.');
          }
          return value.call(target, real);
        };
      }
      return typeof value === 'function' && prop !== 'constructor' ? value.bind(target) : value;
    },
  });
}

export default class LostAnswerWorker extends Worker {
  constructor(ctx, env) {
    super(ctx, { ...env, DB: wrapDb(env.DB) });
  }
}
