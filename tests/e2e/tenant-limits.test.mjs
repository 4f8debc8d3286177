// Per-app limits: one app (a tenant of the deployment) cannot spend another's share. Request
// rates on POST /v1/connect-links, POST /v1/profiles and the proxy (429 with Retry-After and
// the RateLimit fields), a cap on pending connect links, and a daily cap on the new Mastodon
// instance registrations an app's links cause, each with its documented default and an
// operator's override on the admin app routes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';
import { PlatformMocks, chainOutbound, CUSTOM_PROVIDERS } from './platform-mocks.mjs';
import { MastodonMocks } from './mocks-mastodon.mjs';

const REDIRECT = 'https://app.example.com/connected';
const DEFAULTS = {
  pending_links: 1000,
  instance_registrations_per_day: 50,
  connect_links_per_minute: 120,
  profiles_per_minute: 60,
  proxy_per_minute: 1200,
  budget_weight: 1,
};
const HOSTS = ['one.masto-host.net', 'two.masto-host.net', 'three.masto-host.net', 'four.masto-host.net'];

const mocks = new PlatformMocks();
const masto = new MastodonMocks();
for (const h of HOSTS) masto.addInstance(h, { version: '4.3' });
let w;

before(async () => {
  w = await startWorker({ vars: { PLATFORM_TIMEOUT_MS: '3000', CUSTOM_PROVIDERS: JSON.stringify(CUSTOM_PROVIDERS) }, outbound: chainOutbound(masto, mocks) });
});
after(async () => { await w?.stop(); });

/** A new app with `limits` overrides: { app, api_key, ... }. */
async function appWith(name, limits) {
  const r = await w.admin('POST', '/v1/admin/apps', { name, allowed_redirect_urls: [REDIRECT, 'http://localhost:3000/connected'], ...(limits ? { limits } : {}) });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

const link = (key, json = {}) => w.call('POST', '/v1/connect-links', { token: key, json: { platform: 'sandbox', redirect_url: REDIRECT, ...json } });
const secs = (res) => Number(res.headers.get('retry-after'));

test('an app shows its limits: documented defaults, overrides on the admin routes, null back to the default', async () => {
  const plain = await appWith('Plain');
  assert.deepEqual(plain.app.limits, DEFAULTS);
  const tuned = await appWith('Tuned', { proxy_per_minute: 5, instance_registrations_per_day: 0 });
  assert.deepEqual(tuned.app.limits, { ...DEFAULTS, proxy_per_minute: 5, instance_registrations_per_day: 0 });
  const id = tuned.app.id;
  let r = await w.admin('PATCH', `/v1/admin/apps/${id}`, { limits: { proxy_per_minute: null, budget_weight: 3 } });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.limits, { ...DEFAULTS, instance_registrations_per_day: 0, budget_weight: 3 });
  assert.deepEqual((await w.admin('GET', `/v1/admin/apps/${id}`)).body.limits, r.body.limits);
  // Another field's change leaves the limits as they are.
  r = await w.admin('PATCH', `/v1/admin/apps/${id}`, { name: 'Renamed' });
  assert.equal(r.body.limits.budget_weight, 3);
  r = await w.admin('PATCH', `/v1/admin/apps/${id}`, { limits: null });
  assert.deepEqual(r.body.limits, DEFAULTS);
  for (const bad of [{ pending_links: 0 }, { budget_weight: 101 }, { proxy_per_minute: -1 }]) {
    const e = await w.admin('PATCH', `/v1/admin/apps/${id}`, { limits: bad });
    assert.equal(e.status, 400, JSON.stringify(bad));
    assert.match(e.body.error.message, new RegExp(`^limits\\.${Object.keys(bad)[0]} must be`));
  }
  // A valid field beside a refused one is not kept either: all or nothing.
  assert.equal((await w.admin('PATCH', `/v1/admin/apps/${id}`, { limits: { proxy_per_minute: 7, budget_weight: 101 } })).status, 400);
  const unknown = await w.admin('POST', '/v1/admin/apps', { name: 'X', allowed_redirect_urls: [REDIRECT], limits: { links_per_minute: 5 } });
  assert.equal(unknown.status, 400);
  const mixed = await w.admin('POST', '/v1/admin/apps', { name: 'Refused mix', allowed_redirect_urls: [REDIRECT], limits: { proxy_per_minute: 7, budget_weight: 101 } });
  assert.equal(mixed.status, 400);
  assert.deepEqual((await w.admin('GET', `/v1/admin/apps/${id}`)).body.limits, DEFAULTS, 'a refused change changed nothing');
  assert.equal((await w.row("SELECT COUNT(*) AS n FROM apps WHERE name IN ('X', 'Refused mix')")).n, 0, 'a refused create made no app');
});

