// Platform events in from X and LinkedIn: each platform's handshake and signature, built here
// from their documentation (not from the worker's code), on the deployment's paths and on an
// app's own platform app's path (/apps/{credential_ref}), each verified with its own secret
// only.
//   X: https://docs.x.com/x-api/webhooks/quickstart (CRC: GET ?crc_token=, answered
//   {"response_token": "sha256=" + base64(HMAC-SHA256(consumer secret, crc_token))}; POST
//   header x-twitter-webhooks-signature, the same over the raw body);
//   https://docs.x.com/x-api/account-activity/introduction (the payloads: for_user_id and the
//   *_events arrays).
//   LinkedIn: https://learn.microsoft.com/en-us/linkedin/shared/api-guide/webhook-validation
//   (GET ?challengeCode=<uuid>, answered {challengeCode, challengeResponse: hex(HMAC-SHA256(
//   client secret, challengeCode))}; POST header X-LI-Signature).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startWorker } from './harness.mjs';
import { PlatformMocks, credentialVars, credsFor } from './platform-mocks.mjs';
import { WebhookReceiver } from './webhook-receiver.mjs';

// X's own example consumer secret and CRC token (X developer relations' CRC sample,
// https://gist.github.com/jcipriano/373d4d441e8041f775b6227c0e2fd1f3).
const X_SECRET = 'z3ZX4v7mAAUGykl3EcmkqbartmuW8VFOOzCloLx9Q45P0hLrFu';
const X_TOKEN = '9b4507b3-9040-4669-9ca3-6b94edb50553';
// LinkedIn's example challenge code (the validation page above).
const LI_CODE = '890e4665-4dfe-4ab1-b689-ed553bceeed0';

const REDIRECT = 'https://app.example.com/connected';
const mocks = new PlatformMocks();
const receivers = [];
let w;

before(async () => {
  w = await startWorker({ vars: { ...credentialVars(['x', 'linkedin']), X_CONSUMER_SECRET: X_SECRET }, outbound: mocks.handle });
});
after(async () => {
  await w?.stop();
  for (const r of receivers) await r.stop();
});

const hmac = (secret, msg, enc) => crypto.createHmac('sha256', secret).update(msg).digest(enc);
const xSig = (body, secret) => `sha256=${hmac(secret, body, 'base64')}`;
const postX = (path, body, sig) => w.call('POST', path, { raw: body, headers: { 'content-type': 'application/json', ...(sig === undefined ? {} : { 'x-twitter-webhooks-signature': sig }) } });
const postLi = (path, body, sig) => w.call('POST', path, { raw: body, headers: { 'content-type': 'application/json', ...(sig === undefined ? {} : { 'x-li-signature': sig }) } });

/** An X mention for `user` (the Account Activity payload: a Tweet object in tweet_create_events). */
const xMention = (user, id = '1501') => JSON.stringify({
  for_user_id: user,
  user_has_blocked: 'false',
  tweet_create_events: [{ id_str: id, text: `@x_${user} hello`, timestamp_ms: '1700000000123', user: { id_str: '9' } }],
});

/**
 * The documented COMMENT notification (the sample core/src/platform_events/linkedin.rs's host
 * test holds, after the organization social action notifications page as quoted there), for
 * organization `org` with notification id `id`; nothing else changed.
 */
const liNotification = (org, id = 5603453321) => ({
  subscriber: 'urn:li:person:zLqTygBP8S', lastModifiedAt: 1691574506310,
  decoratedSourcePost: { owner: `urn:li:organization:${org}`, mediaCategory: 'NONE', text: 'This is my post 0008', entity: 'urn:li:share:7094637247487995904' },
  sourcePost: 'urn:li:activity:7094637247890620418',
  action: 'COMMENT', notificationId: id,
  organizationalEntity: `urn:li:organization:${org}`,
  generatedActivity: 'urn:li:comment:(activity:7094637247890620418,7094977717598625792)',
});
const liComment = (org, id) => JSON.stringify({ type: 'ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS', notifications: [liNotification(org, id)] });

