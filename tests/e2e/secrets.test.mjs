// Secrets on the real runtime (issue #8): nothing secret in the worker's own log output,
// a sealed PKCE verifier, no unsigned webhook, and key rotation that can finish.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker, randomKey } from './harness.mjs';
import { PlatformMocks, credsFor, credentialVars } from './platform-mocks.mjs';
import { WebhookReceiver } from './webhook-receiver.mjs';

const REDIRECT = 'https://app.example.com/connected';
const now = () => Math.floor(Date.now() / 1000);
const mocks = new PlatformMocks();
const receiver = new WebhookReceiver();
let w;

before(async () => {
  await receiver.start();
  const vars = { ...credentialVars(['x', 'youtube']), PLATFORM_TIMEOUT_MS: '2000' };
  w = await startWorker({ vars, outbound: mocks.handle, captureLogs: true, tokenKeys: `k2:${randomKey()},k1:${randomKey()}` });
});
after(async () => {
  await w?.stop();
  await receiver.stop();
});

// Every secret value the run below meets; the last test scans the worker's whole log output
// (this file's every test: the run, the tampered verifier, the unsigned webhook, the key
// rotation) for each of them.
const secrets = [];
const keep = (label, v) => { if (v) secrets.push([label, v]); };

test('a whole run: admin calls, connects and claims, sandbox and app callback, refresh, rotation, failures, delete, webhooks', async () => {
  // Admin calls.
  const created = await w.admin('POST', '/v1/admin/apps', { name: 'Log app', allowed_redirect_urls: [REDIRECT], webhook_url: receiver.url });
  assert.equal(created.status, 201);
  const app = created.body;
  receiver.useSecret(app.webhook_secret);
  keep('api key', app.api_key);
  keep('webhook secret', app.webhook_secret);
  keep('webhook secret key', app.webhook_secret.slice('whsec_'.length));
  const key2 = await w.admin('POST', `/v1/admin/apps/${app.app.id}/api-keys`);
  assert.equal(key2.status, 201);
  keep('second api key', key2.body.api_key);
  assert.equal((await w.admin('PATCH', `/v1/admin/apps/${app.app.id}`, { name: 'Log app 2' })).body.name, 'Log app 2');
  assert.equal((await w.admin('GET', '/v1/admin/apps')).status, 200);
  assert.equal((await w.admin('GET', '/v1/admin/keys')).status, 200);
  assert.equal((await w.call('GET', '/v1/admin/apps', { token: 'adm_wrong' })).status, 401);
  // Connects, with their claims.
  const ids = {};
  for (const [platform, user] of [['x', 'logged'], ['youtube', 'logged-yt'], ['x', 'logged-2']]) {
    const r = await w.connectWithMock(mocks, app.api_key, platform, { user, redirect: REDIRECT });
    assert.equal(r.q.connected, 'true', `${platform} ${user} connected (and claimed: connectWithMock checks the claim)`);
    keep('state', new URL(r.link.authorize_url).searchParams.get('state'));
    keep('connect token', r.q.connect_token);
    ids[user] = r.q.profile_id;
  }
  // The sandbox, through the hosted callback and through an app callback.
  const sbx = await w.createLink(app.api_key, { redirect_url: REDIRECT });
  keep('state', new URL(sbx.authorize_url).searchParams.get('state'));
  const { back: sbxBack } = await w.consent(sbx, { username: 'logged-sbx' });
  keep('code', sbxBack.searchParams.get('code'));
  const sbxRes = await w.callback(sbxBack);
  assert.equal(new URL(sbxRes.headers.get('location')).searchParams.get('connected'), 'true');
  assert.equal(sbxRes.claimed.status, 200);
  keep('connect token', new URL(sbxRes.headers.get('location')).searchParams.get('connect_token'));
  const appCb = await w.createLink(app.api_key, { redirect_url: REDIRECT, callback: 'app' });
  const { back: appBack } = await w.consent(appCb, { username: 'logged-app-cb' });
  keep('state', appBack.searchParams.get('state'));
  keep('code', appBack.searchParams.get('code'));
  const exchanged = await w.call('POST', '/v1/oauth/exchange', { token: app.api_key, json: { code: appBack.searchParams.get('code'), state: appBack.searchParams.get('state') } });
  assert.equal(exchanged.status, 201);
  // Refresh with rotation (cron and on demand), a failed refresh, a terminal one.
  const rotated = (await w.tokensOf(ids.logged)).refresh;
  await w.makeDue(ids.logged);
  await w.cron();
  assert.equal(mocks.tokens.get(rotated).revoked, true, 'the cron refreshed with the stored refresh token (X kills it on use)');
  assert.notEqual((await w.tokensOf(ids.logged)).refresh, rotated, 'and stored the rotated one');
  assert.equal((await w.call('POST', `/v1/profiles/${ids['logged-yt']}/refresh`, { token: app.api_key })).status, 200);
  const access = await w.call('GET', `/v1/profiles/${ids.logged}/access-token`, { token: app.api_key });
  assert.equal(access.body.access_token, (await w.tokensOf(ids.logged)).access);
  keep('served access token', access.body.access_token);
  mocks.failNext('x', 'token', () => new Response('down', { status: 503 }));
  const failed = await w.call('POST', `/v1/profiles/${ids.logged}/refresh`, { token: app.api_key });
  assert.equal(failed.status, 502, 'an outage at X: a transient failure');
  for (const t of mocks.tokens.keys()) if (t.startsWith('xrt_')) mocks.tokens.get(t).revoked = true;
  const terminal = await w.call('POST', `/v1/profiles/${ids['logged-2']}/refresh`, { token: app.api_key });
  assert.equal(terminal.status, 409, 'a dead grant: disconnected');
  const statuses = await w.db.prepare('SELECT id, status, disconnect_reason FROM profiles WHERE id IN (?, ?)').bind(ids.logged, ids['logged-2']).all();
  assert.deepEqual(Object.fromEntries(statuses.results.map((p) => [p.id, [p.status, p.disconnect_reason]])),
    { [ids.logged]: ['active', null], [ids['logged-2']]: ['disconnected', 'invalid_grant'] });
  // Delete, webhooks settled.
  assert.equal((await w.call('DELETE', `/v1/profiles/${ids['logged-yt']}`, { token: app.api_key })).status, 204);
  await w.settled();
  for (const [type, id] of [...Object.values(ids).map((id) => ['profile.connected', id]), ['profile.refresh_failed', ids.logged],
    ['profile.disconnected', ids['logged-2']], ['profile.deleted', ids['logged-yt']]]) {
    assert.equal(receiver.of(type, id).length, 1, `${type} delivered for ${id}`);
  }
  assert.equal(receiver.rejected ?? 0, 0, 'every delivery verified');
});

