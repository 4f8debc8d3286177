// Refresh modes (issue 14) on the real runtime: an `on_demand` app's short-lived tokens are
// refreshed when read (GET /access-token, the proxy) and not by the cron, which keeps alive
// only what would otherwise die; a `proactive` app's are refreshed by the cron as before;
// the admin routes take and show the mode, and a change of mode re-schedules the app's
// profiles. Time passes by shifting a grant's stored times into the past (`age`), as if the
// clock had moved on by that much since the connect.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';
import { PlatformMocks, chainOutbound, credentialVars } from './platform-mocks.mjs';
import { BlueskyMocks } from './mocks-bluesky.mjs';

const PLATFORMS = ['x', 'youtube'];
const REDIRECT = 'https://app.example.com/connected';
const H = 3600;
const D = 24 * H;
const now = () => Math.floor(Date.now() / 1000);

const mocks = new PlatformMocks();
const bsky = new BlueskyMocks();
let w;
let onDemand; // an app created with refresh_mode: 'on_demand'
let proactive; // an app created without one

before(async () => {
  w = await startWorker({ vars: { ...credentialVars(PLATFORMS), PLATFORM_TIMEOUT_MS: '3000' }, outbound: chainOutbound(bsky, mocks) });
  const a = await w.admin('POST', '/v1/admin/apps', { name: 'On-demand app', allowed_redirect_urls: [REDIRECT], refresh_mode: 'on_demand' });
  assert.equal(a.status, 201, JSON.stringify(a.body));
  onDemand = a.body;
  proactive = await w.createApp('Proactive app', [REDIRECT]);
});
after(async () => {
  await w?.stop();
});

async function connect(app, platform, user) {
  const { q } = await w.connectWithMock(mocks, app.api_key, platform, { user, redirect: REDIRECT });
  assert.equal(q.connected, 'true', JSON.stringify(q));
  return q.profile_id;
}

/**
 * Moves a profile's grant `secs` into its future: every stored time of it goes `secs` into the
 * past, and so do the copies its profiles show.
 */
async function age(id, secs) {
  await w.sql(
    `UPDATE grants SET token_issued_at = token_issued_at - ?1, access_token_expires_at = access_token_expires_at - ?1,
       refresh_token_expires_at = refresh_token_expires_at - ?1, next_refresh_at = next_refresh_at - ?1,
       last_refreshed_at = last_refreshed_at - ?1
     WHERE id = (SELECT grant_id FROM profiles WHERE id = ?2)`, secs, id);
  await w.sql(
    `UPDATE profiles SET access_token_expires_at = access_token_expires_at - ?1, last_refreshed_at = last_refreshed_at - ?1
     WHERE grant_id = (SELECT grant_id FROM profiles WHERE id = ?2) AND access_token_enc IS NULL`, secs, id);
}
/** Refresh calls the platform mocks got with `refreshToken`. */
const spent = (refreshToken) => mocks.calls.filter((c) => c.endpoint === 'refresh' && c.form.refresh_token === refreshToken).length;
const accessToken = (app, id) => w.call('GET', `/v1/profiles/${id}/access-token`, { token: app.api_key });

test('the admin routes take refresh_mode, refuse anything else with a clear 400, and show it', async () => {
  assert.equal(onDemand.app.refresh_mode, 'on_demand');
  assert.equal(proactive.app.refresh_mode, 'proactive', 'the default');
  for (const bad of ['lazy', 'On_Demand', '']) {
    const r = await w.admin('POST', '/v1/admin/apps', { name: 'Bad', allowed_redirect_urls: [REDIRECT], refresh_mode: bad });
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'invalid_request');
    assert.match(r.body.error.message, /refresh_mode must be "proactive" or "on_demand"/);
  }
  const typed = await w.admin('POST', '/v1/admin/apps', { name: 'Bad', allowed_redirect_urls: [REDIRECT], refresh_mode: 1 });
  assert.equal(typed.status, 400);
  const id = onDemand.app.id;
  assert.equal((await w.admin('GET', `/v1/admin/apps/${id}`)).body.refresh_mode, 'on_demand');
  const listed = (await w.admin('GET', '/v1/admin/apps?limit=100')).body.data.find((a) => a.id === id);
  assert.equal(listed.refresh_mode, 'on_demand');
  const patched = await w.admin('PATCH', `/v1/admin/apps/${proactive.app.id}`, { refresh_mode: 'sometimes' });
  assert.equal(patched.status, 400);
  assert.match(patched.body.error.message, /refresh_mode/);
  const same = await w.admin('PATCH', `/v1/admin/apps/${id}`, { refresh_mode: 'on_demand', name: 'On-demand app' });
  assert.equal(same.status, 200);
  assert.equal(same.body.refresh_mode, 'on_demand');
  assert.equal((await w.row('SELECT refresh_mode FROM apps WHERE id = ?', proactive.app.id)).refresh_mode, 'proactive', 'a refused PATCH changes nothing');
});

