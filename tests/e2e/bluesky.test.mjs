// Bluesky with app passwords (issue 12), on the real runtime against mock Bluesky services
// in the XRPC dialect: handle -> DID -> PDS resolution (every host checked before it is
// called), createSession on the account's own PDS, the session's JWTs stored encrypted (the
// app password never), rotating refresh from the cron, terminal refresh failures, clear
// errors for wrong passwords and email 2FA, revocation, and the proxy to the PDS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';
import { PlatformMocks, chainOutbound } from './platform-mocks.mjs';
import { BlueskyMocks, PDS_HOSTS } from './mocks-bluesky.mjs';
import { until } from './streams.mjs';

const [PDS, SELF_PDS] = PDS_HOSTS;

const mocks = new PlatformMocks();
const bsky = new BlueskyMocks();
let w;
let app;

const outbound = chainOutbound(bsky, mocks);

before(async () => {
  w = await startWorker({ vars: { PLATFORM_TIMEOUT_MS: '3000' }, outbound, captureLogs: true });
  app = await w.createApp('Bluesky app', ['https://app.example.com/cb']);
});
after(async () => { await w?.stop(); });

const post = (credentials, extra = {}) => w.call('POST', '/v1/profiles', { token: app.api_key, json: { platform: 'bluesky', credentials, ...extra } });
const profile = async (id) => (await w.call('GET', `/v1/profiles/${id}`, { token: app.api_key })).body;
const count = async (table) => (await w.row(`SELECT COUNT(*) AS n FROM ${table}`)).n;
const jwtPayload = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