test('the PKCE verifier in KV is sealed to its own state', async () => {
  const app = await w.createApp('Verifier app', [REDIRECT]);
  const a = await w.createLink(app.api_key, { redirect_url: REDIRECT });
  const b = await w.createLink(app.api_key, { redirect_url: REDIRECT });
  const stateA = new URL(a.authorize_url).searchParams.get('state');
  const stateB = new URL(b.authorize_url).searchParams.get('state');
  const recordA = JSON.parse(await w.kv.get(w.stateKey(stateA)));
  const recordB = JSON.parse(await w.kv.get(w.stateKey(stateB)));
  assert.match(recordA.verifier, /^v1\.k2\./, 'sealed under the current key');
  // Whoever can read and write KV puts B's sealed verifier into A's record: it does not open.
  await w.kv.put(w.stateKey(stateA), JSON.stringify({ ...recordA, verifier: recordB.verifier }));
  const { back } = await w.consent(a, { username: 'swapped' });
  const res = await w.callback(back);
  assert.equal(res.status, 400, 'a verifier sealed for another state is refused');
  assert.equal(res.headers.get('location'), null);
  // The untouched link still works.
  const { back: backB } = await w.consent(b, { username: 'intact' });
  assert.equal((await w.callback(backB)).status, 302);
});