test('attack: an app over its connect-links rate gets 429 with Retry-After and the RateLimit fields; another app is not slowed', async () => {
  const greedy = await appWith('Greedy links', { connect_links_per_minute: 3 });
  const other = await appWith('Other links');
  for (const left of [2, 1, 0]) {
    const r = await link(greedy.api_key);
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('ratelimit-policy'), '"connect-links";q=3;w=60');
    assert.match(r.headers.get('ratelimit'), new RegExp(`^"connect-links";r=${left};t=\\d+$`));
  }
  const refused = await link(greedy.api_key);
  assert.equal(refused.status, 429);
  assert.equal(refused.body.error.code, 'rate_limited');
  assert.ok(secs(refused) >= 1 && secs(refused) <= 60, refused.headers.get('retry-after'));
  assert.equal(refused.headers.get('ratelimit-policy'), '"connect-links";q=3;w=60');
  assert.match(refused.headers.get('ratelimit'), /^"connect-links";r=0;t=\d+$/);
  const stored = await w.row('SELECT COUNT(*) AS n FROM connect_links WHERE app_id = ?', greedy.app.id);
  assert.equal(stored.n, 3, 'the refused request wrote nothing');
  const fine = await link(other.api_key);
  assert.equal(fine.status, 201);
  assert.match(fine.headers.get('ratelimit'), /^"connect-links";r=119;t=\d+$/);
});

test('attack: an app over its POST /v1/profiles rate gets 429 before any work; another app is not slowed', async () => {
  const greedy = await appWith('Greedy profiles', { profiles_per_minute: 2 });
  const other = await appWith('Other profiles');
  // A real posted credential (the `keyed` API-key provider): each is checked at the
  // platform's identity endpoint, and an accepted one is stored.
  const post = (key, user) => w.call('POST', '/v1/profiles', { token: key, json: { platform: 'keyed', credentials: { api_key: user ? mocks.issueApiKey(user) : 'key_not_issued' } } });
  const keyedCalls = () => mocks.calls.filter((c) => c.platform === 'keyed').length;
  const rowsOf = async (a) => (await w.row('SELECT (SELECT COUNT(*) FROM profiles WHERE app_id = ?1) + (SELECT COUNT(*) FROM grants WHERE app_id = ?1) AS n', a.app.id)).n;
  // A key the platform refuses is counted too, and its error answer carries the fields.
  for (const [user, status, left] of [[null, 422, 1], ['greedy-1', 201, 0]]) {
    const r = await post(greedy.api_key, user);
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.equal(r.headers.get('ratelimit-policy'), '"profiles";q=2;w=60');
    assert.match(r.headers.get('ratelimit'), new RegExp(`^"profiles";r=${left};t=\\d+$`));
  }
  const [callsBefore, rowsBefore] = [keyedCalls(), await rowsOf(greedy)];
  assert.equal(rowsBefore, 2, 'one profile, with its grant');
  const refused = await post(greedy.api_key, 'greedy-3');
  assert.equal(refused.status, 429);
  assert.equal(refused.body.error.code, 'rate_limited');
  assert.ok(secs(refused) >= 1 && secs(refused) <= 60);
  assert.match(refused.headers.get('ratelimit'), /^"profiles";r=0;t=\d+$/);
  assert.equal(keyedCalls(), callsBefore, 'the refused request never called the platform');
  assert.equal(await rowsOf(greedy), rowsBefore, 'and wrote no row');
  const fine = await post(other.api_key, 'other-1');
  assert.equal(fine.status, 201, JSON.stringify(fine.body));
  assert.equal(keyedCalls(), callsBefore + 1);
});

