// The sandbox platform's events: `POST /platform-webhooks/sandbox` verifies Meta's
// `X-Hub-Signature-256` (hex HMAC-SHA256 of the raw body with the sandbox's client secret,
// https://developers.facebook.com/docs/graph-api/webhooks/getting-started, "Validate
// Payloads") before it parses anything, and `POST /sandbox/events` makes the sandbox send one
// for an app's profile through that same receiver; the app that asked for the sandbox's
// events gets each as `platform.event`, once; and `make dev`'s demo app lists them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startWorker, freePort } from './harness.mjs';
import { WebhookReceiver } from './webhook-receiver.mjs';
import { demoAppSettings, startDemoApp } from '../../scripts/demo-app.mjs';

// The sandbox's fixed client secret (core/src/platforms/sandbox.rs): not a secret.
const SECRET = 'sandbox-secret';
let w;
let app; // no webhook_url, no platform_events
let hooked; // every sandbox event, to `receiver`
let picky; // only the sandbox's `mention`, to `pickyReceiver`
const receiver = new WebhookReceiver();
const pickyReceiver = new WebhookReceiver();

/** An app with a webhook receiver and a `platform_events` setting. */
async function appWith(name, hooks, platformEvents) {
  const r = await w.admin('POST', '/v1/admin/apps', {
    name, allowed_redirect_urls: ['http://localhost:3000/connected'], webhook_url: hooks.url, platform_events: platformEvents,
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  hooks.useSecret(r.body.webhook_secret);
  return r.body;
}

before(async () => {
  await receiver.start();
  await pickyReceiver.start();
  w = await startWorker();
  app = await w.createApp('Sandbox events app');
  hooked = await appWith('Hooked app', receiver, { sandbox: ['*'] });
  picky = await appWith('Picky app', pickyReceiver, { sandbox: ['mention'] });
});
after(async () => {
  await w?.stop();
  await receiver.stop();
  await pickyReceiver.stop();
});

const sign = (raw, secret = SECRET) => `sha256=${crypto.createHmac('sha256', secret).update(raw).digest('hex')}`;
const now = () => Math.floor(Date.now() / 1000);
/** A Meta-style sandbox body for `account` with `changes` ([field, value] pairs). */
const bodyOf = (account, changes, time = now()) =>
  JSON.stringify({ object: 'sandbox', entry: [{ id: account, time, changes: changes.map(([field, value]) => ({ field, value })) }] });
const post = (raw, signature, opts = {}) =>
  w.call('POST', '/platform-webhooks/sandbox', { raw, headers: { 'content-type': 'application/json', ...(signature ? { 'x-hub-signature-256': signature } : {}) }, ...opts });
const sendEvent = (json, token = app.api_key) => w.call('POST', '/sandbox/events', { token, json });
const stats = async () => {
  const r = await w.admin('GET', '/v1/admin/platform-events/stats');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.data.find((d) => d.platform === 'sandbox') ?? { received: 0, verified: 0, refused: 0, matched: 0, forwarded: 0 };
};
/** Waits for the `platform.event`s of `hooks` that `match` picks (the worker forwards after its answer). */
async function forwarded(hooks, match, n = 1, ms = 10_000) {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 25))) {
    const got = hooks.of('platform.event').filter((e) => match(e.data));
    if (got.length >= n) return got;
  }
  throw new Error('the platform.event did not arrive');
}

/** Connects a sandbox login for `key` and claims all three of its accounts (user, 2 Pages). */
async function connect(key, username) {
  const link = await w.createLink(key);
  const { back } = await w.consent(link, { username });
  const res = await w.callback(back, { pick: 'all' });
  return res.claimed.body.data;
}

