// The connect flow on the real runtime: sandbox consent, callback, state handling, storage.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker, challengeOf } from './harness.mjs';

let w;
before(async () => { w = await startWorker(); });
after(async () => { await w?.stop(); });

const REDIRECT = 'http://localhost:3000/connected';

async function profileCount() {
  const r = await w.db.prepare('SELECT COUNT(*) AS n FROM profiles').first();
  return r.n;
}

test('approve flow ends on the app redirect with a profile id and the app state', async () => {
  const { api_key } = await w.createApp('Approve app', [REDIRECT]);
  const link = await w.createLink(api_key, {
    redirect_url: `${REDIRECT}?tenant=42`,
    state: 'app-state: 1&2',
    external_user_id: 'user-7',
    metadata: { plan: 'pro' },
  });
  assert.match(link.id, /^cl_[0-9a-f]{32}$/);
  assert.equal(link.url, `${w.base}/connect/${link.id}`);
  assert.equal(link.platform, 'sandbox');

  const { back } = await w.consent(link, { username: 'approve-user' });
  const res = await w.callback(back);
  assert.equal(res.status, 302);
  const final = new URL(res.headers.get('location'));
  assert.equal(final.origin + final.pathname, REDIRECT);
  const q = Object.fromEntries(final.searchParams);
  assert.equal(q.tenant, '42', "the app's own query is kept");
  assert.equal(q.connected, 'true');
  assert.match(q.profile_id, /^prf_[0-9a-f]{32}$/);
  assert.equal(q.platform, 'sandbox');
  assert.equal(q.link_id, link.id);
  assert.equal(q.state, 'app-state: 1&2');
  assert.equal(q.error, undefined);

  const list = await w.call('GET', '/v1/profiles', { token: api_key });
  assert.equal(list.status, 200);
  assert.equal(list.body.data.length, 1);
  const p = list.body.data[0];
  assert.equal(p.id, q.profile_id);
  assert.equal(p.username, 'approve-user');
  assert.equal(p.display_name, 'Sandbox approve-user');
  assert.equal(p.external_user_id, 'user-7');
  assert.deepEqual(p.metadata, { plan: 'pro' });
  assert.equal(p.status, 'active');
  assert.deepEqual(p.scopes, ['profile.read', 'offline.access']);
  assert.match(p.access_token_expires_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(list.body.next_cursor, null);
  for (const k of Object.keys(p)) assert.ok(!/token$/.test(k) || k.endsWith('_at'), `no token field: ${k}`);

  const one = await w.call('GET', `/v1/profiles/${q.profile_id}`, { token: api_key });
  assert.equal(one.status, 200);
  assert.deepEqual(one.body, p);

  const status = await w.call('GET', `/v1/connect-links/${link.id}`, { token: api_key });
  assert.equal(status.body.status, 'completed');
  assert.equal(status.body.profile_id, q.profile_id);
  assert.ok(status.body.completed_at);
});

test('deny flow ends with connected=false&error=access_denied and no profile', async () => {
  const { api_key } = await w.createApp('Deny app', [REDIRECT]);
  const before = await profileCount();
  const link = await w.createLink(api_key, { state: 'deny-state' });
  const { back } = await w.consent(link, { decision: 'deny' });
  assert.equal(back.searchParams.get('error'), 'access_denied');
  const res = await w.callback(back);
  assert.equal(res.status, 302);
  const q = Object.fromEntries(new URL(res.headers.get('location')).searchParams);
  assert.deepEqual(q, { connected: 'false', error: 'access_denied', platform: 'sandbox', link_id: link.id, state: 'deny-state' });
  assert.equal(await profileCount(), before);
  const status = await w.call('GET', `/v1/connect-links/${link.id}`, { token: api_key });
  assert.equal(status.body.status, 'failed');
  assert.equal(status.body.error, 'access_denied');
});

test('a replayed callback gets 400 and makes no second profile', async () => {
  const { api_key } = await w.createApp('Replay app', [REDIRECT]);
  const link = await w.createLink(api_key);
  const { back } = await w.consent(link, { username: 'replay-user' });
  const record = await w.kv.get(w.stateKey(back.searchParams.get('state')));
  const first = await w.callback(back);
  assert.equal(first.status, 302);
  const count = await profileCount();
  const again = await w.callback(back);
  assert.equal(again.status, 400);
  assert.match(again.headers.get('content-type'), /text\/html/);
  assert.equal(again.headers.get('location'), null);
  assert.equal(await profileCount(), count);
  // Even with KV still holding the state (its very record put back), D1's consumed-states
  // record refuses it.
  await w.kv.put(w.stateKey(back.searchParams.get('state')), record);
  const third = await w.callback(back);
  assert.equal(third.status, 400);
  assert.equal(await profileCount(), count);
});

test('a state seeded as 11 minutes old is refused', async () => {
  const { api_key } = await w.createApp('Old state app', [REDIRECT]);
  const link = await w.createLink(api_key);
  const { back } = await w.consent(link, { username: 'old-state-user' });
  const key = w.stateKey(back.searchParams.get('state'));
  const record = JSON.parse(await w.kv.get(key));
  record.created_at -= 11 * 60;
  await w.kv.put(key, JSON.stringify(record));
  const count = await profileCount();
  const res = await w.callback(back);
  assert.equal(res.status, 400);
  assert.match(await res.text(), /10 minutes/);
  assert.equal(await profileCount(), count);
});

test('unknown or missing state gets an HTML 400, never a redirect', async () => {
  for (const qs of ['?code=abc&state=nope', '?code=abc', '?error=access_denied']) {
    const r = await fetch(`${w.base}/oauth/callback${qs}`, { redirect: 'manual' });
    assert.equal(r.status, 400, qs);
    assert.equal(r.headers.get('location'), null);
    assert.match(r.headers.get('content-type'), /text\/html/);
  }
});

test('the sandbox receives a verifier that matches the challenge', async () => {
  const { api_key } = await w.createApp('PKCE app', [REDIRECT]);
  const link = await w.createLink(api_key);
  const authorize = new URL(link.authorize_url);
  const challenge = authorize.searchParams.get('code_challenge');
  assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
  const state = authorize.searchParams.get('state');
  assert.equal(Buffer.from(state, 'base64url').length, 32, 'state is 32 random bytes');
  const pending = JSON.parse(await w.kv.get(w.stateKey(state)));
  assert.match(pending.verifier, /^v1\.k1\./, 'the verifier is sealed in KV');
  assert.equal(challengeOf(w.openEnvelope(pending.verifier, w.stateKey(state), 'pkce_verifier')), challenge);

  // The sandbox enforces S256: a wrong verifier is refused, so the flow below succeeding
  // means the worker sent the matching one.
  const { back } = await w.consent(link, { username: 'pkce-user' });
  const wrong = await fetch(`${w.base}/sandbox/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from('sandbox-client:sandbox-secret').toString('base64')}`,
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code: back.searchParams.get('code'),
      redirect_uri: `${w.base}/oauth/callback`, code_verifier: 'A'.repeat(43),
    }),
  });
  assert.equal(wrong.status, 400);
  assert.equal((await wrong.json()).error, 'invalid_grant');

  // That attempt burned the code (codes are single use), so this connect must fail...
  const burned = await w.callback(back);
  assert.equal(new URL(burned.headers.get('location')).searchParams.get('error'), 'exchange_failed');

  // ...and a fresh one with the worker's own verifier succeeds.
  const link2 = await w.createLink(api_key);
  const { back: back2 } = await w.consent(link2, { username: 'pkce-user' });
  const ok = await w.callback(back2);
  assert.equal(new URL(ok.headers.get('location')).searchParams.get('connected'), 'true');
});

