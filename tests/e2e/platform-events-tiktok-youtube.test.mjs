// Platform events in from TikTok (every event on the existing webhook path, signed as TikTok
// documents: tests/e2e/platform-webhook-signers.mjs) and YouTube (WebSub: the worker
// subscribes a channel at Google's hub when it is connected, answers the hub's verification
// only for what it asked for, verifies each Atom notification's X-Hub-Signature, renews leases
// from the cron, and unsubscribes when the channel's last profile goes). The hub is played by
// tests/e2e/platform-mocks.mjs, after https://www.w3.org/TR/websub/ sections 5.1-5.3 and 7.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startWorker, randomKey, callsQuiet, minusCounts } from './harness.mjs';
import { PlatformMocks, credentialVars, credsFor } from './platform-mocks.mjs';
import { WebhookReceiver } from './webhook-receiver.mjs';
import { tiktokSignatureHeader } from './platform-webhook-signers.mjs';
import { checkAnswer } from './openapi-check.mjs';

const REDIRECT = 'https://app.example.com/connected';
const mocks = new PlatformMocks();
const receiver = new WebhookReceiver();
const quietReceiver = new WebhookReceiver();
let w;
let app; // asks for TikTok's video.publish.completed and YouTube's uploads and deletions
let quiet; // holds the same accounts, asks for other event types only

before(async () => {
  await receiver.start();
  await quietReceiver.start();
  w = await startWorker({ vars: credentialVars(['tiktok', 'youtube']), outbound: mocks.handle });
  const r = await w.admin('POST', '/v1/admin/apps', {
    name: 'Events app', allowed_redirect_urls: [REDIRECT], webhook_url: receiver.url, claim: 'auto',
    platform_events: { tiktok: ['video.publish.completed'], youtube: ['video.published', 'video.deleted'] },
  });
  app = r.body;
  receiver.useSecret(r.body.webhook_secret);
  const q = await w.admin('POST', '/v1/admin/apps', {
    name: 'Quiet app', allowed_redirect_urls: [REDIRECT], webhook_url: quietReceiver.url, claim: 'auto',
    platform_events: { tiktok: ['video.upload.failed'], youtube: ['video.deleted'] },
  });
  quiet = q.body;
  quietReceiver.useSecret(q.body.webhook_secret);
});
after(async () => {
  await w?.stop();
  await receiver.stop();
  await quietReceiver.stop();
});

const now = () => Math.floor(Date.now() / 1000);
async function until(what, check, ms = 10000) {
  for (const start = Date.now(); Date.now() - start < ms; await sleep(50)) {
    const v = await check();
    if (v) return v;
  }
  assert.fail(`timed out waiting for ${what}`);
}
const profile = async (id, key = app.api_key) => (await w.call('GET', `/v1/profiles/${id}`, { token: key })).body;
/** The `platform.event`s `r` received for profile `id`. */
const eventsOf = (r, id) => r.events.filter((e) => e.type === 'platform.event' && e.data.profile_id === id);
/** How many `platform.event`s the outbox holds for `appId` (delivered or not). */
const outboxCount = async (appId) => (await w.row("SELECT COUNT(*) AS n FROM webhook_outbox WHERE app_id = ? AND type = 'platform.event'", appId)).n;
/** The 24 h counters of `platform` (the harness's). */
const statsOf = (platform) => w.platformEventStats(platform);
const minus = minusCounts;
/** The hub's calls, once the worker's are settled. */
const hubQuiet = () => callsQuiet(mocks.calls, (c) => c.host === 'pubsubhubbub.appspot.com');
const postTiktok = (raw, sig) => fetch(`${w.base}/platform-webhooks/tiktok`, { method: 'POST', body: raw, headers: { 'content-type': 'application/json', ...(sig ? { 'tiktok-signature': sig } : {}) } });

