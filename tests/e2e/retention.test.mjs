// Retention and the response path on the real runtime (issue #8): the cron purges what
// nobody needs, a deleted profile leaves no data in delivered events, and work the browser
// does not wait for runs after the answer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';
import { WebhookReceiver } from './webhook-receiver.mjs';

const REDIRECT = 'http://localhost:3000/connected';
const now = () => Math.floor(Date.now() / 1000);
const DAY = 86400;
const receiver = new WebhookReceiver();
let w;

before(async () => {
  await receiver.start();
  w = await startWorker({ vars: { RETENTION_DAYS: '30', PLATFORM_TIMEOUT_MS: '3000' } });
});
after(async () => {
  await w?.stop();
  await receiver.stop();
});

async function hookedApp(name, claim = 'auto') {
  const r = await w.admin('POST', '/v1/admin/apps', { name, allowed_redirect_urls: [REDIRECT], webhook_url: receiver.url, claim });
  receiver.useSecret(r.body.webhook_secret);
  return r.body;
}

test('the cron purges links, outbox rows and sandbox codes and tokens nobody needs, and keeps the rest', async () => {
  const app = await hookedApp('Retention app');
  const t = now();
  const link = (id, status, completedAt, expiresAt) => w.db.prepare(
    "INSERT INTO connect_links (id, app_id, platform, redirect_url, authorize_url, scopes, status, created_at, expires_at, completed_at) VALUES (?, ?, 'sandbox', ?, 'v1.k1.x', '[]', ?, ?, ?, ?)",
  ).bind(id, app.app.id, REDIRECT, status, expiresAt - 600, expiresAt, completedAt);
  const outbox = (id, delivered, failed, next) => w.db.prepare(
    "INSERT INTO webhook_outbox (id, app_id, type, body, created_at, attempts, next_attempt_at, delivered_at, failed_at) VALUES (?, ?, 'profile.deleted', '{}', ?, 1, ?, ?, ?)",
  ).bind(id, app.app.id, t - 40 * DAY, next, delivered, failed);
  await w.db.batch([
    link('cl_old_completed', 'completed', t - 31 * DAY, t - 31 * DAY),
    link('cl_old_failed', 'failed', t - 31 * DAY, t - 31 * DAY),
    link('cl_old_expired', 'pending', null, t - 31 * DAY),
    link('cl_recent_completed', 'completed', t - 29 * DAY, t - 29 * DAY),
    link('cl_recent_expired', 'pending', null, t - 29 * DAY),
    link('cl_old_claim_expired', 'expired', t - 31 * DAY, t - 31 * DAY),
    link('cl_old_awaiting', 'awaiting_claim', t - 31 * DAY, t - 31 * DAY),
    outbox('evt_old_delivered', t - 31 * DAY, null, null),
    outbox('evt_old_failed', null, t - 31 * DAY, null),
    outbox('evt_recent_delivered', t - 29 * DAY, null, null),
    outbox('evt_still_due', null, null, t + 3600),
    w.db.prepare("INSERT INTO sandbox_codes (code_hash, redirect_uri, code_challenge, scope, username, created_at) VALUES ('code_old', 'x', 'x', 'x', 'u', ?), ('code_new', 'x', 'x', 'x', 'u', ?)").bind(t - 600, t),
    w.db.prepare("INSERT INTO sandbox_tokens (token_hash, kind, username, scope, expires_at, revoked_at, created_at) VALUES ('at_expired', 'access', 'u', 'x', ?, NULL, ?), ('at_live', 'access', 'u', 'x', ?, NULL, ?), ('rt_revoked', 'refresh', 'u', 'x', NULL, ?, ?), ('rt_live', 'refresh', 'u', 'x', NULL, NULL, ?)").bind(t - 1, t - 3600, t + 3600, t, t - 10, t - 100, t),
  ]);
  await w.cron();
  const ids = async (sql) => (await w.db.prepare(sql).all()).results.map((r) => Object.values(r)[0]).sort();
  assert.deepEqual(await ids("SELECT id FROM connect_links WHERE id LIKE 'cl_old%' OR id LIKE 'cl_recent%'"), ['cl_old_awaiting', 'cl_recent_completed', 'cl_recent_expired'], 'a link still awaiting its claim is never purged');
  assert.deepEqual(await ids("SELECT id FROM webhook_outbox WHERE id LIKE 'evt_old%' OR id LIKE 'evt_recent%' OR id = 'evt_still_due'"), ['evt_recent_delivered', 'evt_still_due']);
  assert.deepEqual(await ids("SELECT code_hash FROM sandbox_codes WHERE code_hash LIKE 'code_%'"), ['code_new']);
  assert.deepEqual(await ids("SELECT token_hash FROM sandbox_tokens WHERE token_hash IN ('at_expired', 'at_live', 'rt_revoked', 'rt_live')"), ['at_live', 'rt_live']);
});

test('a deleted profile leaves no copy of its data in delivered events', async () => {
  const app = await hookedApp('Forget app');
  const link = await w.createLink(app.api_key, { redirect_url: REDIRECT });
  const { back } = await w.consent(link, { username: 'forget-me' });
  const id = new URL((await w.callback(back)).headers.get('location')).searchParams.get('profile_id');
  await w.settled();
  const holding = () => w.row('SELECT COUNT(*) AS n FROM webhook_outbox WHERE instr(body, ?) > 0', id);
  assert.equal((await holding()).n, 1, 'profile.connected delivered and kept while the profile lives');
  // The receiver is down when the profile is deleted: profile.deleted waits in the outbox.
  receiver.status = 503;
  assert.equal((await w.call('DELETE', `/v1/profiles/${id}`, { token: app.api_key })).status, 204);
  await w.settled();
  const left = await w.db.prepare('SELECT type, delivered_at FROM webhook_outbox WHERE instr(body, ?) > 0').bind(id).all();
  assert.deepEqual(left.results.map((r) => [r.type, r.delivered_at]), [['profile.deleted', null]], 'delivered events went at once');
  receiver.status = 200;
  await w.sql('UPDATE webhook_outbox SET next_attempt_at = ? WHERE instr(body, ?) > 0', now() - 1, id);
  await w.cron();
  assert.equal(receiver.of('profile.deleted', id).length, 1);
  assert.equal((await holding()).n, 0, 'and profile.deleted goes once delivered');
});

test('the redirect back to the app does not wait for a slow webhook receiver', async () => {
  const app = await hookedApp('Slow receiver app');
  const release = receiver.hold();
  try {
    const link = await w.createLink(app.api_key, { redirect_url: REDIRECT });
    const { back } = await w.consent(link, { username: 'slow-hook' });
    const res = await w.callback(back);
    assert.equal(res.status, 302, 'the redirect arrived');
    const attempt = await w.row("SELECT attempts FROM webhook_outbox WHERE type = 'profile.connected' AND instr(body, ?) > 0", new URL(res.headers.get('location')).searchParams.get('profile_id'));
    assert.equal(attempt.attempts, 0, 'before the first delivery attempt ended');
    for (let i = 0; i < 100 && receiver.held === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(receiver.held, 1, 'which the receiver is still holding');
    const denied = await w.createLink(app.api_key, { redirect_url: REDIRECT });
    const { back: deniedBack } = await w.consent(denied, { decision: 'deny' });
    assert.equal((await w.callback(deniedBack)).status, 302, 'a failure redirect does not wait either');
  } finally {
    release();
  }
  await w.settled();
  assert.equal(receiver.events.filter((e) => e.type === 'profile.connected' && e.data.username === 'slow-hook').length, 1);
});
