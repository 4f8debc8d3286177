// The console's webhooks page (issue 28): recent deliveries newest first, filtered by app and
// state, paged; never an event's body; "Retry now" makes one attempt through the outbox's
// lease: a given-up event reaches its receiver once it answers 200, signed as any delivery;
// a delivered event is not sent again; an attempt that may be under way is not doubled.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startWorker, unescapeHtml } from './harness.mjs';
import { signedIn } from './console-client.mjs';
import { WebhookReceiver } from './webhook-receiver.mjs';

const receiver = new WebhookReceiver();
let w;
let c;
let app;
let other;
const now = () => Math.floor(Date.now() / 1000);
const statementsOf = (r) => Number(r.headers.get('x-test-d1-statements'));

before(async () => {
  await receiver.start();
  w = await startWorker({ vars: { CONSOLE: 'on' }, entry: 'tests/e2e/d1-count-entry.mjs' });
  app = await w.createApp('Hooked app', undefined, { receiver });
  other = (await w.createApp('Other app')).app.id;
  c = await signedIn(w);
});
after(async () => {
  await w?.stop();
  await receiver.stop();
});

/** Connects a sandbox profile of `app` while the receiver fails: its event, once attempted. */
async function failedEvent(username) {
  receiver.status = 500;
  const link = await w.createLink(app.api_key);
  const { back } = await w.consent(link, { username });
  await w.callback(back);
  await w.settled();
  const row = await w.row("SELECT id, attempts FROM webhook_outbox WHERE app_id = ? AND type = 'profile.connected' AND delivered_at IS NULL ORDER BY created_at DESC LIMIT 1", app.app.id);
  assert.ok(row && row.attempts === 1, JSON.stringify(row));
  return row.id;
}

/** The table row of event `id` on `html`, or null. */
function rowOf(html, id) {
  const m = html.match(new RegExp(`<tr><th scope="row"><code>${id}</code></th>[\\s\\S]*?</tr>`));
  return m && m[0];
}

test('Retry now delivers a given-up event once the receiver answers 200, signed as any delivery, once', async () => {
  const id = await failedEvent('gaveup');
  // The schedule runs out: the last attempt fails, the event is given up.
  await w.sql('UPDATE webhook_outbox SET attempts = 10, next_attempt_at = ? WHERE id = ?', now() - 1, id);
  await w.cron();
  const given = await w.row('SELECT attempts, next_attempt_at, failed_at, last_status FROM webhook_outbox WHERE id = ?', id);
  assert.equal(given.next_attempt_at, null);
  assert.ok(given.failed_at > 0 && given.last_status === 500, JSON.stringify(given));

  const list = await c.get(`/console/webhooks?app=${app.app.id}&state=given_up`);
  assert.equal(list.status, 200);
  const tr = rowOf(list.text, id);
  assert.ok(tr, list.text);
  assert.match(tr, /Given up /);
  assert.match(tr, /<td>500<\/td>/);
  assert.match(tr, new RegExp(`<form method="post" action="/console/webhooks/${id}/retry" class="inline">`));
  assert.match(tr, /Retry now/);

  receiver.status = 200;
  const before = receiver.attempts.length;
  const r = await c.post(`/console/webhooks/${id}/retry`);
  assert.equal(r.status, 303, r.text.slice(0, 500));
  assert.equal(r.location, `/console/webhooks?event=${id}&notice=webhook_retried`);
  // The claim, then the attempt's record as it ends the event: one batch of 3 (docs/console.md).
  assert.equal(statementsOf(r), 4, 'a retry that delivers: 1 + 3 D1 statements');
  // The attempt was made before the answer: the event is delivered, under its webhook-id,
  // verified by the reference library with the app's secret (the receiver rejects otherwise).
  assert.equal(receiver.attempts.length, before + 1);
  const got = receiver.events.filter((e) => e.id === id);
  assert.equal(got.length, 1);
  assert.equal(got[0].type, 'profile.connected');
  const req = receiver.requests.at(-1);
  assert.equal(req.headers['webhook-id'], id);
  assert.match(req.headers['webhook-signature'], /^v1,[A-Za-z0-9+/=]+$/);
  assert.ok(Math.abs(Number(req.headers['webhook-timestamp']) - now()) < 30);
  assert.equal(receiver.rejected ?? 0, 0);
  const done = await w.row('SELECT attempts, delivered_at, failed_at, next_attempt_at, last_status FROM webhook_outbox WHERE id = ?', id);
  assert.deepEqual({ ...done, delivered_at: done.delivered_at > 0 }, { attempts: 12, delivered_at: true, failed_at: null, next_attempt_at: null, last_status: 200 });
  const page = await c.follow(r);
  assert.match(page.text, /Delivery tried again; its status is below\./);
  const shown = rowOf(page.text, id);
  assert.match(shown, /Delivered /);
  assert.doesNotMatch(shown, /Retry now/);

  // A delivered event is not sent again: 409 with the reason, nothing sent.
  const again = await c.post(`/console/webhooks/${id}/retry`);
  assert.equal(again.status, 409);
  assert.match(unescapeHtml(again.text), /This event was delivered: it is not sent again\./);
  assert.equal(statementsOf(again), 3, 'a refused retry: the claim, then one batch of 2 to say why');
  assert.equal(receiver.attempts.length, before + 1);
  // The cron has nothing of it either.
  await w.cron();
  assert.equal(receiver.events.filter((e) => e.id === id).length, 1);
});