test('a handle and an app password connect the account on its own PDS; the password is never stored', async () => {
  const a = bsky.addAccount({ handle: 'alice.bsky.social', appPasswords: ['abcd-efgh-ijkl-mnop'], displayName: 'Alice', avatar: 'https://cdn.bsky.app/img/avatar/alice.jpg' });
  const r = await post({ identifier: '@Alice.bsky.social', app_password: 'abcd-efgh-ijkl-mnop' }, { external_user_id: 'u-alice' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.platform, 'bluesky');
  assert.equal(r.body.platform_user_id, a.did);
  assert.equal(r.body.username, 'alice.bsky.social');
  assert.equal(r.body.display_name, 'Alice');
  assert.equal(r.body.avatar_url, 'https://cdn.bsky.app/img/avatar/alice.jpg');
  assert.equal(r.body.instance, PDS);
  assert.equal(r.body.external_user_id, 'u-alice');
  // Expiry from the access JWT's own `exp`.
  const { access, refresh } = await w.tokensOf(r.body.id);
  assert.equal(Date.parse(r.body.access_token_expires_at) / 1000, jwtPayload(access).exp);
  const grant = await w.grantRow(r.body.id, 'refresh_token_expires_at, next_refresh_at, instance');
  assert.equal(grant.refresh_token_expires_at, jwtPayload(refresh).exp);
  assert.equal(grant.instance, PDS);
  // A quarter of what is left of a 2 h token: 30 min before expiry (a second less when the
  // store happened in the second after the sign-in).
  assert.ok([1799, 1800].includes(jwtPayload(access).exp - grant.next_refresh_at), 'a 2 h token is refreshed 30 min before expiry');
  // Resolution went handle -> DID -> PDS, and the sign-in to that PDS only.
  const session = bsky.calls.filter((c) => c.endpoint === 'createSession');
  assert.equal(session.length, 1);
  assert.equal(session[0].host, PDS);
  assert.equal(bsky.count('resolveHandle'), 1);
  assert.equal(bsky.count('plc'), 1);
  // Nothing in D1 holds the app password.
  for (const table of ['grants', 'profiles', 'connect_links', 'webhook_outbox']) {
    const dump = JSON.stringify((await w.db.prepare(`SELECT * FROM ${table}`).all()).results);
    assert.equal(dump.includes('abcd-efgh-ijkl-mnop'), false, table);
  }
  assert.equal(w.logs.join('').includes('abcd-efgh-ijkl-mnop'), false, 'nor any log line');
  assert.equal(w.logs.join('').includes(access), false, 'no token in the logs');
});

test('a did:web account on a self-hosted PDS connects by its DID', async () => {
  const a = bsky.addAccount({ handle: 'selfhosted.social', didWeb: true, pds: SELF_PDS, appPasswords: ['pw-self'] });
  const r = await post({ identifier: a.did, app_password: 'pw-self' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.platform_user_id, a.did);
  assert.equal(r.body.instance, SELF_PDS);
  assert.equal(bsky.calls.filter((c) => c.endpoint === 'didWeb').at(-1).host, 'selfhosted.social');
});

test('the cron refreshes with the refresh JWT, which rotates each time', async () => {
  bsky.addAccount({ handle: 'rotor.bsky.social', appPasswords: ['pw-rotor'] });
  const r = await post({ identifier: 'rotor.bsky.social', app_password: 'pw-rotor' });
  assert.equal(r.status, 201);
  for (let round = 0; round < 2; round++) {
    const before = await w.tokensOf(r.body.id);
    const calls = bsky.count('refreshSession');
    await w.makeDue(r.body.id);
    await w.cron();
    assert.equal(bsky.count('refreshSession'), calls + 1, `round ${round}`);
    const call = bsky.calls.filter((c) => c.endpoint === 'refreshSession').at(-1);
    assert.equal(call.host, PDS);
    assert.equal(call.headers.authorization, `Bearer ${before.refresh}`);
    const after = await w.tokensOf(r.body.id);
    assert.notEqual(after.refresh, before.refresh, 'the new refresh JWT is stored');
    // (The access JWT may come out byte-identical within one second: it has no jti.)
    assert.deepEqual(bsky.liveRefreshTokens('rotor.bsky.social'), [jwtPayload(after.refresh).jti], 'the old one is dead at the PDS');
  }
  assert.equal((await profile(r.body.id)).status, 'active');
});

test('a revoked app password and an expired refresh JWT are terminal: the profile is disconnected', async () => {
  bsky.addAccount({ handle: 'revoked.bsky.social', appPasswords: ['pw-gone'] });
  const r1 = await post({ identifier: 'revoked.bsky.social', app_password: 'pw-gone' });
  bsky.revokeAppPassword('revoked.bsky.social');
  await w.makeDue(r1.body.id);
  await w.cron();
  const p1 = await profile(r1.body.id);
  assert.equal(p1.status, 'disconnected');
  assert.equal(p1.disconnect_reason, 'revoked');

  // A refresh JWT issued for a minute, then the PDS's clock a little past it.
  bsky.refreshTtl = 60;
  bsky.addAccount({ handle: 'expiring.bsky.social', appPasswords: ['pw-exp'] });
  const r2 = await post({ identifier: 'expiring.bsky.social', app_password: 'pw-exp' });
  bsky.refreshTtl = 90 * 86400;
  bsky.advance(120);
  try {
    await w.makeDue(r2.body.id);
    await w.cron();
  } finally {
    bsky.advance(-120);
  }
  const refreshed = bsky.calls.filter((c) => c.endpoint === 'refreshSession').at(-1);
  assert.equal(refreshed.host, PDS);
  assert.equal((await profile(r2.body.id)).status, 'disconnected');
});

test('wrong passwords, email 2FA, takedowns and unknown handles get clear 422s and store nothing', async () => {
  bsky.addAccount({ handle: 'careful.bsky.social', password: 'main-pw', appPasswords: ['pw-careful'], email2fa: true });
  bsky.addAccount({ handle: 'gone.bsky.social', appPasswords: ['pw-gone2'], takendown: true });
  const before = { links: await count('connect_links'), profiles: await count('profiles'), grants: await count('grants') };
  for (const [credentials, code] of [
    [{ identifier: 'careful.bsky.social', app_password: 'wrong-pw' }, 'invalid_credentials'],
    [{ identifier: 'careful.bsky.social', app_password: 'main-pw' }, 'app_password_required'],
    [{ identifier: 'gone.bsky.social', app_password: 'main-password' }, 'account_unavailable'],
    [{ identifier: 'nobody.bsky.social', app_password: 'x' }, 'invalid_credentials'],
  ]) {
    const r = await post(credentials);
    assert.equal(r.status, 422, `${credentials.identifier}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.code, code, credentials.identifier);
    assert.equal(r.text.includes(credentials.app_password), false, 'the password is not echoed');
  }
  assert.match((await post({ identifier: 'careful.bsky.social', app_password: 'main-pw' })).body.error.message, /app password/);
  assert.deepEqual({ links: await count('connect_links'), profiles: await count('profiles'), grants: await count('grants') }, before);
});

test('malformed identifiers are 400 before any call; hostile DID documents never send the password anywhere', async () => {
  const calls = bsky.calls.length;
  const loopback = mocks.loopback.length;
  for (const credentials of [
    { identifier: 'alice@example.com', app_password: 'x' },
    { identifier: 'not a handle', app_password: 'x' },
    { identifier: 'alice.test', app_password: 'x' },
    { identifier: 'did:key:z6Mk', app_password: 'x' },
    { identifier: 'did:web:127.0.0.1', app_password: 'x' },
    { identifier: 'did:web:localhost', app_password: 'x' },
    { identifier: 'alice.bsky.social' },
    { identifier: 'alice.bsky.social', app_password: 'x', password: 'y' },
  ]) {
    const r = await post(credentials);
    assert.equal(r.status, 400, JSON.stringify(credentials));
  }
  assert.equal(bsky.calls.length, calls, 'no call made');
  // A DID document that points the PDS at a private or plain-http host.
  for (const [handle, endpoint] of [['evil1.bsky.social', 'http://pds.evil.social'], ['evil2.bsky.social', 'https://127.0.0.1'], ['evil3.bsky.social', 'https://localhost'], ['evil4.bsky.social', 'https://pds.evil.social:8443']]) {
    const a = bsky.addAccount({ handle, appPasswords: ['pw-evil'] });
    bsky.setDidDocument(a.did, { ...bsky.didDocument(a.did), service: [{ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: endpoint }] });
    const r = await post({ identifier: handle, app_password: 'pw-evil' });
    assert.equal(r.status, 422, handle);
    assert.equal(r.body.error.code, 'account_unavailable', handle);
  }
  // A handle whose account does not name it back.
  const liar = bsky.addAccount({ handle: 'liar.bsky.social', appPasswords: ['pw-liar'] });
  bsky.setDidDocument(liar.did, { ...bsky.didDocument(liar.did), alsoKnownAs: ['at://someone-else.bsky.social'] });
  const r = await post({ identifier: 'liar.bsky.social', app_password: 'pw-liar' });
  assert.equal(r.status, 422);
  assert.equal(r.body.error.code, 'invalid_credentials');
  const dids = [liar.did, ...['evil1', 'evil2', 'evil3', 'evil4'].map((h) => bsky.accountByHandle(`${h}.bsky.social`).did)];
  const sessions = bsky.calls.filter((c) => c.endpoint === 'createSession' && dids.some((d) => JSON.stringify(c.body ?? '').includes(d)));
  assert.equal(sessions.length, 0, 'no sign-in was attempted for them');
  assert.equal(mocks.calls.length, 0, 'and nothing went anywhere else');
  assert.equal(mocks.loopback.length, loopback, 'not even to this machine');
});

test('the proxy calls the PDS; an expired access JWT (400 ExpiredToken) refreshes once and retries', async () => {
  bsky.addAccount({ handle: 'proxied.bsky.social', appPasswords: ['pw-proxy'] });
  const r = await post({ identifier: 'proxied.bsky.social', app_password: 'pw-proxy' });
  const call = () => fetch(`${w.base}/v1/profiles/${r.body.id}/proxy/xrpc/com.atproto.server.getSession`, { headers: { authorization: `Bearer ${app.api_key}` } });
  const ok = await call();
  assert.equal(ok.status, 200);
  assert.equal((await ok.json()).handle, 'proxied.bsky.social');
  assert.equal(bsky.calls.filter((c) => c.endpoint === 'getSession').at(-1).host, PDS);
  const refreshes = bsky.count('refreshSession');
  bsky.advance(7300); // the access JWT is past its exp at the PDS; the worker did not know
  try {
    const res = await call();
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-connect-links-refreshed'), 'true');
    assert.equal(bsky.count('refreshSession'), refreshes + 1);
  } finally {
    bsky.advance(-7300);
  }
});

test('DELETE ends the session at the PDS with the refresh JWT', async () => {
  bsky.addAccount({ handle: 'leaving.bsky.social', appPasswords: ['pw-leave'] });
  const r = await post({ identifier: 'leaving.bsky.social', app_password: 'pw-leave' });
  const { refresh } = await w.tokensOf(r.body.id);
  const del = await w.call('DELETE', `/v1/profiles/${r.body.id}`, { token: app.api_key });
  assert.equal(del.status, 204);
  await w.settled();
  const call = bsky.calls.filter((c) => c.endpoint === 'deleteSession').at(-1);
  assert.ok(call);
  assert.equal(call.host, PDS);
  assert.equal(call.headers.authorization, `Bearer ${refresh}`);
  assert.deepEqual(bsky.liveRefreshTokens('leaving.bsky.social'), []);
});

test('signed in by DID, the username is only a handle that resolves back to that DID', async () => {
  // Mallory's own did:web document claims Alice's handle; the AppView says that handle is Alice's.
  const alice = bsky.accountByHandle('alice.bsky.social');
  const mallory = bsky.addAccount({ handle: 'mallory.social', didWeb: true, pds: SELF_PDS, appPasswords: ['pw-mallory'] });
  bsky.setDidDocument(mallory.did, { ...bsky.didDocument(mallory.did), alsoKnownAs: ['at://alice.bsky.social'] });
  const r = await post({ identifier: mallory.did, app_password: 'pw-mallory' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.platform_user_id, mallory.did);
  assert.notEqual(alice.did, mallory.did);
  assert.equal(r.body.username, null, 'not the handle Mallory claims');
  // Her own handle, which resolves to her, is shown.
  bsky.setDidDocument(mallory.did, null);
  bsky.documents.delete(mallory.did);
  const again = await post({ identifier: mallory.did, app_password: 'pw-mallory' });
  assert.equal(again.status, 201);
  assert.equal(again.body.username, 'mallory.social');
});

test('an account another user of the app holds is 409, and the session just made is ended', async () => {
  bsky.addAccount({ handle: 'shared.bsky.social', appPasswords: ['pw-shared'] });
  const first = await post({ identifier: 'shared.bsky.social', app_password: 'pw-shared' }, { external_user_id: 'owner-1' });
  assert.equal(first.status, 201);
  const live = bsky.liveRefreshTokens('shared.bsky.social').length;
  const deletes = bsky.count('deleteSession');
  const second = await post({ identifier: 'shared.bsky.social', app_password: 'pw-shared' }, { external_user_id: 'owner-2' });
  assert.equal(second.status, 409);
  assert.equal(second.body.error.code, 'conflict');
  // Ended after the answer (the app need not wait for it).
  await until('a deleteSession', () => bsky.count('deleteSession') !== deletes).catch(() => {});
  assert.equal(bsky.count('deleteSession'), deletes + 1, 'the second session is ended at the PDS');
  assert.equal(bsky.liveRefreshTokens('shared.bsky.social').length, live, 'the owner\'s session lives on');
  assert.equal((await profile(first.body.id)).status, 'active');
});

test('posting the same account again replaces its session and ends the old one at the PDS', async () => {
  bsky.addAccount({ handle: 'again.bsky.social', appPasswords: ['pw-again'] });
  const first = await post({ identifier: 'again.bsky.social', app_password: 'pw-again' }, { external_user_id: 'u-again' });
  assert.equal(first.status, 201);
  const old = await w.tokensOf(first.body.id);
  const second = await post({ identifier: 'again.bsky.social', app_password: 'pw-again' }, { external_user_id: 'u-again' });
  assert.equal(second.status, 201);
  assert.equal(second.body.id, first.body.id, 'the same profile');
  const now = await w.tokensOf(first.body.id);
  assert.notEqual(now.refresh, old.refresh);
  await until('one live session', () => bsky.liveRefreshTokens('again.bsky.social').length <= 1).catch(() => {});
  assert.deepEqual(bsky.liveRefreshTokens('again.bsky.social'), [jwtPayload(now.refresh).jti], 'only the new session lives');
  const ended = bsky.calls.filter((c) => c.endpoint === 'deleteSession').at(-1);
  assert.equal(ended.headers.authorization, `Bearer ${old.refresh}`);
});
