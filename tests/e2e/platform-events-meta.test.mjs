// Meta's event webhooks in (Pages, Messenger, Instagram, Threads): the verification GET, the
// `X-Hub-Signature-256` check on the raw body, the split of an entry into one event per
// change, and forwarding as `platform.event` to the apps that asked for the event type, on
// the deployment's path and on an app's own Meta app's path. The Page subscriptions:
// platform-events-meta-pages.test.mjs. Signatures, handshakes and sample bodies: meta-events.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { minusCounts, startWorker } from './harness.mjs';
import { PlatformMocks, credentialVars, credsFor } from './platform-mocks.mjs';
import { metaKit, sign, verifyTokenOf, hub, comment, pageBody, eventsOf, REDIRECT, VERIFY_TOKEN, SUBSCRIBING_SCOPES } from './meta-events.mjs';

const mocks = new PlatformMocks();
const kit = metaKit(mocks);
const { newApp, ownClient, connectPages, subscriptionCalls, post, handshake } = kit;
let w;

before(async () => {
  w = await startWorker({
    vars: { ...credentialVars(['facebook', 'instagram_facebook', 'instagram', 'threads']), META_WEBHOOK_VERIFY_TOKEN: VERIFY_TOKEN },
    outbound: mocks.handle,
  });
  kit.w = w;
});
after(async () => {
  await w?.stop();
  for (const r of kit.receivers) await r.stop();
});

/** The 24 h counters of `platform` (the harness's). */
const statsOf = (platform) => w.platformEventStats(platform);
const minus = minusCounts;

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

test('an entry\'s changes are forwarded one by one to the apps that asked for their type, a replay once', async () => {
  const feed = await newApp('Wants feed', { facebook: ['feed'] });
  const mentions = await newApp('Wants mentions', { facebook: ['mention'] });
  const [pf] = await connectPages(feed, 'evu', [{ id: '4201', name: 'Evented' }]);
  const [pm] = await connectPages(mentions, 'evu', [{ id: '4201', name: 'Evented' }]);
  // The Page is subscribed to both apps' fields: Meta sends it both.
  assert.deepEqual((await subscriptionCalls('4201', 2)).map((c) => [c.form.subscribed_fields, c.status]), [['feed', 200], ['feed,mention', 200]]);
  assert.deepEqual(mocks.pageSubscriptions.get(`${credsFor('facebook').id}:4201`), ['feed', 'mention']);
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
  const rows = await w.row("SELECT COUNT(*) AS n FROM webhook_outbox WHERE app_id = ? AND type = 'platform.event'", feed.id);
  assert.equal(rows.n, 2, 'the replay wrote no row');
  feed.receiver.stop();
  mentions.receiver.stop();
});

test('Messenger events go to the Page\'s profiles; an unknown account is counted, not stored; counters exact', async () => {
  const app = await newApp('Messages', { facebook: ['messages'] });
  const [p] = await connectPages(app, 'msgu', [{ id: '4301', name: 'Messaged' }], { scopes: [...SUBSCRIBING_SCOPES, 'pages_messaging'] });
  assert.deepEqual((await subscriptionCalls('4301', 1)).map((c) => [c.form.subscribed_fields, c.status]), [['messages', 200]]);
  const before = await w.row('SELECT COUNT(*) AS n FROM platform_event_seen');
  const statsBefore = await statsOf('facebook');
  // Research 1.7 (d): a Messenger message (milliseconds), and an entry for a Page nobody holds.
  const messenger = (pageId, mid, text) => ({ id: pageId, time: 1458692752478, messaging: [{ sender: { id: 'psid' }, recipient: { id: pageId }, timestamp: 1458692752478, message: { mid, text } }] });
  const body = JSON.stringify({ object: 'page', entry: [messenger('4301', 'mid.1457764197618:41d102a3e1ae206a38', 'hello, world!'), messenger('4399', 'mid.unknown', 'nobody')] });
  assert.equal((await post('/platform-webhooks/meta', body, sign(body, credsFor('facebook').secret))).status, 200);
  const [e] = await eventsOf(app.receiver, 'platform.event', 1);
  assert.deepEqual([e.data.profile_id, e.data.event_type, e.data.occurred_at, e.data.payload.message.text], [p, 'messages', '2016-03-23T00:25:52Z', 'hello, world!']);
  // Signed by the Pages app but about Instagram: not the facebook profiles' (the object says whose).
  const ig = JSON.stringify({ object: 'instagram', entry: [{ id: '4301', time: 1520622968, changes: [{ field: 'messages', value: { mid: 'x' } }] }] });
  assert.equal((await post('/platform-webhooks/meta', ig, sign(ig, credsFor('facebook').secret))).status, 200);
  // A marker after it, for the same Page: once it is in, the Instagram body has been handled.
  const marker = JSON.stringify({ object: 'page', entry: [messenger('4301', 'mid.marker', 'marker')] });
  assert.equal((await post('/platform-webhooks/meta', marker, sign(marker, credsFor('facebook').secret))).status, 200);
  await eventsOf(app.receiver, 'platform.event', 2);
  // One refused.
  assert.equal((await post('/platform-webhooks/meta', marker, sign(marker, 'not-the-secret'))).status, 401);
  await w.settled();
  assert.deepEqual(app.receiver.of('platform.event').map((x) => x.data.payload.message.text), ['hello, world!', 'marker']);
  const after = await w.row('SELECT COUNT(*) AS n FROM platform_event_seen');
  assert.equal(after.n - before.n, 2, 'only the held Page\'s events are remembered');
  assert.equal((await w.row("SELECT COUNT(*) AS n FROM platform_event_seen WHERE dedup_key LIKE '%4399%' OR dedup_key LIKE '%mid.unknown%'")).n, 0);
  assert.deepEqual(minus(await statsOf('facebook'), statsBefore), { received: 4, verified: 3, refused: 1, matched: 2, forwarded: 2 });
  app.receiver.stop();
});