test('TikTok: any verified event is acknowledged; authorization.removed still disconnects as before', async () => {
  const { q } = await w.connectWithMock(mocks, app.api_key, 'tiktok', { user: 'ttevents', redirect: REDIRECT });
  const p = await profile(q.profile_id);
  // The documented video.publish.completed example (https://developers.tiktok.com/doc/webhooks-events),
  // `content` being a JSON string inside the JSON.
  const published = JSON.stringify({ client_key: credsFor('tiktok').id, event: 'video.publish.completed', create_time: now(), user_openid: p.platform_user_id, content: '{"share_id":"video.6974245311675353080.VDCxrcMJ"}' });
  assert.equal((await postTiktok(published, tiktokSignatureHeader(published, 'wrong-secret'))).status, 401);
  const r = await postTiktok(published, tiktokSignatureHeader(published, credsFor('tiktok').secret));
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { ok: true });
  assert.equal((await profile(q.profile_id)).status, 'active', 'an event that is not a revocation changes nothing');
  const removed = JSON.stringify({ client_key: credsFor('tiktok').id, event: 'authorization.removed', create_time: now(), user_openid: p.platform_user_id, content: '{"reason":1}' });
  assert.equal((await postTiktok(removed, tiktokSignatureHeader(removed, credsFor('tiktok').secret))).status, 200);
  const after = await profile(q.profile_id);
  assert.equal(`${after.status}/${after.disconnect_reason}`, 'disconnected/revoked');
});

// The YouTube guide's notification (https://developers.google.com/youtube/v3/guides/push_notifications).
const atom = (channel, video, updated = '2015-03-09T19:05:24.552394234+00:00') => `<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015"
         xmlns="http://www.w3.org/2005/Atom">
  <link rel="hub" href="https://pubsubhubbub.appspot.com"/>
  <link rel="self" href="https://www.youtube.com/xml/feeds/videos.xml?channel_id=${channel}"/>
  <title>YouTube video feed</title>
  <updated>2015-04-01T19:05:24.552394234+00:00</updated>
  <entry>
    <id>yt:video:${video}</id>
    <yt:videoId>${video}</yt:videoId>
    <yt:channelId>${channel}</yt:channelId>
    <title>Video title</title>
    <link rel="alternate" href="http://www.youtube.com/watch?v=${video}"/>
    <author>
     <name>Channel title</name>
     <uri>http://www.youtube.com/channel/${channel}</uri>
    </author>
    <published>2015-03-06T21:40:57+00:00</published>
    <updated>${updated}</updated>
  </entry>
</feed>`;

const topicOf = (channel) => `https://www.youtube.com/xml/feeds/videos.xml?channel_id=${channel}`;
const hubFor = (channel, mode) => mocks.hubRequests().filter((h) => h.topic === topicOf(channel) && h.mode === mode);
const subRow = (channel) => w.row('SELECT * FROM websub_subscriptions WHERE channel_id = ?', channel);

/** Connects a YouTube channel and waits for the hub to be asked; returns { profileId, channel, request }. */
async function connectChannel(user) {
  const { q } = await w.connectWithMock(mocks, app.api_key, 'youtube', { user, redirect: REDIRECT });
  const channel = (await profile(q.profile_id)).platform_user_id;
  const request = await until('a subscribe at the hub', () => hubFor(channel, 'subscribe').at(-1));
  return { profileId: q.profile_id, channel, request };
}

test('WebSub: a channel connected is subscribed at the hub with its own callback, topic, secret and lease', async () => {
  const { channel, request } = await connectChannel('ytsub');
  assert.equal(channel, 'UCytsub', 'the YouTube profile is the channel (channels?mine=true items[0].id)');
  const row = await subRow(channel);
  assert.equal(request.callback, `${w.base}/platform-webhooks/youtube/${row.id}`);
  assert.match(row.id, /^wss_[0-9a-f]{32}$/);
  assert.equal(request.topic, topicOf(channel));
  assert.ok(request.secret.length >= 32 && Buffer.byteLength(request.secret) < 200, 'a random secret under 200 bytes');
  assert.equal(request.lease, '864000');
  assert.equal(row.status, 'pending');
  assert.ok(!row.secret_enc.includes(request.secret), 'the secret is stored sealed');
  assert.equal(mocks.calls.filter((c) => c.host === 'pubsubhubbub.appspot.com').at(-1).status, 202);
  // A second connect of the same channel asks nothing more while the lease is long.
  await hubVerifyOk(request);
  const before = mocks.hubRequests().length;
  await w.connectWithMock(mocks, app.api_key, 'youtube', { user: 'ytsub', redirect: REDIRECT });
  await hubQuiet();
  assert.equal(mocks.hubRequests().length, before);
});