test('attack: an unsigned, wrongly signed or tampered sandbox event gets 401, counted, and nothing is forwarded', async () => {
  const [user] = await connect(hooked.api_key, 'mallory');
  const before = await stats();
  const raw = bodyOf(user.platform_user_id, [['feed', { id: 'evt-forged', message: 'x' }]]);
  const attempts = [
    [raw, undefined],
    [raw, 'sha256='],
    [raw, sign(raw).slice('sha256='.length)], // no prefix
    [raw, sign(raw, 'not-the-secret')],
    [raw.replace('"x"', '"y"'), sign(raw)], // another body under this body's signature
    ['not json at all', sign('something else')],
  ];
  for (const [body, sig] of attempts) {
    const r = await post(body, sig);
    assert.equal(r.status, 401, `${sig}: ${r.text}`);
    assert.equal(r.body.error.code, 'unauthorized');
  }
  const after = await stats();
  assert.equal(after.refused - before.refused, attempts.length);
  assert.equal(after.received - before.received, attempts.length);
  assert.equal(after.verified, before.verified);
  // The same event signed: it alone arrives (the forged ones, sent before it, never do).
  const signed = await post(raw, sign(raw));
  assert.equal(signed.status, 200);
  await forwarded(receiver, (d) => d.payload.id === 'evt-forged');
  await w.settled();
  const forged = receiver.of('platform.event').filter((e) => e.data.payload.id === 'evt-forged');
  assert.equal(forged.length, 1);
  assert.equal(forged[0].data.payload.message, 'x', 'the signed body, not the tampered one');
  assert.equal((await w.row("SELECT COUNT(*) AS n FROM webhook_outbox WHERE type = 'platform.event' AND body LIKE '%evt-forged%'")).n, 1);
});

test('a body over 64 KiB is 413 before its signature is looked at, counted as refused', async () => {
  const before = await stats();
  const raw = bodyOf('sbx_any', [['feed', { id: 'big', message: 'x'.repeat(70 * 1024) }]]);
  const r = await post(raw, sign(raw));
  assert.equal(r.status, 413);
  const after = await stats();
  assert.deepEqual([after.received - before.received, after.refused - before.refused, after.verified - before.verified], [1, 1, 0]);
});

test('a signed event is answered 200; a signed body of another shape is 400', async () => {
  const raw = bodyOf('sbx_nobody', [['feed', { id: 'evt-1' }], ['mention', { post_id: 'p1' }]]);
  const ok = await post(raw, sign(raw));
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(ok.body, { ok: true });
  // Hex in capitals is the same signature.
  const upper = await post(raw, `sha256=${sign(raw).slice(7).toUpperCase()}`);
  assert.equal(upper.status, 200, upper.text);
  for (const bad of ['{"object":"page","entry":[]}', '{"object":"sandbox","entry":[{"id":"a","time":1,"changes":[{"field":"feed"}]}]}', '[]']) {
    const r = await post(bad, sign(bad));
    assert.equal(r.status, 400, bad);
    assert.equal(r.body.error.code, 'invalid_request');
  }
});

test('POST /sandbox/events sends a signed event for an active sandbox profile of the app', async () => {
  const [user, page] = await connect(app.api_key, 'eve');
  const r = await sendEvent({ profile_id: page.id });
  assert.equal(r.status, 202, r.text);
  assert.equal(r.body.account_id, page.platform_user_id);
  assert.equal(r.body.event_type, 'feed');
  assert.match(r.body.event_id, /^sbe_[0-9a-f]{32}$/);
  const own = await sendEvent({ profile_id: user.id, event_type: 'mention', payload: { id: 'm-1', text: 'hi' } });
  assert.equal(own.status, 202, own.text);
  assert.deepEqual(own.body, { account_id: user.platform_user_id, event_type: 'mention', event_id: 'm-1' });
  // A payload with no id of its own: no event id to tell.
  const anon = await sendEvent({ profile_id: user.id, payload: { text: 'no id' } });
  assert.equal(anon.status, 202, anon.text);
  assert.equal(anon.body.event_id, undefined);
});

test('POST /sandbox/events refuses what is not an active sandbox profile of the app', async () => {
  const [user] = await connect(app.api_key, 'frank');
  const other = await w.createApp('Another sandbox app');
  assert.equal((await w.call('POST', '/sandbox/events', { json: { profile_id: user.id } })).status, 401);
  assert.equal((await sendEvent({ profile_id: user.id }, 'ck_not_a_key')).status, 401);
  // Another app's profile, or none: 404 alike.
  const foreign = await sendEvent({ profile_id: user.id }, other.api_key);
  assert.equal(foreign.status, 404);
  assert.equal((await sendEvent({ profile_id: 'prf_0123456789abcdef0123456789abcdef' })).status, 404);
  for (const bad of [{}, { profile_id: user.id, event_type: 'Not A Type' }, { profile_id: user.id, payload: [1] }, { profile_id: user.id, extra: 1 }]) {
    const r = await sendEvent(bad);
    assert.equal(r.status, 400, JSON.stringify(bad));
    assert.equal(r.body.error.code, 'invalid_request');
  }
  // A profile waiting for its claim, and one disconnected: 409.
  const link = await w.createLink(app.api_key);
  const { back } = await w.consent(link, { username: 'grace' });
  await w.callback(back, { claim: false });
  const pending = (await w.call('GET', '/v1/profiles?status=pending', { token: app.api_key })).body.data[0];
  assert.equal((await sendEvent({ profile_id: pending.id })).status, 409);
  await w.sql("UPDATE profiles SET status = 'disconnected', disconnect_reason = 'revoked' WHERE id = ?1", user.id);
  const ended = await sendEvent({ profile_id: user.id });
  assert.equal(ended.status, 409);
  assert.equal(ended.body.error.code, 'conflict');
});