test('attack: an app over its proxy rate is refused here, before any platform call; another app is not slowed', async () => {
  const greedy = await appWith('Greedy proxy', { proxy_per_minute: 2 });
  const other = await appWith('Other proxy');
  const connected = async (key) => {
    const l = await w.createLink(key);
    const { back } = await w.consent(l, { username: 'proxied' });
    const res = await w.callback(back);
    return new URL(res.headers.get('location')).searchParams.get('profile_id');
  };
  const [mine, theirs] = [await connected(greedy.api_key), await connected(other.api_key)];
  const call = (id, key) => fetch(`${w.base}/v1/profiles/${id}/proxy/userinfo`, { headers: { authorization: `Bearer ${key}` } });
  const sandboxCalls = () => mocks.loopback.filter((c) => new URL(c.url).pathname === '/sandbox/userinfo').length;
  const before = sandboxCalls();
  for (const left of [1, 0]) {
    const r = await call(mine, greedy.api_key);
    assert.equal(r.status, 200);
    await r.arrayBuffer();
    assert.equal(r.headers.get('ratelimit-policy'), '"proxy";q=2;w=60');
    assert.match(r.headers.get('ratelimit'), new RegExp(`^"proxy";r=${left};t=\\d+$`));
  }
  const refused = await call(mine, greedy.api_key);
  assert.equal(refused.status, 429);
  assert.equal((await refused.json()).error.code, 'rate_limited');
  assert.ok(secs(refused) >= 1 && secs(refused) <= 60);
  assert.equal(refused.headers.get('x-connect-links-attempts'), '0');
  assert.match(refused.headers.get('ratelimit'), /^"proxy";r=0;t=\d+$/);
  assert.equal(sandboxCalls() - before, 2, 'the refused call never reached the platform');
  const fine = await call(theirs, other.api_key);
  assert.equal(fine.status, 200);
  await fine.arrayBuffer();
});

test('attack: an app cannot hold more than its cap of pending links; one that completes or expires frees a slot', async () => {
  const hoarder = await appWith('Hoarder', { pending_links: 3 });
  const other = await appWith('Other pending', { pending_links: 3 });
  const made = [];
  for (let i = 0; i < 3; i++) {
    const r = await link(hoarder.api_key, { redirect_url: 'http://localhost:3000/connected' });
    assert.equal(r.status, 201);
    made.push(r.body);
  }
  const refused = await link(hoarder.api_key);
  assert.equal(refused.status, 429);
  assert.equal(refused.body.error.code, 'rate_limited');
  assert.match(refused.body.error.message, /3 pending connect links/);
  assert.ok(secs(refused) >= 1 && secs(refused) <= 600, refused.headers.get('retry-after'));
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM connect_links WHERE app_id = ?', hoarder.app.id)).n, 3);
  assert.equal((await link(other.api_key)).status, 201, 'the cap is per app');
  // Many creates at once cannot pass the cap together.
  const racer = await appWith('Racing hoarder', { pending_links: 3 });
  const raced = await Promise.all(Array.from({ length: 10 }, () => link(racer.api_key)));
  assert.deepEqual(raced.map((r) => r.status).sort(), [201, 201, 201, ...Array(7).fill(429)]);
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM connect_links WHERE app_id = ?', racer.app.id)).n, 3);

  // A completed link is no longer pending.
  w.linkKeys.set(made[0].id, hoarder.api_key);
  const { back } = await w.consent(made[0]);
  const done = await w.callback(back);
  assert.equal(new URL(done.headers.get('location')).searchParams.get('connected'), 'true');
  assert.equal((await link(hoarder.api_key)).status, 201);
  assert.equal((await link(hoarder.api_key)).status, 429);
  // An expired one neither.
  await w.sql('UPDATE connect_links SET expires_at = ? WHERE id = ?', Math.floor(Date.now() / 1000) - 1, made[1].id);
  assert.equal((await link(hoarder.api_key)).status, 201);
});

