// A platform app's budgets (this deployment's client id: YouTube's daily units, X's per-app
// posts, Reddit's calls) are spent by every app of the deployment. They are shared fairly:
// an app that tries to spend all of one leaves the others their share, and weights (an
// app's `limits.budget_weight`) divide it. YouTube's budgets are small (100 a day), so the
// mock's API runs them out within a test. What a platform says of its whole client id
// (Meta's app usage) is kept in shards, one checked per app: a block reaches every app.
// The API mock answers only a live token of the platform, as the platform does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';
import { PlatformMocks, credentialVars } from './platform-mocks.mjs';

const REDIRECT = 'https://app.example.com/connected';
const mocks = new PlatformMocks();
let w;
let seen; // API calls the mock answered (paths)
let graphUsage = null; // while set, Graph API answers carry this x-app-usage

before(async () => {
  w = await startWorker({ vars: credentialVars(['youtube', 'facebook']), outbound: mocks.handle });
  seen = [];
  // Every API call with a live token answers 200; the budget refusals are the worker's own.
  mocks.api = async (request, url) => {
    const auth = /^Bearer (.+)$/.exec(request.headers.get('authorization') || '');
    const token = mocks.tokens.get(auth ? auth[1] : url.searchParams.get('access_token'));
    if (url.hostname === 'graph.facebook.com' && graphUsage && url.pathname.endsWith('/feed')) {
      seen.push(url.pathname);
      // A Page's feed takes that Page's token (Graph's error 190 otherwise, as the mocks answer it).
      const page = url.pathname.split('/')[2];
      if (!token || token.revoked || token.platform !== 'facebook' || token.kind !== 'page' || token.pageId !== page) {
        const message = 'Invalid OAuth access token - Cannot parse access token';
        return new Response(JSON.stringify({ error: { message, type: 'OAuthException', code: 190, fbtrace_id: 'mock' } }), {
          status: 400, headers: { 'content-type': 'application/json', 'www-authenticate': `OAuth "Facebook Platform" "invalid_token" "${message}"` },
        });
      }
      return new Response('{"data":[]}', { status: 200, headers: { 'content-type': 'application/json', 'x-app-usage': JSON.stringify(graphUsage) } });
    }
    if (url.hostname !== 'www.googleapis.com' || !/^\/(upload\/)?youtube\/v3\/(search|videos)$/.test(url.pathname)) return undefined;
    if (request.method !== 'GET') await request.arrayBuffer();
    seen.push(url.pathname);
    if (!token || token.revoked || token.platform !== 'youtube' || token.kind !== 'access') {
      return new Response(JSON.stringify({ error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' } }), {
        status: 401, headers: { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' },
      });
    }
    return new Response(JSON.stringify({ items: [] }), { status: 200, headers: { 'content-type': 'application/json' } });
  };
});
after(async () => { await w?.stop(); });

async function connectedApp(name, user, platform = 'youtube', limits) {
  const made = await w.admin('POST', '/v1/admin/apps', { name, allowed_redirect_urls: [REDIRECT], ...(limits ? { limits } : {}) });
  assert.equal(made.status, 201);
  const { q } = await w.connectWithMock(mocks, made.body.api_key, platform, { user, redirect: REDIRECT });
  assert.equal(q.connected, 'true', JSON.stringify(q));
  return { id: made.body.app.id, key: made.body.api_key, profile: q.profile_id };
}

const search = (a) => fetch(`${w.base}/v1/profiles/${a.profile}/proxy/youtube/v3/search?part=snippet&q=x`, { headers: { authorization: `Bearer ${a.key}` } });
const upload = (a) => fetch(`${w.base}/v1/profiles/${a.profile}/proxy/upload/youtube/v3/videos?uploadType=resumable`, {
  method: 'POST', headers: { authorization: `Bearer ${a.key}`, 'content-type': 'application/json' }, body: '{"snippet":{"title":"t"}}',
});

/** Calls `call(app)` until the worker refuses (at most `max` times): how many went through, and the refusal. */
async function spend(call, app, max) {
  let allowed = 0;
  for (let i = 0; i < max; i++) {
    const r = await call(app);
    if (r.status === 429) return { allowed, refusal: { status: r.status, headers: r.headers, body: await r.json() } };
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    allowed += 1;
  }
  return { allowed, refusal: null };
}

test("attack: app A trying to spend all of YouTube's daily search units leaves app B its share", async () => {
  const a = await connectedApp('Greedy A', 'tube-a');
  const b = await connectedApp('Modest B', 'tube-b');
  // B uses the budget too: it contends for it from its first call.
  assert.equal((await search(b)).status, 200);
  const before = seen.length;
  const greedy = await spend(search, a, 120);
  assert.equal(greedy.allowed, 50, 'A stops at its half of the 100 units');
  assert.equal(greedy.refusal.body.error.code, 'rate_limited');
  assert.equal(greedy.refusal.headers.get('x-connect-links-attempts'), '0', 'refused here, not by the platform');
  assert.ok(Number(greedy.refusal.headers.get('retry-after')) > 0);
  assert.equal(seen.length - before, 50, 'the platform saw only what A was allowed');
  // B still gets its share after A tried to spend all of it: 49 more, 50 in all.
  const modest = await spend(search, b, 120);
  assert.equal(modest.allowed, 49);
  assert.equal(modest.refusal.body.error.code, 'rate_limited', 'and then the budget itself is spent');
  assert.equal(seen.filter((p) => p === '/youtube/v3/search').length, 100);
});

test('an app with three times the weight gets three quarters of a contended budget', async () => {
  const a = await connectedApp('Heavy A', 'tube-heavy');
  const b = await connectedApp('Light B', 'tube-light');
  const r = await w.admin('PATCH', `/v1/admin/apps/${a.id}`, { limits: { budget_weight: 3 } });
  assert.equal(r.status, 200);
  assert.equal(r.body.limits.budget_weight, 3);
  // The upload budget (another 100 a day) is untouched so far: B contends first.
  assert.equal((await upload(b)).status, 200);
  const heavy = await spend(upload, a, 120);
  assert.equal(heavy.allowed, 75, 'A is owed 3/4');
  const light = await spend(upload, b, 120);
  assert.equal(light.allowed, 24, 'B is owed 1/4: 25 with its first');
  assert.equal(seen.filter((p) => p === '/upload/youtube/v3/videos').length, 100);
});

test("a block of the whole client id (Meta's app usage at 100 %) reported on one app's call stops every app's calls", async () => {
  // Twelve apps over the eight block shards: whichever shards the others check, the block
  // reported on the first app's call reaches them all (eleven apps all on the first's shard
  // is a chance of 8^-11).
  const apps = [];
  for (let i = 0; i < 12; i++) {
    const page = String(880100 + i);
    mocks.setPages(`meta-${i}`, [{ id: page, name: `Page ${i}` }]);
    apps.push({ ...(await connectedApp(`Meta ${i}`, `meta-${i}`, 'facebook')), page });
  }
  const feed = (a) => fetch(`${w.base}/v1/profiles/${a.profile}/proxy/v25.0/${a.page}/feed`, { headers: { authorization: `Bearer ${a.key}` } });
  graphUsage = { call_count: 100, total_cputime: 20, total_time: 20 };
  try {
    const before = seen.length;
    const r = await feed(apps[0]);
    assert.equal(r.status, 200, 'the answer that says so comes back');
    await r.arrayBuffer();
    for (const other of apps.slice(1)) {
      const refused = await feed(other);
      assert.equal(refused.status, 429, other.id);
      assert.equal((await refused.json()).error.code, 'rate_limited');
      assert.equal(refused.headers.get('x-connect-links-attempts'), '0');
      assert.ok(Number(refused.headers.get('retry-after')) > 0);
    }
    assert.equal(seen.length - before, 1, "the other apps' calls never reached Meta");
  } finally {
    graphUsage = null;
  }
});

test("a call is refused by the account or by the app's share, never charged to the other: a remembered account 429 spends no share, a refused share gives the account's units back", async () => {
  // X's POST /2/tweets counts in both: per account (100 / 15 min) and in the platform app's
  // budget (10,000 a day, shared fairly). A worker of its own, so both start untouched.
  const xMocks = new PlatformMocks();
  const xw = await startWorker({ vars: credentialVars(['x']), outbound: xMocks.handle });
  try {
    const ns = await xw.mf.getDurableObjectNamespace('RATE_LIMITER');
    const limiter = async (name, body) => {
      const res = await ns.get(ns.idFromName(name)).fetch('https://limiter/', { method: 'POST', body: JSON.stringify(body) });
      assert.equal(res.status, 200);
      return res.json();
    };
    /** Units left in counter `key` of object `name` (a budget of `limit` a `window`), read by spending one. */
    const left = async (name, key, limit, window_secs) => {
      const now = Math.floor(Date.now() / 1000);
      const r = await limiter(name, { op: 'take', now, takes: [{ key, budget: { limit, window_secs } }], quotas: true });
      assert.equal(r.decision, 'allow');
      return r.quotas[0].remaining + 1;
    };
    const made = await xw.admin('POST', '/v1/admin/apps', { name: 'Poster', allowed_redirect_urls: [REDIRECT] });
    const key = made.body.api_key;
    const connect = async (user) => {
      const { q } = await xw.connectWithMock(xMocks, key, 'x', { user, redirect: REDIRECT });
      assert.equal(q.connected, 'true', JSON.stringify(q));
      const { platform_user_id } = await xw.row('SELECT platform_user_id FROM profiles WHERE id = ?', q.profile_id);
      return { profile: q.profile_id, account: `account:x:${platform_user_id}` };
    };
    const post = (p) => fetch(`${xw.base}/v1/profiles/${p.profile}/proxy/2/tweets`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{"text":"hi"}',
    });
    const refusedFive = async (p) => {
      for (let i = 0; i < 5; i++) {
        const r = await post(p);
        assert.equal(r.status, 429);
        assert.equal(r.headers.get('x-connect-links-attempts'), '0');
        await r.arrayBuffer();
      }
    };
    const share = 'app:x:budget:POST /2/tweets';
    const now = () => Math.floor(Date.now() / 1000);

    // An account the platform answered 429 (remembered for 10 minutes): five retries.
    const blocked = await connect('x-blocked');
    await limiter(blocked.account, { op: 'report', now: now(), reports: [{ key: '*', blocked_until: now() + 600 }] });
    await refusedFive(blocked);
    assert.equal(await left(share, 'POST /2/tweets', 10000, 86400), 10000, "the platform app's budget spent nothing");

    // The platform app's budget refusing (blocked): five calls of another account.
    const other = await connect('x-other');
    await limiter(share, { op: 'report', now: now(), reports: [{ key: 'POST /2/tweets', blocked_until: now() + 600 }] });
    await refusedFive(other);
    assert.equal(await left(other.account, 'POST /2/tweets', 100, 900), 100, "the account's units were given back");
  } finally {
    await xw.stop();
  }
});

test("a Meta block ends this isolate's lease of the app's block shard: the app's next call is refused here", async () => {
  // A worker of its own: a block of the client id lasts a minute. The app's first call asks
  // its block shard for one unit, its second for a lease (the isolate spends the third from
  // it); the third's answer blocks the client id.
  const mw = await startWorker({ vars: credentialVars(['facebook']), outbound: mocks.handle });
  try {
    const made = await mw.admin('POST', '/v1/admin/apps', { name: 'Meta lease', allowed_redirect_urls: [REDIRECT] });
    assert.equal(made.status, 201);
    mocks.setPages('meta-lease', [{ id: '880200', name: 'Page L' }]);
    const { q } = await mw.connectWithMock(mocks, made.body.api_key, 'facebook', { user: 'meta-lease', redirect: REDIRECT });
    assert.equal(q.connected, 'true', JSON.stringify(q));
    const feed = () => fetch(`${mw.base}/v1/profiles/${q.profile_id}/proxy/v25.0/880200/feed`, { headers: { authorization: `Bearer ${made.body.api_key}` } });
    graphUsage = { call_count: 5, total_cputime: 1, total_time: 1 };
    for (let i = 0; i < 2; i++) {
      const r = await feed();
      assert.equal(r.status, 200);
      await r.arrayBuffer();
    }
    graphUsage = { call_count: 100, total_cputime: 20, total_time: 20 };
    const blocking = await feed();
    assert.equal(blocking.status, 200, 'the answer that says so comes back');
    await blocking.arrayBuffer();
    const before = seen.length;
    const refused = await feed();
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('x-connect-links-attempts'), '0', 'refused here, not from a lease');
    assert.equal(seen.length, before, 'Meta saw no call after its block');
  } finally {
    graphUsage = null;
    await mw.stop();
  }
});