async function hubVerifyOk(request, opts) {
  const v = await mocks.hubVerify(request, opts);
  assert.equal(v.status, 200, v.text);
  assert.equal(v.text, v.challenge);
  assert.match(v.type, /^text\/plain/);
  checkAnswer({ method: 'GET', path: new URL(request.callback).pathname, status: v.status, contentType: v.type, text: v.text });
  return v;
}

test('WebSub: the hub verification is answered only for the topic and mode asked for', async () => {
  const { channel, request } = await connectChannel('ytverify');
  const wrongTopic = await mocks.hubVerify(request, { topic: topicOf('UCsomeoneelse') });
  assert.equal(wrongTopic.status, 404);
  assert.ok(!wrongTopic.text.includes(wrongTopic.challenge));
  assert.equal((await mocks.hubVerify(request, { mode: 'unsubscribe' })).status, 404, 'no unsubscribe was asked for');
  assert.equal((await mocks.hubVerify({ ...request, callback: `${w.base}/platform-webhooks/youtube/wss_${'0'.repeat(32)}` })).status, 404, 'an unknown subscription');
  assert.equal((await mocks.hubVerify(request, { challenge: 'a b<script>' })).status, 404, 'a challenge that is no plain token');
  assert.equal((await subRow(channel)).status, 'pending');
  const t0 = now();
  await hubVerifyOk(request, { lease: 432000 });
  const row = await subRow(channel);
  assert.equal(row.status, 'active');
  assert.ok(Math.abs(row.lease_expires_at - (t0 + 432000)) <= 5, 'the lease the hub granted is stored');
});

test('WebSub: a notification signed with the subscription secret is accepted; a bad or missing signature is 401', async () => {
  const { channel, request } = await connectChannel('ytdeliver');
  await hubVerifyOk(request);
  const feed = atom(channel, 'vid_deliver1');
  for (const [opts, why] of [[{ secret: 'not-the-secret' }, 'another secret'], [{ signature: null }, 'no signature'],
    [{ signature: 'sha1=zz' }, 'garbage'], [{ signature: `md5=${'0'.repeat(32)}` }, 'an unknown method']]) {
    const r = await mocks.hubDeliver(request, feed, opts);
    assert.equal(r.status, 401, why);
    checkAnswer({ method: 'POST', path: new URL(request.callback).pathname, status: 401, contentType: 'application/json', body: JSON.parse(r.text) });
  }
  // Over the cap (64 KiB), even signed: refused before the signature is read.
  const huge = feed.replace('<title>Video title</title>', `<title>${'x'.repeat(1024 * 1024)}</title>`);
  assert.equal((await mocks.hubDeliver(request, huge)).status, 413);
  const ok = await mocks.hubDeliver(request, feed);
  assert.equal(ok.status, 204);
  // Another subscription's secret does not pass for this one.
  const other = await connectChannel('ytdeliver2');
  assert.equal((await mocks.hubDeliver(request, feed, { secret: other.request.secret })).status, 401);
  const unknown = await mocks.hubDeliver({ ...request, callback: `${w.base}/platform-webhooks/youtube/wss_nope` }, feed);
  assert.equal(unknown.status, 404);
});

test('WebSub: the cron renews a lease that ends within a day, with the same callback and secret', async () => {
  const { channel, request } = await connectChannel('ytrenew');
  await hubVerifyOk(request);
  const row = await subRow(channel);
  // A lease near its end, last asked for two hours ago.
  await w.db.prepare('UPDATE websub_subscriptions SET lease_expires_at = ?, updated_at = ? WHERE id = ?').bind(now() + 600, now() - 7200, row.id).run();
  const before = hubFor(channel, 'subscribe').length;
  await w.cron();
  const renewed = await until('a renewal', () => hubFor(channel, 'subscribe').length > before && hubFor(channel, 'subscribe').at(-1));
  assert.equal(renewed.callback, request.callback);
  assert.equal(renewed.secret, request.secret, 'the secret stays: the hub may still sign with it');
  assert.equal((await subRow(channel)).status, 'active');
  // Once asked, the next run does not ask again before the hub verifies.
  await w.cron();
  assert.equal(hubFor(channel, 'subscribe').length, before + 1);
  const t0 = now();
  await hubVerifyOk(renewed, { lease: 864000 });
  assert.ok((await subRow(channel)).lease_expires_at >= t0 + 864000 - 5);
});

