// The sandbox platform's events: `POST /platform-webhooks/sandbox` verifies Meta's
// `X-Hub-Signature-256` (hex HMAC-SHA256 of the raw body with the sandbox's client secret,
// https://developers.facebook.com/docs/graph-api/webhooks/getting-started, "Validate
// Payloads") before it parses anything, and `POST /sandbox/events` makes the sandbox send one
// for an app's profile through that same receiver.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startWorker } from './harness.mjs';

// The sandbox's fixed client secret (core/src/platforms/sandbox.rs): not a secret.
const SECRET = 'sandbox-secret';
let w;
let app;

before(async () => {
  w = await startWorker();
  app = await w.createApp('Sandbox events app');
});
after(async () => {
  await w?.stop();
});

const sign = (raw, secret = SECRET) => `sha256=${crypto.createHmac('sha256', secret).update(raw).digest('hex')}`;
const now = () => Math.floor(Date.now() / 1000);
/** A Meta-style sandbox body for `account` with `changes` ([field, value] pairs). */
const bodyOf = (account, changes, time = now()) =>
  JSON.stringify({ object: 'sandbox', entry: [{ id: account, time, changes: changes.map(([field, value]) => ({ field, value })) }] });
const post = (raw, signature, opts = {}) =>
  w.call('POST', '/platform-webhooks/sandbox', { raw, headers: { 'content-type': 'application/json', ...(signature ? { 'x-hub-signature-256': signature } : {}) }, ...opts });
const sendEvent = (json, token = app.api_key) => w.call('POST', '/sandbox/events', { token, json });

/** Connects a sandbox login for `key` and claims all three of its accounts (user, 2 Pages). */
async function connect(key, username) {
  const link = await w.createLink(key);
  const { back } = await w.consent(link, { username });
  const res = await w.callback(back, { pick: 'all' });
  return res.claimed.body.data;
}

test('attack: an unsigned, wrongly signed or tampered sandbox event gets 401', async () => {
  const raw = bodyOf('sbx_any', [['feed', { id: 'evt-forged', message: 'x' }]]);
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
});

test('a body over 64 KiB is 413 before its signature is looked at', async () => {
  const raw = bodyOf('sbx_any', [['feed', { id: 'big', message: 'x'.repeat(70 * 1024) }]]);
  const r = await post(raw, sign(raw));
  assert.equal(r.status, 413);
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