/** A fresh app (auto-claimed links), with `fields` (`platform_events`); `hooked`: its own webhook receiver. */
async function newApp(name, fields = {}, hooked = false) {
  let receiver;
  if (hooked) {
    receiver = await new WebhookReceiver().start();
    receivers.push(receiver);
  }
  const r = await w.admin('POST', '/v1/admin/apps', { name, allowed_redirect_urls: [REDIRECT], claim: 'auto', ...fields, ...(receiver ? { webhook_url: receiver.url } : {}) });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  receiver?.useSecret(r.body.webhook_secret);
  return { id: r.body.app.id, api_key: r.body.api_key, receiver };
}

/** The `platform.event` data `app` received, for `profileId` when given. */
const got = (app, profileId) => app.receiver.of('platform.event').map((e) => e.data).filter((d) => !profileId || d.profile_id === profileId);

/** Waits until `app` has received `n` platform events (forwarding runs after the answer). */
async function until(app, n) {
  for (const start = Date.now(); got(app).length < n; await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() - start > 10000) throw new Error(`${got(app).length} platform events, not ${n}`);
  }
  return got(app);
}

const stats = async (platform) => (await w.admin('GET', '/v1/admin/platform-events/stats')).body.data.find((s) => s.platform === platform) ?? {};
const seen = async (platform, key) => (await w.row('SELECT COUNT(*) AS n FROM platform_event_seen WHERE platform = ? AND dedup_key = ?', platform, key)).n;
const outboxOf = async (app) => (await w.row("SELECT COUNT(*) AS n FROM webhook_outbox WHERE app_id = ? AND type = 'platform.event'", app.id)).n;

/** Stores `app`'s own client for `platform`; returns { ref, events } (the view's events URL). */
async function ownClient(app, platform, body) {
  const r = await w.admin('PUT', `/v1/admin/apps/${app.id}/platforms/${platform}`, body);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const events = r.body.platform_webhooks.events;
  const ref = /\/apps\/(pcr_[^/]+)$/.exec(events)[1];
  assert.equal(events, `${w.base}/platform-webhooks/${platform}/apps/${ref}`);
  return { ref, path: `/platform-webhooks/${platform}/apps/${ref}` };
}

test('X CRC: the documented answer for a plausible token, 403 for a missing or implausible one', async () => {
  const r = await w.call('GET', `/platform-webhooks/x?crc_token=${X_TOKEN}`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /application\/json/);
  assert.deepEqual(r.body, { response_token: `sha256=${hmac(X_SECRET, X_TOKEN, 'base64')}` });
  assert.equal(r.body.response_token, 'sha256=Cytd4Sq+NvEcV3MMrXxWJGJx5A+y/lXzzU2Maartkx8=');
  // base64 and base64url tokens are X's shapes too.
  const b64 = crypto.randomBytes(32).toString('base64');
  assert.equal((await w.call('GET', `/platform-webhooks/x?crc_token=${encodeURIComponent(b64)}`)).body.response_token, `sha256=${hmac(X_SECRET, b64, 'base64')}`);

  assert.equal((await w.call('GET', '/platform-webhooks/x')).status, 403);
  assert.equal((await w.call('GET', '/platform-webhooks/x?crc_token=')).status, 403);
  assert.equal((await w.call('GET', `/platform-webhooks/x?crc_token=${'a'.repeat(129)}`)).status, 403);
  // The oracle: a forged event body as the token would come back as its signature.
  const forged = xMention('2221');
  const asked = await w.call('GET', `/platform-webhooks/x?crc_token=${encodeURIComponent(forged)}`);
  assert.equal(asked.status, 403);
  assert.equal(asked.body.error.code, 'forbidden');
  assert.ok(!asked.text.includes(hmac(X_SECRET, forged, 'base64')));
});

test('X events: the signature over the raw body with the consumer secret, nothing else', async () => {
  const body = xMention('2221');
  const ok = await postX('/platform-webhooks/x', body, xSig(body, X_SECRET));
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body, { ok: true });
  for (const [why, sig, sent = body] of [
    ['no header', undefined],
    ['another secret', xSig(body, 'not-the-secret')],
    ['the OAuth 2.0 client secret', xSig(body, credsFor('x').secret)],
    ['hex instead of base64', `sha256=${hmac(X_SECRET, body, 'hex')}`],
    ['no sha256= prefix', hmac(X_SECRET, body, 'base64')],
    ['another body', xSig(body, X_SECRET), body.replace('hello', 'hellO')],
  ]) {
    const r = await postX('/platform-webhooks/x', sent, sig);
    assert.equal(r.status, 401, why);
    assert.equal(r.body.error.code, 'unauthorized', why);
  }
  // Over the cap: 413, whatever the signature.
  const big = JSON.stringify({ for_user_id: '1', pad: 'x'.repeat(1024 * 1024) });
  assert.equal((await postX('/platform-webhooks/x', big, xSig(big, X_SECRET))).status, 413);
});