test('WebSub: deleting the channel\'s last profile unsubscribes it; the hub\'s verification then forgets it', async () => {
  const { profileId, channel, request } = await connectChannel('ytleave');
  await hubVerifyOk(request);
  // Another app's profile of the channel: deleting the first one leaves the subscription.
  const other = (await w.connectWithMock(mocks, quiet.api_key, 'youtube', { user: 'ytleave', redirect: REDIRECT })).q.profile_id;
  assert.equal((await w.call('DELETE', `/v1/profiles/${profileId}`, { token: app.api_key })).status, 204);
  await hubQuiet();
  assert.equal(hubFor(channel, 'unsubscribe').length, 0, 'not the last profile');
  assert.equal((await subRow(channel)).status, 'active');
  assert.equal((await w.call('DELETE', `/v1/profiles/${other}`, { token: quiet.api_key })).status, 204);
  const unsub = await until('an unsubscribe', () => hubFor(channel, 'unsubscribe').at(-1));
  assert.equal(unsub.callback, request.callback);
  assert.equal((await subRow(channel)).status, 'unsubscribing');
  assert.equal((await mocks.hubVerify(unsub, { mode: 'subscribe' })).status, 404, 'no subscribe is agreed to any more');
  await hubVerifyOk(unsub);
  await hubQuiet();
  assert.equal(hubFor(channel, 'unsubscribe').length, 1);
  assert.equal(await subRow(channel), null);
  assert.equal((await mocks.hubDeliver(request, atom(channel, 'late'))).status, 404);
});

// ---- Forwarding (the receivers above hand their events on; docs/platform-events.md) ----

test('TikTok: a verified event reaches the app that asked for it once, replays included; an app that did not ask gets nothing', async () => {
  const mine = (await w.connectWithMock(mocks, app.api_key, 'tiktok', { user: 'ttfwd', redirect: REDIRECT })).q.profile_id;
  const theirs = (await w.connectWithMock(mocks, quiet.api_key, 'tiktok', { user: 'ttfwd', redirect: REDIRECT })).q.profile_id;
  await until('the quiet app\'s receiver to work', () => quietReceiver.of('profile.connected', theirs).length);
  const openid = (await profile(mine)).platform_user_id;
  const t = now() - 30;
  const [rowsBefore, statsBefore] = [await outboxCount(app.app.id), await statsOf('tiktok')];
  const raw = JSON.stringify({ client_key: credsFor('tiktok').id, event: 'video.publish.completed', create_time: t, user_openid: openid, content: '{"share_id":"video.6974245311675353080.VDCxrcMJ"}' });
  const forged = raw.replace('VDCxrcMJ', 'FORGED00');
  assert.equal((await postTiktok(forged, tiktokSignatureHeader(raw, credsFor('tiktok').secret))).status, 401, 'a bad signature forwards nothing');
  assert.equal((await postTiktok(raw, tiktokSignatureHeader(raw, credsFor('tiktok').secret))).status, 200);
  assert.equal((await postTiktok(raw, tiktokSignatureHeader(raw, credsFor('tiktok').secret))).status, 200, 'TikTok redelivers');
  // A later event, as a marker that the ones before were handled.
  const next = JSON.stringify({ client_key: credsFor('tiktok').id, event: 'video.publish.completed', create_time: t + 1, user_openid: openid, content: '{"share_id":"video.2"}' });
  assert.equal((await postTiktok(next, tiktokSignatureHeader(next, credsFor('tiktok').secret))).status, 200);
  await until('both events', () => eventsOf(receiver, mine).length >= 2);
  await w.settled();
  // Each post forwards after its own answer, so the two may arrive in either order.
  const got = eventsOf(receiver, mine).sort((a, b) => (a.data.payload.share_id === 'video.2') - (b.data.payload.share_id === 'video.2'));
  assert.equal(got.length, 2, 'the redelivery is forwarded once');
  assert.equal(await outboxCount(app.app.id) - rowsBefore, 2, 'the redelivery wrote no row');
  assert.deepEqual(minus(await statsOf('tiktok'), statsBefore), { received: 4, verified: 3, refused: 1, matched: 2, forwarded: 2 });
  assert.deepEqual(got[0].data, {
    profile_id: mine, platform: 'tiktok', account_id: openid, event_type: 'video.publish.completed',
    occurred_at: new Date(t * 1000).toISOString().replace('.000', ''), payload: { share_id: 'video.6974245311675353080.VDCxrcMJ' },
  });
  assert.equal(got[1].data.payload.share_id, 'video.2');
  assert.ok(!JSON.stringify(got).includes('FORGED'), 'nothing of the forged body');
  assert.equal(await outboxCount(quiet.app.id), 0, 'an app that did not ask for the event type gets nothing');
  assert.equal(eventsOf(quietReceiver, theirs).length, 0);
});

