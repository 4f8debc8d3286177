// The token lifecycle on the real runtime: cron refresh, rotation, failure classification,
// webhooks (verified with the standardwebhooks package), key rotation, housekeeping.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker, randomKey } from './harness.mjs';
import { PlatformMocks, credsFor, credentialVars } from './platform-mocks.mjs';
import { WebhookReceiver } from './webhook-receiver.mjs';

const PLATFORMS = ['x', 'youtube', 'instagram', 'linkedin'];
const REDIRECT = 'https://app.example.com/connected';
const now = () => Math.floor(Date.now() / 1000);

const mocks = new PlatformMocks();
const receiver = new WebhookReceiver();
let w;
let app;

before(async () => {
  await receiver.start();
  const vars = { ...credentialVars(PLATFORMS), PLATFORM_TIMEOUT_MS: '1000' };
  w = await startWorker({ vars, outbound: mocks.handle, tokenKeys: `k2:${randomKey()},k1:${randomKey()}` });
  const r = await w.admin('POST', '/v1/admin/apps', { name: 'Lifecycle app', allowed_redirect_urls: [REDIRECT], webhook_url: receiver.url });
  assert.equal(r.status, 201);
  app = r.body;
  receiver.useSecret(app.webhook_secret);
});
after(async () => {
  await w?.stop();
  await receiver.stop();
});

async function connect(platform, user) {
  const { q } = await w.connectWithMock(mocks, app.api_key, platform, { user, redirect: REDIRECT });
  assert.equal(q.connected, 'true', JSON.stringify(q));
  return q.profile_id;
}
const refreshCalls = (platform) => mocks.calls.filter((c) => c.platform === platform && c.endpoint === 'refresh');
const accessToken = async (id) => (await w.call('GET', `/v1/profiles/${id}/access-token`, { token: app.api_key })).body;
const profile = async (id) => (await w.call('GET', `/v1/profiles/${id}`, { token: app.api_key })).body;
const storedRefresh = async (id) => {
  const grant = await w.grantOf(id);
  const row = await w.row('SELECT refresh_token_enc FROM grants WHERE id = ?', grant);
  return w.openEnvelope(row.refresh_token_enc, grant, 'refresh_token');
};

test('connect sends a verified profile.connected webhook', async () => {
  const id = await connect('x', 'hooked');
  await w.settled();
  const got = receiver.of('profile.connected', id);
  assert.equal(got.length, 1);
  assert.equal(got[0].data.platform, 'x');
  assert.equal(JSON.stringify(got[0].data).includes('xat_'), false, 'no token in webhooks');
  assert.equal(receiver.rejected ?? 0, 0, 'every delivery verified with standardwebhooks');
});

test('a token near expiry is refreshed by the cron, and the app then gets the new token', async () => {
  const id = await connect('x', 'cronuser');
  const before = await accessToken(id);
  assert.match(before.access_token, /^xat_/);
  assert.equal(before.token_type, 'Bearer');
  const originalRefresh = await storedRefresh(id);
  const calls = refreshCalls('x').length;

  await w.cron();
  assert.equal(refreshCalls('x').length, calls, 'not due yet: no refresh');

  await w.makeDue(id);
  await w.cron();
  assert.equal(refreshCalls('x').length, calls + 1);
  assert.equal(refreshCalls('x').at(-1).form.refresh_token, originalRefresh);
  const after = await accessToken(id);
  assert.match(after.access_token, /^xat_/);
  assert.notEqual(after.access_token, before.access_token);
  const p = await profile(id);
  assert.ok(p.last_refreshed_at);
  const row = await w.grantRow(id, 'next_refresh_at, access_token_expires_at');
  assert.equal(row.access_token_expires_at - row.next_refresh_at, 30 * 60, 'a 2 h token is next refreshed 30 min before expiry');
});

test('a rotated refresh token is stored and the old one is never sent again', async () => {
  const id = await connect('x', 'rotator');
  const sent = [];
  for (let i = 0; i < 3; i++) {
    await w.makeDue(id);
    await w.cron();
    sent.push(refreshCalls('x').at(-1).form.refresh_token);
  }
  assert.equal(new Set(sent).size, 3, 'each refresh used a different refresh token');
  const latest = await storedRefresh(id);
  assert.ok(!sent.includes(latest), 'the stored one is the newest, not yet used');
  for (const old of sent) assert.ok(mocks.tokens.get(old).revoked, 'each sent token was the live one (X kills it on use)');
  assert.equal((await profile(id)).status, 'active');
});