test('X per-credential path: the credential\'s webhook_secret only; 404 without one', async () => {
  const app = await newApp('Own X');
  const own = await ownClient(app, 'x', { client_id: 'own-x-client', client_secret: 'own-x-oauth2-secret', webhook_secret: 'own-x-api-key-secret' });
  const crc = await w.call('GET', `${own.path}?crc_token=${X_TOKEN}`);
  assert.equal(crc.status, 200);
  assert.equal(crc.body.response_token, `sha256=${hmac('own-x-api-key-secret', X_TOKEN, 'base64')}`);
  assert.equal((await w.call('GET', `${own.path}?crc_token=${encodeURIComponent('{"a":1}')}`)).status, 403);

  const body = xMention('2222');
  assert.equal((await postX(own.path, body, xSig(body, 'own-x-api-key-secret'))).status, 200);
  assert.equal((await postX(own.path, body, xSig(body, X_SECRET))).status, 401, 'the deployment\'s secret is not this app\'s');
  assert.equal((await postX(own.path, body, xSig(body, 'own-x-oauth2-secret'))).status, 401, 'the client secret does not sign');
  assert.equal((await postX('/platform-webhooks/x', body, xSig(body, 'own-x-api-key-secret'))).status, 401, 'nor does the app\'s on the deployment\'s path');

  // Credentials without a webhook_secret have nothing to verify with: the path is unknown.
  const bare = await newApp('Own X, no webhook secret');
  const none = await ownClient(bare, 'x', { client_id: 'bare-x-client', client_secret: 'bare-x-secret' });
  assert.equal((await w.call('GET', `${none.path}?crc_token=${X_TOKEN}`)).status, 404);
  assert.equal((await postX(none.path, body, xSig(body, 'bare-x-secret'))).status, 404);
  assert.equal((await w.call('GET', `/platform-webhooks/x/apps/pcr_nothere?crc_token=${X_TOKEN}`)).status, 404);
});

test('LinkedIn validation: the documented answer for a UUID, 403 for anything else', async () => {
  const secret = credsFor('linkedin').secret;
  const r = await w.call('GET', `/platform-webhooks/linkedin?challengeCode=${LI_CODE}`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /application\/json/);
  assert.deepEqual(r.body, { challengeCode: LI_CODE, challengeResponse: hmac(secret, LI_CODE, 'hex') });
  // Parent-child applications also get applicationId: the answer is the same.
  assert.deepEqual((await w.call('GET', `/platform-webhooks/linkedin?challengeCode=${LI_CODE}&applicationId=123`)).body, r.body);
  for (const q of ['', '?challengeCode=', `?challengeCode=${encodeURIComponent(liComment('1'))}`, `?challengeCode=${'a'.repeat(65)}`, '?challengeCode=hello']) {
    const bad = await w.call('GET', `/platform-webhooks/linkedin${q}`);
    assert.equal(bad.status, 403, q);
  }
});

test('LinkedIn notifications: either reading of X-LI-Signature with the client secret, nothing else', async () => {
  const secret = credsFor('linkedin').secret;
  const body = liComment('111');
  for (const sig of [
    hmac(secret, `hmacsha256=${body}`, 'hex'),
    `hmacsha256=${hmac(secret, body, 'hex')}`,
    hmac(secret, body, 'hex'),
  ]) {
    const r = await postLi('/platform-webhooks/linkedin', body, sig);
    assert.equal(r.status, 200, sig);
    assert.deepEqual(r.body, { ok: true });
  }
  for (const [why, sig, sent = body] of [
    ['no header', undefined],
    ['another secret', hmac('nope', body, 'hex')],
    ['base64', hmac(secret, body, 'base64')],
    ['another body', hmac(secret, body, 'hex'), body.replace('COMMENT', 'LIKE')],
  ]) {
    assert.equal((await postLi('/platform-webhooks/linkedin', sent, sig)).status, 401, why);
  }
  // Over the cap (64 KiB), even signed: refused before the signature is read.
  const huge = JSON.stringify({ type: 'ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS', notifications: [{ ...liNotification('111'), padding: 'x'.repeat(1024 * 1024) }] });
  assert.equal((await postLi('/platform-webhooks/linkedin', huge, hmac(secret, huge, 'hex'))).status, 413);
});

