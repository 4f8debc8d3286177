// The RateLimiter Durable Object (issue 11) inside workerd: the proxy is not routed yet, so
// these tests post LimiterRequests straight to the object through Miniflare's namespace, as
// the proxy's client (src/limiter.rs) does through the RATE_LIMITER binding.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';

const now = () => Math.floor(Date.now() / 1000);
let w;
let ns;

before(async () => {
  w = await startWorker();
  ns = await w.mf.getDurableObjectNamespace('RATE_LIMITER');
});
after(async () => {
  await w?.stop();
});

/** Posts `body` (an object, or a raw string) to the object named `name`: { status, body }. */
async function post(name, body) {
  const stub = ns.get(ns.idFromName(name));
  const res = await stub.fetch('https://limiter/', { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed };
}

const take = (name, takes, t = now()) => post(name, { op: 'take', now: t, takes });
const report = (name, reports, t = now()) => post(name, { op: 'report', now: t, reports });
const budget = (key, limit, window_secs) => ({ key, budget: { limit, window_secs } });

test('a budget of 3 in 60 s allows three calls, then refuses with a Retry-After within the window', async () => {
  const t = now();
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(await take('profile:p1', [budget('POST /2/tweets', 3, 60)], t), { status: 200, body: { decision: 'allow' } });
  }
  const r = await take('profile:p1', [budget('POST /2/tweets', 3, 60)], t + 5);
  assert.equal(r.status, 200);
  assert.equal(r.body.decision, 'refuse');
  assert.ok(r.body.retry_after_secs > 0 && r.body.retry_after_secs <= 60, JSON.stringify(r.body));
  assert.equal(r.body.retry_after_secs, 55);
  // Once the window is over, a new one starts.
  assert.equal((await take('profile:p1', [budget('POST /2/tweets', 3, 60)], t + 60)).body.decision, 'allow');
});

test('20 concurrent takes on a budget of 5 allow exactly 5', async () => {
  const t = now();
  const answers = await Promise.all(Array.from({ length: 20 }, () => take('profile:concurrent', [budget('*', 5, 900)], t)));
  assert.ok(answers.every((a) => a.status === 200), JSON.stringify(answers));
  assert.equal(answers.filter((a) => a.body.decision === 'allow').length, 5);
  assert.equal(answers.filter((a) => a.body.decision === 'refuse').length, 15);
});

test('a take is all or nothing: a refused endpoint spends nothing from the account-wide budget', async () => {
  const t = now();
  const both = [budget('*', 2, 900), budget('GET /2/users/me', 1, 900)];
  assert.equal((await take('profile:all-or-nothing', both, t)).body.decision, 'allow');
  assert.equal((await take('profile:all-or-nothing', both, t)).body.decision, 'refuse');
  // The account-wide counter still has its second unit.
  assert.equal((await take('profile:all-or-nothing', [budget('*', 2, 900)], t)).body.decision, 'allow');
  assert.equal((await take('profile:all-or-nothing', [budget('*', 2, 900)], t)).body.decision, 'refuse');
});

test('a remembered 429 (blocked_until) refuses the same endpoint class until then, budget or not', async () => {
  const t = now();
  assert.deepEqual(await report('profile:blocked', [{ key: 'POST /2/tweets', blocked_until: t + 120 }], t), { status: 200, body: { ok: true } });
  for (const entry of [{ key: 'POST /2/tweets', budget: null }, budget('POST /2/tweets', 100, 900)]) {
    const r = await take('profile:blocked', [entry], t + 20);
    assert.deepEqual(r.body, { decision: 'refuse', retry_after_secs: 100 });
  }
  // Another endpoint class of the same profile is not blocked.
  assert.equal((await take('profile:blocked', [budget('GET /2/users/me', 10, 900)], t + 20)).body.decision, 'allow');
  assert.equal((await take('profile:blocked', [{ key: 'POST /2/tweets', budget: null }], t + 120)).body.decision, 'allow');
});

