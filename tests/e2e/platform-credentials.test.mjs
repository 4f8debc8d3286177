// An app's own platform credentials ("bring your own platform app", docs/own-platform-app.md):
// the operator stores an app's client for a platform; that app's connects go through it (the
// mock platform sees its client id at the consent screen and its secret at the token call)
// while another app of the same deployment still connects through the deployment's client.
// The secret is never answered, logged or stored in plaintext.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startWorker } from './harness.mjs';
import { PlatformMocks, credentialVars, credsFor, CUSTOM_PROVIDERS } from './platform-mocks.mjs';
import { WebhookReceiver } from './webhook-receiver.mjs';

const REDIRECT = 'https://app.example.com/connected';
const mocks = new PlatformMocks();
const receiver = new WebhookReceiver();
let w;
const secrets = []; // every client ({ id, secret }) a test stores: no secret may show anywhere

before(async () => {
  await receiver.start();
  const vars = { ...credentialVars(['x', 'facebook', 'acme', 'globex']), CUSTOM_PROVIDERS: JSON.stringify(CUSTOM_PROVIDERS) };
  w = await startWorker({ vars, outbound: mocks.handle, captureLogs: true });
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
const lastCall = (platform, endpoint) => mocks.calls.filter((c) => c.platform === platform && c.endpoint === endpoint).at(-1);
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

test('a webhook_secret is taken for x alone (its Account Activity webhooks sign with the API key secret), sealed, never answered; refused 400 for every other platform, nothing stored', async () => {
  const app = await newApp('Webhook secret app');
  const withHooks = { ...ownClient('globex', 'tenant-globex-hooks'), webhook_secret: 'globex-hooks-secret-0123' };
  secrets.push({ id: withHooks.client_id, secret: withHooks.webhook_secret });
  const refused = await put(app.app.id, 'globex', withHooks);
  assert.equal(refused.status, 400, JSON.stringify(refused.body));
  assert.equal(refused.body.error.code, 'invalid_request');
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
  const a = await connect(own, 'x', 'ownx');
  const consent = mocks.authorizations.at(-1);
  assert.deepEqual([consent.clientId, consent.scopes], [client.client_id, scopes]);
  const token = lastCall('x', 'token');
  assert.equal(token.clientId, client.client_id);
  assert.equal(token.answered, true);
  assert.equal(lastCall('x', 'identity').clientId, client.client_id, 'the identity call carries a token of the app\'s client');
  const grantA = await w.grantRow(a.q.profile_id, 'credential_ref, status');
  assert.deepEqual([grantA.credential_ref, grantA.status], [ref, 'active']);
  assert.equal(mocks.clientOfToken((await w.tokensOf(a.q.profile_id)).access), client.client_id, 'the stored token is the one issued to the app\'s client');

  // The other app, same platform, same deployment: the deployment's client.
  const b = await connect(shared, 'x', 'sharedx');
  assert.equal(mocks.authorizations.at(-1).clientId, credsFor('x').id);
  assert.equal(lastCall('x', 'token').clientId, credsFor('x').id);
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
  });
  mocks.setPages('ownfb', [{ id: '3101', name: 'Own Page' }]);
  const f = await connect(own, 'facebook', 'ownfb', { accounts: 'all' });
  assert.equal(mocks.authorizations.at(-1).clientId, fb.client_id);
  assert.equal(lastCall('facebook', 'token').clientId, fb.client_id);
  assert.equal(lastCall('facebook', 'swap').clientId, fb.client_id);
  assert.equal((await w.grantRow(f.q.profile_ids.split(',')[0], 'credential_ref')).credential_ref, fbRef);

  // No secret in D1 in plaintext, nor in any line the worker wrote.
  const stored = await w.allStoredText();
  for (const { table, value } of stored) assertNoSecret(value, `D1 table ${table}`);
  const row = await w.row('SELECT client_secret_enc, secret_fingerprint FROM platform_credentials WHERE id = ?', ref);
  assert.match(row.client_secret_enc, /^v1\./, 'sealed like the tokens');
  assert.equal(row.secret_fingerprint, fingerprint(client.client_secret));
  await w.settled();
  assert.ok(w.logs.join('').length > 0, 'the worker logged');
  assertNoSecret(w.logs.join(''), 'the worker\'s log');
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
  const mine = await connect(app, 'acme', 'acmeown');
  assert.equal(lastCall('acme', 'token').clientId, client.client_id);
  assert.equal((await w.grantRow(mine.q.profile_id, 'credential_ref')).credential_ref, ref);
  const bystander = await connect(other, 'acme', 'acmeother');
  assert.equal(lastCall('acme', 'token').clientId, credsFor('acme').id);

  const refused = await w.admin('DELETE', `/v1/admin/apps/${app.app.id}/platforms/acme`);
  assert.equal(refused.status, 409, JSON.stringify(refused.body));
  assert.equal(refused.body.error.code, 'conflict');
  assert.equal((await profile(app.api_key, mine.q.profile_id)).status, 'active');
  assert.equal(await credentialId(app.app.id, 'acme'), ref, 'kept');
  assert.equal((await w.admin('DELETE', `/v1/admin/apps/${app.app.id}/platforms/acme?force=maybe`)).status, 400);

  const forced = await w.admin('DELETE', `/v1/admin/apps/${app.app.id}/platforms/acme?force=true`);
  assert.equal(forced.status, 204, forced.text);
  const p = await profile(app.api_key, mine.q.profile_id);
  assert.deepEqual([p.status, p.disconnect_reason], ['disconnected', 'credentials_removed']);
  assert.equal((await w.grantRow(mine.q.profile_id, 'status')).status, 'disconnected');
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
  await connect(app, 'acme', 'acmeback');
  assert.equal(lastCall('acme', 'token').clientId, credsFor('acme').id);

  // Credentials no active grant uses go at once.
  const unused = ownClient('globex', 'tenant-globex-client');
  assert.equal((await put(app.app.id, 'globex', unused)).status, 200);
  assert.equal((await w.admin('DELETE', `/v1/admin/apps/${app.app.id}/platforms/globex`)).status, 204);
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
  await w.sql("UPDATE grants SET status = 'disconnected', disconnect_reason = 'expired' WHERE id = ?", grant);
  assert.equal((await profile(app.api_key, mine.q.profile_id)).status, 'active');

  const refused = await w.admin('DELETE', `/v1/admin/apps/${app.app.id}/platforms/x`);
  assert.equal(refused.status, 409, JSON.stringify(refused.body));
  assert.ok(await credentialId(app.app.id, 'x'), 'kept');
  const forced = await w.admin('DELETE', `/v1/admin/apps/${app.app.id}/platforms/x?force=true`);
  assert.equal(forced.status, 204, forced.text);
  const p = await profile(app.api_key, mine.q.profile_id);
  assert.deepEqual([p.status, p.disconnect_reason], ['disconnected', 'credentials_removed']);
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM platform_credentials WHERE app_id = ?', app.app.id)).n, 0);
  await w.settled();
  assert.equal(receiver.of('profile.disconnected', mine.q.profile_id).length, 1);
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
  const old = await connect(app, 'x', 'changeold');
  assert.equal(lastCall('x', 'token').clientId, first.client_id);

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

  const fresh = await connect(app, 'x', 'changenew');
  assert.equal(mocks.authorizations.at(-1).clientId, second.client_id);
  assert.equal(lastCall('x', 'token').clientId, second.client_id);
  assert.equal((await w.grantRow(fresh.q.profile_id, 'credential_ref')).credential_ref, ref2);
  assert.equal((await w.grantRow(old.q.profile_id, 'credential_ref')).credential_ref, ref1, 'still on the old ones');

  // The same client id with a new secret (rotated at the platform): the same credentials,
  // a new fingerprint, and connects go through with the new secret.
  const rotated = ownClient('x', second.client_id);
  const rr = await put(app.app.id, 'x', rotated);
  assert.equal(rr.status, 200);
  assert.equal(rr.body.fingerprint, fingerprint(rotated.client_secret));
  assert.equal(await credentialId(app.app.id, 'x'), ref2, 'the same credentials');
  const again = await connect(app, 'x', 'changerot');
  assert.equal(lastCall('x', 'token').clientId, second.client_id);
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
  const res = await w.callback(`${approved.redirectUri}?${new URLSearchParams({ code: approved.code, state: approved.state })}`);
  assert.equal(res.status, 302);
  const q = Object.fromEntries(new URL(res.headers.get('location')).searchParams);
  assert.equal(q.connected, 'true', JSON.stringify(q));
  assert.equal(lastCall('x', 'token').clientId, first.client_id, 'the code is redeemed by the client it was issued to');
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
  // No grant uses them yet, so a plain DELETE would do; force as an operator might.
  assert.equal((await w.admin('DELETE', `/v1/admin/apps/${app.app.id}/platforms/facebook?force=true`)).status, 204);
  assert.equal(await w.row('SELECT id FROM platform_credentials WHERE id = ?', ref), null);
  assert.equal(await w.row('SELECT link_id FROM account_choices WHERE link_id = ?', link.id), null, 'the choice goes with them');
  const sub = await w.choose(html, res.headers.get('set-cookie'), 'all');
  assert.notEqual(sub.status, 500);
  const location = sub.headers.get('location');
  if (location) assert.notEqual(new URL(location).searchParams.get('connected'), 'true', location);
  assert.notEqual((await w.row('SELECT status FROM connect_links WHERE id = ?', link.id)).status, 'completed');
  const dangling = await w.row(
    'SELECT id FROM grants WHERE app_id = ? AND credential_ref IS NOT NULL AND credential_ref NOT IN (SELECT id FROM platform_credentials)',
    app.app.id);
  assert.equal(dangling, null, 'no grant names removed credentials');
});
