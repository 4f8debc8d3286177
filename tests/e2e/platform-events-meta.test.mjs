// Meta's event webhooks in (Pages, Messenger, Instagram, Threads): the verification GET, the
// `X-Hub-Signature-256` check on the raw body, the split of an entry into one event per
// change, forwarding as `platform.event` to the apps that asked for the event type, and the
// Page subscription a Facebook Page makes at connect and undoes when its last profile goes.
// Handshake and signature as Meta documents them
// (https://developers.facebook.com/docs/graph-api/webhooks/getting-started, read 2026-12-07:
// `GET ?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock`, answered
// with the challenge; `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the payload with the
// App Secret>`); payloads after the docs' examples (core/src/platform_events/meta/tests.rs
// holds them verbatim). Signed here with node's crypto, independently of the worker's code.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startWorker, callsQuiet } from './harness.mjs';
import { PlatformMocks, credentialVars, credsFor } from './platform-mocks.mjs';
import { WebhookReceiver } from './webhook-receiver.mjs';

const REDIRECT = 'https://app.example.com/connected';
const VERIFY_TOKEN = 'meatyhamhock';
const mocks = new PlatformMocks();
let w;

before(async () => {
  w = await startWorker({
    vars: { ...credentialVars(['facebook', 'instagram_facebook', 'instagram', 'threads']), META_WEBHOOK_VERIFY_TOKEN: VERIFY_TOKEN },
    outbound: mocks.handle,
  });
});
after(async () => {
  await w?.stop();
});

const sign = (body, secret) => `sha256=${crypto.createHmac('sha256', secret).update(body).digest('hex')}`;
const verifyTokenOf = (secret) => crypto.createHmac('sha256', secret).update('meta-webhook-verify-token').digest('hex').slice(0, 32);
const post = (path, body, signature) =>
  w.call('POST', path, { raw: body, headers: { 'content-type': 'application/json', ...(signature ? { 'x-hub-signature-256': signature } : {}) } });
const handshake = (path, params) => w.call('GET', `${path}?${new URLSearchParams(params)}`);
const hub = (token, challenge = '1158201444', mode = 'subscribe') => ({ 'hub.mode': mode, 'hub.challenge': challenge, 'hub.verify_token': token });

/** A Page feed comment change (the reference's fields: https://developers.facebook.com/docs/graph-api/webhooks/reference/page/). */
const comment = (id, text = 'hi') => ({
  field: 'feed',
  value: { item: 'comment', verb: 'add', comment_id: `${id}`, post_id: 'p_1', parent_id: 'p_1', created_time: 1703332800, from: { id: '9', name: 'N' }, message: text },
});
const pageBody = (pageId, changes, time = 1703332800) => JSON.stringify({ object: 'page', entry: [{ id: pageId, time, changes }] });

/** An app (auto-claimed links) with `platform_events` and a webhook receiver of its own. */
async function newApp(name, platformEvents) {
  const receiver = await new WebhookReceiver().start();
  const body = { name, allowed_redirect_urls: [REDIRECT], claim: 'auto', webhook_url: receiver.url };
  if (platformEvents) body.platform_events = platformEvents;
  const r = await w.admin('POST', '/v1/admin/apps', body);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  receiver.useSecret(r.body.webhook_secret);
  return { id: r.body.app.id, api_key: r.body.api_key, receiver };
}

/** Stores `app`'s own Meta client for `platform`; returns its credential_ref and webhooks. */
async function ownClient(app, platform, client) {
  const r = await w.admin('PUT', `/v1/admin/apps/${app.id}/platforms/${platform}`, client);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  mocks.allowClient(platform, client.client_id, client.client_secret);
  const ref = /\/apps\/(pcr_[^/]+)$/.exec(r.body.platform_webhooks.events)[1];
  return { ref, hooks: r.body.platform_webhooks };
}

async function connectPages(app, user, pages) {
  mocks.setPages(user, pages);
  const { q } = await w.connectWithMock(mocks, app.api_key, 'facebook', { user, redirect: REDIRECT, linkFields: { accounts: 'all' } });
  assert.equal(q.connected, 'true', JSON.stringify(q));
  return q.profile_ids.split(',');
}

/** The subscribed_apps calls of Page `pageId` seen so far, once the worker's are settled. */
const subscriptionCalls = (pageId) => callsQuiet(mocks.calls, (c) => c.endpoint === 'subscribed_apps' && c.path === `/v25.0/${pageId}/subscribed_apps`);