test('the same account connected twice keeps one profile id', async () => {
  const { api_key } = await w.createApp('Twice app', [REDIRECT]);
  const ids = [];
  for (const username of ['same-user', 'same-user', 'other-user']) {
    const link = await w.createLink(api_key);
    const { back } = await w.consent(link, { username });
    const res = await w.callback(back);
    ids.push(new URL(res.headers.get('location')).searchParams.get('profile_id'));
  }
  assert.equal(ids[0], ids[1]);
  assert.notEqual(ids[0], ids[2]);
  const list = await w.call('GET', '/v1/profiles', { token: api_key });
  assert.equal(list.body.data.length, 2);
});

test('a declined scope ends in missing_scopes with no profile', async () => {
  const { api_key } = await w.createApp('Scopes app', [REDIRECT]);
  const count = await profileCount();
  const link = await w.createLink(api_key, { scopes: ['profile.read', 'posts.write'] });
  const { back } = await w.consent(link, { dropScopes: ['posts.write'] });
  const res = await w.callback(back);
  const q = new URL(res.headers.get('location')).searchParams;
  assert.equal(q.get('connected'), 'false');
  assert.equal(q.get('error'), 'missing_scopes');
  assert.equal(await profileCount(), count);
});

test('after a connect no D1 table holds the plaintext access or refresh token', async () => {
  const { api_key } = await w.createApp('Plaintext app', [REDIRECT]);
  const link = await w.createLink(api_key);
  const { back } = await w.consent(link, { username: 'plaintext-user' });
  const res = await w.callback(back);
  const profileId = new URL(res.headers.get('location')).searchParams.get('profile_id');
  const grantId = await w.grantOf(profileId);
  assert.match(grantId, /^grn_/, 'a new connect makes a grant with its own id');
  const row = await w.db.prepare('SELECT access_token_enc, refresh_token_enc, token_kid FROM grants WHERE id = ?').bind(grantId).first();
  assert.match(row.access_token_enc, /^v1\.k1\.[A-Za-z0-9_-]+$/);
  assert.match(row.refresh_token_enc, /^v1\.k1\.[A-Za-z0-9_-]+$/);
  assert.equal(row.token_kid, 'k1');
  // The profile holds no token of its own (only an account with its own, like a Page, does).
  const own = await w.db.prepare('SELECT access_token_enc, token_kid FROM profiles WHERE id = ?').bind(profileId).first();
  assert.deepEqual([own.access_token_enc, own.token_kid], [null, null]);

  // Only the keyring opens them, and only for this row (the grant) and field.
  const access = w.openEnvelope(row.access_token_enc, grantId, 'access_token');
  const refresh = w.openEnvelope(row.refresh_token_enc, grantId, 'refresh_token');
  assert.match(access, /^sbx_at_/);
  assert.match(refresh, /^sbx_rt_/);
  assert.throws(() => w.openEnvelope(row.access_token_enc, grantId, 'refresh_token'));
  assert.throws(() => w.openEnvelope(row.access_token_enc, 'prf_other', 'access_token'));
  assert.throws(() => w.openEnvelope(row.access_token_enc, profileId, 'access_token'), 'bound to the grant id, not the profile id');
  // The decrypted token is the live one the sandbox issued.
  const who = await fetch(`${w.base}/sandbox/userinfo`, { headers: { authorization: `Bearer ${access}` } });
  assert.equal(who.status, 200);
  assert.equal((await who.json()).preferred_username, 'plaintext-user');

  for (const { table, value } of await w.allStoredText()) {
    assert.ok(!value.includes(access), `plaintext access token found in ${table}`);
    assert.ok(!value.includes(refresh), `plaintext refresh token found in ${table}`);
  }
});

