// A quick check of the Bluesky mock's main paths: `node tests/e2e/mocks-bluesky.selfcheck.mjs`.
import assert from 'node:assert/strict';
import { BlueskyMocks, PDS_HOSTS } from './mocks-bluesky.mjs';

const [MOREL, SELFHOST] = PDS_HOSTS;
const bsky = new BlueskyMocks();
const alice = bsky.addAccount({ handle: 'Alice.bsky.social', pds: MOREL, password: 'main', appPasswords: ['aaaa-bbbb-cccc-dddd'], displayName: 'Alice', avatar: 'https://cdn.bsky.app/a.jpg' });
const bob = bsky.addAccount({ handle: 'bob.selfhost.social', pds: SELFHOST, password: 'main-bob', appPasswords: ['bob-app'], didWeb: true, email2fa: true });
const carol = bsky.addAccount({ handle: 'carol.bsky.social', password: 'main-carol', appPasswords: ['carol-app'], takendown: true });

const call = async (method, url, { body, token, headers = {} } = {}) => {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  if (body !== undefined) h['content-type'] ??= 'application/json';
  const req = new Request(url, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const res = await bsky.answer(req, new URL(url));
  if (!res) return null;
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
};
const xrpc = (host, nsid, q = '') => `https://${host}/xrpc/${nsid}${q}`;
const signIn = (host, identifier, password) => call('POST', xrpc(host, 'com.atproto.server.createSession'), { body: { identifier, password } });
const refresh = (host, token) => call('POST', xrpc(host, 'com.atproto.server.refreshSession'), { token });
const payload = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

// Other hosts are not this mock's.
assert.equal(await call('GET', 'https://api.x.com/2/users/me'), null);

// Handle -> DID -> document -> PDS.
let r = await call('GET', xrpc('public.api.bsky.app', 'com.atproto.identity.resolveHandle', '?handle=alice.bsky.social'));
assert.deepEqual(r, { status: 200, body: { did: alice.did } });
assert.match(alice.did, /^did:plc:[a-z2-7]{24}$/);
r = await call('GET', xrpc('public.api.bsky.app', 'com.atproto.identity.resolveHandle', '?handle=nobody.bsky.social'));
assert.deepEqual(r, { status: 400, body: { error: 'InvalidRequest', message: 'Unable to resolve handle' } });
r = await call('GET', `https://plc.directory/${alice.did}`);
assert.equal(r.status, 200);
assert.equal(r.body.id, alice.did);
assert.deepEqual(r.body.alsoKnownAs, ['at://alice.bsky.social']);
assert.deepEqual(r.body.service[0], { id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: `https://${MOREL}` });
assert.equal((await call('GET', 'https://plc.directory/did:plc:aaaaaaaaaaaaaaaaaaaaaaaa')).status, 404);
r = await call('GET', 'https://bob.selfhost.social/.well-known/did.json');
assert.equal(r.body.id, 'did:web:bob.selfhost.social');
assert.equal(r.body.service[0].serviceEndpoint, `https://${SELFHOST}`);
bsky.setDidDocument(alice.did, { id: alice.did, service: [{ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: 'http://127.0.0.1' }] });
assert.equal((await call('GET', `https://plc.directory/${alice.did}`)).body.service[0].serviceEndpoint, 'http://127.0.0.1');
bsky.documents.delete(alice.did);

// Profiles.
r = await call('GET', xrpc('public.api.bsky.app', 'app.bsky.actor.getProfile', `?actor=${encodeURIComponent(alice.did)}`));
assert.equal(r.body.displayName, 'Alice');
assert.equal(r.body.avatar, 'https://cdn.bsky.app/a.jpg');
r = await call('GET', xrpc('public.api.bsky.app', 'app.bsky.actor.getProfile', '?actor=bob.selfhost.social'));
assert.equal(r.body.displayName, undefined);
r = await call('GET', xrpc('public.api.bsky.app', 'app.bsky.actor.getProfile', '?actor=did:plc:aaaaaaaaaaaaaaaaaaaaaaaa'));
assert.deepEqual(r, { status: 400, body: { error: 'InvalidRequest', message: 'Profile not found' } });

// Sign-in refusals.
const invalid = { status: 401, body: { error: 'AuthenticationRequired', message: 'Invalid identifier or password' } };
assert.deepEqual(await signIn(MOREL, 'alice.bsky.social', 'wrong'), invalid);
assert.deepEqual(await signIn(SELFHOST, 'alice.bsky.social', 'aaaa-bbbb-cccc-dddd'), invalid, 'an account of another PDS');
assert.deepEqual(await signIn(SELFHOST, 'bob.selfhost.social', 'main-bob'), {
  status: 401, body: { error: 'AuthFactorTokenRequired', message: 'A sign in code has been sent to your email address' },
});
assert.deepEqual(await signIn(MOREL, 'carol.bsky.social', 'main-carol'), { status: 401, body: { error: 'AccountTakedown', message: 'Account has been taken down' } });
assert.deepEqual(await signIn(MOREL, 'carol.bsky.social', 'carol-app'), invalid);
r = await call('POST', xrpc(MOREL, 'com.atproto.server.createSession'), { body: { identifier: 'alice.bsky.social', password: 'main' }, headers: { 'content-type': 'text/plain' } });
assert.equal(r.status, 400);
assert.equal((await call('GET', xrpc(MOREL, 'com.atproto.server.createSession'))).status, 400);
assert.equal((await call('GET', xrpc(MOREL, 'com.atproto.repo.nothing'))).status, 501);

// App passwords sign in (handle or DID), even with email 2FA on.
const s1 = (await signIn(MOREL, 'Alice.bsky.social', 'aaaa-bbbb-cccc-dddd')).body;
assert.equal(s1.did, alice.did);
assert.equal(s1.handle, 'alice.bsky.social');
assert.equal(payload(s1.accessJwt).scope, 'com.atproto.appPass');
assert.equal(payload(s1.accessJwt).exp - payload(s1.accessJwt).iat, 7200);
assert.equal(payload(s1.refreshJwt).scope, 'com.atproto.refresh');
assert.equal(payload(s1.refreshJwt).exp - payload(s1.refreshJwt).iat, 90 * 86400);
assert.equal(s1.email, undefined, 'app-password sessions carry no email');
const sBob = (await signIn(SELFHOST, bob.did, 'bob-app')).body;
assert.equal(sBob.did, 'did:web:bob.selfhost.social');

// getSession: the access JWT works, the refresh JWT, garbage, other PDSes and no header do not.
assert.deepEqual((await call('GET', xrpc(MOREL, 'com.atproto.server.getSession'), { token: s1.accessJwt })).body, { did: alice.did, handle: 'alice.bsky.social', active: true });
assert.equal((await call('GET', xrpc(MOREL, 'com.atproto.server.getSession'), { token: s1.refreshJwt })).body.error, 'InvalidToken');
assert.equal((await call('GET', xrpc(MOREL, 'com.atproto.server.getSession'), { token: 'garbage' })).body.error, 'InvalidToken');
assert.equal((await call('GET', xrpc(SELFHOST, 'com.atproto.server.getSession'), { token: s1.accessJwt })).body.error, 'InvalidToken');
assert.deepEqual(await call('GET', xrpc(MOREL, 'com.atproto.server.getSession')), { status: 401, body: { error: 'AuthenticationRequired', message: 'Authentication Required' } });

// Refresh rotates; the old refresh JWT is then dead (grace 0); access JWTs are refused.
const s2 = (await refresh(MOREL, s1.refreshJwt)).body;
assert.notEqual(s2.refreshJwt, s1.refreshJwt);
assert.equal(payload(s2.accessJwt).scope, 'com.atproto.appPass');
assert.deepEqual(await refresh(MOREL, s1.refreshJwt), { status: 400, body: { error: 'ExpiredToken', message: 'Token has been revoked' } });
assert.equal((await refresh(MOREL, s2.accessJwt)).body.error, 'InvalidToken');
assert.equal((await refresh(MOREL, 'x.y.z')).body.error, 'InvalidToken');
assert.equal((await call('POST', xrpc(MOREL, 'com.atproto.server.refreshSession'))).status, 401);

// Expiry: the access JWT after its 2 h, the refresh JWT after 90 days.
bsky.advance(7201);
assert.deepEqual(await call('GET', xrpc(MOREL, 'com.atproto.server.getSession'), { token: s2.accessJwt }), { status: 400, body: { error: 'ExpiredToken', message: 'Token has expired' } });
const s3 = (await refresh(MOREL, s2.refreshJwt)).body;
bsky.advance(90 * 86400 + 1);
assert.deepEqual(await refresh(MOREL, s3.refreshJwt), { status: 400, body: { error: 'ExpiredToken', message: 'Token has expired' } });

// deleteSession revokes the refresh JWT (even an expired one); the access JWT lives on.
const s4 = (await signIn(MOREL, alice.did, 'aaaa-bbbb-cccc-dddd')).body;
assert.equal((await call('POST', xrpc(MOREL, 'com.atproto.server.deleteSession'), { token: s4.refreshJwt })).status, 200);
assert.deepEqual(await refresh(MOREL, s4.refreshJwt), { status: 400, body: { error: 'ExpiredToken', message: 'Token has been revoked' } });
assert.equal((await call('GET', xrpc(MOREL, 'com.atproto.server.getSession'), { token: s4.accessJwt })).status, 200);

// Revoking the app password kills its refresh JWTs and its sign-ins.
const s5 = (await signIn(MOREL, 'alice.bsky.social', 'aaaa-bbbb-cccc-dddd')).body;
bsky.revokeAppPassword('alice.bsky.social');
assert.deepEqual(await refresh(MOREL, s5.refreshJwt), { status: 400, body: { error: 'ExpiredToken', message: 'Token has been revoked' } });
assert.deepEqual(await signIn(MOREL, 'alice.bsky.social', 'aaaa-bbbb-cccc-dddd'), invalid);

// A takedown after sign-in: refresh answers AccountTakedown.
const sBob2 = (await signIn(SELFHOST, 'bob.selfhost.social', 'bob-app')).body;
bob.takendown = true;
assert.deepEqual(await refresh(SELFHOST, sBob2.refreshJwt), { status: 401, body: { error: 'AccountTakedown', message: 'Account has been taken down' } });

// A real-like grace: the old token inside it gets the same next refresh JWT.
const graceful = new BlueskyMocks({ refreshGrace: 7200, accessTtl: 60, refreshTtl: 600 });
graceful.addAccount({ handle: 'dan.bsky.social', appPasswords: ['dan-app'] });
const g = async (token) => {
  const res = await graceful.answer(new Request(xrpc(MOREL, 'com.atproto.server.refreshSession'), { method: 'POST', headers: { authorization: `Bearer ${token}` } }));
  return { status: res.status, body: await res.json() };
};
const gs = await (await graceful.answer(new Request(xrpc(MOREL, 'com.atproto.server.createSession'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ identifier: 'dan.bsky.social', password: 'dan-app' }) }))).json();
assert.equal(payload(gs.accessJwt).exp - payload(gs.accessJwt).iat, 60);
const g1 = await g(gs.refreshJwt);
const g2 = await g(gs.refreshJwt);
assert.equal(payload(g1.body.refreshJwt).jti, payload(g2.body.refreshJwt).jti);
graceful.advance(7201);
assert.equal((await g(gs.refreshJwt)).body.error, 'ExpiredToken');

// failNext, counters and the call log.
bsky.failNext('createSession', () => new Response(JSON.stringify({ error: 'RateLimitExceeded', message: 'Rate Limit Exceeded' }), { status: 429 }));
assert.equal((await signIn(SELFHOST, 'bob.selfhost.social', 'bob-app')).status, 429);
assert.ok(bsky.count('createSession') >= 10);
assert.equal(bsky.count('plc'), 3);
assert.equal(bsky.count('didWeb'), 1);
const last = bsky.calls.at(-1);
assert.deepEqual([last.host, last.path, last.method, last.endpoint], [SELFHOST, '/xrpc/com.atproto.server.createSession', 'POST', 'createSession']);
assert.equal(last.body.identifier, 'bob.selfhost.social');

console.log(`mocks-bluesky selfcheck: ok (${bsky.calls.length} calls; carol ${carol.did})`);