test('LinkedIn per-credential path: that app\'s client secret only', async () => {
  const app = await newApp('Own LinkedIn');
  const own = await ownClient(app, 'linkedin', { client_id: 'own-li-client', client_secret: 'own-li-secret' });
  const r = await w.call('GET', `${own.path}?challengeCode=${LI_CODE}`);
  assert.deepEqual(r.body, { challengeCode: LI_CODE, challengeResponse: hmac('own-li-secret', LI_CODE, 'hex') });
  const body = liComment('112');
  assert.equal((await postLi(own.path, body, hmac('own-li-secret', body, 'hex'))).status, 200);
  assert.equal((await postLi(own.path, body, hmac(credsFor('linkedin').secret, body, 'hex'))).status, 401, 'the deployment\'s secret is not this app\'s');
  assert.equal((await postLi('/platform-webhooks/linkedin', body, hmac('own-li-secret', body, 'hex'))).status, 401);
  // An X credential's ref on LinkedIn's path is unknown there.
  const x = await ownClient(await newApp('Own X 2'), 'x', { client_id: 'own-x-2', client_secret: 's', webhook_secret: 'w' });
  assert.equal((await w.call('GET', `/platform-webhooks/linkedin/apps/${x.ref}?challengeCode=${LI_CODE}`)).status, 404);
});

test('without X_CONSUMER_SECRET the deployment has no X webhook: 404', async () => {
  await w.restart({ X_CONSUMER_SECRET: '' });
  assert.equal((await w.call('GET', `/platform-webhooks/x?crc_token=${X_TOKEN}`)).status, 404);
  const body = xMention('2221');
  assert.equal((await postX('/platform-webhooks/x', body, xSig(body, X_SECRET))).status, 404);
  await w.restart({ X_CONSUMER_SECRET: X_SECRET });
  assert.equal((await w.call('GET', `/platform-webhooks/x?crc_token=${X_TOKEN}`)).status, 200);
});

// The X mock numbers a user `u` as `22<length of u><u>`: numeric user names give X's numeric ids.
const xIdOf = (user) => `22${user.length}${user}`;