test('a retrying event is tried now; one whose attempt may be under way is refused, not doubled', async () => {
  const id = await failedEvent('retrying');
  // As the cron's claim leaves it while its attempt runs: due within the lease's 2 minutes.
  await w.sql('UPDATE webhook_outbox SET next_attempt_at = ? WHERE id = ?', now() + 100, id);
  await c.get('/console/webhooks');
  const n = receiver.attempts.length;
  const busy = await c.post(`/console/webhooks/${id}/retry`);
  assert.equal(busy.status, 409);
  assert.match(unescapeHtml(busy.text), /under way or due within three minutes/);
  assert.equal(statementsOf(busy), 3, 'a refused retry: the claim, then one batch of 2 to say why');
  assert.equal(receiver.attempts.length, n);
  // Claimed by a cron run in another isolate whose clock read a little later: its lease ends
  // past this request's now + 120 s, and the attempt may still be under way (review, L1).
  await w.sql('UPDATE webhook_outbox SET next_attempt_at = ? WHERE id = ?', now() + 150, id);
  const skewed = await c.post(`/console/webhooks/${id}/retry`);
  assert.equal(skewed.status, 409);
  assert.equal(receiver.attempts.length, n);
  // Scheduled later: the operator's retry makes the attempt now; still failing, the next one
  // is scheduled on the same schedule (attempt 2: in 2 minutes).
  await w.sql('UPDATE webhook_outbox SET next_attempt_at = ? WHERE id = ?', now() + 3600, id);
  receiver.status = 503;
  const r = await c.post(`/console/webhooks/${id}/retry`);
  assert.equal(r.status, 303);
  assert.equal(statementsOf(r), 3, 'a retry that fails and schedules the next: the claim, then one batch of 2');
  assert.equal(receiver.attempts.length, n + 1);
  const row = await w.row('SELECT attempts, next_attempt_at, last_status, failed_at FROM webhook_outbox WHERE id = ?', id);
  assert.equal(row.attempts, 2);
  assert.equal(row.last_status, 503);
  assert.equal(row.failed_at, null);
  assert.ok(row.next_attempt_at > now() + 60 && row.next_attempt_at <= now() + 121, JSON.stringify(row));
  const page = await c.follow(r);
  assert.match(rowOf(page.text, id), /Retrying, next /);
  assert.match(rowOf(page.text, id), /<td>503<\/td>/);
  // Unknown: 404. From another site: refused before anything is done.
  const unknown = await c.post('/console/webhooks/evt_nope/retry');
  assert.equal(unknown.status, 404);
  assert.equal(statementsOf(unknown), 3);
  await w.sql('UPDATE webhook_outbox SET next_attempt_at = ? WHERE id = ?', now() - 1, id);
  await c.get('/console/webhooks');
  const cross = await c.post(`/console/webhooks/${id}/retry`, {}, { site: 'cross-site' });
  assert.equal(cross.status, 403);
  assert.equal(statementsOf(cross), 0, 'refused before any D1 statement');
  assert.equal(receiver.attempts.length, n + 1);
});