test('a webhook whose secret cannot be used is never sent unsigned; the outbox keeps it', async () => {
  const created = await w.admin('POST', '/v1/admin/apps', { name: 'Bad secret app', allowed_redirect_urls: [REDIRECT], webhook_url: receiver.url });
  const appId = created.body.app.id;
  // Readable, but not a whsec_ secret: it cannot sign.
  await w.sql('UPDATE apps SET webhook_secret_enc = ? WHERE id = ?', w.sealEnvelope('not-a-secret', appId, 'webhook_secret', 'k2'), appId);
  await w.sql("INSERT INTO webhook_outbox (id, app_id, type, body, created_at, next_attempt_at) VALUES ('evt_unsignable', ?, 'profile.deleted', '{}', ?, ?)", appId, now(), now() - 1);
  const before = receiver.attempts.length;
  await w.cron();
  assert.equal(receiver.attempts.length, before, 'no request reached the receiver');
  const row = await w.row("SELECT attempts, next_attempt_at, delivered_at FROM webhook_outbox WHERE id = 'evt_unsignable'");
  assert.equal(row.attempts, 1);
  assert.equal(row.delivered_at, null);
  assert.ok(row.next_attempt_at > now(), 'kept for a retry');
});

test('key rotation can finish: unreadable rows are skipped and counted, GET /v1/admin/keys shows each kid', async () => {
  const app = await w.createApp('Rotation app', [REDIRECT]);
  const t = now();
  // Each seeded row: a grant holding the token and one profile under it (no token of its
  // own), both with this id, so the envelope is sealed for the id (as migrated rows are).
  const insert = (id, env, kid) => [
    w.db.prepare(
      "INSERT INTO grants (id, app_id, platform, platform_user_id, status, scopes, access_token_enc, token_kid, token_issued_at, next_refresh_at, created_at, updated_at) VALUES (?, ?, 'x', ?, 'disconnected', '[]', ?, ?, ?, NULL, ?, ?)",
    ).bind(id, app.app.id, id, env, kid, t, t, t),
    w.db.prepare(
      "INSERT INTO profiles (id, app_id, grant_id, platform, platform_user_id, status, scopes, created_at, updated_at) VALUES (?, ?, ?, 'x', ?, 'disconnected', '[]', ?, ?)",
    ).bind(id, app.app.id, id, id, t, t),
  ];
  const stmts = [];
  // More corrupt rows under k1 than one batch, sorted first: they used to hold the batch forever.
  for (let i = 0; i < 60; i++) {
    const id = `prf_rot_a${String(i).padStart(27, '0')}`;
    stmts.push(...insert(id, w.sealEnvelope('at', 'prf_other', 'access_token', 'k1'), 'k1'));
  }
  for (let i = 0; i < 5; i++) {
    const id = `prf_rot_z${String(i).padStart(27, '0')}`;
    stmts.push(...insert(id, w.sealEnvelope(`token-${i}`, id, 'access_token', 'k1'), 'k1'));
  }
  // Under a key that left TOKEN_KEYS: nothing can open it.
  stmts.push(...insert('prf_rot_gone0000000000000000000000', 'v1.k0.AAAA', 'k0'));
  await w.db.batch(stmts);

  await w.cron();
  await w.cron();
  const good = await w.db.prepare("SELECT id, access_token_enc, token_kid FROM grants WHERE id LIKE 'prf_rot_z%'").all();
  assert.equal(good.results.length, 5);
  for (const r of good.results) {
    assert.equal(r.token_kid, 'k2', `${r.id} re-encrypted`);
    assert.match(w.openEnvelope(r.access_token_enc, r.id, 'access_token'), /^token-\d$/);
  }
  const keys = await w.admin('GET', '/v1/admin/keys');
  assert.equal(keys.status, 200);
  // Each key id once, in key id order (TOKEN_KEYS lists k2 first; k0 is found only in D1).
  assert.deepEqual(keys.body.data.map((k) => k.kid), ['k0', 'k1', 'k2']);
  const byKid = Object.fromEntries(keys.body.data.map((k) => [k.kid, k]));
  assert.equal(byKid.k1.profiles, 60);
  assert.equal(byKid.k1.unreadable, 60);
  assert.equal(byKid.k1.removable, false);
  assert.equal(byKid.k1.in_keyring, true);
  assert.equal(byKid.k0.in_keyring, false);
  assert.equal(byKid.k0.profiles, 1);
  assert.equal(byKid.k2.current, true);
  assert.ok(byKid.k2.profiles >= 5);
  assert.equal((await w.call('GET', '/v1/admin/keys')).status, 401);

  // A reconnect of an unreadable profile writes fresh tokens and clears its mark.
  const live = (await w.connectWithMock(mocks, app.api_key, 'x', { user: 'unreadable-then-fixed', redirect: REDIRECT })).q.profile_id;
  await w.sql('UPDATE grants SET access_token_enc = ?, token_kid = ? WHERE id = (SELECT grant_id FROM profiles WHERE id = ?)', w.sealEnvelope('at', 'prf_other', 'access_token', 'k1'), 'k1', live);
  await w.cron();
  assert.ok((await w.grantRow(live, 'reencrypt_failed_at')).reencrypt_failed_at, 'marked');
  await w.connectWithMock(mocks, app.api_key, 'x', { user: 'unreadable-then-fixed', redirect: REDIRECT, linkFields: { profile_id: live } });
  const fixed = await w.grantRow(live, 'reencrypt_failed_at, token_kid');
  assert.deepEqual([fixed.reencrypt_failed_at, fixed.token_kid], [null, 'k2']);

  // Once the unreadable rows are dealt with (here: deleted), k1 can go.
  await w.sql("DELETE FROM profiles WHERE id LIKE 'prf_rot_%'");
  await w.sql("DELETE FROM grants WHERE id LIKE 'prf_rot_%'");
  const after = Object.fromEntries((await w.admin('GET', '/v1/admin/keys')).body.data.map((k) => [k.kid, k]));
  assert.deepEqual([after.k1.profiles, after.k1.apps, after.k1.pending_links, after.k1.removable], [0, 0, 0, true]);
  assert.equal(after.k0, undefined, 'a kid neither in TOKEN_KEYS nor in D1 is not listed');
});