test('a refresh answer without a refresh token keeps the stored one', async () => {
  const id = await connect('youtube', 'keeper');
  const rt = await storedRefresh(id);
  const before = (await accessToken(id)).access_token;
  await w.makeDue(id);
  await w.cron();
  assert.equal(refreshCalls('youtube').at(-1).form.refresh_token, rt);
  assert.notEqual((await accessToken(id)).access_token, before);
  assert.equal(await storedRefresh(id), rt);
  await w.makeDue(id);
  await w.cron();
  assert.equal(refreshCalls('youtube').at(-1).form.refresh_token, rt, 'the kept token still works');
});

test('a 503 leaves the profile active, sends refresh_failed once, backs off; a success sends recovered', async () => {
  const id = await connect('x', 'flaky');
  for (let i = 0; i < 2; i++) {
    mocks.failNext('x', 'token', () => new Response('upstream down', { status: 503 }));
    await w.makeDue(id);
    const t0 = now();
    await w.cron();
    const p = await w.row('SELECT p.status, g.refresh_failures, g.next_refresh_at FROM profiles p JOIN grants g ON g.id = p.grant_id WHERE p.id = ?', id);
    assert.equal(p.status, 'active');
    assert.equal(p.refresh_failures, i + 1);
    // Failure n backs off at least 30 s * 2^(n-1) from the run, which began after t0.
    assert.ok(p.next_refresh_at >= t0 + 30 * 2 ** i, 'backed off');
  }
  assert.equal(receiver.of('profile.refresh_failed', id).length, 1, 'sent once for the whole failing streak');
  assert.equal(receiver.of('profile.recovered', id).length, 0);
  await w.makeDue(id);
  await w.cron();
  assert.equal(receiver.of('profile.recovered', id).length, 1);
  const p = await w.grantRow(id, 'refresh_failures, refresh_failing');
  assert.deepEqual([p.refresh_failures, p.refresh_failing], [0, 0]);
});

// PLATFORM_TIMEOUT_MS is 1000 here. The platform holds the call until the test lets it go, so
// a run that comes back at all gave up on the call; the test's timeout only turns a hang into
// a failure.
test('a platform that does not answer within the timeout is a transient failure', { timeout: 60_000 }, async () => {
  const id = await connect('x', 'slowpoke');
  await w.makeDue(id);
  const calls = refreshCalls('x').length;
  const letGo = mocks.hold('x:refresh');
  try {
    await w.cron();
    assert.equal(refreshCalls('x').length, calls + 1);
    assert.equal(refreshCalls('x').at(-1).answered, undefined, 'the run ended while the platform still held the call');
    const p = await w.row('SELECT p.status, g.refresh_failures, g.refresh_lease_id FROM profiles p JOIN grants g ON g.id = p.grant_id WHERE p.id = ?', id);
    assert.deepEqual([p.status, p.refresh_failures, p.refresh_lease_id], ['active', 1, null]);
    assert.equal(receiver.of('profile.refresh_failed', id).length, 1);
  } finally {
    letGo();
  }
});

test("X's dead-refresh-token answer (400 invalid_request) disconnects once as invalid_grant and sends profile.disconnected once", async () => {
  const id = await connect('x', 'revoked');
  const dead = await storedRefresh(id);
  mocks.tokens.get(dead).revoked = true; // the user revoked the app at X
  // What X answers for it (the mock speaks X's dialect, not RFC 6749's invalid_grant).
  const xBasic = `Basic ${Buffer.from(`${credsFor('x').id}:${credsFor('x').secret}`).toString('base64')}`;
  const answer = await mocks.handle(new Request('https://api.x.com/2/oauth2/token', {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: xBasic },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: dead }),
  }));
  assert.equal(answer.status, 400);
  assert.deepEqual(await answer.json(), { error: 'invalid_request', error_description: 'Value passed for the token was invalid.' });
  const calls = refreshCalls('x').length;
  await w.makeDue(id);
  await w.cron();
  assert.equal(refreshCalls('x').length, calls + 1, 'the cron asked X once');
  const p = await profile(id);
  assert.equal(p.status, 'disconnected');
  assert.equal(p.disconnect_reason, 'invalid_grant');
  await w.makeDue(id);
  await w.cron();
  const forced = await w.call('POST', `/v1/profiles/${id}/refresh`, { token: app.api_key });
  assert.equal(forced.status, 409);
  assert.equal(receiver.of('profile.disconnected', id).length, 1);
  const at = await w.call('GET', `/v1/profiles/${id}/access-token`, { token: app.api_key });
  assert.equal(at.status, 409);
  assert.equal(at.body.error.code, 'conflict');
});

