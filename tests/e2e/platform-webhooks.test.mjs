// Issue 10: platforms telling us a user let go (Meta's deauthorize and data deletion
// callbacks, TikTok's authorization.removed), signed by the test itself in each platform's
// documented format; and the liveness check of tokens that never expire.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';
import { PlatformMocks, credentialVars, credsFor } from './platform-mocks.mjs';
import { WebhookReceiver } from './webhook-receiver.mjs';
import { metaSignedRequest, tiktokSignatureHeader } from './platform-webhook-signers.mjs';

const REDIRECT = 'https://app.example.com/connected';
const mocks = new PlatformMocks();
const receiver = new WebhookReceiver();
let w;
let app; // with a webhook receiver
let other; // a second app holding the same logins

before(async () => {
  await receiver.start();
  w = await startWorker({ vars: credentialVars(['facebook', 'threads', 'tiktok']), outbound: mocks.handle });
  const r = await w.admin('POST', '/v1/admin/apps', { name: 'Hooks app', allowed_redirect_urls: [REDIRECT], webhook_url: receiver.url, claim: 'auto' });
  app = r.body;
  receiver.useSecret(r.body.webhook_secret);
  other = (await w.admin('POST', '/v1/admin/apps', { name: 'Other app', allowed_redirect_urls: [REDIRECT], claim: 'auto' })).body;
});
after(async () => {
  await w?.stop();
  await receiver.stop();
});