/** Waits until `receiver` holds `n` events of `type` (forwarding runs after the answer). */
async function eventsOf(receiver, type, n, ms = 10000) {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 25))) {
    if (receiver.of(type).length >= n) return receiver.of(type);
  }
  throw new Error(`${n} ${type} events did not arrive (${receiver.of(type).length} did)`);
}

test('the verification GET answers the challenge for the verify token of its path only', async () => {
  const r = await handshake('/platform-webhooks/meta', hub(VERIFY_TOKEN));
  assert.equal(r.status, 200);
  assert.equal(r.text, '1158201444', 'echoed as received');
  assert.match(r.headers.get('content-type'), /^text\/plain/);
  for (const params of [hub('meatyhamhocks'), hub(VERIFY_TOKEN, '1158201444', 'unsubscribe'), hub(VERIFY_TOKEN, '<b>x</b>'),
    hub(VERIFY_TOKEN, '9'.repeat(129)), { 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY_TOKEN }, {}]) {
    const bad = await handshake('/platform-webhooks/meta', params);
    assert.equal(bad.status, 403, JSON.stringify(params));
    assert.equal(bad.body.error.code, 'forbidden');
  }

  // An app's own Meta app: its own verify token, shown with the callback URL in its view.
  const app = await newApp('Handshakes');
  const own = { client_id: 'hs-fb-app', client_secret: 'hs-fb-secret' };
  const { ref, hooks } = await ownClient(app, 'facebook', own);
  assert.equal(hooks.events, `${w.base}/platform-webhooks/meta/apps/${ref}`);
  assert.equal(hooks.verify_token, verifyTokenOf(own.client_secret));
  const path = `/platform-webhooks/meta/apps/${ref}`;
  const mine = await handshake(path, hub(hooks.verify_token, '42'));
  assert.equal(mine.status, 200);
  assert.equal(mine.text, '42');
  assert.equal((await handshake(path, hub(VERIFY_TOKEN))).status, 403, 'the deployment\'s token is not this app\'s');
  assert.equal((await handshake('/platform-webhooks/meta', hub(hooks.verify_token))).status, 403, 'nor this app\'s the deployment\'s');
  assert.equal((await handshake('/platform-webhooks/meta/apps/pcr_nope', hub(hooks.verify_token))).status, 404);
  app.receiver.stop();
});

test('events are verified with the app secret over the raw body before anything else', async () => {
  const fb = credsFor('facebook').secret;
  const body = pageBody('0', [comment('c_sig')]);
  const ok = await post('/platform-webhooks/meta', body, sign(body, fb));
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body, { ok: true });
  // Every other Meta platform's secret the deployment configures verifies on this path too.
  assert.equal((await post('/platform-webhooks/meta', body, sign(body, credsFor('threads').secret))).status, 200);
  const upper = sign(body, fb).toUpperCase().replace('SHA256=', 'sha256=');
  for (const signature of [sign(body, 'not-the-secret'), sign(`${body} `, fb), upper, sign(body, fb).replace('sha256=', 'sha1='), 'sha256=', undefined]) {
    const r = await post('/platform-webhooks/meta', body, signature);
    assert.equal(r.status, 401, String(signature));
    assert.equal(r.body.error.code, 'unauthorized');
  }
  // Over the cap: refused before the signature is even read.
  const huge = pageBody('0', [comment('c_big', 'x'.repeat(1024 * 1024))]);
  assert.equal((await post('/platform-webhooks/meta', huge, sign(huge, fb))).status, 413);

  // An app's own Meta app: only its secret verifies on its path, and not on the deployment's.
  const app = await newApp('Signatures');
  const own = { client_id: 'sig-fb-app', client_secret: 'sig-fb-secret' };
  const { ref } = await ownClient(app, 'facebook', own);
  const path = `/platform-webhooks/meta/apps/${ref}`;
  assert.equal((await post(path, body, sign(body, own.client_secret))).status, 200);
  assert.equal((await post(path, body, sign(body, fb))).status, 401, 'the deployment\'s secret on the app\'s path');
  assert.equal((await post('/platform-webhooks/meta', body, sign(body, own.client_secret))).status, 401, 'the app\'s secret on the deployment\'s path');
  assert.equal((await post('/platform-webhooks/meta/apps/pcr_nope', body, sign(body, own.client_secret))).status, 404);
  app.receiver.stop();
});

