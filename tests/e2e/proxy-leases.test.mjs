// Leases of the rate-limit budgets (issue 26): far from a budget's end a proxied call spends
// a unit its isolate leased from the `RateLimiter` object, with no round trip; near the end,
// after a platform 429 or when the platform says few calls are left, every call asks the
// object again; what a lease did not use goes back. The worker runs through
// limiter-count-entry.mjs, which records each call to a limiter object (the worker's code is
// unchanged). The same rules over many isolates are checked on the host
// (`core/src/ratelimit/lease/tests.rs`).
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';
import { PlatformMocks, credentialVars } from './platform-mocks.mjs';

const REDIRECT = 'https://app.example.com/connected';
const mocks = new PlatformMocks();
let w;
let seen; // the platform API calls the mock received in this test

before(async () => {
  w = await startWorker({ vars: credentialVars(['x']), outbound: mocks.handle, entry: 'tests/e2e/limiter-count-entry.mjs' });
});
after(async () => {
  await w?.stop();
});
beforeEach(() => {
  seen = [];
  mocks.api = undefined;
});

/** A new app (its limits as given) with one connected X profile. */
async function appWithProfile(user, limits) {
  const made = await w.admin('POST', '/v1/admin/apps', { name: `Leases ${user}`, allowed_redirect_urls: [REDIRECT], ...(limits ? { limits } : {}) });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const key = made.body.api_key;
  const { q } = await w.connectWithMock(mocks, key, 'x', { user, redirect: REDIRECT });
  assert.equal(q.connected, 'true', JSON.stringify(q));
  return { key, profile: q.profile_id, appId: made.body.app.id };
}