test('a report of remaining 0 with a reset blocks until the reset; a remaining count corrects the budget', async () => {
  const t = now();
  await report('profile:remaining', [{ key: 'GET /2/tweets', remaining: 0, reset_at: t + 300 }], t);
  assert.deepEqual((await take('profile:remaining', [budget('GET /2/tweets', 15, 900)], t + 1)).body, { decision: 'refuse', retry_after_secs: 299 });
  // A counter the object knows the limit of: the platform says 1 of 15 is left.
  assert.equal((await take('profile:remaining', [budget('POST /2/likes', 15, 900)], t)).body.decision, 'allow');
  await report('profile:remaining', [{ key: 'POST /2/likes', remaining: 1, reset_at: t + 600 }], t);
  assert.equal((await take('profile:remaining', [budget('POST /2/likes', 15, 900)], t + 1)).body.decision, 'allow');
  assert.deepEqual((await take('profile:remaining', [budget('POST /2/likes', 15, 900)], t + 2)).body, { decision: 'refuse', retry_after_secs: 598 });
});

test('a report cannot block for more than a day', async () => {
  const t = now();
  await report('profile:capped', [{ key: 'k', blocked_until: t * 1000 }], t);
  assert.deepEqual((await take('profile:capped', [{ key: 'k', budget: null }], t)).body, { decision: 'refuse', retry_after_secs: 86400 });
});

test('bad input gets 400, never a crash', async () => {
  const t = now();
  for (const body of [
    '{not json',
    '',
    JSON.stringify({ op: 'spend', now: t, takes: [] }),
    JSON.stringify({ op: 'take', now: 'soon', takes: [] }),
    JSON.stringify({ op: 'take', now: t, takes: [budget('k', 0, 60)] }),
    JSON.stringify({ op: 'take', now: t, takes: [budget('k', 1, -5)] }),
    JSON.stringify({ op: 'take', now: t, takes: [budget('k', 1, 60), budget('k', 2, 60)] }),
    JSON.stringify({ op: 'take', now: t, takes: [budget('', 1, 60)] }),
    JSON.stringify({ op: 'take', now: t, takes: Array.from({ length: 17 }, (_, i) => budget(`k${i}`, 1, 60)) }),
    JSON.stringify({ op: 'report', now: -1, reports: [] }),
    JSON.stringify({ op: 'report', now: t, reports: [{ key: 'k', remaining: -1 }] }),
  ]) {
    const r = await post('profile:bad', body);
    assert.equal(r.status, 400, `${body} -> ${JSON.stringify(r)}`);
    assert.equal(typeof r.body.error, 'string');
  }
  const get = await ns.get(ns.idFromName('profile:bad')).fetch('https://limiter/');
  assert.equal(get.status, 405);
  await get.text();
  // The object still works after all that.
  assert.equal((await take('profile:bad', [budget('k', 1, 60)], t)).body.decision, 'allow');
});

test('two names are two independent objects', async () => {
  const t = now();
  assert.equal((await take('profile:a', [budget('*', 1, 900)], t)).body.decision, 'allow');
  assert.equal((await take('profile:a', [budget('*', 1, 900)], t)).body.decision, 'refuse');
  assert.equal((await take('profile:b', [budget('*', 1, 900)], t)).body.decision, 'allow');
  await report('app:x', [{ key: '*', blocked_until: t + 60 }], t);
  assert.equal((await take('app:y', [{ key: '*', budget: null }], t)).body.decision, 'allow');
  assert.equal((await take('app:x', [{ key: '*', budget: null }], t)).body.decision, 'refuse');
});

test("apps' shares follow a window a platform report moves: past the window's old end an app that spent its share still has", async () => {
  const t = now();
  const shared = [budget('*', 10, 600)];
  const as = (id, at) => post('app:reddit-like:budget:*', { op: 'take', now: at, takes: shared, tenant: { id, weight: 1 } });
  assert.equal((await as('b', t)).body.decision, 'allow');
  let allowed = 0;
  for (let i = 0; i < 8; i++) if ((await as('a', t + 1)).body.decision === 'allow') allowed += 1;
  assert.equal(allowed, 5, 'a stops at its share');
  assert.equal((await as('b', t + 100)).body.decision, 'allow');
  // The platform's window ends 300 s after ours, and it counted the same 7 calls.
  const r = await post('app:reddit-like:budget:*', { op: 'report', now: t + 200, reports: [{ key: '*', remaining: 3, reset_at: t + 900 }] });
  assert.equal(r.status, 200);
  // Past the old end: a has spent its share of the window the counter is in; b gets its rest.
  assert.equal((await as('a', t + 650)).body.decision, 'refuse');
  for (let i = 0; i < 3; i++) assert.equal((await as('b', t + 660)).body.decision, 'allow');
  assert.equal((await as('b', t + 660)).body.decision, 'refuse', 'the budget is spent');
});