test('the Graph mock refuses a subscription without that Page\'s own token, as Graph does', async () => {
  const app = await newApp('Mock check');
  await connectPages(app, 'mockcheck', [{ id: '4901', name: 'One' }, { id: '4902', name: 'Two' }]);
  const user = [...mocks.tokens].find(([, g]) => g.user === 'mockcheck' && g.kind === 'access')[0];
  const ask = async (pageId, token, method = 'POST') => {
    const res = await mocks.answer(new Request(`https://graph.facebook.com/v25.0/${pageId}/subscribed_apps`, {
      method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' }, body: method === 'POST' ? 'subscribed_fields=feed' : undefined,
    }));
    return [res.status, (await res.json()).error?.code ?? 'ok'];
  };
  assert.deepEqual(await ask('4901', user), [400, 210], 'a user token');
  assert.deepEqual(await ask('4901', mocks.pageToken('4902')), [403, 200], 'another Page\'s token');
  assert.deepEqual(await ask('4901', 'EAAPage_made_up'), [400, 190], 'an unknown token');
  assert.deepEqual(await ask('4901', mocks.pageToken('4901')), [200, 'ok']);
  assert.deepEqual(await ask('4901', mocks.pageToken('4901'), 'DELETE'), [200, 'ok']);
  app.receiver.stop();
});

test('a Page subscribes its app to the fields asked for at connect, and unsubscribes when its last profile goes', async () => {
  const asks = await newApp('Asks', { facebook: ['feed', 'mention'] });
  const quiet = await newApp('Asks nothing');
  const [a1, a2] = await connectPages(asks, 'subu', [{ id: '4101', name: 'One' }, { id: '4102', name: 'Two' }]);
  const firstTokens = { 4101: mocks.pageToken('4101'), 4102: mocks.pageToken('4102') };
  for (const page of ['4101', '4102']) {
    const calls = await subscriptionCalls(page);
    assert.deepEqual(calls.map((c) => [c.method, c.headers.authorization, c.form.subscribed_fields, c.status]),
      [['POST', `Bearer ${firstTokens[page]}`, 'feed,mention', 200]], `Page ${page}`);
    assert.deepEqual(mocks.pageSubscriptions.get(`${credsFor('facebook').id}:${page}`), ['feed', 'mention']);
  }
  // An app that asked for no Facebook event subscribes nothing.
  const [q1] = await connectPages(quiet, 'subu', [{ id: '4101', name: 'One' }]);
  assert.equal((await subscriptionCalls('4101')).length, 1);
  const quietToken = mocks.pageToken('4101');

  // Another profile of the Page (another app, same platform app) holds it: no DELETE yet.
  assert.equal((await w.call('DELETE', `/v1/profiles/${a1}`, { token: asks.api_key })).status, 204);
  assert.equal((await subscriptionCalls('4101')).length, 1);
  // The last one goes: DELETE with its own Page token, before that token is gone.
  assert.equal((await w.call('DELETE', `/v1/profiles/${q1}`, { token: quiet.api_key })).status, 204);
  assert.deepEqual((await subscriptionCalls('4101')).slice(1).map((c) => [c.method, c.headers.authorization, c.status]),
    [['DELETE', `Bearer ${quietToken}`, 200]]);
  assert.equal(mocks.pageSubscriptions.has(`${credsFor('facebook').id}:4101`), false);
  assert.equal((await w.call('DELETE', `/v1/profiles/${a2}`, { token: asks.api_key })).status, 204);
  assert.deepEqual((await subscriptionCalls('4102')).map((c) => [c.method, c.headers.authorization, c.status]),
    [['POST', `Bearer ${firstTokens[4102]}`, 200], ['DELETE', `Bearer ${firstTokens[4102]}`, 200]]);
  asks.receiver.stop();
  quiet.receiver.stop();
});