test('with the sandbox off, both routes are 404', async () => {
  const off = await startWorker({ vars: { SANDBOX: 'off' } });
  try {
    const raw = bodyOf('a', [['feed', { id: '1' }]]);
    const hook = await off.call('POST', '/platform-webhooks/sandbox', { raw, headers: { 'x-hub-signature-256': sign(raw) } });
    assert.equal(hook.status, 404);
    const send = await off.call('POST', '/sandbox/events', { json: { profile_id: 'prf_x' } });
    assert.equal(send.status, 404);
  } finally {
    await off.stop();
  }
});

test('a sandbox event reaches the app that asked for it as platform.event, signed, one per profile; a replay is forwarded once', async () => {
  const [user, page] = await connect(hooked.api_key, 'hank');
  const sent = await sendEvent({ profile_id: page.id }, hooked.api_key);
  assert.equal(sent.status, 202, sent.text);
  const [event] = await forwarded(receiver, (d) => d.payload.id === sent.body.event_id);
  assert.deepEqual(Object.keys(event.data).sort(), ['account_id', 'event_type', 'occurred_at', 'payload', 'platform', 'profile_id']);
  assert.equal(event.data.profile_id, page.id);
  assert.equal(event.data.platform, 'sandbox');
  assert.equal(event.data.account_id, page.platform_user_id);
  assert.equal(event.data.event_type, 'feed');
  assert.ok(Math.abs(Date.parse(event.data.occurred_at) / 1000 - now()) < 120, event.data.occurred_at);
  assert.equal(event.data.payload.message, 'Hello from the sandbox');
  assert.equal(event.data.payload.item, 'comment');
  // A delivery of the platform's own, replayed: forwarded once.
  const raw = bodyOf(user.platform_user_id, [['mention', { id: 'evt-replayed', text: 'once' }], ['feed', { text: 'no id' }]], 1_700_000_000);
  for (let i = 0; i < 3; i++) assert.equal((await post(raw, sign(raw))).status, 200);
  const got = await forwarded(receiver, (d) => d.profile_id === user.id && d.occurred_at === '2023-11-14T22:13:20Z', 2);
  // One more event, after the replays: once it is in, the replays have had their turn.
  const last = await sendEvent({ profile_id: user.id, payload: { id: 'evt-after-replays' } }, hooked.api_key);
  await forwarded(receiver, (d) => d.payload.id === last.body.event_id);
  await w.settled();
  const replayed = receiver.of('platform.event').filter((e) => e.data.profile_id === user.id && e.data.occurred_at === '2023-11-14T22:13:20Z');
  assert.deepEqual(replayed.map((e) => [e.data.event_type, e.data.payload]).sort(), [['feed', { text: 'no id' }], ['mention', { id: 'evt-replayed', text: 'once' }]]);
  assert.equal(got.length, 2);
});

