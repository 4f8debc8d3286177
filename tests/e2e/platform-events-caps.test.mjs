// Platform events in, at their limits: a platform's batch over the 64 KiB cap of other public
// bodies is taken (Meta batches up to 1,000 changes in one request; X's deliveries are as
// large), up to 1 MiB; one request hands on at most 1,000 events, in chunks that each fit
// D1's limits; and a request is counted in one write.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startWorker } from './harness.mjs';
import { PlatformMocks, credentialVars } from './platform-mocks.mjs';
import { WebhookReceiver } from './webhook-receiver.mjs';

const X_SECRET = 'caps-x-consumer-secret';
const REDIRECT = 'https://app.example.com/connected';
const mocks = new PlatformMocks();
const receiver = new WebhookReceiver();
let w;
let app; // asks for X mentions, holds one X account
let account;
let profileId;

before(async () => {
  await receiver.start();
  w = await startWorker({ vars: { ...credentialVars(['x']), X_CONSUMER_SECRET: X_SECRET }, outbound: mocks.handle, captureLogs: true });
  const r = await w.admin('POST', '/v1/admin/apps', {
    name: 'Caps app', allowed_redirect_urls: [REDIRECT], claim: 'auto', webhook_url: receiver.url,
    platform_events: { x: ['tweet_create_events'] },
  });
  app = r.body;
  receiver.useSecret(r.body.webhook_secret);
  profileId = (await w.connectWithMock(mocks, app.api_key, 'x', { user: '77', redirect: REDIRECT })).q.profile_id;
  account = (await w.row('SELECT platform_user_id FROM profiles WHERE id = ?', profileId)).platform_user_id;
});
after(async () => {
  await w?.stop();
  await receiver.stop();
});

const sign = (body) => `sha256=${crypto.createHmac('sha256', X_SECRET).update(body).digest('base64')}`;
const postX = (body, sig = sign(body)) => w.call('POST', '/platform-webhooks/x', { raw: body, headers: { 'content-type': 'application/json', 'x-twitter-webhooks-signature': sig } });
/** An Account Activity delivery of `n` mentions of the app's account (ids from `from`), each with `pad` bytes of text. */
const mentions = (n, from, pad = 0) => JSON.stringify({
  for_user_id: account,
  tweet_create_events: Array.from({ length: n }, (_, i) => ({ id_str: String(from + i), text: `@caps hello ${'x'.repeat(pad)}`, timestamp_ms: '1700000000123', user: { id_str: '9' } })),
});
/** How many dedup keys of the account's mentions with ids in [from, to) were claimed (`<account>/tweet_create_events/<id>`). */
async function seen(from, to) {
  const keys = Array.from({ length: to - from }, (_, i) => `${account}/tweet_create_events/${from + i}`);
  return (await w.row("SELECT COUNT(*) AS n FROM platform_event_seen WHERE platform = 'x' AND dedup_key IN (SELECT value FROM json_each(?))", JSON.stringify(keys))).n;
}
const stats = async () => (await w.admin('GET', '/v1/admin/platform-events/stats')).body.data.find((s) => s.platform === 'x') ?? { received: 0, verified: 0, refused: 0, matched: 0, forwarded: 0 };
const outbox = async () => (await w.row("SELECT COUNT(*) AS n FROM webhook_outbox WHERE app_id = ? AND type = 'platform.event'", app.app.id)).n;
const forwardedOf = (from, to) => receiver.of('platform.event').filter((e) => Number(e.data.payload.id_str) >= from && Number(e.data.payload.id_str) < to);
async function until(what, check, ms = 20000) {
  for (const start = Date.now(); Date.now() - start < ms; await new Promise((r) => setTimeout(r, 50))) {
    const v = await check();
    if (v) return v;
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('a signed batch of 300 KB (over the 64 KiB of other public bodies) is taken and every event forwarded', async () => {
  const body = mentions(100, 10_000, 3000);
  assert.ok(body.length > 300_000 && body.length < 1024 * 1024, String(body.length));
  const before = await stats();
  const rows = await outbox();
  const r = await postX(body);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  // The first deliveries go out after the answer, the rest with the cron's retries: the
  // outbox holds one platform.event per mention.
  await until('100 events in the outbox', async () => (await outbox()) - rows >= 100);
  assert.equal((await outbox()) - rows, 100);
  await until('the first delivered', () => forwardedOf(10_000, 10_100).length > 0);
  const after = await stats();
  assert.deepEqual([after.received - before.received, after.verified - before.verified, after.refused - before.refused], [1, 1, 0], 'one request, counted once');
  // Over 1 MiB: 413, counted as refused, nothing forwarded.
  const big = mentions(1, 20_000, 1024 * 1024);
  const refused = await postX(big);
  assert.equal(refused.status, 413);
  assert.equal(refused.body.error.code, 'payload_too_large');
  const later = await stats();
  assert.deepEqual([later.received - after.received, later.refused - after.refused], [1, 1]);
  assert.equal(await seen(20_000, 20_001), 0);
});

test('one request hands on at most 1,000 events, matched in chunks; the rest is dropped and logged', async () => {
  const before = await stats();
  const rows = await outbox();
  const body = mentions(1005, 30_000);
  assert.ok(body.length < 1024 * 1024);
  assert.equal((await postX(body)).status, 200);
  // Ten chunks of a hundred, each one claim and one batch: the last one written is the end.
  await until('1,000 events in the outbox', async () => (await outbox()) - rows >= 1000);
  assert.equal((await outbox()) - rows, 1000);
  const after = await stats();
  assert.equal(after.matched - before.matched, 1000, 'the first 1,000 only');
  assert.equal(await seen(30_000, 31_000), 1000);
  assert.equal(await seen(31_000, 31_005), 0, 'the last five were not handed on');
});

test('a request to a path that is not there (no such credentials) is not counted', async () => {
  const before = await stats();
  const body = mentions(1, 40_000);
  const r = await postX(body);
  assert.equal(r.status, 200);
  const none = await w.call('POST', '/platform-webhooks/x/apps/pcr_nope', { raw: body, headers: { 'content-type': 'application/json', 'x-twitter-webhooks-signature': sign(body) } });
  assert.equal(none.status, 404);
  const after = await stats();
  assert.equal(after.received - before.received, 1, 'the 404 is no platform\'s request');
});

test('events whose writes fail are not remembered as seen: the platform\'s redelivery is forwarded', async () => {
  const body = mentions(1, 50_000);
  const rows = await outbox();
  await w.sql(`CREATE TRIGGER refuse_event BEFORE INSERT ON webhook_outbox WHEN NEW.type = 'platform.event' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`);
  try {
    // Counted in the whole output (a line may be split across two of its chunks).
    const failed = () => w.logs.join('').split('"platform_event_forward_failed"').length - 1;
    const failures = failed();
    assert.equal((await postX(body)).status, 200);
    // The claim is written, then the outbox write fails and the claim goes again.
    await until('the failed forwarding', () => failed() > failures);
    assert.equal(await seen(50_000, 50_001), 0, 'the claim was released');
  } finally {
    await w.sql('DROP TRIGGER refuse_event');
  }
  assert.equal(await outbox(), rows);
  // X delivers it again: this time it goes through.
  assert.equal((await postX(body)).status, 200);
  await until('the redelivery forwarded', async () => (await outbox()) - rows === 1);
  assert.equal(await seen(50_000, 50_001), 1);
});
