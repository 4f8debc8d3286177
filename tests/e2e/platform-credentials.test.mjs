// An app's own platform credentials ("bring your own platform app", docs/own-platform-app.md):
// the operator stores an app's client for a platform; that app's connects go through it (the
// mock platform sees its client id at the consent screen and its secret at the token call)
// while another app of the same deployment still connects through the deployment's client.
// The secret is never answered, logged or stored in plaintext.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startWorker, openWith, callsQuiet } from './harness.mjs';
import { PlatformMocks, credentialVars, credsFor, CUSTOM_PROVIDERS } from './platform-mocks.mjs';
import { WebhookReceiver } from './webhook-receiver.mjs';
import { recordAnswers, assertNoSecretsAnywhere } from './secret-scan.mjs';

const REDIRECT = 'https://app.example.com/connected';
const mocks = new PlatformMocks();
const receiver = new WebhookReceiver();
let w;
let answers; // every answer the worker gave in this file (the last test scans them)
const secrets = []; // every client ({ id, secret }) a test stores: no secret may show anywhere
const appWebhookSecrets = []; // the apps' own webhook secrets: answered once, never logged or stored plain

before(async () => {
  await receiver.start();
  const vars = { ...credentialVars(['x', 'facebook', 'acme', 'globex']), CUSTOM_PROVIDERS: JSON.stringify(CUSTOM_PROVIDERS) };
  w = await startWorker({ vars, outbound: mocks.handle, captureLogs: true });
  answers = recordAnswers(w);
});
after(async () => {
  await w?.stop();
  await receiver.stop();
});