test('X events reach the apps holding the account that asked for the type, once each', async () => {
  const asked = await newApp('X mentions', { platform_events: { x: ['tweet_create_events'] } }, true);
  const other = await newApp('X likes only', { platform_events: { x: ['favorite_events'] } }, true);
  const silent = await newApp('X nothing asked', {}, true);
  const user = '41';
  const account = xIdOf(user);
  const profiles = {};
  for (const app of [asked, other, silent]) {
    const { q } = await w.connectWithMock(mocks, app.api_key, 'x', { user, redirect: REDIRECT });
    profiles[app.id] = q.profile_id;
  }
  assert.equal((await w.row('SELECT platform_user_id FROM profiles WHERE id = ?', profiles[asked.id])).platform_user_id, account, 'for_user_id is the stored X user id');

  const before = await stats('x');
  const body = xMention(account, '1601');
  assert.equal((await postX('/platform-webhooks/x', body, xSig(body, X_SECRET))).status, 200);
  const [event] = await until(asked, 1);
  assert.deepEqual(event, {
    profile_id: profiles[asked.id],
    platform: 'x',
    account_id: account,
    event_type: 'tweet_create_events',
    occurred_at: '2023-11-14T22:13:20Z',
    payload: JSON.parse(body).tweet_create_events[0],
  });

  // X redelivers the same event: forwarded once. A later like (which `other` asked for)
  // arrives after the redelivery's forwarding, which is one statement that claims nothing.
  assert.equal((await postX('/platform-webhooks/x', body, xSig(body, X_SECRET))).status, 200);
  const like = JSON.stringify({ for_user_id: account, favorite_events: [{ id: 'a7ba59eab0bfcba386f7acedac279542', timestamp_ms: 1522082006140, favorited_status: { id_str: '1601' } }] });
  assert.equal((await postX('/platform-webhooks/x', like, xSig(like, X_SECRET))).status, 200);
  const [liked] = await until(other, 1);
  assert.equal(liked.event_type, 'favorite_events');
  assert.equal(liked.profile_id, profiles[other.id]);
  assert.equal(liked.occurred_at, '2018-03-26T16:33:26Z');
  await w.settled();
  assert.equal(got(asked).length, 1, 'the mention once, and not the like it did not ask for');
  assert.equal(got(other).length, 1, 'the like, not the mention');
  assert.equal(await outboxOf(silent), 0, 'an app that asked for nothing gets nothing');
  assert.equal(got(silent).length, 0);

  // An account no profile holds: counted, not stored (no dedup key); a known one after it
  // shows its forwarding is done.
  const stranger = xMention('99999', '1602');
  assert.equal((await postX('/platform-webhooks/x', stranger, xSig(stranger, X_SECRET))).status, 200);
  const next = xMention(account, '1603');
  assert.equal((await postX('/platform-webhooks/x', next, xSig(next, X_SECRET))).status, 200);
  await until(asked, 2);
  assert.equal(await seen('x', '99999/tweet_create_events/1602'), 0);
  assert.equal(await seen('x', `${account}/tweet_create_events/1603`), 1);
  const after = await stats('x');
  assert.equal(after.received - (before.received ?? 0), 5);
  assert.equal(after.verified - (before.verified ?? 0), 5);
  assert.equal(after.matched - (before.matched ?? 0), 3, 'the mention, the like, the last mention: not the repeat, not the stranger');
  assert.equal(after.forwarded - (before.forwarded ?? 0), 3);
});

test('X events on an app\'s own path reach only the profiles its X app minted', async () => {
  const own = await newApp('Own X events', { platform_events: { x: ['*'] } }, true);
  const shared = await newApp('Deployment X events', { platform_events: { x: ['*'] } }, true);
  const client = { client_id: 'own-x-events', client_secret: 'own-x-events-secret', webhook_secret: 'own-x-events-api-secret' };
  const { path } = await ownClient(own, 'x', client);
  mocks.allowClient('x', client.client_id, client.client_secret);
  const user = '42';
  const account = xIdOf(user);
  const mine = (await w.connectWithMock(mocks, own.api_key, 'x', { user, redirect: REDIRECT })).q.profile_id;
  const theirs = (await w.connectWithMock(mocks, shared.api_key, 'x', { user, redirect: REDIRECT })).q.profile_id;

  const body = xMention(account, '1701');
  assert.equal((await postX(path, body, xSig(body, X_SECRET))).status, 401, 'refused with the deployment\'s secret');
  assert.equal((await postX(path, body, xSig(body, client.webhook_secret))).status, 200);
  assert.deepEqual((await until(own, 1)).map((d) => d.profile_id), [mine]);
  // The same event through the deployment's X app is another delivery, for its grants.
  assert.equal((await postX('/platform-webhooks/x', body, xSig(body, X_SECRET))).status, 200);
  assert.deepEqual((await until(shared, 1)).map((d) => d.profile_id), [theirs]);
  await w.settled();
  assert.equal(got(own).length, 1);
});