test('a pending link leaves no live state or verifier in D1', async () => {
  const { api_key } = await w.createApp('State at rest app', [REDIRECT]);
  const link = await w.createLink(api_key);
  const state = new URL(link.authorize_url).searchParams.get('state');
  const sealed = JSON.parse(await w.kv.get(w.stateKey(state))).verifier;
  const verifier = w.openEnvelope(sealed, w.stateKey(state), 'pkce_verifier');
  assert.ok(!(await w.kv.get(w.stateKey(state))).includes(verifier), 'KV holds no plaintext verifier');
  for (const { table, value } of await w.allStoredText()) {
    assert.ok(!value.includes(state), `live state found in ${table}`);
    assert.ok(!value.includes(verifier), `verifier found in ${table}`);
  }
  const open = await fetch(link.url, { redirect: 'manual' });
  assert.equal(open.headers.get('location'), link.authorize_url, 'the short link still leads to the consent screen');
});

test('the short link redirects only while pending: unknown 404, expired 410 (HTML)', async () => {
  const { api_key } = await w.createApp('Short link app', [REDIRECT]);
  const unknown = await fetch(`${w.base}/connect/cl_nope`, { redirect: 'manual' });
  assert.equal(unknown.status, 404);
  assert.match(unknown.headers.get('content-type'), /text\/html/);
  const link = await w.createLink(api_key);
  await w.db.prepare('UPDATE connect_links SET expires_at = ? WHERE id = ?').bind(Math.floor(Date.now() / 1000) - 1, link.id).run();
  const expired = await fetch(link.url, { redirect: 'manual' });
  assert.equal(expired.status, 410);
  assert.equal(expired.headers.get('location'), null);
  assert.match(await expired.text(), /expired/);
  const status = await w.call('GET', `/v1/connect-links/${link.id}`, { token: api_key });
  assert.equal(status.body.status, 'expired');
});
