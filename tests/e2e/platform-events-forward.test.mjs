// Platform events forwarded to apps, end to end through the sandbox's receiver
// (`POST /platform-webhooks/sandbox`, Meta's shape and signature): each app holding the
// account gets one signed `platform.event` per profile for the types it asked for, a
// replay is forwarded once, an unknown account is counted and nothing of it stored, and a
// huge payload goes as `payload: null, payload_truncated: true` (docs/platform-events.md).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startWorker } from './harness.mjs';
import { WebhookReceiver } from './webhook-receiver.mjs';

// The sandbox's fixed client secret (core/src/platforms/sandbox.rs): not a secret.
const SECRET = 'sandbox-secret';
const REDIRECT = 'http://localhost:3000/connected';
const TIME = 1767322800; // 2026-01-02T03:00:00Z
const receivers = { a: new WebhookReceiver(), b: new WebhookReceiver(), c: new WebhookReceiver() };
const apps = {};
let w;
let account;

const sign = (raw) => `sha256=${crypto.createHmac('sha256', SECRET).update(raw).digest('hex')}`;
/** A signed sandbox body: `entries` of [account, [[field, value], ...]]. */
const bodyOf = (entries) => JSON.stringify({
  object: 'sandbox',
  entry: entries.map(([id, changes]) => ({ id, time: TIME, changes: changes.map(([field, value]) => ({ field, value })) })),
});
const post = (raw) => w.call('POST', '/platform-webhooks/sandbox', { raw, headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(raw) } });
const forwarded = (r) => r.events.filter((e) => e.type === 'platform.event');

/** Resolves once `check()` is truthy (forwarding and delivery run after the answer). */
async function until(check, what, ms = 10000) {
  for (const start = Date.now(); Date.now() - start < ms; await new Promise((r) => setTimeout(r, 20))) {
    if (await check()) return;
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function sandboxStats() {
  const r = await w.admin('GET', '/v1/admin/platform-events/stats');
  assert.equal(r.status, 200);
  return r.body.data.find((d) => d.platform === 'sandbox') ?? { received: 0, verified: 0, refused: 0, matched: 0, forwarded: 0 };
}

before(async () => {
  for (const r of Object.values(receivers)) await r.start();
  w = await startWorker();
  const settings = { a: { sandbox: ['feed', 'mention'], facebook: ['*'] }, b: { sandbox: ['*'] }, c: undefined };
  for (const [name, platformEvents] of Object.entries(settings)) {
    const r = await w.admin('POST', '/v1/admin/apps', {
      name: `Events ${name}`, allowed_redirect_urls: [REDIRECT], webhook_url: receivers[name].url, claim: 'auto',
      ...(platformEvents ? { platform_events: platformEvents } : {}),
    });
    assert.equal(r.status, 201, r.text);
    receivers[name].useSecret(r.body.webhook_secret);
    // The same sandbox login in each app: the same platform account, held by three apps.
    const link = await w.createLink(r.body.api_key, { redirect_url: REDIRECT });
    const { back } = await w.consent(link, { username: 'olivia' });
    await w.callback(back);
    const profile = await w.row("SELECT id, platform_user_id FROM profiles WHERE app_id = ? AND account_type = 'user'", r.body.app.id);
    apps[name] = { ...r.body, profile: profile.id };
    account = profile.platform_user_id;
  }
  await w.settled();
});
after(async () => {
  await w?.stop();
  for (const r of Object.values(receivers)) await r.stop();
});

test('each app holding the account gets one signed platform.event of the types it asked for; a replay goes once; an unknown account is counted, not stored', async () => {
  const before = await sandboxStats();
  const first = bodyOf([[account, [['feed', { id: 'c-1', message: 'hi', from: { id: 'u9' } }]]], ['sbx_nobody', [['feed', { id: 'u-1' }]]]]);
  assert.equal((await post(first)).status, 200);
  await until(() => forwarded(receivers.a).length === 1 && forwarded(receivers.b).length === 1, 'the first event at apps a and b');
  for (const name of ['a', 'b']) {
    const [event] = forwarded(receivers[name]);
    assert.deepEqual(event.data, {
      profile_id: apps[name].profile, platform: 'sandbox', account_id: account, event_type: 'feed',
      occurred_at: '2026-01-02T03:00:00Z', payload: { id: 'c-1', message: 'hi', from: { id: 'u9' } },
    }, 'the payload as the platform sent it');
    assert.match(event.id, /^evt_[0-9a-f]{32}$/);
  }

  // The platform redelivers the same body, then sends the change again next to new ones:
  // c-1 is not forwarded again; b (every type) gets c-2 and c-3, a (feed and mention) c-2.
  assert.equal((await post(first)).status, 200);
  const second = bodyOf([[account, [['feed', { id: 'c-1', message: 'hi', from: { id: 'u9' } }], ['mention', { id: 'c-2' }], ['comments', { id: 'c-3' }]]]]);
  assert.equal((await post(second)).status, 200);
  await until(() => forwarded(receivers.a).length >= 2 && forwarded(receivers.b).length >= 3, 'the second request at apps a and b');
  await w.settled();
  const ids = (name) => forwarded(receivers[name]).map((e) => e.data.payload.id);
  assert.deepEqual(ids('a'), ['c-1', 'c-2']);
  assert.deepEqual(ids('b').sort(), ['c-1', 'c-2', 'c-3']);
  assert.deepEqual(forwarded(receivers.c), [], 'an app without the setting gets nothing');

  const after = await sandboxStats();
  assert.deepEqual(
    Object.fromEntries(['received', 'verified', 'refused', 'matched', 'forwarded'].map((k) => [k, after[k] - before[k]])),
    { received: 3, verified: 3, refused: 0, matched: 3, forwarded: 5 },
    'matched: c-1, c-2 and c-3, each once; the unknown account is received, never matched',
  );
  const keys = (await w.db.prepare("SELECT dedup_key FROM platform_event_seen WHERE platform = 'sandbox' ORDER BY dedup_key").all()).results.map((r) => r.dedup_key);
  assert.deepEqual(keys, ['c-1', 'c-2', 'c-3'], 'no key kept for the unknown account');
  assert.equal((await w.row("SELECT COUNT(*) AS n FROM webhook_outbox WHERE instr(body, 'sbx_nobody') > 0")).n, 0);
});

test('a payload over 48 KiB is forwarded as null with payload_truncated', async () => {
  const big = { id: 'big-1', message: 'x'.repeat(50 * 1024) };
  assert.equal((await post(bodyOf([[account, [['mention', big]]]]))).status, 200);
  const mentions = () => forwarded(receivers.a).filter((e) => e.data.event_type === 'mention' && e.data.payload === null);
  await until(() => mentions().length === 1, 'the truncated event at app a');
  const [event] = mentions();
  assert.equal(event.data.payload_truncated, true);
  assert.equal(event.data.profile_id, apps.a.profile);
  const row = await w.row('SELECT length(body) AS n FROM webhook_outbox WHERE id = ?', event.id);
  assert.ok(row.n < 2048, `the outbox row holds no copy of the payload (${row.n} bytes)`);
});