test('LinkedIn notifications reach the apps holding the organization', async () => {
  const asked = await newApp('LinkedIn events', { platform_events: { linkedin: ['COMMENT'] } }, true);
  const silent = await newApp('LinkedIn nothing asked', { platform_events: { linkedin: ['something_else'] } }, true);
  const user = 'liorg';
  mocks.setOrganizations(user, [{ id: 4101, name: 'Org One' }]);
  const scopes = ['openid', 'profile', 'w_member_social', 'rw_organization_admin'];
  const orgProfile = {};
  for (const app of [asked, silent]) {
    const { q } = await w.connectWithMock(mocks, app.api_key, 'linkedin', { user, redirect: REDIRECT, linkFields: { scopes, accounts: 'all' } });
    for (const id of q.profile_ids.split(',')) {
      const row = await w.row('SELECT platform_user_id FROM profiles WHERE id = ?', id);
      if (row.platform_user_id === 'urn:li:organization:4101') orgProfile[app.id] = id;
    }
  }
  assert.ok(orgProfile[asked.id], 'the organization profile stores the URN LinkedIn routes by');

  const secret = credsFor('linkedin').secret;
  // One delivery with a notification for an organization no profile holds and one for ours.
  const body = JSON.stringify({
    type: 'ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS',
    notifications: [{ ...liNotification('999999', 7001), action: 'LIKE' }, liNotification('4101', 7002)],
  });
  assert.equal((await postLi('/platform-webhooks/linkedin', body, hmac(secret, `hmacsha256=${body}`, 'hex'))).status, 200);
  const [event] = await until(asked, 1);
  assert.deepEqual(event, {
    profile_id: orgProfile[asked.id],
    platform: 'linkedin',
    account_id: 'urn:li:organization:4101',
    event_type: 'COMMENT',
    occurred_at: '2023-08-09T09:48:26Z',
    payload: JSON.parse(body).notifications[1],
  });
  assert.equal(await seen('linkedin', '7001'), 0, 'the unknown organization is not stored');
  // A redelivery: forwarded once (a new notification after it shows it was handled).
  assert.equal((await postLi('/platform-webhooks/linkedin', body, hmac(secret, body, 'hex'))).status, 200);
  const next = liComment('4101', 7003);
  assert.equal((await postLi('/platform-webhooks/linkedin', next, hmac(secret, next, 'hex'))).status, 200);
  await until(asked, 2);
  await w.settled();
  assert.deepEqual(got(asked).map((d) => d.payload.notificationId), [7002, 7003]);
  assert.equal(await outboxOf(silent), 0);
  assert.equal(got(silent).length, 0);
});

test('LinkedIn notifications on an app\'s own path reach only the profiles its LinkedIn app minted', async () => {
  const own = await newApp('Own LinkedIn events', { platform_events: { linkedin: ['*'] } }, true);
  const shared = await newApp('Deployment LinkedIn events', { platform_events: { linkedin: ['*'] } }, true);
  const client = { client_id: 'own-li-events', client_secret: 'own-li-events-secret' };
  const { path } = await ownClient(own, 'linkedin', client);
  mocks.allowClient('linkedin', client.client_id, client.client_secret);
  const user = 'liown';
  mocks.setOrganizations(user, [{ id: 4201, name: 'Org Both', role: 'ADMINISTRATOR', state: 'APPROVED' }]);
  const scopes = ['openid', 'profile', 'w_member_social', 'rw_organization_admin'];
  const orgOf = async (app) => {
    const { q } = await w.connectWithMock(mocks, app.api_key, 'linkedin', { user, redirect: REDIRECT, linkFields: { scopes, accounts: 'all' } });
    assert.equal(q.connected, 'true', JSON.stringify(q));
    const row = await w.row("SELECT id FROM profiles WHERE app_id = ? AND platform_user_id = 'urn:li:organization:4201'", app.id);
    return row.id;
  };
  const mine = await orgOf(own);
  const theirs = await orgOf(shared);
  const body = liComment('4201', 7101);
  assert.equal((await postLi(path, body, hmac(credsFor('linkedin').secret, body, 'hex'))).status, 401, 'refused with the deployment\'s secret');
  assert.equal((await postLi(path, body, hmac(client.client_secret, body, 'hex'))).status, 200);
  assert.deepEqual((await until(own, 1)).map((d) => [d.profile_id, d.payload.notificationId]), [[mine, 7101]]);
  // The deployment's path: its profile only (and it marks that the first body is handled).
  const next = liComment('4201', 7102);
  assert.equal((await postLi('/platform-webhooks/linkedin', next, hmac(credsFor('linkedin').secret, next, 'hex'))).status, 200);
  assert.deepEqual((await until(shared, 1)).map((d) => [d.profile_id, d.payload.notificationId]), [[theirs, 7102]]);
  await w.settled();
  assert.equal(got(own).length, 1, 'the deployment\'s notification is not the own app\'s');
  assert.equal(got(shared).length, 1, 'the own app\'s notification is not the deployment profile\'s');
});