test('the list: newest first, 50 a page, by app and by state, never the body', async () => {
  const t = now() - 86400;
  const s = [];
  for (let i = 0; i < 60; i++) {
    // Bodies hold what the page must never show (the profile's data, a token-like text).
    const body = JSON.stringify({ id: `evt_p${i}`, type: 'profile.connected', data: { id: `prf_p${i}`, username: `user_secretname_${i}`, note: 'whsec_NOT_SHOWN' } });
    const state = i % 3 === 0 ? { delivered_at: t + i + 5, next: null, failed: null } : i % 3 === 1 ? { delivered_at: null, next: null, failed: t + i + 5 } : { delivered_at: null, next: now() + 3600, failed: null };
    s.push(w.db.prepare('INSERT INTO webhook_outbox (id, app_id, type, body, created_at, attempts, next_attempt_at, delivered_at, failed_at, last_status) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, 500)')
      .bind(`evt_p${String(i).padStart(2, '0')}`, other, 'profile.connected', body, t + i, state.next, state.delivered_at, state.failed));
  }
  await w.db.batch(s);
  const first = await c.get(`/console/webhooks?app=${other}`);
  assert.equal(first.status, 200);
  assert.equal(Number(first.headers.get('x-test-d1-statements')), budget());
  const ids = [...first.text.matchAll(/<tr><th scope="row"><code>(evt_[a-z0-9_]+)<\/code>/g)].map((m) => m[1]);
  assert.equal(ids.length, 50);
  assert.equal(ids[0], 'evt_p59');
  assert.equal(ids[49], 'evt_p10');
  assert.doesNotMatch(first.text, /secretname|whsec_|NOT_SHOWN|&quot;data&quot;/);
  assert.match(first.text, /profile\.connected<br><a href="\/console\/profiles\/prf_p59"><code>prf_p59<\/code><\/a>/);
  assert.match(first.text, new RegExp(`<option value="${other}" selected>Other app</option>`));
  const older = first.text.match(/<a href="(\/console\/webhooks\?[^"]+)">Older<\/a>/);
  assert.ok(older, 'a link to the older rows');
  const second = await c.get(unescapeHtml(older[1]));
  const ids2 = [...second.text.matchAll(/<tr><th scope="row"><code>(evt_[a-z0-9_]+)<\/code>/g)].map((m) => m[1]);
  assert.deepEqual(ids2, ['evt_p09', 'evt_p08', 'evt_p07', 'evt_p06', 'evt_p05', 'evt_p04', 'evt_p03', 'evt_p02', 'evt_p01', 'evt_p00']);
  assert.doesNotMatch(second.text, />Older</);
  assert.match(second.text, />Newest</);
  // By state: given up only (i % 3 === 1), and none of the other app's.
  const gaveUp = await c.get(`/console/webhooks?app=${other}&state=given_up`);
  const g = [...gaveUp.text.matchAll(/<tr><th scope="row"><code>(evt_[a-z0-9_]+)<\/code>/g)].map((m) => Number(m[1].slice(5)));
  assert.equal(g.length, 20);
  assert.ok(g.every((i) => i % 3 === 1), JSON.stringify(g));
  const delivered = await c.get(`/console/webhooks?state=delivered&app=${other}`);
  const d = [...delivered.text.matchAll(/<tr><th scope="row"><code>(evt_[a-z0-9_]+)<\/code>/g)];
  assert.equal(d.length, 20);
  assert.doesNotMatch(delivered.text, /Retry now/);
  // Every app: the hooked app's events are listed too; the other app's filter leaves them out.
  const all = await c.get('/console/webhooks');
  assert.match(all.text, /">Hooked app<\/a><\/td>/);
  assert.doesNotMatch(first.text, /">Hooked app<\/a><\/td>/);
  assert.equal(Number(all.headers.get('x-test-d1-statements')), budget());
});

function budget() {
  const doc = fs.readFileSync(new URL('../../docs/console.md', import.meta.url), 'utf8');
  const n = Number(doc.match(/^\| Webhooks \(`GET \/console\/webhooks`\) \| (\d+) /m)?.[1]);
  assert.equal(n, 2);
  return n;
}