test("the worker's log output over this whole file holds no token, code, verifier, state, secret, key or admin token", async () => {
  await w.settled();
  for (const t of mocks.tokens.keys()) keep('platform token', t);
  for (const c of mocks.calls) {
    keep('code', c.form.code || c.query.code);
    keep('verifier', c.form.code_verifier);
  }
  // Every token the worker holds (the sandbox's included), opened with the test's own keys:
  // the grants' (sealed for the grant id), and any account's own token (for the profile id).
  const held = [
    ...(await w.db.prepare("SELECT id, access_token_enc, refresh_token_enc FROM grants WHERE access_token_enc LIKE 'v1.k2.%' OR access_token_enc LIKE 'v1.k1.%'").all()).results,
    ...(await w.db.prepare("SELECT id, access_token_enc, NULL AS refresh_token_enc FROM profiles WHERE access_token_enc LIKE 'v1.k2.%' OR access_token_enc LIKE 'v1.k1.%'").all()).results,
  ];
  for (const r of held) {
    for (const [field, env] of [['access_token', r.access_token_enc], ['refresh_token', r.refresh_token_enc]]) {
      try { keep(`stored ${field}`, env && w.openEnvelope(env, r.id, field)); } catch { /* a row the rotation test corrupted on purpose */ }
    }
  }
  for (const id of ['x', 'youtube']) keep('client secret', credsFor(id).secret);
  keep('admin token', w.bindings.ADMIN_TOKEN);
  for (const entry of w.bindings.TOKEN_KEYS.split(',')) keep('TOKEN_KEYS material', entry.split(':')[1]);
  assert.ok(secrets.some(([l]) => l === 'verifier') && secrets.some(([l]) => l === 'code') && secrets.some(([l]) => l === 'stored access_token'));

  const logs = w.logs.join('');
  assert.match(logs, /"event":"platform_call"/, "the capture holds the worker's log lines");
  for (const event of ['webhook_delivery', 'refresh_failed', 'reencrypt_failed']) {
    assert.match(logs, new RegExp(`"event":"${event}"`), `the run logged ${event}`);
  }
  for (const [label, value] of secrets) {
    assert.ok(!logs.includes(value), `${label} found in the worker's log output`);
  }
  // And by shape, for any such value the test did not see.
  for (const [label, shape] of [['API key', /ck_[A-Za-z0-9_-]{20}/], ['webhook secret', /whsec_/], ['sandbox token', /sbx_(at|rt)_/], ['admin token', /adm_[0-9a-f]{16}/]]) {
    assert.doesNotMatch(logs, shape, `${label} found in the worker's log output`);
  }
});
