// An app's own platform credentials, further (docs/own-platform-app.md): a TOKEN_KEYS
// rotation re-seals their secrets; an envelope is bound to its app and platform; no secret
// in any log line; a platform configured only through an app's own client; a failed
// connect's grant revoked with that client and a picker's landing recording it; the cron's
// grace period of retired credentials and a refresh whose credentials are gone; a custom
// provider's refresh and revoke with an app's own client; a row no key opens during a
// rotation; and, last, no secret in any answer, log line or D1 table of the file.
// The deployment has no X client: every X client here is an app's own.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startWorker, randomKey, openWith, sealWith, callsQuiet } from './harness.mjs';
import { PlatformMocks, credentialVars, credsFor, CUSTOM_PROVIDERS } from './platform-mocks.mjs';
import { recordAnswers, assertNoSecretsAnywhere } from './secret-scan.mjs';
import { metaSignedRequest } from './platform-webhook-signers.mjs';

const REDIRECT = 'https://app.example.com/connected';
const K1 = `k1:${randomKey()}`;
const K2 = `k2:${randomKey()}`;
const K3 = `k3:${randomKey()}`;
const mocks = new PlatformMocks();
let w;
let answers; // every answer of this file, scanned by the last test
const secrets = []; // every client ({ id, secret }) a test stores: no secret may show in a log

before(async () => {
  const vars = { ...credentialVars(['facebook', 'acme']), CUSTOM_PROVIDERS: JSON.stringify(CUSTOM_PROVIDERS) };
  w = await startWorker({ vars, outbound: mocks.handle, captureLogs: true, tokenKeys: K1 });
  answers = recordAnswers(w);
});
after(async () => { await w?.stop(); });