test("Instagram's self-exchange is not attempted before the token is 24 hours old", async () => {
  const id = await connect('instagram', 'younggram');
  const calls = refreshCalls('instagram').length;
  await w.makeDue(id);
  await w.cron();
  assert.equal(refreshCalls('instagram').length, calls);
  const row = await w.grantRow(id, 'next_refresh_at, token_issued_at');
  assert.equal(row.next_refresh_at, row.token_issued_at + 24 * 3600);
  const forced = await w.call('POST', `/v1/profiles/${id}/refresh`, { token: app.api_key });
  assert.equal(forced.status, 409);
  assert.equal(refreshCalls('instagram').length, calls);

  // A day on, on both sides: the worker's record and Instagram's (which refuses younger tokens).
  await w.sql('UPDATE grants SET token_issued_at = ?, next_refresh_at = ? WHERE id = (SELECT grant_id FROM profiles WHERE id = ?)', now() - 25 * 3600, now() - 1, id);
  const before = (await accessToken(id)).access_token;
  mocks.age(before, 25 * 3600);
  await w.cron();
  assert.equal(refreshCalls('instagram').length, calls + 1);
  assert.equal(refreshCalls('instagram').at(-1).query.access_token, before);
  const after = await w.grantRow(id, 'access_token_expires_at, token_issued_at, refresh_failures');
  assert.equal(after.refresh_failures, 0);
  assert.ok(after.token_issued_at >= now() - 60, 'issued again by the exchange');
  assert.ok(after.access_token_expires_at - after.token_issued_at > 59 * 24 * 3600);
  const fresh = (await accessToken(id)).access_token;
  assert.notEqual(fresh, before);
  assert.equal(mocks.tokens.get(fresh)?.platform, 'instagram', 'the token Instagram issued is stored');
});

test('platforms without refresh: profile.expiring seven days ahead, then disconnected at expiry', async () => {
  const id = await connect('linkedin', 'expiring');
  const row = await w.grantRow(id, 'next_refresh_at, access_token_expires_at');
  assert.equal(row.access_token_expires_at - row.next_refresh_at, 7 * 24 * 3600);
  // Asked 60 days early: no refresh exists, and nothing is announced yet.
  assert.equal((await w.call('POST', `/v1/profiles/${id}/refresh`, { token: app.api_key })).status, 409);
  assert.equal(receiver.of('profile.expiring', id).length, 0);
  assert.equal((await w.grantRow(id, 'next_refresh_at')).next_refresh_at, row.next_refresh_at);
  // Six days before expiry the job announces it, once.
  // Expiry on the grant (what the job reads) and on the profile (the copy the API shows).
  await w.sql('UPDATE grants SET access_token_expires_at = ?, next_refresh_at = ? WHERE id = (SELECT grant_id FROM profiles WHERE id = ?)', now() + 6 * 24 * 3600, now() - 1, id);
  await w.sql('UPDATE profiles SET access_token_expires_at = ? WHERE id = ?', now() + 6 * 24 * 3600, id);
  await w.cron();
  await w.makeDue(id);
  await w.cron();
  assert.equal(receiver.of('profile.expiring', id).length, 1);
  assert.equal((await profile(id)).status, 'active');
  await w.sql('UPDATE grants SET access_token_expires_at = ?, next_refresh_at = ? WHERE id = (SELECT grant_id FROM profiles WHERE id = ?)', now() - 1, now() - 1, id);
  await w.sql('UPDATE profiles SET access_token_expires_at = ? WHERE id = ?', now() - 1, id);
  await w.cron();
  const p = await profile(id);
  assert.deepEqual([p.status, p.disconnect_reason], ['disconnected', 'token_expired']);
  assert.equal(receiver.of('profile.disconnected', id).length, 1);
  assert.equal(mocks.calls.filter((c) => c.platform === 'linkedin' && c.endpoint !== 'token' && c.endpoint !== 'identity').length, 0);
});

