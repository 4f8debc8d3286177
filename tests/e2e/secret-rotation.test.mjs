// Secrets that outlive a rotation. An app rotates its webhook secret: the new one is shown
// once, the old one still signs deliveries for a day (so what is in flight verifies), and an
// app whose secret can no longer be read (sealed under a key that left TOKEN_KEYS) recovers
// by rotating. Meta data deletion confirmation codes stay the same across a TOKEN_KEYS
// rotation (the worker restarted with a new key first, then without the old one).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Webhook } from 'standardwebhooks';
import { startWorker, randomKey, sealWith } from './harness.mjs';
import { PlatformMocks, credentialVars, credsFor } from './platform-mocks.mjs';
import { metaSignedRequest } from './platform-webhook-signers.mjs';
import { until } from './streams.mjs';

const K1 = `k1:${randomKey()}`;
const K2 = `k2:${randomKey()}`;
const mocks = new PlatformMocks();
let w;
let hooks;

/** A receiver that keeps each delivery as sent (headers and raw body), verifying nothing. */
function rawReceiver() {
  const got = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(200, { connection: 'close' }).end('ok');
    });
  });
  return {
    got,
    start: () => new Promise((r) => server.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${server.address().port}/hooks`))),
    stop: () => new Promise((r) => server.close(r)),
  };
}

before(async () => {
  hooks = rawReceiver();
  hooks.url = await hooks.start();
  w = await startWorker({ vars: credentialVars(['facebook']), outbound: mocks.handle, tokenKeys: K1 });
});
after(async () => {
  await w?.stop();
  await hooks?.stop();
});

const now = () => Math.floor(Date.now() / 1000);

/** Makes the app one event (a connect the user declines: `connect_link.failed`) and returns its delivery. */
async function oneDelivery(app) {
  const link = await w.createLink(app.api_key, {});
  const { back } = await w.consent(link, { decision: 'deny' });
  await w.callback(back);
  await until('the delivery', () => hooks.got.some((d) => JSON.parse(d.body).data.link_id === link.id));
  return hooks.got.find((d) => JSON.parse(d.body).data.link_id === link.id);
}

/** Whether `secret` verifies the delivery (the Standard Webhooks reference library). */
function verifies(secret, d) {
  try {
    new Webhook(secret).verify(d.body, { 'webhook-id': d.headers['webhook-id'], 'webhook-timestamp': d.headers['webhook-timestamp'], 'webhook-signature': d.headers['webhook-signature'] });
    return true;
  } catch {
    return false;
  }
}
const signatures = (d) => d.headers['webhook-signature'].split(' ');

test('rotating the webhook secret: shown once, the old one still signs for a day, then only the new one', async () => {
  const app = await w.createApp('Rotating app');
  await w.admin('PATCH', `/v1/admin/apps/${app.app.id}`, { webhook_url: hooks.url });
  const old = app.webhook_secret;
  const before = await oneDelivery(app);
  assert.equal(signatures(before).length, 1);
  assert.ok(verifies(old, before));

  // The old secret's day starts at the rotation: between the clock before and after it.
  const t0 = now();
  const r = await w.admin('POST', `/v1/admin/apps/${app.app.id}/webhook-secret`);
  const t1 = now();
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const fresh = r.body.webhook_secret;
  assert.match(fresh, /^whsec_[A-Za-z0-9+/]{43}=$/);
  assert.notEqual(fresh, old);
  const until24h = Date.parse(r.body.previous_secret_expires_at) / 1000;
  assert.ok(t0 + 86400 <= until24h && until24h <= t1 + 86400, `${r.body.previous_secret_expires_at} not a day after ${t0}..${t1}`);
  assert.equal((await w.admin('GET', `/v1/admin/apps/${app.app.id}`)).text.includes(fresh), false, 'shown this once');

  // Within the day: both signatures; a receiver with either secret verifies.
  const during = await oneDelivery(app);
  assert.equal(signatures(during).length, 2);
  assert.ok(verifies(fresh, during), 'the new secret verifies');
  assert.ok(verifies(old, during), 'the old secret still verifies');
  assert.ok(!verifies(`whsec_${randomKey()}`, during));

  // The day is over (seeded): only the new secret signs, and the cron forgets the old one.
  await w.sql('UPDATE apps SET webhook_secret_prev_until = ? WHERE id = ?', now() - 1, app.app.id);
  const after = await oneDelivery(app);
  assert.equal(signatures(after).length, 1);
  assert.ok(verifies(fresh, after));
  assert.ok(!verifies(old, after), 'the old secret signs no more');
  await w.cron();
  assert.deepEqual(await w.row('SELECT webhook_secret_prev_enc, webhook_secret_prev_until FROM apps WHERE id = ?', app.app.id), { webhook_secret_prev_enc: null, webhook_secret_prev_until: null });

  // The route as the contract has it.
  assert.equal((await w.admin('POST', '/v1/admin/apps/app_nope/webhook-secret')).status, 404);
  assert.equal((await w.admin('GET', `/v1/admin/apps/${app.app.id}/webhook-secret`, undefined, { unchecked: true })).status, 405);
  assert.equal((await w.call('POST', `/v1/admin/apps/${app.app.id}/webhook-secret`, { token: app.api_key })).status, 401);
});

test('an app whose webhook secret cannot be read recovers by rotating: its deliveries sign again', async () => {
  const app = await w.createApp('Unreadable app');
  await w.admin('PATCH', `/v1/admin/apps/${app.app.id}`, { webhook_url: hooks.url });
  // Sealed under a key that is not in TOKEN_KEYS (removed before the re-encryption reached it).
  const gone = `k0:${randomKey()}`;
  await w.sql('UPDATE apps SET webhook_secret_enc = ? WHERE id = ?', sealWith(gone, app.webhook_secret, app.app.id, 'webhook_secret', 'k0'), app.app.id);
  const link = await w.createLink(app.api_key, {});
  const { back } = await w.consent(link, { decision: 'deny' });
  await w.callback(back);
  // The app's one event so far; its id is kept, since the delivery below makes a second one
  // of the same type (a query by type alone would then return either).
  const first = await w.row("SELECT id FROM webhook_outbox WHERE app_id = ? AND type = 'connect_link.failed'", app.app.id);
  const failed = async () => w.row('SELECT id, attempts, delivered_at FROM webhook_outbox WHERE id = ?', first.id);
  await until('the attempt', async () => (await failed())?.attempts === 1);
  assert.equal((await failed()).delivered_at, null, 'never sent unsigned');
  assert.equal(hooks.got.filter((d) => JSON.parse(d.body).data.link_id === link.id).length, 0);

  const r = await w.admin('POST', `/v1/admin/apps/${app.app.id}/webhook-secret`);
  assert.equal(r.status, 200);
  assert.equal(r.body.previous_secret_expires_at, null, 'nothing left to sign with');
  const d = await oneDelivery(app);
  assert.equal(signatures(d).length, 1);
  assert.ok(verifies(r.body.webhook_secret, d));
  // The event that failed goes out on its retry, signed with the new secret.
  await w.sql('UPDATE webhook_outbox SET next_attempt_at = ? WHERE id = ?', now() - 1, first.id);
  await w.cron();
  const retried = hooks.got.find((x) => JSON.parse(x.body).data.link_id === link.id);
  assert.ok(retried, 'the failed event went out on its retry');
  assert.equal(retried.headers['webhook-id'], first.id);
  assert.ok(verifies(r.body.webhook_secret, retried), 'signed with the new secret');
  assert.equal((await failed()).attempts, 2);
  assert.notEqual((await failed()).delivered_at, null);
});

test('Meta data deletion codes stay the same across a TOKEN_KEYS rotation, and so does the previous webhook secret', async () => {
  const app = await w.createApp('Keys app');
  await w.admin('PATCH', `/v1/admin/apps/${app.app.id}`, { webhook_url: hooks.url });
  const old = app.webhook_secret;
  const fresh = (await w.admin('POST', `/v1/admin/apps/${app.app.id}/webhook-secret`)).body.webhook_secret;
  const signed = metaSignedRequest({ algorithm: 'HMAC-SHA256', issued_at: now(), user_id: '10gone' }, credsFor('facebook').secret);
  const ask = async () => {
    const res = await fetch(`${w.base}/platform-webhooks/meta/data-deletion`, { method: 'POST', body: new URLSearchParams({ signed_request: signed }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(res.status, 200);
    return (await res.json()).confirmation_code;
  };
  const code = await ask();
  assert.match(code, /^[0-9a-f]{20}$/);

  // An operator rotates: the new key first, the old one kept while rows move over.
  await w.restart({ TOKEN_KEYS: `${K2},${K1}` });
  assert.equal(await ask(), code, 'the same code under the new key');
  const usage = async () => Object.fromEntries((await w.admin('GET', '/v1/admin/keys')).body.data.map((u) => [u.kid, u]));
  assert.equal((await usage()).k1.removable, false, 'k1 still seals secrets');
  await w.cron();
  assert.equal((await usage()).k1.removable, true, 'everything moved to k2');
  // The old key goes: the code, and both webhook secrets, still work.
  await w.restart({ TOKEN_KEYS: K2 });
  assert.equal(await ask(), code, 'the same code without the old key');
  const d = await oneDelivery(app);
  assert.equal(signatures(d).length, 2);
  assert.ok(verifies(fresh, d) && verifies(old, d));
  const page = await fetch(`${w.base}/platform-webhooks/meta/deletion-status/${code}`);
  assert.equal(page.status, 200);
});