test('attack: an app naming new Mastodon instances registers with at most its daily cap of them; registered instances still work', async () => {
  const attacker = await appWith('Instance spray', { instance_registrations_per_day: 2 });
  const mastoLink = (key, instance) => link(key, { platform: 'mastodon', instance });
  for (const h of HOSTS.slice(0, 2)) {
    assert.equal((await mastoLink(attacker.api_key, h)).status, 201, h);
    assert.equal(masto.registrations(h), 1, h);
  }
  const refused = await mastoLink(attacker.api_key, HOSTS[2]);
  assert.equal(refused.status, 429);
  assert.equal(refused.body.error.code, 'rate_limited');
  assert.ok(secs(refused) >= 1 && secs(refused) <= 86400, refused.headers.get('retry-after'));
  assert.equal(masto.count(HOSTS[2], 'discovery') + masto.count(HOSTS[2], 'apps'), 0, 'no call to the third host');
  assert.equal(await w.row('SELECT instance FROM instance_clients WHERE instance = ?', HOSTS[2]), null, 'nothing stored for it');
  // An instance this deployment is registered with needs no registration: still served.
  assert.equal((await mastoLink(attacker.api_key, HOSTS[0])).status, 201);
  assert.equal(masto.registrations(HOSTS[0]), 1);
  // The cap is the app's: another app still registers with the third host.
  const other = await appWith('Other instances');
  assert.equal((await mastoLink(other.api_key, HOSTS[2])).status, 201);
  assert.equal(masto.registrations(HOSTS[2]), 1);
  // A cap of 0: only instances already registered.
  const none = await appWith('No registrations', { instance_registrations_per_day: 0 });
  assert.equal((await mastoLink(none.api_key, HOSTS[3])).status, 429);
  assert.equal(masto.count(HOSTS[3], 'discovery'), 0);
  assert.equal((await mastoLink(none.api_key, HOSTS[1])).status, 201);
});

test('a refused or failed connect-links request still carries the RateLimit fields: it was counted', async () => {
  const full = await appWith('Fields on errors', { pending_links: 1 });
  assert.equal((await link(full.api_key)).status, 201);
  const atCap = await link(full.api_key);
  assert.equal(atCap.status, 429);
  assert.match(atCap.body.error.message, /1 pending connect links/);
  assert.equal(atCap.headers.get('ratelimit-policy'), '"connect-links";q=120;w=60');
  assert.match(atCap.headers.get('ratelimit'), /^"connect-links";r=118;t=\d+$/);
  const invalid = await link(full.api_key, { redirect_url: 'https://elsewhere.example.net/' });
  assert.equal(invalid.status, 422);
  assert.equal(invalid.body.error.code, 'redirect_not_allowed');
  assert.match(invalid.headers.get('ratelimit'), /^"connect-links";r=117;t=\d+$/);
  // The registration cap's 429 (a cap of 0, a host never registered).
  const none = await appWith('Fields on registration refusal', { instance_registrations_per_day: 0 });
  const host = 'fields.masto-host.net';
  masto.addInstance(host, { version: '4.3' });
  const refused = await link(none.api_key, { platform: 'mastodon', instance: host });
  assert.equal(refused.status, 429);
  assert.match(refused.body.error.message, /new instances/);
  assert.equal(refused.headers.get('ratelimit-policy'), '"connect-links";q=120;w=60');
  assert.match(refused.headers.get('ratelimit'), /^"connect-links";r=119;t=\d+$/);
});

test('attack: an app at its pending cap asking for a new Mastodon instance makes no call to it and spends no registration', async () => {
  const app = await appWith('Full and spraying', { pending_links: 1, instance_registrations_per_day: 1 });
  const first = await link(app.api_key);
  assert.equal(first.status, 201);
  const host = 'five.masto-host.net';
  masto.addInstance(host, { version: '4.3' });
  const refused = await link(app.api_key, { platform: 'mastodon', instance: host });
  assert.equal(refused.status, 429);
  assert.equal(refused.body.error.code, 'rate_limited');
  assert.match(refused.body.error.message, /1 pending connect links/);
  assert.equal(masto.count(host, 'discovery') + masto.count(host, 'apps'), 0, 'no call to the instance');
  assert.equal(masto.registrations(host), 0);
  assert.equal(await w.row('SELECT instance FROM instance_clients WHERE instance = ?', host), null, 'nothing stored for it');
  // Its one registration of the day was not spent: once the pending link expires, the same
  // request registers with the instance.
  await w.sql('UPDATE connect_links SET expires_at = ? WHERE id = ?', Math.floor(Date.now() / 1000) - 1, first.body.id);
  const again = await link(app.api_key, { platform: 'mastodon', instance: host });
  assert.equal(again.status, 201, JSON.stringify(again.body));
  assert.equal(masto.registrations(host), 1);
});