test('TikTok: an app\'s own TikTok app forwards on its own path, verified with its own secret only', async (t) => {
  const ownReceiver = new WebhookReceiver();
  await ownReceiver.start();
  t.after(() => ownReceiver.stop());
  const own = (await w.admin('POST', '/v1/admin/apps', {
    name: 'Own TikTok', allowed_redirect_urls: [REDIRECT], webhook_url: ownReceiver.url, claim: 'auto', platform_events: { tiktok: ['*'] },
  })).body;
  ownReceiver.useSecret(own.webhook_secret);
  const TT = { client_id: 'own-tt-events', client_secret: 'own-tt-events-secret' };
  const put = await w.admin('PUT', `/v1/admin/apps/${own.app.id}/platforms/tiktok`, TT);
  assert.equal(put.status, 200, JSON.stringify(put.body));
  mocks.allowClient('tiktok', TT.client_id, TT.client_secret);
  const path = new URL(put.body.platform_webhooks.events).pathname;
  const mine = (await w.connectWithMock(mocks, own.api_key, 'tiktok', { user: 'ttownfwd', redirect: REDIRECT })).q.profile_id;
  const openid = (await profile(mine, own.api_key)).platform_user_id;
  const raw = JSON.stringify({ client_key: TT.client_id, event: 'video.upload.failed', create_time: now(), user_openid: openid, content: '{"share_id":"video.own"}' });
  const post = (p, secret) => fetch(`${w.base}${p}`, { method: 'POST', body: raw, headers: { 'tiktok-signature': tiktokSignatureHeader(raw, secret) } });
  assert.equal((await post(path, credsFor('tiktok').secret)).status, 401, 'the deployment\'s secret on the app\'s path');
  assert.equal((await post('/platform-webhooks/tiktok', TT.client_secret)).status, 401, 'the app\'s secret on the deployment\'s path');
  assert.equal((await post(path, TT.client_secret)).status, 200);
  const [e] = await until('the event', () => eventsOf(ownReceiver, mine).length && eventsOf(ownReceiver, mine));
  assert.equal(e.data.event_type, 'video.upload.failed');
  assert.deepEqual(e.data.payload, { share_id: 'video.own' });
});