test('an app that did not ask for the event type gets nothing; an account no profile holds is counted, not stored', async () => {
  const [, page] = await connect(picky.api_key, 'ivy');
  const before = await stats();
  const feed = await sendEvent({ profile_id: page.id }, picky.api_key);
  assert.equal(feed.status, 202);
  const mention = await sendEvent({ profile_id: page.id, event_type: 'mention', payload: { id: 'evt-picky' } }, picky.api_key);
  assert.equal(mention.status, 202);
  await forwarded(pickyReceiver, (d) => d.payload.id === 'evt-picky');
  await w.settled();
  assert.deepEqual(pickyReceiver.of('platform.event').map((e) => e.data.event_type), ['mention']);
  // Nobody holds the first entry's account: counted as received and verified, nothing stored
  // for it. The second entry, for the held Page, is the marker that the body was handled.
  const raw = JSON.stringify({ object: 'sandbox', entry: [
    { id: 'sbx_nobody_holds_this', time: now(), changes: [{ field: 'mention', value: { id: 'evt-unheld' } }] },
    { id: page.platform_user_id, time: now(), changes: [{ field: 'mention', value: { id: 'evt-held-marker' } }] },
  ] });
  assert.equal((await post(raw, sign(raw))).status, 200);
  await forwarded(pickyReceiver, (d) => d.payload.id === 'evt-held-marker');
  await w.settled();
  const after = await stats();
  assert.equal(after.received - before.received, 3);
  assert.equal(after.verified - before.verified, 3);
  assert.equal(after.matched - before.matched, 3, 'the picky Page\'s three events; not the unheld account\'s');
  assert.equal(after.forwarded - before.forwarded, 2);
  assert.equal((await w.row("SELECT COUNT(*) AS n FROM platform_event_seen WHERE dedup_key = 'evt-unheld'")).n, 0, 'no dedup row for it');
  assert.equal((await w.row("SELECT COUNT(*) AS n FROM platform_event_seen WHERE dedup_key = 'evt-held-marker'")).n, 1);
  assert.equal((await w.row("SELECT COUNT(*) AS n FROM webhook_outbox WHERE body LIKE '%evt-unheld%'")).n, 0);
});

test("make dev's demo app: its Send button makes the sandbox push an event, and its page lists the verified webhook, escaped", async () => {
  const demoApp = await w.createApp('Demo app');
  const port = await freePort();
  const patched = await w.admin('PATCH', `/v1/admin/apps/${demoApp.app.id}`, demoAppSettings(port));
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  const demo = await startDemoApp({ base: w.base, apiKey: demoApp.api_key, port, webhookSecret: demoApp.webhook_secret });
  const demoBase = `http://127.0.0.1:${port}`;
  try {
    const [user] = await connect(demoApp.api_key, 'judy');
    const home = await (await fetch(`${demoBase}/`)).text();
    assert.match(home, new RegExp(`name="profile_id" value="${user.id}"><button>Send a sandbox event</button>`));
    const send = await fetch(`${demoBase}/send`, { method: 'POST', body: new URLSearchParams({ profile_id: user.id }), redirect: 'manual' });
    assert.equal(send.status, 303);
    const sentId = new URL(send.headers.get('location'), demoBase).searchParams.get('sent');
    assert.match(sentId, /^sbe_/);
    // A payload of the app's choosing, shown escaped.
    const hostile = await sendEvent({ profile_id: user.id, payload: { id: 'evt-<b>bold</b>', message: '<script>alert(1)</script>' } }, demoApp.api_key);
    assert.equal(hostile.status, 202);
    let page = '';
    for (const end = Date.now() + 10_000; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
      page = await (await fetch(`${demoBase}/`)).text();
      if (page.includes(sentId) && page.includes('evt-&#60;b&#62;bold')) break;
    }
    assert.match(page, new RegExp(`<li class="event" data-type="platform.event"><code>platform.event</code> <b>feed</b> on <code>${user.platform_user_id}</code> for <code>${user.id}</code>`));
    assert.ok(page.includes(sentId), page);
    assert.ok(page.includes('&#60;script&#62;alert(1)&#60;/script&#62;'), page);
    assert.ok(!page.includes('<script>') && !page.includes('<b>bold'), page);
    // A webhook the worker did not sign is refused and not listed.
    const forged = JSON.stringify({ type: 'platform.event', timestamp: new Date().toISOString(), data: { profile_id: 'prf_forged' } });
    const ts = String(now());
    const bad = await fetch(`${demoBase}/webhooks`, {
      method: 'POST', body: forged,
      headers: { 'webhook-id': 'evt_forged', 'webhook-timestamp': ts, 'webhook-signature': `v1,${crypto.createHmac('sha256', 'wrong').update(`evt_forged.${ts}.${forged}`).digest('base64')}` },
    });
    assert.equal(bad.status, 400);
    assert.ok(!(await (await fetch(`${demoBase}/`)).text()).includes('prf_forged'));
  } finally {
    demo.close();
  }
});