/** X's API answered by `answer(n)` for the n-th call (token calls go to the mock's own routes). */
function serve(answer) {
  mocks.api = async (request, url) => {
    if (url.hostname !== 'api.x.com' || /oauth2\//.test(url.pathname)) return undefined;
    seen.push(url.pathname);
    return answer(seen.length);
  };
}

const ok = (headers = {}) => new Response('{"data":[]}', { status: 200, headers: { 'content-type': 'application/json', ...headers } });

async function proxy({ key, profile }, path) {
  const r = await fetch(`${w.base}/v1/profiles/${profile}/proxy/${path}`, { headers: { authorization: `Bearer ${key}` } });
  await r.arrayBuffer();
  return r;
}

/** The calls to limiter objects since the last look: { name, op, lease, units, returned }. */
async function limiterCalls() {
  const r = await fetch(`${w.base}/__test/limiter-calls`);
  assert.equal(r.status, 200);
  return r.json();
}

/** `r=` of the app's `RateLimit` field on an answer. */
const remaining = (r) => Number(/^"proxy";r=(\d+);t=\d+$/.exec(r.headers.get('ratelimit') || '')?.[1] ?? NaN);

test('calls far from every budget spend leased units: a limiter round trip per lease, not per call, and RateLimit still counts each call', async () => {
  const p = await appWithProfile('lease-far');
  serve(() => ok());
  await limiterCalls();
  const left = [];
  const started = Date.now();
  for (let i = 0; i < 40; i++) {
    const r = await proxy(p, '2/tweets/search/recent?query=a');
    assert.equal(r.status, 200);
    left.push(remaining(r));
  }
  assert.deepEqual(left, Array.from({ length: 40 }, (_, i) => 1199 - i), 'the app sees every call counted');
  assert.equal(seen.length, 40);
  const seconds = Math.ceil((Date.now() - started) / 1000);
  const takes = (await limiterCalls()).filter((c) => c.op === 'take');
  // Without leases: 80 (the app's object and the account's, per call). With them, each object
  // is asked for one unit, then leases of twice what the last was used for (2, 4, 8, 16, 32)
  // that last a second each: six asks per object, one more per second the run took, never
  // one per call.
  assert.ok(takes.length <= Math.min(2 * (6 + seconds), 39), `${takes.length} limiter takes for 40 calls in ${seconds} s`);
  // How far the leases grow depends on how many calls fit in a lease's second (32 needs 16):
  // a slow runner stops lower, so this asks for growth (8 needs 4 calls in a second) and
  // that each lease is at most twice the one before it, up to 32.
  for (const mine of [(c) => c.name === `tenant:${p.appId}`, (c) => c.name.startsWith('account:x:')]) {
    const leases = takes.filter(mine).map((c) => c.lease);
    assert.ok(Math.max(...leases) >= 8, `leases grow: ${JSON.stringify(leases)}`);
    assert.ok(leases.every((l, i) => l <= 32 && (i === 0 || l <= 2 * leases[i - 1])), `leases double at most: ${JSON.stringify(leases)}`);
  }
});

test("the app's proxy rate stays exact at its end: every unit is a call, then 429 with r=0", async () => {
  const p = await appWithProfile('lease-end', { proxy_per_minute: 12 });
  serve(() => ok());
  const statuses = [];
  const left = [];
  for (let i = 0; i < 14; i++) {
    const r = await proxy(p, '2/tweets/search/recent?query=a');
    statuses.push(r.status);
    left.push(remaining(r));
  }
  assert.deepEqual(statuses, [...Array(12).fill(200), 429, 429]);
  assert.deepEqual(left, [11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0]);
  assert.equal(seen.length, 12, 'the platform saw exactly the rate');
});

test("a platform 429 ends the isolate's lease: the next call is refused here and never reaches the platform", async () => {
  const p = await appWithProfile('lease-429');
  serve((n) => (n === 3 ? new Response('{"title":"Too Many Requests"}', { status: 429, headers: { 'retry-after': '30' } }) : ok()));
  for (let i = 0; i < 2; i++) assert.equal((await proxy(p, '2/tweets/search/recent?query=a')).status, 200);
  await limiterCalls();
  const third = await proxy(p, '2/tweets/search/recent?query=a');
  assert.equal(third.status, 429);
  assert.equal(third.headers.get('x-connect-links-attempts'), '1', 'the platform answered it');
  const spentHere = (await limiterCalls()).filter((c) => c.op === 'take' && c.name.startsWith('account:x:'));
  assert.equal(spentHere.length, 0, 'the third call spent from a live lease (so the 429 found one to end)');
  const fourth = await proxy(p, '2/tweets/search/recent?query=a');
  assert.equal(fourth.status, 429);
  assert.equal(fourth.headers.get('x-connect-links-attempts'), '0', 'refused here');
  assert.equal(seen.length, 3, 'the platform saw no call after its 429');
  const asked = (await limiterCalls()).filter((c) => c.op === 'take' && c.name.startsWith('account:x:'));
  assert.equal(asked.length, 1, 'the account object was asked, not a lease spent');
});

test('a platform budget nearly spent ends the lease: from then on each call asks the account object', async () => {
  const p = await appWithProfile('lease-low');
  const reset = String(Math.floor(Date.now() / 1000) + 900);
  // X's GET /2/users/me: 75 per 15 minutes per user (a budget the worker keeps too).
  serve((n) => ok({ 'x-rate-limit-limit': '75', 'x-rate-limit-remaining': String(n === 1 ? 70 : 6 - n), 'x-rate-limit-reset': reset }));
  assert.equal((await proxy(p, '2/users/me')).status, 200);
  assert.equal((await proxy(p, '2/users/me')).status, 200, 'the platform says 4 left');
  // Both answers' reports reach the account's object after the answers: wait until it has
  // answered both, so the calls below race nothing.
  const { platform_user_id } = await w.row('SELECT platform_user_id FROM profiles WHERE id = ?', p.profile);
  const reported = async () => (await (await fetch(`${w.base}/__test/limiter-calls?keep`)).json())
    .filter((c) => c.op === 'report' && c.name === `account:x:${platform_user_id}` && c.done).length >= 2;
  for (const end = Date.now() + 10000; !(await reported()) && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
  assert.ok(await reported(), "the platform's reports reached the account's object");
  await limiterCalls();
  for (let i = 0; i < 3; i++) assert.equal((await proxy(p, '2/users/me')).status, 200);
  const takes = (await limiterCalls()).filter((c) => c.op === 'take' && c.name.startsWith('account:x:'));
  assert.equal(takes.length, 3, `each call asked the account object: ${JSON.stringify(takes)}`);
});

test('a take this isolate has not made before asks for one unit: a profile proxied now and then takes no lease to give back', async () => {
  const p = await appWithProfile('lease-once');
  serve(() => ok());
  await limiterCalls();
  assert.equal((await proxy(p, '2/users/me')).status, 200);
  const calls = await limiterCalls();
  const account = calls.filter((c) => c.name.startsWith('account:x:'));
  assert.deepEqual(account.map((c) => [c.op, c.lease]), [['take', 1]], JSON.stringify(calls));
  assert.ok(calls.every((c) => c.op !== 'refund'), 'nothing to give back');
});

test("a lease's unused units go back to the object with the isolate's next take of it", async () => {
  const p = await appWithProfile('lease-back', { proxy_per_minute: 100 });
  serve(() => ok());
  await limiterCalls();
  // The first call asks one unit; the second a lease of two (twice what the first used), one
  // of them used; the lease ends after a second.
  assert.equal(remaining(await proxy(p, '2/tweets/search/recent?query=a')), 99);
  assert.equal(remaining(await proxy(p, '2/tweets/search/recent?query=a')), 98);
  await new Promise((r) => setTimeout(r, 1200));
  const third = await proxy(p, '2/tweets/search/recent?query=a');
  assert.equal(remaining(third), 97, 'the unused unit was given back (96 otherwise)');
  const tenantTakes = (await limiterCalls()).filter((c) => c.op === 'take' && c.name === `tenant:${p.appId}`);
  assert.deepEqual(tenantTakes.map((c) => c.lease), [1, 2, 2], 'one unit, then twice what was used');
  assert.deepEqual(tenantTakes[2].returned?.units, 1);
});