test('Instagram (both logins) and Threads events go to their platform\'s profiles', async () => {
  const app = await newApp('Meta family', { instagram: ['mentions'], instagram_facebook: ['comments'], threads: ['mentions'] });
  // Instagram Login: the mock's account id is 17841<user>, the docs' sample's account.
  const igLogin = await w.connectWithMock(mocks, app.api_key, 'instagram', { user: '405726653026', redirect: REDIRECT });
  assert.equal(igLogin.q.connected, 'true', JSON.stringify(igLogin.q));
  const [igFb] = await connectPages(app, 'igfbu', [{ id: '4401', name: 'IG Page', instagram: { id: '17841400000000001', username: 'ig_fb', name: 'IG FB', profile_picture_url: 'https://cdn.instagram.test/igfb.jpg' } }],
    { platform: 'instagram_facebook', scopes: null });
  const th = await w.connectWithMock(mocks, app.api_key, 'threads', { user: 'thu', redirect: REDIRECT });
  assert.equal(th.q.connected, 'true', JSON.stringify(th.q));
  const profileOf = async (platform) => (await w.row('SELECT id, platform_user_id FROM profiles WHERE app_id = ? AND platform = ?', app.id, platform));
  const [pIg, pIgFb, pTh] = [await profileOf('instagram'), await profileOf('instagram_facebook'), await profileOf('threads')];
  assert.deepEqual([pIg.platform_user_id, pIgFb.platform_user_id, pIgFb.id, pTh.platform_user_id], ['17841405726653026', '17841400000000001', igFb, 'ththu']);

  // Research 1.7 (c): Instagram's mention sample, verbatim, from the Instagram app.
  const mention = '[{"entry":[{"changes":[{"field":"mentions","value":{"comment_id":"17894227972186120","media_id":"17918195224117851"}}],"id":"17841405726653026","time":1520622968}],"object":"instagram"}]';
  // Research 1.7 (b): a comment with field and value in the entry, from the Facebook Login app.
  const igComment = JSON.stringify([{ object: 'instagram', entry: [{ id: '17841400000000001', time: 1700000000, field: 'comments', value: { id: 'c1', from: { id: 'u', username: 'n' }, text: 't', media: { id: 'm', media_product_type: 'FEED' } } }] }]);
  // Research 1.8: Threads' mentions sample (target_id: the connected account's id).
  const threads = JSON.stringify({ app_id: '123456', topic: 'interaction', target_id: 'ththu', time: 1723226877, subscription_id: '234567', has_uid_field: false,
    values: { value: { id: '8901234', media_product_type: 'THREADS', media_type: 'TEXT_POST', text: 'Reply', username: 'test_username' }, field: 'mentions' } });
  for (const [body, platform] of [[mention, 'instagram'], [igComment, 'instagram_facebook'], [threads, 'threads']]) {
    assert.equal((await post('/platform-webhooks/meta', body, sign(body, credsFor(platform).secret))).status, 200, platform);
  }
  await eventsOf(app.receiver, 'platform.event', 3);
  await w.settled();
  const got = app.receiver.of('platform.event').map((e) => [e.data.platform, e.data.profile_id, e.data.account_id, e.data.event_type, e.data.occurred_at]).sort();
  assert.deepEqual(got, [
    ['instagram', pIg.id, '17841405726653026', 'mentions', '2018-03-09T19:16:08Z'],
    ['instagram_facebook', pIgFb.id, '17841400000000001', 'comments', '2023-11-14T22:13:20Z'],
    ['threads', pTh.id, 'ththu', 'mentions', '2024-08-09T18:07:57Z'],
  ]);
  app.receiver.stop();
});

test('on an app\'s own Meta app\'s path, events reach only the profiles that Meta app minted', async () => {
  const own = await newApp('Own path', { facebook: ['feed'] });
  const dep = await newApp('Deployment path', { facebook: ['feed'] });
  const client = { client_id: 'fwd-fb-app', client_secret: 'fwd-fb-secret' };
  const { ref } = await ownClient(own, 'facebook', client);
  const [po] = await connectPages(own, 'ownpath', [{ id: '4351', name: 'Both' }]);
  const [pd] = await connectPages(dep, 'ownpath', [{ id: '4351', name: 'Both' }]);
  const viaOwn = pageBody('4351', [comment('4351_own', 'own')]);
  assert.equal((await post(`/platform-webhooks/meta/apps/${ref}`, viaOwn, sign(viaOwn, client.client_secret))).status, 200);
  const [e] = await eventsOf(own.receiver, 'platform.event', 1);
  assert.deepEqual([e.data.profile_id, e.data.payload.message], [po, 'own']);
  // The deployment's path: its profile only (and it marks that the first body is handled).
  const viaDep = pageBody('4351', [comment('4351_dep', 'dep')]);
  assert.equal((await post('/platform-webhooks/meta', viaDep, sign(viaDep, credsFor('facebook').secret))).status, 200);
  const [d] = await eventsOf(dep.receiver, 'platform.event', 1);
  assert.deepEqual([d.data.profile_id, d.data.payload.message], [pd, 'dep']);
  await w.settled();
  assert.equal(own.receiver.of('platform.event').length, 1, 'the deployment\'s event is not the own app\'s');
  assert.equal(dep.receiver.of('platform.event').length, 1, 'the own app\'s event is not the deployment profile\'s');
  own.receiver.stop();
  dep.receiver.stop();
});