test('YouTube: a verified notification reaches the app that asked once, replays included; an app that did not ask gets nothing', async () => {
  const { profileId, channel, request } = await connectChannel('ytfwd');
  const { q } = await w.connectWithMock(mocks, quiet.api_key, 'youtube', { user: 'ytfwd', redirect: REDIRECT });
  await until('the quiet app\'s receiver to work', () => quietReceiver.of('profile.connected', q.profile_id).length);
  await hubVerifyOk(request);
  const [rowsBefore, statsBefore] = [await outboxCount(app.app.id), await statsOf('youtube')];
  const feed = atom(channel, 'vid_fwd1');
  assert.equal((await mocks.hubDeliver(request, feed, { secret: 'forged' })).status, 401);
  assert.equal((await mocks.hubDeliver(request, feed)).status, 204);
  assert.equal((await mocks.hubDeliver(request, feed)).status, 204, 'the hub retries');
  // The same video updated later is news; a marker that the ones before were handled.
  assert.equal((await mocks.hubDeliver(request, atom(channel, 'vid_fwd1', '2015-03-10T00:00:00+00:00'))).status, 204);
  await until('both events', () => eventsOf(receiver, profileId).length >= 2);
  await w.settled();
  // Each delivery forwards after its own answer, so the two may arrive in either order.
  const got = eventsOf(receiver, profileId).sort((a, b) => a.data.payload.updated.localeCompare(b.data.payload.updated));
  assert.equal(got.length, 2, 'a redelivery is forwarded once');
  assert.equal(await outboxCount(app.app.id) - rowsBefore, 2, 'the redelivery wrote no row');
  assert.deepEqual(got[0].data, {
    profile_id: profileId, platform: 'youtube', account_id: channel, event_type: 'video.published', occurred_at: '2015-03-09T19:05:24Z',
    payload: {
      video_id: 'vid_fwd1', channel_id: channel, title: 'Video title', link: 'http://www.youtube.com/watch?v=vid_fwd1',
      published: '2015-03-06T21:40:57+00:00', updated: '2015-03-09T19:05:24.552394234+00:00',
    },
  });
  assert.equal(got[1].data.payload.updated, '2015-03-10T00:00:00+00:00');
  assert.equal(await outboxCount(quiet.app.id), 0, 'the quiet app asked for deletions only');
  // A deletion (an Atom tombstone) reaches both.
  const tombstone = `<feed xmlns:at="http://purl.org/atompub/tombstones/1.0" xmlns="http://www.w3.org/2005/Atom">
  <at:deleted-entry ref="yt:video:vid_fwd1" when="2018-07-26T17:43:36+00:00">
    <link href="https://www.youtube.com/watch?v=vid_fwd1"/>
    <at:by><name>Channel</name><uri>https://www.youtube.com/channel/${channel}</uri></at:by>
  </at:deleted-entry>
</feed>`;
  assert.equal((await mocks.hubDeliver(request, tombstone)).status, 204);
  const [gone] = await until('the deletion', () => eventsOf(quietReceiver, q.profile_id).length && eventsOf(quietReceiver, q.profile_id));
  assert.equal(gone.data.event_type, 'video.deleted');
  assert.equal(gone.data.payload.video_id, 'vid_fwd1');
  await until('the deletion for the other app', () => eventsOf(receiver, profileId).some((e) => e.data.event_type === 'video.deleted'));
  await w.settled();
  assert.deepEqual(minus(await statsOf('youtube'), statsBefore), { received: 5, verified: 4, refused: 1, matched: 3, forwarded: 4 });
});

test('TikTok: an event for an account no profile holds is counted, not stored', async () => {
  const mine = (await w.connectWithMock(mocks, app.api_key, 'tiktok', { user: 'ttunknown', redirect: REDIRECT })).q.profile_id;
  const openid = (await profile(mine)).platform_user_id;
  const [seenBefore, statsBefore] = [(await w.row('SELECT COUNT(*) AS n FROM platform_event_seen')).n, await statsOf('tiktok')];
  const body = (user, share) => JSON.stringify({ client_key: credsFor('tiktok').id, event: 'video.publish.completed', create_time: now(), user_openid: user, content: `{"share_id":"${share}"}` });
  const nobody = body('openid-held-by-no-one', 'video.nobody');
  assert.equal((await postTiktok(nobody, tiktokSignatureHeader(nobody, credsFor('tiktok').secret))).status, 200);
  // A marker after it, for a held account: once it is in, the first has been handled.
  const marker = body(openid, 'video.marker');
  assert.equal((await postTiktok(marker, tiktokSignatureHeader(marker, credsFor('tiktok').secret))).status, 200);
  await until('the marker', () => eventsOf(receiver, mine).length);
  await w.settled();
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM platform_event_seen')).n - seenBefore, 1, 'only the held account\'s event is remembered');
  assert.deepEqual(minus(await statsOf('tiktok'), statsBefore), { received: 2, verified: 2, refused: 0, matched: 1, forwarded: 1 });
  assert.ok(!JSON.stringify(receiver.events).includes('video.nobody') && !JSON.stringify(quietReceiver.events).includes('video.nobody'));
});

test('WebSub: a channel connected under an app\'s own Google credentials is subscribed for them and forwarded to that profile', async (t) => {
  const ownReceiver = new WebhookReceiver();
  await ownReceiver.start();
  t.after(() => ownReceiver.stop());
  const own = (await w.admin('POST', '/v1/admin/apps', {
    name: 'Own YouTube', allowed_redirect_urls: [REDIRECT], webhook_url: ownReceiver.url, claim: 'auto', platform_events: { youtube: ['*'] },
  })).body;
  ownReceiver.useSecret(own.webhook_secret);
  const YT = { client_id: 'own-yt-events', client_secret: 'own-yt-events-secret' };
  assert.equal((await w.admin('PUT', `/v1/admin/apps/${own.app.id}/platforms/youtube`, YT)).status, 200);
  mocks.allowClient('youtube', YT.client_id, YT.client_secret);
  const ref = (await w.row("SELECT id FROM platform_credentials WHERE app_id = ? AND platform = 'youtube'", own.app.id)).id;
  const mine = (await w.connectWithMock(mocks, own.api_key, 'youtube', { user: 'ytown', redirect: REDIRECT })).q.profile_id;
  const channel = (await profile(mine, own.api_key)).platform_user_id;
  const request = await until('a subscribe at the hub', () => hubFor(channel, 'subscribe').at(-1));
  const row = await subRow(channel);
  assert.equal(row.credential_ref, ref);
  await hubVerifyOk(request);
  assert.equal((await mocks.hubDeliver(request, atom(channel, 'vid_own1'))).status, 204);
  const [e] = await until('the event', () => eventsOf(ownReceiver, mine).length && eventsOf(ownReceiver, mine));
  assert.deepEqual([e.data.platform, e.data.account_id, e.data.event_type, e.data.payload.video_id], ['youtube', channel, 'video.published', 'vid_own1']);
});