const now = () => Math.floor(Date.now() / 1000);
const profile = async (key, id) => (await w.call('GET', `/v1/profiles/${id}`, { token: key })).body;
const form = (signed) => new URLSearchParams({ signed_request: signed });
const postForm = (path, body) => fetch(`${w.base}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
const fbUser = (user) => `10${user}`;

async function connectPages(key, user, pages) {
  mocks.setPages(user, pages);
  const { q } = await w.connectWithMock(mocks, key, 'facebook', { user, redirect: REDIRECT, linkFields: { accounts: 'all' } });
  assert.equal(q.connected, 'true', JSON.stringify(q));
  return q.profile_ids.split(',');
}

test('attack: an unsigned, forged or tampered deauthorize gets 401 and changes nothing', async () => {
  const [page] = await connectPages(app.api_key, 'forged', [{ id: '2101', name: 'Kept' }]);
  const payload = { algorithm: 'HMAC-SHA256', issued_at: now(), user_id: fbUser('forged') };
  const good = metaSignedRequest(payload, credsFor('facebook').secret);
  const attempts = [
    new URLSearchParams({}),
    form('garbage'),
    form(metaSignedRequest(payload, 'not-the-secret')),
    form(metaSignedRequest({ ...payload, algorithm: 'HMAC-SHA1' }, credsFor('facebook').secret)),
    // A valid signature over another payload, with this payload swapped in.
    form(`${good.split('.')[0]}.${Buffer.from(JSON.stringify({ ...payload, user_id: fbUser('someone') })).toString('base64url')}`),
  ];
  for (const body of attempts) {
    const r = await postForm('/platform-webhooks/meta/deauthorize', body);
    assert.equal(r.status, 401);
    const text = await r.text();
    assert.ok(!/signature does not match|algorithm|HMAC|secret/i.test(text.replace('the request is not signed by this platform app', '')), text);
  }
  assert.equal(r2s(await profile(app.api_key, page)), 'active/null');
  assert.equal((await postForm('/platform-webhooks/meta/data-deletion', form(metaSignedRequest(payload, 'nope')))).status, 401);
  assert.ok(await profile(app.api_key, page), 'not deleted');
});
const r2s = (p) => `${p.status}/${p.disconnect_reason}`;

test('a verified deauthorize ends every profile of the login in every app, once, and deletes their tokens', async () => {
  const ids = await connectPages(app.api_key, 'leaver', [{ id: '2201', name: 'One' }, { id: '2202', name: 'Two' }]);
  const otherIds = await connectPages(other.api_key, 'leaver', [{ id: '2201', name: 'One' }, { id: '2202', name: 'Two' }]);
  const signed = metaSignedRequest({ algorithm: 'HMAC-SHA256', issued_at: now(), user_id: fbUser('leaver') }, credsFor('facebook').secret);
  const r = await postForm('/platform-webhooks/meta/deauthorize', form(signed));
  assert.equal(r.status, 200);
  for (const id of ids) {
    const p = await profile(app.api_key, id);
    assert.equal(r2s(p), 'disconnected/revoked');
    assert.ok(p.last_platform_event_at, 'the platform event is shown');
  }
  for (const id of otherIds) assert.equal(r2s(await profile(other.api_key, id)), 'disconnected/revoked');
  const grants = (await w.db.prepare("SELECT access_token_enc, refresh_token_enc, status FROM grants WHERE platform = 'facebook' AND platform_user_id = ?").bind(fbUser('leaver')).all()).results;
  assert.equal(grants.length, 2);
  for (const g of grants) assert.deepEqual([g.access_token_enc, g.refresh_token_enc, g.status], ['', null, 'disconnected']);
  const own = (await w.db.prepare('SELECT COUNT(*) AS n FROM profiles WHERE id IN (?, ?, ?, ?) AND access_token_enc IS NOT NULL').bind(...ids, ...otherIds).first()).n;
  assert.equal(own, 0, 'no Page token kept');
  assert.equal((await w.call('GET', `/v1/profiles/${ids[0]}/access-token`, { token: app.api_key })).status, 409);
  await w.settled();
  for (const id of ids) assert.equal(receiver.of('profile.disconnected', id).length, 1);
  // Meta repeats the call: same answer, nothing sent twice.
  assert.equal((await postForm('/platform-webhooks/meta/deauthorize', form(signed))).status, 200);
  await w.settled();
  for (const id of ids) assert.equal(receiver.of('profile.disconnected', id).length, 1);
});

test('a callback acts only for the platform whose secret signed it', async () => {
  const [page] = await connectPages(app.api_key, 'samename', [{ id: '2301', name: 'Safe' }]);
  // Threads' app secret, with the Facebook login's id: nothing on Facebook ends.
  const signed = metaSignedRequest({ algorithm: 'HMAC-SHA256', issued_at: now(), user_id: fbUser('samename') }, credsFor('threads').secret);
  assert.equal((await postForm('/platform-webhooks/meta/deauthorize', form(signed))).status, 200);
  assert.equal(r2s(await profile(app.api_key, page)), 'active/null');
});

test('a data deletion request deletes the login\'s profiles and tokens, answers a status URL, and is the same when repeated', async () => {
  const ids = await connectPages(app.api_key, 'eraser', [{ id: '2401', name: 'Gone <b>' }, { id: '2402', name: 'Gone too' }]);
  const signed = metaSignedRequest({ algorithm: 'HMAC-SHA256', issued_at: now(), user_id: fbUser('eraser') }, credsFor('facebook').secret);
  const r = await postForm('/platform-webhooks/meta/data-deletion', form(signed));
  assert.equal(r.status, 200);
  const body = await r.json();
  assert.match(body.confirmation_code, /^[0-9a-f]{20}$/);
  assert.equal(body.url, `${w.base}/platform-webhooks/meta/deletion-status/${body.confirmation_code}`);
  for (const id of ids) assert.equal((await w.call('GET', `/v1/profiles/${id}`, { token: app.api_key })).status, 404);
  assert.equal((await w.row("SELECT COUNT(*) AS n FROM grants WHERE platform = 'facebook' AND platform_user_id = ?", fbUser('eraser'))).n, 0);
  await w.settled();
  for (const id of ids) assert.equal(receiver.of('profile.deleted', id).length, 1);
  const page = await fetch(body.url);
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /2 connected accounts were deleted/);
  assert.ok(!html.includes('Gone') && !html.includes(fbUser('eraser')), 'the page names no account');
  assert.match(page.headers.get('content-security-policy'), /default-src 'none'/);
  const again = await (await postForm('/platform-webhooks/meta/data-deletion', form(signed))).json();
  assert.equal(again.confirmation_code, body.confirmation_code);
  assert.match(await (await fetch(again.url)).text(), /2 connected accounts were deleted/, 'the first request\'s record');
  await w.settled();
  for (const id of ids) assert.equal(receiver.of('profile.deleted', id).length, 1);
  const unknown = await fetch(`${w.base}/platform-webhooks/meta/deletion-status/0123456789abcdef0123`);
  assert.equal(unknown.status, 404);
  assert.match(unknown.headers.get('content-type'), /text\/html/);
});

test('TikTok: a signed authorization.removed disconnects the profile once; bad signatures and stale timestamps are refused', async () => {
  const { q } = await w.connectWithMock(mocks, app.api_key, 'tiktok', { user: 'ttleaver', redirect: REDIRECT });
  const p = await profile(app.api_key, q.profile_id);
  const event = (user) => JSON.stringify({
    client_key: credsFor('tiktok').id, event: 'authorization.removed', create_time: now(), user_openid: user, content: '{"reason":1}',
  });
  const post = (raw, sig) => fetch(`${w.base}/platform-webhooks/tiktok`, { method: 'POST', body: raw, headers: { 'content-type': 'application/json', ...(sig ? { 'tiktok-signature': sig } : {}) } });
  const raw = event(p.platform_user_id);
  assert.equal((await post(raw)).status, 401, 'no signature');
  assert.equal((await post(raw, tiktokSignatureHeader(raw, 'wrong-secret'))).status, 401);
  assert.equal((await post(raw, tiktokSignatureHeader(raw, credsFor('tiktok').secret, now() - 600))).status, 401, 'ten minutes old');
  assert.equal((await post(raw.replace('authorization.removed', 'authorization.removex'), tiktokSignatureHeader(raw, credsFor('tiktok').secret))).status, 401, 'tampered body');
  assert.equal(r2s(await profile(app.api_key, p.id)), 'active/null');
  assert.equal((await post(raw, tiktokSignatureHeader(raw, credsFor('tiktok').secret))).status, 200);
  assert.equal(r2s(await profile(app.api_key, p.id)), 'disconnected/revoked');
  assert.equal((await post(raw, tiktokSignatureHeader(raw, credsFor('tiktok').secret))).status, 200, 'TikTok delivers at least once');
  await w.settled();
  assert.equal(receiver.of('profile.disconnected', p.id).length, 1);
  // An event for another client key (even signed with our secret) ends nobody we hold.
  const stay = await w.connectWithMock(mocks, app.api_key, 'tiktok', { user: 'ttstay', redirect: REDIRECT });
  const stayer = await profile(app.api_key, stay.q.profile_id);
  const foreign = event(stayer.platform_user_id).replace(credsFor('tiktok').id, 'someone-else');
  assert.equal((await post(foreign, tiktokSignatureHeader(foreign, credsFor('tiktok').secret))).status, 200);
  assert.equal(r2s(await profile(app.api_key, stayer.id)), 'active/null');
});

test('liveness: a Page token that never expires is checked on schedule; a dead one disconnects, a live one waits a week, an outage backs off', async () => {
  const [alive, dead, flaky] = await connectPages(app.api_key, 'checked', [{ id: '2501', name: 'Alive' }, { id: '2502', name: 'Dead' }, { id: '2503', name: 'Flaky' }]);
  const scheduled = await w.row('SELECT next_check_at FROM profiles WHERE id = ?', alive);
  assert.ok(scheduled.next_check_at > now() && scheduled.next_check_at <= now() + 7 * 86400 + 5, 'first check within the week');
  const token = (id) => w.call('GET', `/v1/profiles/${id}/access-token`, { token: app.api_key }).then((r) => r.body.access_token);
  mocks.tokens.get(await token(dead)).revoked = true;
  const flakyToken = await token(flaky);
  for (const id of [alive, dead, flaky]) await w.sql('UPDATE profiles SET next_check_at = ? WHERE id = ?', now() - 1, id);
  const original = mocks.answer.bind(mocks);
  // The Graph /me call made with the flaky Page's token meets an outage.
  mocks.answer = async (request) => (request.headers.get('authorization') === `Bearer ${flakyToken}` ? new Response('{}', { status: 503 }) : original(request));
  const checks = () => mocks.calls.filter((c) => c.path === '/v25.0/me' && c.query.fields === 'id').length;
  const before = checks();
  try {
    await w.cron();
  } finally {
    mocks.answer = original;
  }
  assert.equal(checks() - before, 2, 'one identity call for each of the two that reached the mock');
  assert.equal(r2s(await profile(app.api_key, dead)), 'disconnected/revoked');
  const a = await w.row('SELECT status, next_check_at, check_failures FROM profiles WHERE id = ?', alive);
  assert.equal(a.status, 'active');
  assert.ok(a.next_check_at >= now() + 7 * 86400 - 60, 'next check in a week');
  const f = await w.row('SELECT status, next_check_at, check_failures FROM profiles WHERE id = ?', flaky);
  assert.deepEqual([f.status, f.check_failures], ['active', 1]);
  assert.ok(f.next_check_at > now() && f.next_check_at < now() + 86400, 'backed off, not a week');
  await w.settled();
  assert.equal(receiver.of('profile.disconnected', dead).length, 1);
  assert.equal(receiver.of('profile.disconnected', alive).length, 0);
  // Not due again: the next cron makes no call.
  const quiet = checks();
  await w.cron();
  assert.equal(checks(), quiet);
});

test('attack: a replayed (day-old) callback or a login\'s signed request with the same secret changes nothing', async () => {
  const [page] = await connectPages(app.api_key, 'replayed', [{ id: '2601', name: 'Kept' }]);
  const secret = credsFor('facebook').secret;
  const old = metaSignedRequest({ algorithm: 'HMAC-SHA256', issued_at: now() - 2 * 86400, user_id: fbUser('replayed') }, secret);
  const login = metaSignedRequest({ algorithm: 'HMAC-SHA256', issued_at: now(), user_id: fbUser('replayed'), code: 'AQD-login-code' }, secret);
  const undated = metaSignedRequest({ algorithm: 'HMAC-SHA256', user_id: fbUser('replayed') }, secret);
  for (const signed of [old, login, undated]) {
    assert.equal((await postForm('/platform-webhooks/meta/deauthorize', form(signed))).status, 401);
    assert.equal((await postForm('/platform-webhooks/meta/data-deletion', form(signed))).status, 401);
  }
  assert.equal(r2s(await profile(app.api_key, page)), 'active/null');
});

test('TikTok redelivers after the user connected again: the renewed grant stays', async () => {
  const first = await w.connectWithMock(mocks, app.api_key, 'tiktok', { user: 'ttback', redirect: REDIRECT });
  const id = first.q.profile_id;
  const user = (await profile(app.api_key, id)).platform_user_id;
  // Connected 100 s ago; the user removed the app 50 s ago.
  await w.sql('UPDATE grants SET consented_at = ? WHERE id = ?', now() - 100, await w.grantOf(id));
  const raw = JSON.stringify({ client_key: credsFor('tiktok').id, event: 'authorization.removed', create_time: now() - 50, user_openid: user, content: '{"reason":1}' });
  const post = () => fetch(`${w.base}/platform-webhooks/tiktok`, { method: 'POST', body: raw, headers: { 'tiktok-signature': tiktokSignatureHeader(raw, credsFor('tiktok').secret) } });
  assert.equal((await post()).status, 200);
  assert.equal(r2s(await profile(app.api_key, id)), 'disconnected/revoked');
  const again = await w.connectWithMock(mocks, app.api_key, 'tiktok', { user: 'ttback', redirect: REDIRECT });
  assert.equal(again.q.profile_id, id);
  assert.equal(r2s(await profile(app.api_key, id)), 'active/null');
  assert.equal((await post()).status, 200, 'the same event, delivered again');
  assert.equal(r2s(await profile(app.api_key, id)), 'active/null', 'an event older than the latest consent');
  await w.settled();
  assert.equal(receiver.of('profile.disconnected', id).length, 1);
});

test('a login with more Pages than one batch holds: every one ends, one event each', async () => {
  const pages = Array.from({ length: 30 }, (_, i) => ({ id: `27${String(i).padStart(2, '0')}`, name: `Many ${i}` }));
  const ids = await connectPages(app.api_key, 'manypages2', pages);
  assert.equal(ids.length, 30);
  const signed = metaSignedRequest({ algorithm: 'HMAC-SHA256', issued_at: now(), user_id: fbUser('manypages2') }, credsFor('facebook').secret);
  assert.equal((await postForm('/platform-webhooks/meta/deauthorize', form(signed))).status, 200);
  const ended = (await w.db.prepare("SELECT COUNT(*) AS n FROM profiles WHERE id IN (SELECT value FROM json_each(?)) AND status = 'disconnected' AND access_token_enc IS NULL").bind(JSON.stringify(ids)).first()).n;
  assert.equal(ended, 30);
  await w.settled();
  assert.equal(ids.filter((id) => receiver.of('profile.disconnected', id).length === 1).length, 30);
});

test('data deletion also drops an open account choice holding the login\'s tokens, and ends its link', async () => {
  mocks.setPages('chooser', [{ id: '2801', name: 'A' }, { id: '2802', name: 'B' }]);
  const link = await w.createLink(app.api_key, { platform: 'facebook', redirect_url: REDIRECT });
  const approved = mocks.approve(link.authorize_url, { user: 'chooser' });
  const res = await fetch(`${w.base}/oauth/callback?${new URLSearchParams({ code: approved.code, state: approved.state })}`, { redirect: 'manual' });
  assert.equal(res.status, 200, 'the picker');
  const html = await res.text();
  const cookie = res.headers.get('set-cookie').split(';')[0];
  assert.ok(await w.row('SELECT link_id FROM account_choices WHERE link_id = ?', link.id));
  const signed = metaSignedRequest({ algorithm: 'HMAC-SHA256', issued_at: now(), user_id: fbUser('chooser') }, credsFor('facebook').secret);
  assert.equal((await postForm('/platform-webhooks/meta/data-deletion', form(signed))).status, 200);
  // The sealed tokens are gone; no other row holds any of this login's.
  assert.equal(await w.row('SELECT link_id FROM account_choices WHERE link_id = ?', link.id), null);
  assert.equal((await w.row("SELECT COUNT(*) AS n FROM grants WHERE platform = 'facebook' AND platform_user_id = ?", fbUser('chooser'))).n, 0);
  // The link no longer waits for a choice: it failed (the user let go), and the app is told.
  assert.deepEqual({ ...(await w.row('SELECT status, error FROM connect_links WHERE id = ?', link.id)) }, { status: 'failed', error: 'access_denied' });
  await w.settled();
  assert.equal(receiver.of('connect_link.failed').filter((e) => e.data.link_id === link.id && e.data.error === 'access_denied').length, 1);
  const action = /action="([^"]+)"/.exec(html)[1];
  const token = /name="form_token" value="([^"]*)"/.exec(html)[1];
  const submit = await fetch(action, { method: 'POST', body: new URLSearchParams([['form_token', token], ['account', '2801']]), headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });
  assert.equal(submit.status, 410, 'nothing left to connect');
  assert.equal((await w.row("SELECT COUNT(*) AS n FROM grants WHERE platform = 'facebook' AND platform_user_id = ?", fbUser('chooser'))).n, 0);
  assert.equal((await w.row("SELECT COUNT(*) AS n FROM profiles WHERE platform_user_id IN ('2801', '2802')")).n, 0);
});

test('a late deauthorize or deletion leaves an account choice opened after the user acted, and the grant it holds', async () => {
  mocks.setPages('cameback', [{ id: '2901', name: 'A' }, { id: '2902', name: 'B' }]);
  const link = await w.createLink(app.api_key, { platform: 'facebook', redirect_url: REDIRECT });
  const approved = mocks.approve(link.authorize_url, { user: 'cameback' });
  const res = await fetch(`${w.base}/oauth/callback?${new URLSearchParams({ code: approved.code, state: approved.state })}`, { redirect: 'manual' });
  assert.equal(res.status, 200, 'the picker');
  const html = await res.text();
  const cookie = res.headers.get('set-cookie').split(';')[0];
  // The user removed the app (and asked for deletion) a minute before coming back to
  // connect again; Meta's callbacks arrive only now.
  const signed = metaSignedRequest({ algorithm: 'HMAC-SHA256', issued_at: now() - 60, user_id: fbUser('cameback') }, credsFor('facebook').secret);
  assert.equal((await postForm('/platform-webhooks/meta/deauthorize', form(signed))).status, 200);
  assert.equal((await postForm('/platform-webhooks/meta/data-deletion', form(signed))).status, 200);
  assert.ok(await w.row('SELECT link_id FROM account_choices WHERE link_id = ?', link.id), 'the newer choice still holds its grant');
  assert.equal((await w.row('SELECT status FROM connect_links WHERE id = ?', link.id)).status, 'choosing');
  // The user can still make the choice, and the grant lands.
  const action = /action="([^"]+)"/.exec(html)[1];
  const token = /name="form_token" value="([^"]*)"/.exec(html)[1];
  const submit = await fetch(action, { method: 'POST', body: new URLSearchParams([['form_token', token], ['account', '2901']]), headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });
  assert.equal(submit.status, 302);
  assert.equal(new URL(submit.headers.get('location')).searchParams.get('connected'), 'true');
  assert.equal((await w.row("SELECT COUNT(*) AS n FROM profiles WHERE platform_user_id = '2901' AND status = 'active'")).n, 1);
});