async function newApp(name) {
  const r = await w.admin('POST', '/v1/admin/apps', { name, allowed_redirect_urls: [REDIRECT], claim: 'auto' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

/** A client registered at the mock platform as an app's own, with a random secret. */
function ownClient(platform, id) {
  const secret = `sec+/${crypto.randomBytes(18).toString('base64url')}`; // '+' and '/' so URL-encoding shows
  secrets.push({ id, secret });
  mocks.allowClient(platform, id, secret);
  return { client_id: id, client_secret: secret };
}

async function putOwn(app, platform, client) {
  const r = await w.admin('PUT', `/v1/admin/apps/${app.app.id}/platforms/${platform}`, client);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return credentialId(app.app.id, platform);
}

const basic = (id, secret) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const credentialId = async (appId, platform) =>
  (await w.row('SELECT id FROM platform_credentials WHERE app_id = ? AND platform = ? AND retired_at IS NULL', appId, platform))?.id;
const callsSince = (from, platform, endpoint) => mocks.calls.slice(from).filter((c) => c.platform === platform && c.endpoint === endpoint);
const platformsOf = async (key) => Object.fromEntries((await w.call('GET', '/v1/platforms', { token: key })).body.data.map((p) => [p.id, p]));
const usage = async () => Object.fromEntries((await w.admin('GET', '/v1/admin/keys')).body.data.map((u) => [u.kid, u]));
const nowSecs = () => Math.floor(Date.now() / 1000);
const logLines = () => w.logs.join('').split('\n');

async function until(check, what, ms = 5000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function connect(app, platform, user, linkFields = {}) {
  const r = await w.connectWithMock(mocks, app.api_key, platform, { user, redirect: REDIRECT, linkFields });
  assert.equal(r.q.connected, 'true', JSON.stringify(r.q));
  return r.q.profile_id;
}

/** POST /v1/profiles/{id}/refresh, with the token calls it made at X. */
async function refresh(app, profile) {
  const from = mocks.calls.length;
  const r = await w.call('POST', `/v1/profiles/${profile}/refresh`, { token: app.api_key });
  const calls = mocks.calls.slice(from).filter((c) => c.host === 'api.x.com' && c.path === '/2/oauth2/token');
  return { status: r.status, body: r.body, calls };
}

/** Asserts that no stored secret (plain, URL-encoded, inside HTTP Basic) is in `text`. */
function assertNoSecret(text, where) {
  for (const { id, secret } of secrets) {
    assert.ok(!text.includes(secret), `${where} holds a client secret`);
    assert.ok(!text.includes(encodeURIComponent(secret)), `${where} holds a client secret (URL-encoded)`);
    assert.ok(!text.includes(basic(id, secret).slice('Basic '.length)), `${where} holds a client secret (HTTP Basic)`);
  }
}

test('a TOKEN_KEYS rotation re-seals app credentials; connects and refreshes go on under the new key alone', async () => {
  const app = await newApp('Rotation app');
  const n0 = (await usage()).k1.apps;
  const client = ownClient('x', 'rot-x-client');
  const ref = await putOwn(app, 'x', client);
  assert.equal((await usage()).k1.apps, n0 + 1, 'GET /v1/admin/keys counts the credentials under k1');
  const sealed = 'SELECT client_secret_enc, token_kid FROM platform_credentials WHERE id = ?';
  const before = await w.row(sealed, ref);
  assert.equal(before.token_kid, 'k1');
  assert.match(before.client_secret_enc, /^v1\.k1\./);
  const old = await connect(app, 'x', 'rotold');

  // The new key first, the old one kept while the cron moves rows over.
  await w.restart({ TOKEN_KEYS: `${K2},${K1}` });
  assert.equal((await usage()).k1.removable, false, 'k1 still seals the credentials');
  await w.cron();
  const after = await w.row(sealed, ref);
  assert.equal(after.token_kid, 'k2');
  assert.match(after.client_secret_enc, /^v1\.k2\./);
  assert.notEqual(after.client_secret_enc, before.client_secret_enc);
  assert.equal(openWith(K2, after.client_secret_enc, `${app.app.id}:x`, 'client_secret'), client.client_secret, 'the same secret, for the same app and platform');
  const moved = await usage();
  assert.equal(moved.k1.removable, true, 'nothing left under k1');
  assert.equal(moved.k1.apps, 0);
  assert.equal(moved.k2.apps, n0 + 1, 'counted under k2 now');

  // The old key goes: a new connect and a refresh still carry the app's client and secret.
  await w.restart({ TOKEN_KEYS: K2 });
  const from = mocks.calls.length;
  await connect(app, 'x', 'rotnew');
  // The one token call of the connect: the app's client and secret, taken by X (200).
  assert.deepEqual(callsSince(from, 'x', 'token').map((c) => [c.clientId, c.headers.authorization, c.status]),
    [[client.client_id, basic(client.client_id, client.client_secret), 200]]);
  const r = await refresh(app, old);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.calls.length, 1);
  assert.equal(r.calls[0].headers.authorization, basic(client.client_id, client.client_secret));
});

test("a client secret's envelope copied onto another app's or another platform's row opens for neither", async () => {
  const a = await newApp('Seal A');
  const b = await newApp('Seal B');
  const ax = ownClient('x', 'seal-a-x');
  const bx = ownClient('x', 'seal-b-x');
  const aAcme = ownClient('acme', 'seal-a-acme');
  const refAx = await putOwn(a, 'x', ax);
  const refBx = await putOwn(b, 'x', bx);
  const refAacme = await putOwn(a, 'acme', aAcme);
  const enc = (await w.row('SELECT client_secret_enc FROM platform_credentials WHERE id = ?', refAx)).client_secret_enc;
  for (const ref of [refBx, refAacme]) await w.sql('UPDATE platform_credentials SET client_secret_enc = ? WHERE id = ?', enc, ref);

  const from = mocks.calls.length;
  for (const [app, platform] of [[b, 'x'], [a, 'acme']]) {
    const r = await w.call('POST', '/v1/connect-links', { token: app.api_key, json: { platform, redirect_url: REDIRECT } });
    assert.equal(r.status, 500, `${platform}: ${JSON.stringify(r.body)}`);
    assertNoSecret(JSON.stringify(r.body), 'the refusal');
  }
  assert.deepEqual(mocks.calls.slice(from), [], 'no call reached a platform');
  // A's own row still opens for A.
  const ok = await w.call('POST', '/v1/connect-links', { token: a.api_key, json: { platform: 'x', redirect_url: REDIRECT } });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  assert.equal(new URL(ok.body.authorize_url).searchParams.get('client_id'), ax.client_id);
  // A PUT of B's own secret repairs B's row: B connects with its client, never A's secret.
  await putOwn(b, 'x', bx);
  const at = mocks.calls.length;
  await connect(b, 'x', 'sealb');
  assert.deepEqual(callsSince(at, 'x', 'token').map((c) => [c.headers.authorization, c.status]), [[basic(bx.client_id, bx.client_secret), 200]]);
  assert.ok(!JSON.stringify(mocks.calls.slice(from)).includes(ax.client_secret), "A's secret was never sent for B");
});

test('no client secret in any log line: a refresh, a revoke, a refused exchange and a per-credential webhook 401', async () => {
  const app = await newApp('Log app');
  const client = ownClient('x', 'log-x-client');
  await putOwn(app, 'x', client);
  const profile = await connect(app, 'x', 'loguser');
  const r = await refresh(app, profile);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.calls.map((c) => [c.headers.authorization, c.status]), [[basic(client.client_id, client.client_secret), 200]]);

  // The platform now refuses the stored secret (rotated there first): the exchange fails.
  mocks.allowClient('x', client.client_id, 'the-platform-has-another-secret');
  const from = mocks.calls.length;
  const failed = await w.connectWithMock(mocks, app.api_key, 'x', { user: 'logrefused', redirect: REDIRECT });
  assert.notEqual(failed.q.connected, 'true', JSON.stringify(failed.q));
  assert.deepEqual(callsSince(from, 'x', 'token').map((c) => [c.headers.authorization, c.status]), [[basic(client.client_id, client.client_secret), 401]], 'refused by X');
  mocks.allowClient('x', client.client_id, client.client_secret);

  // The revoke, with the app's client.
  const at = mocks.calls.length;
  assert.equal((await w.call('DELETE', `/v1/profiles/${profile}`, { token: app.api_key })).status, 204);
  await w.settled();
  assert.deepEqual(callsSince(at, 'x', 'revoke').map((c) => [c.headers.authorization, c.status]), [[basic(client.client_id, client.client_secret), 200]]);

  // A per-credential Meta webhook signed with another secret: 401.
  const fb = ownClient('facebook', 'log-fb-client');
  const fbRef = await putOwn(app, 'facebook', fb);
  const signed = metaSignedRequest({ algorithm: 'HMAC-SHA256', issued_at: nowSecs(), user_id: '10logged' }, 'not-the-secret');
  const hook = await w.call('POST', `/platform-webhooks/meta/apps/${fbRef}/deauthorize`, {
    raw: new URLSearchParams({ signed_request: signed }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(hook.status, 401);
  await w.settled();
  // The lines of those steps are there (the scan below looks at something).
  const events = logLines().flatMap((l) => { try { return [JSON.parse(l)]; } catch { return []; } });
  const xCall = (path, status) => events.some((e) => e.event === 'platform_call' && e.endpoint === `https://api.x.com${path}` && e.status === status);
  assert.ok(xCall('/2/oauth2/token', 401), 'the refused exchange logged');
  assert.ok(events.some((e) => e.event === 'connect_failed' && e.step === 'exchange' && e.platform === 'x'), 'the failed connect logged');
  assert.ok(xCall('/2/oauth2/revoke', 200), 'the revoke logged');
  assert.ok(events.some((e) => e.event === 'platform_call' && e.endpoint === 'https://api.x.com/2/oauth2/token' && e.profile_id?.startsWith('grn_')), 'the refresh logged');
  assertNoSecret(w.logs.join(''), "the worker's log");
});

test("a platform configured only through an app's own client: that app connects, refreshes and revokes; another app gets 422", async () => {
  const own = await newApp('Own-only X');
  const other = await newApp('No X');
  assert.equal((await platformsOf(own.api_key)).x.configured, false, 'no deployment client for X');
  const client = ownClient('x', 'only-x-client');
  await putOwn(own, 'x', client);
  const mine = (await platformsOf(own.api_key)).x;
  assert.deepEqual([mine.configured, mine.credentials], [true, 'app']);
  assert.equal((await platformsOf(other.api_key)).x.configured, false);
  const refused = await w.call('POST', '/v1/connect-links', { token: other.api_key, json: { platform: 'x', redirect_url: REDIRECT } });
  assert.equal(refused.status, 422, JSON.stringify(refused.body));
  assert.equal(refused.body.error.code, 'platform_not_configured');

  const from = mocks.calls.length;
  const profile = await connect(own, 'x', 'onlyuser');
  assert.deepEqual(callsSince(from, 'x', 'token').map((c) => [c.clientId, c.status]), [[client.client_id, 200]]);
  const r = await refresh(own, profile);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.calls.map((c) => [c.headers.authorization, c.status]), [[basic(client.client_id, client.client_secret), 200]]);
  const at = mocks.calls.length;
  assert.equal((await w.call('DELETE', `/v1/profiles/${profile}`, { token: own.api_key })).status, 204);
  await w.settled();
  const revokes = callsSince(at, 'x', 'revoke');
  assert.deepEqual(revokes.map((c) => [c.clientId, c.status]), [[client.client_id, 200]]);
  assert.equal(mocks.tokens.get(revokes[0].form.token).revoked, true);
});

test("a failed connect's grant is revoked with the app's client; a picker's landing records the credentials", async () => {
  const app = await newApp('Fresh revoke app');
  const client = ownClient('x', 'fresh-x-client');
  await putOwn(app, 'x', client);
  mocks.failNext('x', 'identity', () => new Response('{"title":"Service Unavailable"}', { status: 503 }));
  const from = mocks.calls.length;
  const failed = await w.connectWithMock(mocks, app.api_key, 'x', { user: 'freshfail', redirect: REDIRECT });
  assert.equal(failed.q.error, 'profile_failed', JSON.stringify(failed.q));
  assert.deepEqual(callsSince(from, 'x', 'token').map((c) => [c.clientId, c.status]), [[client.client_id, 200]]);
  // The fresh grant is revoked after the answer (wait_until): waited for, not assumed.
  await until(() => callsSince(from, 'x', 'revoke').length > 0, 'the fresh grant revoked');
  const revokes = await callsQuiet(mocks.calls, (c, i) => i >= from && c.platform === 'x' && c.endpoint === 'revoke');
  assert.deepEqual(revokes.map((c) => [c.headers.authorization, c.status]), [[basic(client.client_id, client.client_secret), 200]], 'the fresh grant revoked');
  assert.equal(mocks.clientOfToken(revokes[0].form.token), client.client_id);
  assert.equal(mocks.tokens.get(revokes[0].form.token).revoked, true);

  // Facebook with two Pages: the picker, then the landing of the chosen one.
  const fb = ownClient('facebook', 'picker-fb-client');
  const fbRef = await putOwn(app, 'facebook', fb);
  mocks.setPages('pickuser', [{ id: '5101', name: 'First' }, { id: '5102', name: 'Second' }]);
  const link = await w.createLink(app.api_key, { platform: 'facebook', redirect_url: REDIRECT });
  const approved = mocks.approve(link.authorize_url, { user: 'pickuser' });
  assert.equal(approved.clientId, fb.client_id);
  let picked;
  const res = await w.callback(`${approved.redirectUri}?${new URLSearchParams({ code: approved.code, state: approved.state })}`, {
    pick: (ids) => { picked = ids; return ids.slice(1); },
  });
  assert.equal(picked?.length, 2, 'the picker offered both Pages');
  const q = Object.fromEntries(new URL(res.headers.get('location')).searchParams);
  assert.equal(q.connected, 'true', JSON.stringify(q));
  const profiles = (q.profile_ids ?? q.profile_id).split(',');
  assert.equal(profiles.length, 1);
  assert.equal((await w.grantRow(profiles[0], 'credential_ref')).credential_ref, fbRef);
});

test('the cron keeps retired credentials through their two days of grace (past an unsubmitted choice\'s revoke retries), then drops them when no grant refers to them', async () => {
  const app = await newApp('Grace app');
  const first = ownClient('acme', 'grace-acme-1');
  const ref1 = await putOwn(app, 'acme', first);
  const second = ownClient('acme', 'grace-acme-2');
  const ref2 = await putOwn(app, 'acme', second);
  assert.notEqual(ref2, ref1);
  const retired = await w.row('SELECT retired_at FROM platform_credentials WHERE id = ?', ref1);
  assert.ok(retired.retired_at > 0);
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM grants WHERE credential_ref = ?', ref1)).n, 0);
  await w.cron();
  assert.ok(await w.row('SELECT id FROM platform_credentials WHERE id = ?', ref1), 'kept: just retired');
  await w.sql('UPDATE platform_credentials SET retired_at = ? WHERE id = ?', nowSecs() - 2 * 86400 + 100, ref1);
  await w.cron();
  assert.ok(await w.row('SELECT id FROM platform_credentials WHERE id = ?', ref1), 'kept: within the two days');
  await w.sql('UPDATE platform_credentials SET retired_at = ? WHERE id = ?', nowSecs() - 2 * 86400 - 100, ref1);
  await w.cron();
  assert.equal(await w.row('SELECT id FROM platform_credentials WHERE id = ?', ref1), null, 'dropped past the two days');
  assert.ok(await w.row('SELECT id FROM platform_credentials WHERE id = ? AND retired_at IS NULL', ref2), 'the current ones stay');
  assert.ok(logLines().some((l) => l.includes('retired_credentials_purged') && l.includes(ref1)), 'logged');
});

test('a cron refresh whose credentials are gone makes no platform call and pushes the grant back', async () => {
  const app = await newApp('Gone app');
  const client = ownClient('x', 'gone-x-client');
  await putOwn(app, 'x', client);
  const profile = await connect(app, 'x', 'goneuser');
  const grant = await w.grantOf(profile);
  const { refresh: rt } = await w.tokensOf(profile);
  // As if its credentials row went under it (a race with their removal).
  await w.sql("UPDATE grants SET credential_ref = 'pcr_gone' WHERE id = ?", grant);
  await w.makeDue(profile);
  const from = mocks.calls.length;
  const t0 = nowSecs();
  await w.cron();
  const row = await w.grantRow(profile, 'status, next_refresh_at, refresh_failures');
  assert.equal(row.status, 'active', 'a local failure disconnects nobody');
  assert.equal(row.refresh_failures, 1);
  assert.ok(row.next_refresh_at > t0, `pushed back: ${row.next_refresh_at} > ${t0}`);
  assert.deepEqual(mocks.calls.slice(from).filter((c) => c.form?.refresh_token === rt), [], 'no token call with any client');
  assert.equal(mocks.tokens.get(rt).revoked, false);
  // Logged with its reason: the app's own credentials, not any other (a fall back to the
  // deployment's client would log another reason, or none).
  const skipped = logLines().flatMap((l) => { try { return [JSON.parse(l)]; } catch { return []; } })
    .filter((e) => e.event === 'refresh_skipped' && e.grant_id === grant);
  assert.deepEqual(skipped.map((e) => [e.platform, e.why]),
    [['x', "the app's own platform credentials that minted the grant are removed or cannot be opened"]], 'logged once, with the reason');
});

test("a custom provider's grant minted with an app's own client refreshes at its token_url and is revoked at its revoke_url with that client", async () => {
  const app = await newApp('Own Acme app');
  const bystander = await newApp('Deployment Acme app');
  const client = ownClient('acme', 'own-acme-client');
  await putOwn(app, 'acme', client);
  const from = mocks.calls.length;
  const profile = await connect(app, 'acme', 'acmeown');
  assert.deepEqual(callsSince(from, 'acme', 'token').map((c) => [c.headers.authorization, c.status]), [[basic(client.client_id, client.client_secret), 200]]);
  // The same login through the deployment's client, in another app.
  const theirs = await connect(bystander, 'acme', 'acmeown');
  const { access: a1, refresh: rt1 } = await w.tokensOf(profile);
  assert.equal(mocks.clientOfToken(rt1), client.client_id);

  const at = mocks.calls.length;
  const r = await w.call('POST', `/v1/profiles/${profile}/refresh`, { token: app.api_key });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(mocks.calls.slice(at).filter((c) => c.host === 'id.acme.test').map((c) => [c.endpoint, c.headers.authorization, c.form.refresh_token, c.status]),
    [['refresh', basic(client.client_id, client.client_secret), rt1, 200]], 'one refresh, with the app\'s client and secret');
  const { access: a2, refresh: rt2 } = await w.tokensOf(profile);
  assert.notEqual(a2, a1);
  assert.notEqual(rt2, rt1, 'the rotated refresh token is stored');
  assert.equal(mocks.clientOfToken(a2), client.client_id);

  const del = mocks.calls.length;
  assert.equal((await w.call('DELETE', `/v1/profiles/${profile}`, { token: app.api_key })).status, 204);
  await w.settled();
  // RFC 7009 with the app's client: the refresh token, which ends the grant.
  assert.deepEqual(callsSince(del, 'acme', 'revoke').map((c) => [c.headers.authorization, c.form.token, c.status]),
    [[basic(client.client_id, client.client_secret), rt2, 200]]);
  assert.deepEqual([mocks.tokens.get(rt2).revoked, mocks.tokens.get(a2).revoked], [true, true], 'taken by the provider: the token was that client\'s');
  const { access: theirAccess } = await w.tokensOf(theirs);
  assert.equal(mocks.tokens.get(theirAccess).revoked, false, "the deployment's grant of the login stays live");
  assert.equal((await w.call('GET', `/v1/profiles/${theirs}`, { token: bystander.api_key })).body.status, 'active');
});

// Runs after the rotation test above: the credentials rows are under k2 now.
test('a rotation marks a credential row no key opens and counts it unreadable; every other row is re-sealed', async () => {
  const good = await newApp('Readable credentials');
  const bad = await newApp('Corrupted credentials');
  const lost = await newApp('Lost-key credentials');
  const gc = ownClient('acme', 'reseal-good');
  const refGood = await putOwn(good, 'acme', gc);
  const bc = ownClient('acme', 'reseal-bad');
  const refBad = await putOwn(bad, 'acme', bc);
  const lc = ownClient('acme', 'reseal-lost');
  const refLost = await putOwn(lost, 'acme', lc);
  // X credentials with a webhook_secret (X signs its webhooks with it): one whole, one whose
  // client secret opens but whose webhook secret does not.
  const hooked = await newApp('Webhook secret credentials');
  const hookedBad = await newApp('Corrupted webhook secret');
  const hc = ownClient('x', 'reseal-hooks');
  const hcHooks = `whs+/${crypto.randomBytes(12).toString('base64url')}`;
  secrets.push({ id: hc.client_id, secret: hcHooks });
  const refHooked = await putOwn(hooked, 'x', { ...hc, webhook_secret: hcHooks });
  const hbc = ownClient('x', 'reseal-hooks-bad');
  const hbcHooks = `whs+/${crypto.randomBytes(12).toString('base64url')}`;
  secrets.push({ id: hbc.client_id, secret: hbcHooks });
  const refHookedBad = await putOwn(hookedBad, 'x', { ...hbc, webhook_secret: hbcHooks });
  assert.equal(w.bindings.TOKEN_KEYS, K2);
  await w.sql('UPDATE platform_credentials SET webhook_secret_enc = ? WHERE id = ?', sealWith(K2, hbcHooks, `${hooked.app.id}:x`, 'webhook_secret', 'k2'), refHookedBad);
  // Corrupted in D1: under k2, but sealed for another app's row (what a bad copy leaves).
  await w.sql('UPDATE platform_credentials SET client_secret_enc = ? WHERE id = ?', sealWith(K2, bc.client_secret, `${good.app.id}:acme`, 'client_secret', 'k2'), refBad);
  // Under a key id TOKEN_KEYS does not have (removed too early): nothing can open it.
  const K0 = `k0:${randomKey()}`;
  await w.sql("UPDATE platform_credentials SET client_secret_enc = ?, token_kid = 'k0' WHERE id = ?", sealWith(K0, lc.client_secret, `${lost.app.id}:acme`, 'client_secret', 'k0'), refLost);

  // What the test's copy of the keys opens: every k2 row but the corrupted ones (the
  // envelope test above left one too), each with its plaintext.
  const open = (keys, r, field, enc) => { try { return openWith(keys, enc, `${r.app_id}:${r.platform}`, field); } catch { return null; } };
  const k2rows = (await w.sql("SELECT id, app_id, platform, client_secret_enc, webhook_secret_enc FROM platform_credentials WHERE token_kid = 'k2'")).results;
  const plain = new Map(k2rows.map((r) => [r.id, [open(K2, r, 'client_secret', r.client_secret_enc), r.webhook_secret_enc === null ? 'none' : open(K2, r, 'webhook_secret', r.webhook_secret_enc)]]));
  const unreadable = k2rows.filter((r) => plain.get(r.id).includes(null)).map((r) => r.id).sort();
  assert.ok(unreadable.includes(refBad));
  assert.ok(unreadable.includes(refHookedBad), 'its webhook secret opens for no row of its own');
  assert.ok(!unreadable.includes(refGood));
  assert.ok(!unreadable.includes(refHooked));
  assert.deepEqual(plain.get(refHooked), [hc.client_secret, hcHooks]);
  assert.ok(k2rows.length > unreadable.length + 2, 'readable rows to re-seal');

  await w.restart({ TOKEN_KEYS: `${K3},${K2}` });
  await w.cron();
  const rows = (await w.sql('SELECT id, app_id, platform, token_kid, reencrypt_failed_at, client_secret_enc, webhook_secret_enc FROM platform_credentials')).results;
  const byId = new Map(rows.map((r) => [r.id, r]));
  assert.deepEqual(rows.filter((r) => r.reencrypt_failed_at !== null).map((r) => r.id).sort(), unreadable, 'exactly the rows no key opens are marked');
  for (const id of unreadable) {
    const r = byId.get(id);
    assert.equal(r.token_kid, 'k2', 'left under k2');
    assert.equal(r.client_secret_enc, k2rows.find((k) => k.id === id).client_secret_enc, 'left as it was');
  }
  for (const r of k2rows.filter((k) => !unreadable.includes(k.id))) {
    const now = byId.get(r.id);
    assert.equal(now.token_kid, 'k3', `${r.id} re-sealed`);
    assert.match(now.client_secret_enc, /^v1\.k3\./);
    assert.deepEqual([open(K3, now, 'client_secret', now.client_secret_enc), now.webhook_secret_enc === null ? 'none' : open(K3, now, 'webhook_secret', now.webhook_secret_enc)], plain.get(r.id), 'the same secrets');
  }
  assert.deepEqual([byId.get(refLost).token_kid, byId.get(refLost).reencrypt_failed_at], ['k0', null], 'a row under a missing key is left out, not marked');
  // The webhook secret moved with the client secret: under k3, the same secret, still set.
  const h = byId.get(refHooked);
  assert.match(h.webhook_secret_enc, /^v1\.k3\./, 'the webhook secret re-sealed under k3');
  assert.equal(openWith(K3, h.webhook_secret_enc, `${hooked.app.id}:x`, 'webhook_secret'), hcHooks);
  const view = (await w.admin('GET', `/v1/admin/apps/${hooked.app.id}/platforms`)).body.data;
  assert.deepEqual(view.map((c) => [c.client_id, c.webhook_secret_set]), [[hc.client_id, true]]);
  const hb = byId.get(refHookedBad);
  assert.ok(hb.reencrypt_failed_at !== null, 'marked: its webhook secret opens with no key');
  assert.deepEqual([hb.token_kid, hb.webhook_secret_enc], ['k2', k2rows.find((k) => k.id === refHookedBad).webhook_secret_enc], 'left as it was');
  const u = await usage();
  assert.deepEqual([u.k2.apps, u.k2.unreadable, u.k2.removable], [unreadable.length, unreadable.length, false], 'k2 still holds the unreadable rows, and says so');
  assert.deepEqual([u.k3.current, u.k3.unreadable], [true, 0]);
  assert.deepEqual([u.k0.in_keyring, u.k0.apps], [false, 1], 'counted under its missing key');
  assert.ok(logLines().some((l) => l.includes('reencrypt_failed') && l.includes(refBad)), 'logged');

  // The operator stores the secret again: the row is whole, under k3, and unmarked.
  await putOwn(bad, 'acme', bc);
  const repaired = await w.row('SELECT token_kid, reencrypt_failed_at FROM platform_credentials WHERE id = ?', refBad);
  assert.deepEqual([repaired.token_kid, repaired.reencrypt_failed_at], ['k3', null]);
  assert.equal((await usage()).k2.unreadable, unreadable.length - 1);
  const at = mocks.calls.length;
  await connect(bad, 'acme', 'resealbad');
  assert.deepEqual(callsSince(at, 'acme', 'token').map((c) => [c.headers.authorization, c.status]), [[basic(bc.client_id, bc.client_secret), 200]]);
});

test('no secret of this file in any answer, log line or D1 table', async () => {
  await assertNoSecretsAnywhere(w, {
    answers,
    answered: [...secrets, credsFor('facebook'), credsFor('acme'), { secret: 'the-platform-has-another-secret' }],
    kept: [...mocks.tokens.keys()].map((secret) => ({ secret, what: 'a platform token' })),
  });
});