test('the refresh endpoint forces a refresh; access-token refreshes a token about to expire', async () => {
  const id = await connect('x', 'forced');
  const calls = refreshCalls('x').length;
  const r = await w.call('POST', `/v1/profiles/${id}/refresh`, { token: app.api_key });
  assert.equal(r.status, 200);
  assert.equal(r.body.id, id);
  assert.ok(r.body.last_refreshed_at);
  assert.equal(refreshCalls('x').length, calls + 1);
  // Not near expiry: the access-token endpoint makes no call.
  await accessToken(id);
  assert.equal(refreshCalls('x').length, calls + 1);
  await w.sql('UPDATE grants SET access_token_expires_at = ? WHERE id = (SELECT grant_id FROM profiles WHERE id = ?)', now() + 120, id);
  await w.sql('UPDATE profiles SET access_token_expires_at = ? WHERE id = ?', now() + 120, id);
  const fresh = await accessToken(id);
  assert.equal(refreshCalls('x').length, calls + 2);
  assert.ok(Date.parse(fresh.expires_at) / 1000 > now() + 3600, JSON.stringify(fresh) + ' now=' + now());
  const other = await w.createApp('Other', [REDIRECT]);
  assert.equal((await w.call('GET', `/v1/profiles/${id}/access-token`, { token: other.api_key })).status, 404);
});

test('a receiver that answers 500 for a while gets every event once it recovers; nothing is lost', async () => {
  receiver.status = 500;
  const ids = [await connect('x', 'down1'), await connect('x', 'down2'), await connect('youtube', 'down3')];
  await w.settled();
  const failedIds = receiver.attempts.filter((a) => a.status === 500).map((a) => a.id);
  assert.ok(failedIds.length >= 3);
  const pending = await w.db.prepare('SELECT id, attempts, next_attempt_at FROM webhook_outbox WHERE delivered_at IS NULL').all();
  assert.ok(pending.results.length >= 3);
  for (const r of pending.results) assert.ok(r.next_attempt_at > now() && r.attempts >= 1, 'scheduled for a retry later');

  const attempts = receiver.attempts.length;
  await w.cron(); // not due yet: nothing sent
  assert.equal(receiver.attempts.length, attempts, 'no delivery attempt before the retry is due');
  receiver.status = 200;
  await w.sql('UPDATE webhook_outbox SET next_attempt_at = ? WHERE delivered_at IS NULL', now() - 1);
  await w.cron();
  for (const id of ids) assert.equal(receiver.of('profile.connected', id).length, 1, `connected event for ${id}`);
  for (const failed of failedIds) assert.ok(receiver.events.some((e) => e.id === failed), `event ${failed} delivered under the same webhook-id`);
  const left = await w.row('SELECT COUNT(*) AS n FROM webhook_outbox WHERE delivered_at IS NULL');
  assert.equal(left.n, 0);
  assert.equal(receiver.rejected ?? 0, 0);
});