/** A fresh app (auto-claimed links), with the test receiver as its webhook endpoint when `hooks`. */
async function newApp(name, { hooks = false } = {}) {
  const r = await w.admin('POST', '/v1/admin/apps', {
    name, allowed_redirect_urls: [REDIRECT], claim: 'auto', ...(hooks ? { webhook_url: receiver.url } : {}),
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  if (hooks) receiver.useSecret(r.body.webhook_secret);
  appWebhookSecrets.push(r.body.webhook_secret);
  return r.body;
}

/** A client registered at the mock platform as an app's own, with a random secret. */
function ownClient(platform, id) {
  const secret = `sec_${crypto.randomBytes(18).toString('base64url')}`;
  secrets.push({ id, secret });
  mocks.allowClient(platform, id, secret);
  return { client_id: id, client_secret: secret };
}

const put = (appId, platform, body, opts) => w.admin('PUT', `/v1/admin/apps/${appId}/platforms/${platform}`, body, opts);
const fingerprint = (s) => crypto.createHash('sha256').update(s).digest('hex').slice(0, 8);
const credentialId = async (appId, platform) =>
  (await w.row('SELECT id FROM platform_credentials WHERE app_id = ? AND platform = ? AND retired_at IS NULL', appId, platform))?.id;
const callsSince = (from, platform, endpoint) => mocks.calls.slice(from).filter((c) => c.platform === platform && c.endpoint === endpoint);
/** Every call to `platform` since `from`, as [endpoint, client id, status]: all of a connect's calls, not the last alone. */
/** Every revoke call to `platform` since `from`, once they have stopped coming (revocations run after the answer). */
const revokesSince = (from, platform) => callsQuiet(mocks.calls, (c, i) => i >= from && c.platform === platform && c.endpoint === 'revoke');
const clientsSince = (from, platform) => mocks.calls.slice(from).filter((c) => c.platform === platform).map((c) => [c.endpoint, c.clientId, c.status]);
const basic = (id, secret) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const nowSecs = () => Math.floor(Date.now() / 1000);
const platformsOf = async (key) => Object.fromEntries((await w.call('GET', '/v1/platforms', { token: key })).body.data.map((p) => [p.id, p]));
const profile = async (key, id) => (await w.call('GET', `/v1/profiles/${id}`, { token: key })).body;

async function connect(app, platform, user, linkFields = {}) {
  const r = await w.connectWithMock(mocks, app.api_key, platform, { user, redirect: REDIRECT, linkFields });
  assert.equal(r.q.connected, 'true', JSON.stringify(r.q));
  return r;
}

/** Asserts that no stored secret (as sent: plain, URL-encoded, inside HTTP Basic) is in `text`. */
function assertNoSecret(text, where) {
  for (const { id, secret } of secrets) {
    assert.ok(!text.includes(secret), `${where} holds a client secret`);
    assert.ok(!text.includes(encodeURIComponent(secret)), `${where} holds a client secret (URL-encoded)`);
    const basic = Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');
    assert.ok(!text.includes(basic), `${where} holds a client secret (HTTP Basic)`);
  }
}

test('the credential routes take the operator token only', async () => {
  const app = await newApp('Auth app');
  const body = { client_id: 'auth-x', client_secret: 'auth-secret-0123' };
  secrets.push({ id: body.client_id, secret: body.client_secret });
  for (const token of [undefined, 'adm_wrong', app.api_key]) {
    const tries = [
      await w.call('PUT', `/v1/admin/apps/${app.app.id}/platforms/x`, { token, json: body }),
      await w.call('GET', `/v1/admin/apps/${app.app.id}/platforms`, { token }),
      await w.call('DELETE', `/v1/admin/apps/${app.app.id}/platforms/x`, { token }),
    ];
    for (const r of tries) {
      assert.equal(r.status, 401, JSON.stringify(r.body));
      assert.equal(r.body.error.code, 'unauthorized');
    }
  }
  assert.equal(await credentialId(app.app.id, 'x'), undefined, 'nothing was stored');
  assert.equal((await put('app_nosuchapp', 'x', body)).status, 404);
  assert.equal((await put(app.app.id, 'nosuchplatform', body)).status, 404);
  const bad = await put(app.app.id, 'x', { client_id: 'auth-x' });
  assert.equal(bad.status, 400, 'no secret');
  assertNoSecret(JSON.stringify(bad.body), 'a refused PUT');
});

test('a webhook_secret is taken for x alone (its Account Activity webhooks sign with the API key secret), sealed, never answered; refused 422 for every other platform, nothing stored', async () => {
  const app = await newApp('Webhook secret app');
  const withHooks = { ...ownClient('globex', 'tenant-globex-hooks'), webhook_secret: 'globex-hooks-secret-0123' };
  secrets.push({ id: withHooks.client_id, secret: withHooks.webhook_secret });
  const refused = await put(app.app.id, 'globex', withHooks);
  assert.equal(refused.status, 422, JSON.stringify(refused.body));
  assert.equal(refused.body.error.code, 'platform_unsupported');
  assert.match(refused.body.error.message, /webhook_secret/);
  assertNoSecret(refused.text, 'the refusal');
  assert.equal(await credentialId(app.app.id, 'globex'), undefined, 'nothing was stored');

  const x = { ...ownClient('x', 'tenant-x-hooks'), webhook_secret: 'x-api-key-secret-0123' };
  secrets.push({ id: x.client_id, secret: x.webhook_secret });
  const taken = await put(app.app.id, 'x', x);
  assert.equal(taken.status, 200, JSON.stringify(taken.body));
  assert.equal(taken.body.webhook_secret_set, true);
  assertNoSecret(taken.text, 'the PUT answer');
  const row = await w.row('SELECT webhook_secret_enc FROM platform_credentials WHERE app_id = ? AND platform = ?', app.app.id, 'x');
  assert.ok(row.webhook_secret_enc && !row.webhook_secret_enc.includes(x.webhook_secret), 'sealed, not plaintext');
  const plain = await put(app.app.id, 'x', ownClient('x', 'tenant-x-hooks'));
  assert.equal(plain.body.webhook_secret_set, false, 'a PUT without it leaves none');
});

test('an app with its own client connects through it end to end; another app through the deployment\'s', async () => {
  const own = await newApp('Own client app');
  const shared = await newApp('Shared client app');
  const client = ownClient('x', 'tenant-x-client');
  const scopes = ['users.read', 'tweet.read', 'like.read', 'offline.access'];
  const r = await put(own.app.id, 'x', { ...client, scopes });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assertNoSecret(r.text, 'the PUT answer');
  assert.deepEqual(
    [r.body.platform, r.body.client_id, r.body.client_secret_set, r.body.fingerprint, r.body.scopes, r.body.callback_url],
    ['x', client.client_id, true, fingerprint(client.client_secret), scopes, `${w.base}/oauth/callback`],
  );
  assert.ok(!('client_secret' in r.body));
  const listed = await w.admin('GET', `/v1/admin/apps/${own.app.id}/platforms`);
  assert.equal(listed.status, 200);
  assertNoSecret(listed.text, 'the GET answer');
  assert.deepEqual(listed.body.data.map((c) => [c.platform, c.client_id, c.fingerprint]), [['x', client.client_id, fingerprint(client.client_secret)]]);
  assert.deepEqual((await w.admin('GET', `/v1/admin/apps/${shared.app.id}/platforms`)).body.data, []);
  const ref = await credentialId(own.app.id, 'x');
  assert.match(ref, /^pcr_/);

  // GET /v1/platforms: whose client each app connects with, and the app's default scopes.
  const mine = (await platformsOf(own.api_key)).x;
  const theirs = (await platformsOf(shared.api_key)).x;
  assert.deepEqual([mine.credentials, mine.configured, mine.default_scopes], ['app', true, scopes]);
  assert.equal(theirs.credentials, 'deployment');
  assert.equal(theirs.configured, true);
  assert.notDeepEqual(theirs.default_scopes, scopes);

  // The app's own client: at the consent screen (with its scopes), at the token call (its
  // secret: the mock refuses any other), and the grant names the credentials.
  const fromA = mocks.calls.length;
  const a = await connect(own, 'x', 'ownx');
  const consent = mocks.authorizations.at(-1);
  assert.deepEqual([consent.clientId, consent.scopes], [client.client_id, scopes]);
  // Every call of the connect, each with the app's client (the identity call: a token of it),
  // each answered 200: the token call with the app's secret (the mock refuses any other).
  assert.deepEqual(clientsSince(fromA, 'x'), [['token', client.client_id, 200], ['identity', client.client_id, 200]]);
  assert.equal(callsSince(fromA, 'x', 'token')[0].headers.authorization, basic(client.client_id, client.client_secret));
  const grantA = await w.grantRow(a.q.profile_id, 'credential_ref, status');
  assert.deepEqual([grantA.credential_ref, grantA.status], [ref, 'active']);
  assert.equal(mocks.clientOfToken((await w.tokensOf(a.q.profile_id)).access), client.client_id, 'the stored token is the one issued to the app\'s client');

  // The other app, same platform, same deployment: the deployment's client.
  const fromB = mocks.calls.length;
  const b = await connect(shared, 'x', 'sharedx');
  assert.equal(mocks.authorizations.at(-1).clientId, credsFor('x').id);
  assert.deepEqual(clientsSince(fromB, 'x'), [['token', credsFor('x').id, 200], ['identity', credsFor('x').id, 200]]);
  assert.equal((await w.grantRow(b.q.profile_id, 'credential_ref')).credential_ref, null);

  // A Meta platform too: the app's own Facebook Login app for the code exchange and the
  // long-lived swap (its secret in the query), with webhook URLs of its own.
  const fb = ownClient('facebook', 'tenant-fb-client');
  const fr = await put(own.app.id, 'facebook', fb);
  assert.equal(fr.status, 200, JSON.stringify(fr.body));
  const fbRef = await credentialId(own.app.id, 'facebook');
  assert.deepEqual(fr.body.platform_webhooks, {
    deauthorize: `${w.base}/platform-webhooks/meta/apps/${fbRef}/deauthorize`,
    data_deletion: `${w.base}/platform-webhooks/meta/apps/${fbRef}/data-deletion`,
    // Meta's event webhooks: the callback URL and the verify token derived from the secret.
    events: `${w.base}/platform-webhooks/meta/apps/${fbRef}`,
    verify_token: crypto.createHmac('sha256', fb.client_secret).update('meta-webhook-verify-token').digest('hex').slice(0, 32),
  });
  mocks.setPages('ownfb', [{ id: '3101', name: 'Own Page' }]);
  const fromF = mocks.calls.length;
  const f = await connect(own, 'facebook', 'ownfb', { accounts: 'all' });
  assert.equal(mocks.authorizations.at(-1).clientId, fb.client_id);
  const fbCalls = clientsSince(fromF, 'facebook');
  assert.deepEqual(fbCalls.slice(0, 2), [['token', fb.client_id, 200], ['swap', fb.client_id, 200]]);
  assert.deepEqual(fbCalls.filter(([, id, status]) => id !== fb.client_id || status !== 200), [], 'every Graph call of the connect: the app\'s Facebook app, answered 200');
  assert.equal((await w.grantRow(f.q.profile_ids.split(',')[0], 'credential_ref')).credential_ref, fbRef);

  // Sealed in D1 (the last test scans every table, log line and answer of this file).
  const row = await w.row('SELECT client_secret_enc, secret_fingerprint FROM platform_credentials WHERE id = ?', ref);
  assert.match(row.client_secret_enc, /^v1\./, 'sealed like the tokens');
  assert.equal(openWith(w.bindings.TOKEN_KEYS, row.client_secret_enc, `${own.app.id}:x`, 'client_secret'), client.client_secret);
  assert.equal(row.secret_fingerprint, fingerprint(client.client_secret));
});

test('per-instance platforms, platforms without a client and the sandbox are refused 422 platform_unsupported', async () => {
  const app = await newApp('Unsupported app');
  const body = { client_id: 'nope-client', client_secret: 'nope-secret-0123' };
  secrets.push({ id: body.client_id, secret: body.client_secret });
  for (const platform of ['mastodon', 'bluesky', 'sandbox', 'keyed']) {
    const r = await put(app.app.id, platform, body);
    assert.equal(r.status, 422, `${platform}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.code, 'platform_unsupported', platform);
    assertNoSecret(r.text, `the ${platform} refusal`);
  }
  assert.deepEqual((await w.admin('GET', `/v1/admin/apps/${app.app.id}/platforms`)).body.data, []);
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM platform_credentials WHERE app_id = ?', app.app.id)).n, 0);
});

test('DELETE: 409 while an active grant uses the credentials; ?force=true disconnects it as credentials_removed', async () => {
  const app = await newApp('Removal app', { hooks: true });
  const other = await newApp('Removal bystander');
  const client = ownClient('acme', 'tenant-acme-client');
  assert.equal((await put(app.app.id, 'acme', client)).status, 200);
  const ref = await credentialId(app.app.id, 'acme');
  let from = mocks.calls.length;
  const mine = await connect(app, 'acme', 'acmeown');
  const mineTokens = await w.tokensOf(mine.q.profile_id);
  assert.deepEqual(clientsSince(from, 'acme'), [['token', client.client_id, 200], ['identity', client.client_id, 200]]);
  assert.equal((await w.grantRow(mine.q.profile_id, 'credential_ref')).credential_ref, ref);
  from = mocks.calls.length;
  const bystander = await connect(other, 'acme', 'acmeother');
  assert.deepEqual(clientsSince(from, 'acme'), [['token', credsFor('acme').id, 200], ['identity', credsFor('acme').id, 200]]);

  const refused = await w.admin('DELETE', `/v1/admin/apps/${app.app.id}/platforms/acme`);
  assert.equal(refused.status, 409, JSON.stringify(refused.body));
  assert.equal(refused.body.error.code, 'conflict');
  assert.equal((await profile(app.api_key, mine.q.profile_id)).status, 'active');
  assert.equal(await credentialId(app.app.id, 'acme'), ref, 'kept');
  assert.equal((await w.admin('DELETE', `/v1/admin/apps/${app.app.id}/platforms/acme?force=maybe`)).status, 400);

  from = mocks.calls.length;
  const forced = await w.admin('DELETE', `/v1/admin/apps/${app.app.id}/platforms/acme?force=true`);
  assert.equal(forced.status, 204, forced.text);
  const p = await profile(app.api_key, mine.q.profile_id);
  assert.deepEqual([p.status, p.disconnect_reason], ['disconnected', 'credentials_removed']);
  assert.equal((await w.grantRow(mine.q.profile_id, 'status')).status, 'disconnected');
  // Revoked after the answer, at acme's revoke_url with the removed client and its secret
  // (the provider takes a token only from the client it was issued to).
  await until(() => mocks.tokens.get(mineTokens.refresh)?.revoked, 'the ended grant revoked at acme');
  const revoked = await revokesSince(from, 'acme');
  assert.deepEqual(revoked.map((c) => [c.clientId, c.headers.authorization, c.status]), [[client.client_id, basic(client.client_id, client.client_secret), 200]]);
  assert.ok([mineTokens.access, mineTokens.refresh].includes(revoked[0].form.token));
  assert.equal(mocks.tokens.get(mineTokens.access).revoked, true);
  await w.settled();
  const events = receiver.of('profile.disconnected', mine.q.profile_id);
  assert.equal(events.length, 1);
  assert.equal(events[0].data.disconnect_reason, 'credentials_removed');
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM platform_credentials WHERE app_id = ?', app.app.id)).n, 0);
  assert.deepEqual((await w.admin('GET', `/v1/admin/apps/${app.app.id}/platforms`)).body.data, []);
  assert.equal((await profile(other.api_key, bystander.q.profile_id)).status, 'active', "the other app's grant on the deployment's client stays");
  assert.equal((await w.admin('DELETE', `/v1/admin/apps/${app.app.id}/platforms/acme`)).status, 404, 'nothing left to remove');

  // From now on the app connects through the deployment's client again.
  assert.equal((await platformsOf(app.api_key)).acme.credentials, 'deployment');
  from = mocks.calls.length;
  await connect(app, 'acme', 'acmeback');
  assert.equal(mocks.tokens.get((await w.tokensOf(bystander.q.profile_id)).access).revoked, false, "the bystander's grant is the deployment client's: not revoked");
  assert.deepEqual(callsSince(from, 'acme', 'token').map((c) => [c.clientId, c.status]), [[credsFor('acme').id, 200]]);

  // Credentials no active grant uses go at once.
  const unused = ownClient('globex', 'tenant-globex-client');
  assert.equal((await put(app.app.id, 'globex', unused)).status, 200);
  assert.equal((await w.admin('DELETE', `/v1/admin/apps/${app.app.id}/platforms/globex`)).status, 204);
});

test("a body-auth provider (globex's client_auth body) gets the app's own client id and secret in the token call's form, never the deployment's", async () => {
  const app = await newApp('Own Globex app');
  const client = ownClient('globex', 'tenant-globex-body');
  assert.equal((await put(app.app.id, 'globex', client)).status, 200);
  const from = mocks.calls.length;
  const r = await connect(app, 'globex', 'globexown');
  assert.equal(mocks.authorizations.at(-1).clientId, client.client_id);
  const calls = callsSince(from, 'globex', 'token');
  assert.deepEqual(calls.map((c) => [c.form.client_id, c.form.client_secret, c.headers.authorization, c.status]),
    [[client.client_id, client.client_secret, undefined, 200]], "the app's client id and secret in the form, no Basic header");
  const deployment = credsFor('globex');
  assert.ok(!JSON.stringify(calls).includes(deployment.secret), "the deployment's secret was not sent");
  assert.equal((await w.grantRow(r.q.profile_id, 'credential_ref')).credential_ref, await credentialId(app.app.id, 'globex'));
});

async function until(check, what, ms = 5000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('DELETE counts an ended grant whose profiles still act (as a Facebook login past day 60 with live Page tokens): 409, and ?force=true ends those profiles', async () => {
  const app = await newApp('Ended grant app', { hooks: true });
  const client = ownClient('x', 'tenant-x-ended');
  assert.equal((await put(app.app.id, 'x', client)).status, 200);
  const mine = await connect(app, 'x', 'endeduser');
  // Seeded: the grant ended, its profile still active (acting with a token of its own).
  const grant = await w.grantOf(mine.q.profile_id);
  const { access, refresh } = await w.tokensOf(mine.q.profile_id);
  await w.sql("UPDATE grants SET status = 'disconnected', disconnect_reason = 'expired' WHERE id = ?", grant);
  assert.equal((await profile(app.api_key, mine.q.profile_id)).status, 'active');

  const refused = await w.admin('DELETE', `/v1/admin/apps/${app.app.id}/platforms/x`);
  assert.equal(refused.status, 409, JSON.stringify(refused.body));
  assert.ok(await credentialId(app.app.id, 'x'), 'kept');
  const from = mocks.calls.length;
  const forced = await w.admin('DELETE', `/v1/admin/apps/${app.app.id}/platforms/x?force=true`);
  assert.equal(forced.status, 204, forced.text);
  const p = await profile(app.api_key, mine.q.profile_id);
  assert.deepEqual([p.status, p.disconnect_reason], ['disconnected', 'credentials_removed']);
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM platform_credentials WHERE app_id = ?', app.app.id)).n, 0);
  await w.settled();
  assert.equal(receiver.of('profile.disconnected', mine.q.profile_id).length, 1);
  // Its tokens revoked at X after the answer, with the removed client and its secret.
  await until(() => mocks.tokens.get(refresh)?.revoked, 'the ended grant revoked at X');
  const revokes = await revokesSince(from, 'x');
  assert.deepEqual(revokes.map((c) => [c.clientId, c.headers.authorization, c.form.token, c.status]),
    [[client.client_id, basic(client.client_id, client.client_secret), refresh, 200]], 'one revoke, of its refresh token');
});

test('a forced DELETE revokes the grants it ends at the platform, with the app\'s client that minted them', async () => {
  const app = await newApp('Revoke on removal app');
  const client = ownClient('x', 'tenant-x-revoked');
  assert.equal((await put(app.app.id, 'x', client)).status, 200);
  const mine = await connect(app, 'x', 'removaluser');
  const { refresh } = await w.tokensOf(mine.q.profile_id);
  assert.equal(mocks.clientOfToken(refresh), client.client_id);
  const forced = await w.admin('DELETE', `/v1/admin/apps/${app.app.id}/platforms/x?force=true`);
  assert.equal(forced.status, 204, forced.text);
  await until(() => mocks.tokens.get(refresh)?.revoked, 'the ended grant revoked at X');
  const revokes = mocks.calls.filter((c) => c.platform === 'x' && c.endpoint === 'revoke' && c.form.token === refresh);
  assert.deepEqual(revokes.map((c) => c.clientId), [client.client_id]);
});

test('a PUT with another client_id leaves the old grant on the old credentials; new links use the new client', async () => {
  const app = await newApp('Client change app');
  const first = ownClient('x', 'tenant-x-first');
  assert.equal((await put(app.app.id, 'x', first)).status, 200);
  const ref1 = await credentialId(app.app.id, 'x');
  let from = mocks.calls.length;
  const old = await connect(app, 'x', 'changeold');
  assert.deepEqual(clientsSince(from, 'x'), [['token', first.client_id, 200], ['identity', first.client_id, 200]]);

  const second = ownClient('x', 'tenant-x-second');
  const r = await put(app.app.id, 'x', second);
  assert.equal(r.status, 200);
  assert.equal(r.body.client_id, second.client_id);
  const ref2 = await credentialId(app.app.id, 'x');
  assert.notEqual(ref2, ref1);
  assert.deepEqual((await w.admin('GET', `/v1/admin/apps/${app.app.id}/platforms`)).body.data.map((c) => c.client_id), [second.client_id]);
  const kept = await w.row('SELECT client_id, retired_at FROM platform_credentials WHERE id = ?', ref1);
  assert.ok(kept, 'the old credentials are kept while a grant uses them');
  assert.equal(kept.client_id, first.client_id);
  assert.ok(kept.retired_at > 0);
  assert.equal((await w.grantRow(old.q.profile_id, 'credential_ref')).credential_ref, ref1);
  assert.equal((await profile(app.api_key, old.q.profile_id)).status, 'active');

  from = mocks.calls.length;
  const fresh = await connect(app, 'x', 'changenew');
  assert.equal(mocks.authorizations.at(-1).clientId, second.client_id);
  assert.deepEqual(clientsSince(from, 'x'), [['token', second.client_id, 200], ['identity', second.client_id, 200]]);
  assert.equal((await w.grantRow(fresh.q.profile_id, 'credential_ref')).credential_ref, ref2);
  assert.equal((await w.grantRow(old.q.profile_id, 'credential_ref')).credential_ref, ref1, 'still on the old ones');

  // The same client id with a new secret (rotated at the platform): the same credentials,
  // a new fingerprint, and connects go through with the new secret.
  const rotated = ownClient('x', second.client_id);
  const rr = await put(app.app.id, 'x', rotated);
  assert.equal(rr.status, 200);
  assert.equal(rr.body.fingerprint, fingerprint(rotated.client_secret));
  assert.equal(await credentialId(app.app.id, 'x'), ref2, 'the same credentials');
  from = mocks.calls.length;
  const again = await connect(app, 'x', 'changerot');
  const rotatedCalls = callsSince(from, 'x', 'token');
  assert.deepEqual(rotatedCalls.map((c) => [c.headers.authorization, c.status]), [[basic(second.client_id, rotated.client_secret), 200]], 'the new secret');
  assert.equal((await w.grantRow(again.q.profile_id, 'credential_ref')).credential_ref, ref2);
  assert.equal((await w.grantRow(fresh.q.profile_id, 'credential_ref')).credential_ref, ref2);
});

// A PUT with another client_id retires the replaced credentials (never deletes them at
// once): a link in flight still names them, and its code was issued to their client.
test('a link in flight when the client changes is completed with the client its authorize URL named', async () => {
  const app = await newApp('In flight app');
  const first = ownClient('x', 'tenant-x-inflight1');
  assert.equal((await put(app.app.id, 'x', first)).status, 200);
  const ref1 = await credentialId(app.app.id, 'x');
  const link = await w.createLink(app.api_key, { platform: 'x', redirect_url: REDIRECT });
  const approved = mocks.approve(link.authorize_url, { user: 'inflight' });
  assert.equal(approved.clientId, first.client_id);
  // The operator switches the app to another client while the user is at the consent screen.
  const second = ownClient('x', 'tenant-x-inflight2');
  assert.equal((await put(app.app.id, 'x', second)).status, 200);
  const from = mocks.calls.length;
  const res = await w.callback(`${approved.redirectUri}?${new URLSearchParams({ code: approved.code, state: approved.state })}`);
  assert.equal(res.status, 302);
  const q = Object.fromEntries(new URL(res.headers.get('location')).searchParams);
  assert.equal(q.connected, 'true', JSON.stringify(q));
  assert.deepEqual(clientsSince(from, 'x'), [['token', first.client_id, 200], ['identity', first.client_id, 200]], 'the code is redeemed by the client it was issued to');
  assert.equal((await w.grantRow(q.profile_id, 'credential_ref')).credential_ref, ref1);
  const kept = await w.row('SELECT client_id, retired_at FROM platform_credentials WHERE id = ?', ref1);
  assert.equal(kept.client_id, first.client_id);
  assert.ok(kept.retired_at > 0, 'the replaced credentials are retired, not current');
  // A new link goes to the new client.
  const next = await w.createLink(app.api_key, { platform: 'x', redirect_url: REDIRECT });
  assert.equal(mocks.approve(next.authorize_url, { user: 'inflight2' }).clientId, second.client_id);
});

test('an account choice open when its credentials are force-removed fails cleanly and lands no grant', async () => {
  const app = await newApp('Choice removed app');
  const fb = ownClient('facebook', 'tenant-fb-choice');
  assert.equal((await put(app.app.id, 'facebook', fb)).status, 200);
  const ref = await credentialId(app.app.id, 'facebook');
  mocks.setPages('chooserm', [{ id: '4101', name: 'A' }, { id: '4102', name: 'B' }]);
  const link = await w.createLink(app.api_key, { platform: 'facebook', redirect_url: REDIRECT });
  const approved = mocks.approve(link.authorize_url, { user: 'chooserm' });
  assert.equal(approved.clientId, fb.client_id);
  const res = await w.fetchChecked(`${w.base}/oauth/callback?${new URLSearchParams({ code: approved.code, state: approved.state })}`, { redirect: 'manual' });
  assert.equal(res.status, 200, 'the picker');
  const html = await res.text();
  assert.ok(await w.row('SELECT link_id FROM account_choices WHERE link_id = ?', link.id));
  const held = [...mocks.tokens].filter(([, g]) => g.user === 'chooserm' && g.clientId === fb.client_id);
  assert.ok(held.length > 0 && held.every(([, g]) => !g.revoked), 'the choice holds live tokens of the app\'s Facebook app');
  // No grant uses them yet, so a plain DELETE would do; force as an operator might.
  const from = mocks.calls.length;
  assert.equal((await w.admin('DELETE', `/v1/admin/apps/${app.app.id}/platforms/facebook?force=true`)).status, 204);
  // The tokens the choice held are revoked after the answer, with the removed client.
  await until(() => callsSince(from, 'facebook', 'revoke').length > 0, 'the choice\'s grant revoked');
  const revokes = await revokesSince(from, 'facebook');
  assert.deepEqual(revokes.map((c) => [c.clientId, c.status]), [[fb.client_id, 200]], 'one revoke, with the removed client');
  assert.deepEqual(held.filter(([, g]) => !g.revoked).map(([t]) => t.slice(0, 8)), [], 'every token the choice held is revoked');
  assert.equal(await w.row('SELECT id FROM platform_credentials WHERE id = ?', ref), null);
  assert.equal(await w.row('SELECT link_id FROM account_choices WHERE link_id = ?', link.id), null, 'the choice goes with them');
  const sub = await w.choose(html, res.headers.get('set-cookie'), 'all');
  // The choice is gone: the documented 410 page (the choice was made or is over), no redirect.
  assert.equal(sub.status, 410);
  assert.equal(sub.headers.get('location'), null);
  assert.match(sub.headers.get('content-type'), /^text\/html/);
  assert.equal((await w.row('SELECT status FROM connect_links WHERE id = ?', link.id)).status, 'failed');
  const dangling = await w.row(
    'SELECT id FROM grants WHERE app_id = ? AND credential_ref IS NOT NULL AND credential_ref NOT IN (SELECT id FROM platform_credentials)',
    app.app.id);
  assert.equal(dangling, null, 'no grant names removed credentials');
});

// The cron's expiry of a picker nobody submitted revokes the grant the choice held with the
// client that minted it. Facebook's revoke ends every grant of the login for that client, so
// the worker revokes only where no other grant OF THAT CLIENT holds the login: judged with
// the deployment's client, the bystander's grant below would keep the app's grant live.
test("an account choice left to expire is revoked with the app's own client, though the deployment's client holds the same login", async () => {
  const app = await newApp('Expired choice app');
  const bystander = await newApp('Expired choice bystander');
  const fb = ownClient('facebook', 'tenant-fb-expired');
  assert.equal((await put(app.app.id, 'facebook', fb)).status, 200);
  const user = 'expirer';
  mocks.setPages(user, [{ id: '4201', name: 'A' }, { id: '4202', name: 'B' }]);
  // The same login through the deployment's Facebook app, in another app: live grants of it.
  const theirs = await connect(bystander, 'facebook', user, { accounts: 'all' });
  const tokensOfClient = (id) => [...mocks.tokens].filter(([, g]) => g.user === user && g.clientId === id);
  assert.ok(tokensOfClient(credsFor('facebook').id).length > 0);

  const link = await w.createLink(app.api_key, { platform: 'facebook', redirect_url: REDIRECT });
  const approved = mocks.approve(link.authorize_url, { user });
  assert.equal(approved.clientId, fb.client_id);
  const res = await w.fetchChecked(`${w.base}/oauth/callback?${new URLSearchParams({ code: approved.code, state: approved.state })}`, { redirect: 'manual' });
  assert.equal(res.status, 200, 'the picker');
  await res.text();
  const mine = tokensOfClient(fb.client_id);
  assert.ok(mine.length > 0, 'the choice holds tokens of the app\'s Facebook app');
  assert.ok(mine.every(([, g]) => !g.revoked));

  // The picker is never submitted: its choice expires (seeded, rather than waited for).
  await w.sql('UPDATE account_choices SET expires_at = ? WHERE link_id = ?', nowSecs() - 1, link.id);
  await w.sql('UPDATE connect_links SET choice_expires_at = ? WHERE id = ?', nowSecs() - 1, link.id);
  const from = mocks.calls.length;
  await w.cron();
  const revokes = callsSince(from, 'facebook', 'revoke');
  assert.deepEqual(revokes.map((c) => [c.clientId, c.status]), [[fb.client_id, 200]], 'one revoke, of a token of the app\'s client');
  assert.deepEqual(mine.filter(([, g]) => !g.revoked).map(([t]) => t.slice(0, 8)), [], 'every token the choice held is revoked');
  assert.deepEqual(tokensOfClient(credsFor('facebook').id).filter(([, g]) => g.revoked), [], "the deployment's grant of the login stays live");
  assert.equal(await w.row('SELECT link_id FROM account_choices WHERE link_id = ?', link.id), null, 'the row goes once revoked');
  assert.equal((await w.row('SELECT status FROM connect_links WHERE id = ?', link.id)).status, 'expired');
  for (const id of theirs.q.profile_ids.split(',')) assert.equal((await profile(bystander.api_key, id)).status, 'active');
});

test('DELETE of retired credentials that a grant still uses: 409; ?force=true ends it as credentials_removed and revokes it with the retired client', async () => {
  const app = await newApp('Retired removal app', { hooks: true });
  const first = ownClient('x', 'tenant-x-retired1');
  // A webhook_secret too (accepted, unused by X): one more secret the last test looks for.
  const webhookSecret = `whs_${crypto.randomBytes(12).toString('base64url')}`;
  secrets.push({ secret: webhookSecret, what: 'a credential webhook secret' });
  assert.equal((await put(app.app.id, 'x', { ...first, webhook_secret: webhookSecret })).status, 200);
  const ref1 = await credentialId(app.app.id, 'x');
  const old = await connect(app, 'x', 'retireduser');
  const { access, refresh } = await w.tokensOf(old.q.profile_id);
  assert.equal(mocks.clientOfToken(refresh), first.client_id);
  // Replaced by another client id: the first are retired, kept for their grant; the current
  // ones have none.
  const second = ownClient('x', 'tenant-x-retired2');
  assert.equal((await put(app.app.id, 'x', second)).status, 200);
  const ref2 = await credentialId(app.app.id, 'x');
  assert.notEqual(ref2, ref1);
  assert.ok((await w.row('SELECT retired_at FROM platform_credentials WHERE id = ?', ref1)).retired_at > 0);
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM grants WHERE credential_ref = ?', ref2)).n, 0);

  const refused = await w.admin('DELETE', `/v1/admin/apps/${app.app.id}/platforms/x`);
  assert.equal(refused.status, 409, JSON.stringify(refused.body));
  assert.equal(refused.body.error.code, 'conflict');
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM platform_credentials WHERE app_id = ?', app.app.id)).n, 2, 'both kept');
  assert.equal((await profile(app.api_key, old.q.profile_id)).status, 'active');

  const from = mocks.calls.length;
  const forced = await w.admin('DELETE', `/v1/admin/apps/${app.app.id}/platforms/x?force=true`);
  assert.equal(forced.status, 204, forced.text);
  const p = await profile(app.api_key, old.q.profile_id);
  assert.deepEqual([p.status, p.disconnect_reason], ['disconnected', 'credentials_removed']);
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM platform_credentials WHERE app_id = ?', app.app.id)).n, 0);
  await w.settled();
  const events = receiver.of('profile.disconnected', old.q.profile_id);
  assert.deepEqual(events.map((e) => e.data.disconnect_reason), ['credentials_removed']);
  // Revoked after the answer: waited for, then every revoke since looked at.
  await until(() => callsSince(from, 'x', 'revoke').length > 0, 'the ended grant revoked at X');
  const revokes = await revokesSince(from, 'x');
  assert.deepEqual(revokes.map((c) => [c.headers.authorization, c.status]), [[basic(first.client_id, first.client_secret), 200]], 'with the retired client and its secret');
  assert.ok([access, refresh].includes(revokes[0].form.token));
  assert.equal(mocks.tokens.get(revokes[0].form.token).revoked, true, 'the platform took it: the token is the retired client\'s');
});

test('no secret of this file in any answer, log line or D1 table', async () => {
  const tokens = [...mocks.tokens.keys()].map((secret) => ({ secret, what: 'a platform token' }));
  assert.ok(tokens.length > 10);
  await w.settled();
  assert.ok(receiver.bodies.length > 0, 'webhooks were delivered');
  await assertNoSecretsAnywhere(w, {
    // The webhook bodies delivered to the apps' receiver are answers too.
    answers: [...answers, ...receiver.bodies.map((b) => `webhook delivery ${b}`)],
    answered: [
      ...secrets.map((s) => ({ what: `the client secret of ${s.id}`, ...s })),
      ...['x', 'facebook', 'acme', 'globex'].map((p) => ({ ...credsFor(p), what: `the deployment's ${p} secret` })),
    ],
    kept: [...appWebhookSecrets.map((secret) => ({ secret, what: "an app's webhook secret" })), ...tokens],
  });
});