test('attack: an app that overloads its own limiter object gets 429 with Retry-After: 1, never unlimited requests; platform budgets still fail open', async () => {
  // tests/e2e/limiter-overload-entry.mjs makes the objects OVERLOADED_LIMITERS names reject
  // as an overloaded Durable Object does.
  const o = await startWorker({ vars: { PLATFORM_TIMEOUT_MS: '3000' }, outbound: chainOutbound(masto, mocks), entry: 'tests/e2e/limiter-overload-entry.mjs' });
  try {
    const made = await o.admin('POST', '/v1/admin/apps', { name: 'Flooder', allowed_redirect_urls: [REDIRECT, 'http://localhost:3000/connected'] });
    assert.equal(made.status, 201);
    const key = made.body.api_key;
    const l = await o.createLink(key);
    const { back } = await o.consent(l, { username: 'overloaded' });
    const profile = new URL((await o.callback(back)).headers.get('location')).searchParams.get('profile_id');
    assert.ok(profile);
    const proxied = () => fetch(`${o.base}/v1/profiles/${profile}/proxy/userinfo`, { headers: { authorization: `Bearer ${key}` } });
    const sandboxCalls = () => mocks.loopback.filter((c) => c.url.startsWith(o.base) && new URL(c.url).pathname === '/sandbox/userinfo').length;

    // The platform budgets' objects (shared by every app) overloaded: the call still goes.
    await o.restart({ OVERLOADED_LIMITERS: 'account:,app:' });
    let before = sandboxCalls();
    const open = await proxied();
    assert.equal(open.status, 200);
    await open.arrayBuffer();
    assert.equal(sandboxCalls() - before, 1);

    // The app's own object overloaded: every limited route refuses and does nothing.
    await o.restart({ OVERLOADED_LIMITERS: 'tenant:' });
    const rows = async () => (await o.row('SELECT COUNT(*) AS n FROM connect_links WHERE app_id = ?', made.body.app.id)).n;
    const stored = await rows();
    for (let i = 0; i < 3; i++) {
      const r = await o.call('POST', '/v1/connect-links', { token: key, json: { platform: 'sandbox', redirect_url: REDIRECT } });
      assert.equal(r.status, 429);
      assert.equal(r.body.error.code, 'rate_limited');
      assert.equal(r.headers.get('retry-after'), '1');
    }
    assert.equal(await rows(), stored, 'no link stored');
    const posted = await o.call('POST', '/v1/profiles', { token: key, json: { platform: 'no-such-platform', credentials: {} } });
    assert.equal(posted.status, 429);
    assert.equal(posted.headers.get('retry-after'), '1');
    before = sandboxCalls();
    const refused = await proxied();
    assert.equal(refused.status, 429);
    assert.equal((await refused.json()).error.code, 'rate_limited');
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.equal(refused.headers.get('x-connect-links-attempts'), '0');
    assert.equal(sandboxCalls() - before, 0, 'no platform call');

    // Only the registration count overloaded: a link needing a new instance is refused
    // before any call to it; the rate (the same object, another counter) still answers.
    await o.restart({ OVERLOADED_LIMITERS: 'tenant:#instance registrations' });
    const host = 'overloaded.masto-host.net';
    masto.addInstance(host, { version: '4.3' });
    const spray = await o.call('POST', '/v1/connect-links', { token: key, json: { platform: 'mastodon', redirect_url: REDIRECT, instance: host } });
    assert.equal(spray.status, 429);
    assert.equal(spray.headers.get('retry-after'), '1');
    assert.equal(masto.count(host, 'discovery') + masto.count(host, 'apps'), 0, 'no call to the instance');
    assert.equal(await o.row('SELECT instance FROM instance_clients WHERE instance = ?', host), null);
    assert.equal((await o.call('POST', '/v1/connect-links', { token: key, json: { platform: 'sandbox', redirect_url: REDIRECT } })).status, 201);
  } finally {
    await o.stop();
  }
});