test('the cron leaves an on_demand app\'s short-lived token alone and refreshes a proactive app\'s', async () => {
  const lazy = await connect(onDemand, 'x', 'od-cron');
  const eager = await connect(proactive, 'x', 'pro-cron');
  const lg = await w.grantRow(lazy, 'next_refresh_at, token_issued_at');
  assert.equal(lg.next_refresh_at - lg.token_issued_at, 23 * D, 'on_demand: only a keep-alive of X\'s rotating token (30 assumed idle days, a week ahead)');
  const pro = await w.grantRow(eager, 'next_refresh_at, access_token_expires_at');
  assert.equal(pro.access_token_expires_at - pro.next_refresh_at, 30 * 60);
  const [l, e] = [await w.tokensOf(lazy), await w.tokensOf(eager)];
  // 105 minutes on: a quarter of the 2 h token is left, less for the proactive schedule.
  await age(lazy, 105 * 60);
  await age(eager, 105 * 60);
  await w.cron();
  assert.equal(spent(e.refresh), 1, 'proactive: refreshed by the cron');
  assert.equal(spent(l.refresh), 0, 'on_demand: no refresh call');
  assert.equal((await w.tokensOf(lazy)).access, l.access, 'its token untouched');
});

test('GET /access-token refreshes an expired on_demand token once and answers the new one', async () => {
  const id = await connect(onDemand, 'x', 'od-read');
  const before = await w.tokensOf(id);
  await age(id, 3 * H); // expired an hour ago; the cron never refreshed it
  await w.cron();
  assert.equal(spent(before.refresh), 0);
  const r = await accessToken(onDemand, id);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.match(r.body.access_token, /^xat_/);
  assert.notEqual(r.body.access_token, before.access, 'not the expired token');
  assert.ok(Date.parse(r.body.expires_at) / 1000 > now() + H);
  assert.equal(spent(before.refresh), 1, 'one refresh');
  const again = await accessToken(onDemand, id);
  assert.equal(again.body.access_token, r.body.access_token, 'a fresh token is answered as it is');
  assert.equal(spent(before.refresh), 1);
  const g = await w.grantRow(id, 'next_refresh_at, token_issued_at, reschedule');
  assert.equal(g.next_refresh_at - g.token_issued_at, 23 * D, 'the refresh on read schedules only the keep-alive of the new refresh token');
});

test('concurrent reads of an expired on_demand token share one refresh', async () => {
  const id = await connect(onDemand, 'x', 'od-crowd');
  const before = await w.tokensOf(id);
  await age(id, 3 * H);
  mocks.delays.set('x:refresh', 700);
  let answers;
  try {
    answers = await Promise.all([accessToken(onDemand, id), accessToken(onDemand, id), accessToken(onDemand, id)]);
  } finally {
    mocks.delays.delete('x:refresh');
  }
  for (const a of answers) assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.equal(new Set(answers.map((a) => a.body.access_token)).size, 1, 'every read got the one new token');
  assert.notEqual(answers[0].body.access_token, before.access);
  assert.equal(spent(before.refresh), 1, 'one refresh under the lease');
});

test('the proxy refreshes an expired on_demand token before calling the platform', async () => {
  const id = await connect(onDemand, 'x', 'od-proxy');
  const before = await w.tokensOf(id);
  await age(id, 3 * H);
  const sent = [];
  // The platform refuses the expired token: a proxy that sent it first would show here.
  mocks.api = async (request, url) => {
    if (url.hostname !== 'api.x.com' || !url.pathname.startsWith('/2/tweets')) return undefined;
    const bearer = (/^Bearer (.+)$/.exec(request.headers.get('authorization') || '') || [])[1];
    sent.push(bearer);
    const g = mocks.tokens.get(bearer);
    if (bearer === before.access || !g || g.kind !== 'access') return new Response(JSON.stringify({ title: 'Unauthorized', status: 401 }), { status: 401, headers: { 'content-type': 'application/json' } });
    return new Response(JSON.stringify({ data: [] }), { status: 200, headers: { 'content-type': 'application/json' } });
  };
  try {
    const res = await fetch(`${w.base}/v1/profiles/${id}/proxy/2/tweets/search/recent?query=x`, { headers: { authorization: `Bearer ${onDemand.api_key}` } });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get('x-connect-links-refreshed'), 'false', 'no dead-token retry was needed');
  } finally {
    mocks.api = undefined;
  }
  assert.equal(sent.length, 1, 'one platform call');
  assert.notEqual(sent[0], before.access, 'never the expired token');
  assert.equal(sent[0], (await w.tokensOf(id)).access, 'the refreshed one');
  assert.equal(spent(before.refresh), 1);
});