test('an entry\'s changes are forwarded one by one to the apps that asked for their type, a replay once', async () => {
  const feed = await newApp('Wants feed', { facebook: ['feed'] });
  const mentions = await newApp('Wants mentions', { facebook: ['mention'] });
  const [pf] = await connectPages(feed, 'evu', [{ id: '4201', name: 'Evented' }]);
  const [pm] = await connectPages(mentions, 'evu', [{ id: '4201', name: 'Evented' }]);
  const body = pageBody('4201', [comment('4201_c1', 'first'), comment('4201_c2', 'second')], 1703332800);
  const r = await post('/platform-webhooks/meta', body, sign(body, credsFor('facebook').secret));
  assert.equal(r.status, 200);
  const got = await eventsOf(feed.receiver, 'platform.event', 2);
  assert.deepEqual(got.map((e) => e.data).sort((a, b) => a.payload.message.localeCompare(b.payload.message)), [
    { profile_id: pf, platform: 'facebook', account_id: '4201', event_type: 'feed', occurred_at: '2023-12-23T12:00:00Z', payload: JSON.parse(body).entry[0].changes[0].value },
    { profile_id: pf, platform: 'facebook', account_id: '4201', event_type: 'feed', occurred_at: '2023-12-23T12:00:00Z', payload: JSON.parse(body).entry[0].changes[1].value },
  ]);
  // Meta's redelivery of the same body: forwarded once.
  assert.equal((await post('/platform-webhooks/meta', body, sign(body, credsFor('facebook').secret))).status, 200);
  // A mention (the mentions app's type) after it: once it is in, the replay has been handled.
  const mention = pageBody('4201', [{ field: 'mention', value: { item: 'post', verb: 'add', post_id: '4201_p9' } }]);
  assert.equal((await post('/platform-webhooks/meta', mention, sign(mention, credsFor('facebook').secret))).status, 200);
  const m = await eventsOf(mentions.receiver, 'platform.event', 1);
  assert.deepEqual([m[0].data.profile_id, m[0].data.event_type], [pm, 'mention']);
  await w.settled();
  assert.equal(feed.receiver.of('platform.event').length, 2, 'the replay and the mention are not the feed app\'s');
  assert.equal(mentions.receiver.of('platform.event').length, 1, 'the feed changes are not the mentions app\'s');
  feed.receiver.stop();
  mentions.receiver.stop();
});

test('Instagram and Messenger events go to their platform\'s profiles; an unknown account is counted, not stored', async () => {
  const app = await newApp('Messages', { facebook: ['messages'] });
  const [p] = await connectPages(app, 'msgu', [{ id: '4301', name: 'Messaged' }]);
  const before = await w.row('SELECT COUNT(*) AS n FROM platform_event_seen');
  // Research 1.7 (d): a Messenger message (milliseconds), and an entry for a Page nobody holds.
  const body = JSON.stringify({ object: 'page', entry: [
    { id: '4301', time: 1458692752478, messaging: [{ sender: { id: 'psid' }, recipient: { id: '4301' }, timestamp: 1458692752478, message: { mid: 'mid.1457764197618:41d102a3e1ae206a38', text: 'hello, world!' } }] },
    { id: '4399', time: 1458692752478, messaging: [{ sender: { id: 'psid' }, recipient: { id: '4399' }, timestamp: 1458692752478, message: { mid: 'mid.unknown', text: 'nobody' } }] },
  ] });
  assert.equal((await post('/platform-webhooks/meta', body, sign(body, credsFor('facebook').secret))).status, 200);
  const [e] = await eventsOf(app.receiver, 'platform.event', 1);
  assert.deepEqual([e.data.profile_id, e.data.event_type, e.data.occurred_at, e.data.payload.message.text], [p, 'messages', '2016-03-23T00:25:52Z', 'hello, world!']);
  await w.settled();
  const after = await w.row('SELECT COUNT(*) AS n FROM platform_event_seen');
  assert.equal(after.n - before.n, 1, 'only the held Page\'s event is remembered');
  // Signed by the Pages app but about Instagram: not the facebook profiles' (the object says whose).
  const ig = JSON.stringify({ object: 'instagram', entry: [{ id: '4301', time: 1520622968, changes: [{ field: 'messages', value: { mid: 'x' } }] }] });
  assert.equal((await post('/platform-webhooks/meta', ig, sign(ig, credsFor('facebook').secret))).status, 200);
  const stats = await w.admin('GET', '/v1/admin/platform-events/stats');
  assert.equal(stats.status, 200, JSON.stringify(stats.body));
  const fb = stats.body.data.find((s) => s.platform === 'facebook');
  assert.ok(fb.received >= fb.verified && fb.verified >= 1 && fb.refused >= 1 && fb.matched >= 1 && fb.forwarded >= 1, JSON.stringify(fb));
  await w.settled();
  assert.equal(app.receiver.of('platform.event').length, 1);
  app.receiver.stop();
});