// Last in this file: it restarts the worker with another TOKEN_KEYS.
test('WebSub: a key rotation re-seals each hub.secret, so deliveries verify once the old key is gone; one no key opens is renewed with a fresh secret', async () => {
  const { channel, request } = await connectChannel('ytkeys');
  await hubVerifyOk(request);
  const broken = await connectChannel('ytkeysbroken');
  await hubVerifyOk(broken.request);
  const k1 = w.bindings.TOKEN_KEYS;
  const k2 = `k2:${randomKey()}`;
  await w.restart({ TOKEN_KEYS: `${k2},${k1}` });
  const usage = async () => Object.fromEntries((await w.admin('GET', '/v1/admin/keys')).body.data.map((u) => [u.kid, u]));
  const subs = async () => (await w.row("SELECT COUNT(*) AS n FROM websub_subscriptions WHERE token_kid = 'k1'")).n;
  // Earlier tests' subscriptions the hub never verified are due and resent within the hour
  // (which re-seals them too): out of the way here.
  await w.sql("DELETE FROM websub_subscriptions WHERE status <> 'active' AND id NOT IN (?, ?)", (await subRow(channel)).id, (await subRow(broken.channel)).id);
  assert.ok((await subs()) >= 2);
  const before = await usage();
  assert.equal(before.k1.removable, false);
  // A secret under k1 that k1 does not open (corrupt): a renewal is all that can mend it.
  const brokenRow = await subRow(broken.channel);
  await w.sql('UPDATE websub_subscriptions SET secret_enc = ?, updated_at = ? WHERE id = ?', `v1.k1.${'A'.repeat(60)}`, now() - 7200, brokenRow.id);
  const renewals = hubFor(broken.channel, 'subscribe').length;
  await w.cron();
  assert.equal(await subs(), 1, 'every readable secret moved to k2; the broken one waits for its renewal');
  const mid = (await usage()).k1;
  assert.deepEqual([mid.profiles, mid.apps, mid.pending_links, mid.removable], [0, 1, 0, false], 'the subscription still under k1 holds the key');
  const row = await subRow(channel);
  assert.equal(row.token_kid, 'k2');
  assert.ok(row.secret_enc.startsWith('v1.k2.'));
  assert.equal(w.openEnvelope(row.secret_enc, row.id, 'hub_secret'), request.secret, 'the same secret, sealed under k2');
  assert.ok((await subRow(broken.channel)).lease_expires_at <= now(), 'the broken one is due for renewal');
  await w.cron();
  const fresh = await until('a renewal with a fresh secret', () => hubFor(broken.channel, 'subscribe').length > renewals && hubFor(broken.channel, 'subscribe').at(-1));
  assert.notEqual(fresh.secret, broken.request.secret);
  assert.equal(await subs(), 0);
  assert.equal((await usage()).k1.removable, true);
  await hubVerifyOk(fresh);
  // The old key goes: both subscriptions' deliveries still verify.
  await w.restart({ TOKEN_KEYS: k2 });
  assert.equal((await mocks.hubDeliver(request, atom(channel, 'vid_keys1'))).status, 204);
  assert.equal((await mocks.hubDeliver(fresh, atom(broken.channel, 'vid_keys2'))).status, 204);
  assert.equal((await mocks.hubDeliver(fresh, atom(broken.channel, 'vid_keys3'), { secret: broken.request.secret })).status, 401, 'the old secret no longer verifies');
});