test('on_demand keeps a rotating refresh token alive before its known expiry (Bluesky, 90 days)', async () => {
  bsky.addAccount({ handle: 'keepalive.bsky.social', appPasswords: ['pw-keep'] });
  const r = await w.call('POST', '/v1/profiles', { token: onDemand.api_key, json: { platform: 'bluesky', credentials: { identifier: 'keepalive.bsky.social', app_password: 'pw-keep' } } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const id = r.body.id;
  const g = await w.grantRow(id, 'next_refresh_at, refresh_token_expires_at, token_issued_at');
  assert.ok(g.refresh_token_expires_at - g.token_issued_at >= 89 * D, 'the refresh JWT\'s own 90 days');
  assert.ok(Math.abs(g.refresh_token_expires_at - 7 * D - g.next_refresh_at) <= 2, 'a keep-alive a week before it dies, not the 2 h access token\'s');
  const x = await connect(onDemand, 'x', 'od-idle');
  const xRefresh = (await w.tokensOf(x)).refresh;
  const before = (await w.tokensOf(id)).refresh;
  const calls = bsky.count('refreshSession');
  // 84 days on: the Bluesky grant is due, and so is the X grant (its assumed 30 idle days).
  await age(id, 84 * D);
  await age(x, 84 * D);
  await w.cron();
  assert.equal(bsky.count('refreshSession'), calls + 1, 'the cron kept it alive');
  const call = bsky.calls.filter((c) => c.endpoint === 'refreshSession').at(-1);
  assert.equal(call.headers.authorization, `Bearer ${before}`);
  const after = await w.grantRow(id, 'next_refresh_at, refresh_token_expires_at');
  assert.ok(after.refresh_token_expires_at > now() + 89 * D, 'the new refresh JWT\'s expiry is stored');
  assert.ok(Math.abs(after.refresh_token_expires_at - 7 * D - after.next_refresh_at) <= 2, 'and the next keep-alive follows it');
  assert.equal(spent(xRefresh), 1, 'X: its rotating token kept alive too');
  assert.equal((await w.call('GET', `/v1/profiles/${id}`, { token: onDemand.api_key })).body.status, 'active');
});

test('switching an app to on_demand stops the cron refreshing its profiles, and switching back resumes it', async () => {
  const app = await w.createApp('Switching app', [REDIRECT]);
  const x = await connect(app, 'x', 'sw-x');
  const yt = await connect(app, 'youtube', 'sw-yt');
  const fresh = await connect(app, 'x', 'sw-fresh');
  const [xt, yt0] = [await w.tokensOf(x), await w.tokensOf(yt)];
  // The same mode again is no change: nothing is re-scheduled.
  const scheduled = await w.grantRow(x, 'next_refresh_at, reschedule');
  assert.equal((await w.admin('PATCH', `/v1/admin/apps/${app.app.id}`, { refresh_mode: 'proactive' })).status, 200);
  assert.deepEqual(await w.grantRow(x, 'next_refresh_at, reschedule'), scheduled);
  assert.equal(scheduled.reschedule, 0);
  // 105 minutes on: both are due under the proactive schedule (X at 90 min, YouTube at 45).
  await age(x, 105 * 60);
  await age(yt, 105 * 60);
  const freshBefore = (await w.grantRow(fresh, 'next_refresh_at')).next_refresh_at;
  const r = await w.admin('PATCH', `/v1/admin/apps/${app.app.id}`, { refresh_mode: 'on_demand' });
  assert.equal(r.status, 200);
  assert.equal(r.body.refresh_mode, 'on_demand');
  // A switch makes nothing due now (a large app would crowd out every other app's due
  // grants): a grant not yet due keeps its time, marked for the cron to recompute then.
  const fg = await w.grantRow(fresh, 'next_refresh_at, reschedule');
  assert.deepEqual([fg.next_refresh_at, fg.reschedule], [freshBefore, 1]);
  assert.ok(fg.next_refresh_at > now() + 60 * 60, 'not made due by the switch');
  await w.cron();
  assert.equal(spent(xt.refresh), 0, 'X: no refresh after the switch');
  assert.equal(spent(yt0.refresh), 0, 'YouTube: no refresh after the switch');
  const gx = await w.grantRow(x, 'next_refresh_at, reschedule');
  const gxt = await w.grantRow(x, 'token_issued_at');
  assert.deepEqual([gx.next_refresh_at - gxt.token_issued_at, gx.reschedule], [23 * D, 0], 'X: only its keep-alive');
  const gy = await w.grantRow(yt, 'next_refresh_at, token_issued_at, reschedule');
  assert.equal(gy.next_refresh_at - gy.token_issued_at, 173 * D, 'YouTube: a keep-alive a week before Google\'s six idle months');
  assert.equal(gy.reschedule, 0);
  await w.cron();
  assert.equal(spent(xt.refresh) + spent(yt0.refresh), 0, 'still none on the next run');

  const back = await w.admin('PATCH', `/v1/admin/apps/${app.app.id}`, { refresh_mode: 'proactive' });
  assert.equal(back.body.refresh_mode, 'proactive');
  await w.cron();
  assert.equal(spent(xt.refresh), 1, 'X: refreshed again by the cron');
  assert.equal(spent(yt0.refresh), 1, 'YouTube: refreshed again by the cron');
  const after = await w.grantRow(x, 'next_refresh_at, access_token_expires_at, reschedule');
  assert.equal(after.access_token_expires_at - after.next_refresh_at, 30 * 60, 'the proactive schedule again');
  assert.equal(after.reschedule, 0);
});