test('after a new key id is put in front, the job re-encrypts old rows and every token reads back', async () => {
  const id = await connect('x', 'rekeyed');
  const token = (await accessToken(id)).access_token;
  const rt = await storedRefresh(id);
  // Seed the state a deployment has after rotation: rows written under the old key k1
  // (the profile's grant, sealed for the grant id).
  const grant = await w.grantOf(id);
  await w.sql('UPDATE grants SET access_token_enc = ?, refresh_token_enc = ?, token_kid = ? WHERE id = ?',
    w.sealEnvelope(token, grant, 'access_token', 'k1'), w.sealEnvelope(rt, grant, 'refresh_token', 'k1'), 'k1', grant);
  const appRow = await w.row('SELECT webhook_secret_enc FROM apps WHERE id = ?', app.app.id);
  const secret = w.openEnvelope(appRow.webhook_secret_enc, app.app.id, 'webhook_secret');
  await w.sql('UPDATE apps SET webhook_secret_enc = ? WHERE id = ?', w.sealEnvelope(secret, app.app.id, 'webhook_secret', 'k1'), app.app.id);
  assert.equal((await accessToken(id)).access_token, token, 'old-key rows read while waiting');

  await w.cron();
  const row = await w.row('SELECT access_token_enc, refresh_token_enc, token_kid FROM grants WHERE id = ?', grant);
  assert.equal(row.token_kid, 'k2');
  assert.match(row.access_token_enc, /^v1\.k2\./);
  assert.match(row.refresh_token_enc, /^v1\.k2\./);
  assert.equal(w.openEnvelope(row.refresh_token_enc, grant, 'refresh_token'), rt);
  assert.equal((await accessToken(id)).access_token, token);
  // Grants, and profiles with a token of their own (token_kid NULL for the others).
  const left = await w.row("SELECT (SELECT COUNT(*) FROM grants WHERE token_kid != 'k2') + (SELECT COUNT(*) FROM profiles WHERE token_kid != 'k2') AS n");
  assert.equal(left.n, 0);
  const app2 = await w.row('SELECT webhook_secret_enc FROM apps WHERE id = ?', app.app.id);
  assert.match(app2.webhook_secret_enc, /^v1\.k2\./);
  // Webhooks still sign with the same secret.
  const id2 = await connect('x', 'after-rekey');
  await w.settled();
  assert.equal(receiver.of('profile.connected', id2).length, 1);
});

test('a delivery whose secret cannot be opened still counts as an attempt, so retries end', async () => {
  const other = await w.admin('POST', '/v1/admin/apps', { name: 'Lost key app', allowed_redirect_urls: [REDIRECT], webhook_url: receiver.url });
  const appId = other.body.app.id;
  await w.sql("UPDATE apps SET webhook_secret_enc = 'v1.gone.AAAA' WHERE id = ?", appId);
  await w.sql("INSERT INTO webhook_outbox (id, app_id, type, body, created_at, next_attempt_at) VALUES ('evt_lost', ?, 'profile.deleted', '{}', ?, ?)", appId, now(), now() - 1);
  await w.cron();
  const row = await w.row("SELECT attempts, next_attempt_at FROM webhook_outbox WHERE id = 'evt_lost'");
  assert.equal(row.attempts, 1);
  assert.ok(row.next_attempt_at > now());
  assert.ok(!receiver.attempts.some((a) => a.id === 'evt_lost'), 'nothing unsigned was sent');
});

test('housekeeping deletes consumed states older than a day', async () => {
  await w.sql('INSERT INTO consumed_states (state_hash, link_id, consumed_at) VALUES (?, ?, ?), (?, ?, ?)',
    'old-state', 'cl_x', now() - 2 * 24 * 3600, 'new-state', 'cl_y', now() - 3600);
  await w.cron();
  assert.equal(await w.row("SELECT state_hash FROM consumed_states WHERE state_hash = 'old-state'"), null);
  assert.ok(await w.row("SELECT state_hash FROM consumed_states WHERE state_hash = 'new-state'"));
});

test('a dead token found on use: the access-token call whose refresh meets a terminal answer disconnects at once and hands out nothing', async () => {
  const id = await connect('youtube', 'deadonuse');
  const rt = await storedRefresh(id);
  mocks.tokens.get(rt).revoked = true; // the user revoked the app at Google
  const grant = await w.grantOf(id);
  // The token expires within five minutes, so the call refreshes first (still valid: it may not wait past 2 s).
  await w.sql('UPDATE grants SET access_token_expires_at = ? WHERE id = ?', now() + 120, grant);
  await w.sql('UPDATE profiles SET access_token_expires_at = ? WHERE id = ?', now() + 120, id);
  const r = await w.call('GET', `/v1/profiles/${id}/access-token`, { token: app.api_key });
  assert.equal(r.status, 409, JSON.stringify(r.body));
  assert.equal(r.body.access_token, undefined);
  assert.deepEqual([(await profile(id)).status, (await profile(id)).disconnect_reason], ['disconnected', 'invalid_grant']);
  assert.equal((await w.call('GET', `/v1/profiles/${id}/access-token`, { token: app.api_key })).status, 409, 'not handed out again');
  await w.settled();
  assert.equal(receiver.of('profile.disconnected', id).length, 1);
});
