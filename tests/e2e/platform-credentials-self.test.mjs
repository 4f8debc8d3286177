// An app's own platform credentials managed with its own API key (`/v1/platform-credentials`),
// allowed by the operator's `self_service_credentials` setting; one platform account connected
// through two platform apps is two grants; a retired client id comes back as the same row, and
// its row is purged by the cron once no grant refers to it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';
import { PlatformMocks, credentialVars, credsFor } from './platform-mocks.mjs';
import { recordAnswers, assertNoSecretsAnywhere } from './secret-scan.mjs';

const REDIRECT = 'https://app.example.com/connected';
const mocks = new PlatformMocks();
let w;
let answers; // every answer of this file, scanned by the last test
const clients = new Map(); // client id -> secret: every app's own client the file stores

before(async () => {
  w = await startWorker({ vars: credentialVars(['x', 'linkedin']), outbound: mocks.handle, captureLogs: true });
  answers = recordAnswers(w);
});
after(async () => {
  await w?.stop();
});

const own = (id, extra = {}) => {
  clients.set(id, `${id}-secret-0123456789`);
  return { client_id: id, client_secret: `${id}-secret-0123456789`, ...extra };
};

async function until(check, what, ms = 5000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function connect(app, platform, user) {
  const { q } = await w.connectWithMock(mocks, app.api_key, platform, { user, redirect: REDIRECT });
  assert.equal(q.connected, 'true', JSON.stringify(q));
  return q.profile_id;
}

test('self-service: 403 while the setting is off, the operator turns it on, and an app sees and touches only its own', async () => {
  const a = await w.createApp('Self A', [REDIRECT]);
  const b = await w.createApp('Self B', [REDIRECT]);
  assert.equal(a.app.self_service_credentials, false, 'off by default');
  // Off: every self-service route is refused, and nothing is stored.
  for (const [method, path, json] of [['PUT', '/v1/platform-credentials/linkedin', own('a-li')], ['GET', '/v1/platform-credentials'], ['DELETE', '/v1/platform-credentials/linkedin']]) {
    const r = await w.call(method, path, { token: a.api_key, json });
    assert.equal(r.status, 403, `${method} ${path}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.code, 'forbidden');
  }
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM platform_credentials WHERE app_id = ?', a.app.id)).n, 0);
  // The operator turns it on for A (PATCH), and B is created with it on.
  const patched = await w.admin('PATCH', `/v1/admin/apps/${a.app.id}`, { self_service_credentials: true });
  assert.equal(patched.status, 200, JSON.stringify(patched.body));
  assert.equal(patched.body.self_service_credentials, true);
  assert.equal((await w.admin('GET', `/v1/admin/apps/${a.app.id}`)).body.self_service_credentials, true);
  assert.equal((await w.admin('PATCH', `/v1/admin/apps/${b.app.id}`, { self_service_credentials: true })).status, 200);
  // A stores its own LinkedIn client; B stores its own for X.
  const put = await w.call('PUT', '/v1/platform-credentials/linkedin', { token: a.api_key, json: own('a-li', { scopes: ['openid', 'profile'] }) });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  assert.equal(put.body.client_id, 'a-li');
  assert.equal(put.body.client_secret_set, true);
  assert.ok(!JSON.stringify(put.body).includes('a-li-secret'), 'never the secret');
  assert.equal((await w.call('PUT', '/v1/platform-credentials/x', { token: b.api_key, json: own('b-x') })).status, 200);
  // Each lists its own only, and the operator sees the same.
  assert.deepEqual((await w.call('GET', '/v1/platform-credentials', { token: a.api_key })).body.data.map((c) => [c.platform, c.client_id]), [['linkedin', 'a-li']]);
  assert.deepEqual((await w.call('GET', '/v1/platform-credentials', { token: b.api_key })).body.data.map((c) => [c.platform, c.client_id]), [['x', 'b-x']]);
  assert.deepEqual((await w.admin('GET', `/v1/admin/apps/${a.app.id}/platforms`)).body.data.map((c) => c.client_id), ['a-li']);
  // B cannot remove A's LinkedIn credentials: its DELETE reaches only its own (none: 404).
  const cross = await w.call('DELETE', '/v1/platform-credentials/linkedin', { token: b.api_key });
  assert.equal(cross.status, 404, JSON.stringify(cross.body));
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM platform_credentials WHERE app_id = ? AND retired_at IS NULL', a.app.id)).n, 1);
  // The platforms list says whose app each connect uses, per app.
  const mine = (await w.call('GET', '/v1/platforms', { token: a.api_key })).body.data;
  assert.deepEqual(['linkedin', 'x'].map((id) => mine.find((p) => p.id === id).credentials), ['app', 'deployment']);
  // Turned off again: the stored credentials stay (new connects still use them), the routes refuse.
  assert.equal((await w.admin('PATCH', `/v1/admin/apps/${a.app.id}`, { self_service_credentials: false })).status, 200);
  assert.equal((await w.call('DELETE', '/v1/platform-credentials/linkedin', { token: a.api_key })).status, 403);
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM platform_credentials WHERE app_id = ?', a.app.id)).n, 1);
  // On again, A removes its own.
  await w.admin('PATCH', `/v1/admin/apps/${a.app.id}`, { self_service_credentials: true });
  assert.equal((await w.call('DELETE', '/v1/platform-credentials/linkedin', { token: a.api_key })).status, 204);
  assert.deepEqual((await w.call('GET', '/v1/platform-credentials', { token: a.api_key })).body.data, []);
});

test('the same account through the deployment\'s client and through the app\'s own is two grants with different tokens', async () => {
  const app = await w.createApp('Two clients', [REDIRECT]);
  const other = await w.createApp('Deployment only', [REDIRECT]);
  // First through the deployment's client.
  const first = await connect(app, 'x', 'dana');
  const g1 = await w.grantRow(first, ['id', 'credential_ref']);
  const { access: t1, refresh: r1 } = await w.tokensOf(first);
  assert.equal(g1.credential_ref, null);
  assert.equal(mocks.clientOfToken(t1), credsFor('x').id);
  // Then through the app's own client (the operator stores it), the same account.
  mocks.allowClient('x', 'two-x', own('two-x').client_secret);
  assert.equal((await w.admin('PUT', `/v1/admin/apps/${app.app.id}/platforms/x`, own('two-x'))).status, 200);
  const pcr = (await w.row('SELECT id FROM platform_credentials WHERE app_id = ?', app.app.id)).id;
  const second = await connect(app, 'x', 'dana');
  assert.equal(second, first, 'one profile per account and app, as before');
  const g2 = await w.grantRow(second, ['id', 'credential_ref']);
  const t2 = (await w.tokensOf(second)).access;
  assert.notEqual(g2.id, g1.id, 'a grant of its own, not the deployment-client grant overwritten');
  assert.equal(g2.credential_ref, pcr);
  assert.notEqual(t2, t1);
  assert.equal(mocks.clientOfToken(t2), 'two-x');
  // The deployment-client grant was left with no profile: it is gone, not rewritten.
  assert.equal(await w.row('SELECT id FROM grants WHERE id = ?', g1.id), null);
  // ...and revoked at X with the deployment's client that minted it: the app's own grant of
  // the same login (another client's tokens) does not hold it. The revoke runs after the answer.
  await until(() => mocks.tokens.get(r1)?.revoked, 'the orphaned deployment-client grant revoked at X');
  const revokes = mocks.calls.filter((c) => c.platform === 'x' && c.endpoint === 'revoke' && c.form.token === r1);
  assert.deepEqual(revokes.map((c) => c.clientId), [credsFor('x').id]);
  assert.equal(mocks.tokens.get(t2).revoked, false, "the app's own grant stays live");
  // Another app connects the same account through the deployment's client meanwhile: two
  // grants of one account at once, each with its own client's tokens.
  const third = await connect(other, 'x', 'dana');
  const g3 = await w.grantRow(third, ['id', 'credential_ref']);
  const t3 = (await w.tokensOf(third)).access;
  assert.equal(g3.credential_ref, null);
  assert.equal(mocks.clientOfToken(t3), credsFor('x').id);
  assert.equal((await w.row("SELECT COUNT(*) AS n FROM grants WHERE platform = 'x' AND platform_user_id = (SELECT platform_user_id FROM grants WHERE id = ?) AND status = 'active'", g2.id)).n, 2);
  assert.deepEqual([(await w.tokensOf(second)).access, (await w.tokensOf(third)).access], [t2, t3]);
  // Connecting again through the app's own client updates its own grant in place.
  const again = await connect(app, 'x', 'dana');
  assert.equal((await w.grantRow(again, 'id')).id, g2.id);
  assert.notEqual((await w.tokensOf(again)).access, t2);
});

test('a retired client id: a PUT back revives the same row; the cron purges it once no grant refers to it', async () => {
  const app = await w.createApp('Rotating clients', [REDIRECT]);
  await w.admin('PATCH', `/v1/admin/apps/${app.app.id}`, { self_service_credentials: true });
  mocks.allowClient('linkedin', 'rot-1', own('rot-1').client_secret);
  mocks.allowClient('linkedin', 'rot-2', own('rot-2').client_secret);
  const put = (id) => w.call('PUT', '/v1/platform-credentials/linkedin', { token: app.api_key, json: own(id) });
  const rows = async () => (await w.sql('SELECT id, client_id, retired_at FROM platform_credentials WHERE app_id = ? ORDER BY client_id', app.app.id)).results;
  assert.equal((await put('rot-1')).status, 200);
  const [{ id: ref1 }] = await rows();
  const profile = await connect(app, 'linkedin', 'rita');
  assert.equal((await w.grantRow(profile, 'credential_ref')).credential_ref, ref1);
  // Another client id: rot-1 is kept (retired) for its grant.
  assert.equal((await put('rot-2')).status, 200);
  let now = await rows();
  assert.deepEqual(now.map((r) => [r.client_id, r.retired_at !== null]), [['rot-1', true], ['rot-2', false]]);
  // Back to rot-1: the same row comes back (no second row for one client id); rot-2 is
  // retired, never dropped at once (a link in flight may name it), though no grant uses it.
  const ref2 = now.find((r) => r.client_id === 'rot-2').id;
  assert.equal((await put('rot-1')).status, 200);
  now = await rows();
  assert.deepEqual(now.map((r) => [r.id, r.client_id, r.retired_at !== null]), [[ref1, 'rot-1', false], [ref2, 'rot-2', true]]);
  // Retired again, and long enough ago: kept while the grant refers to it; rot-2 comes back
  // as the same row.
  assert.equal((await put('rot-2')).status, 200);
  assert.equal((await rows()).find((r) => r.client_id === 'rot-2').id, ref2);
  await w.sql('UPDATE platform_credentials SET retired_at = retired_at - 3 * 86400 WHERE id = ?', ref1); // past the two days of grace
  await w.cron();
  assert.ok(await w.row('SELECT id FROM platform_credentials WHERE id = ?', ref1), 'its grant still refers to it');
  // The grant's last profile deleted: the grant goes, and the next cron purges the credentials.
  assert.equal((await w.call('DELETE', `/v1/profiles/${profile}`, { token: app.api_key })).status, 204);
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM grants WHERE credential_ref = ?', ref1)).n, 0);
  await w.cron();
  assert.equal(await w.row('SELECT id FROM platform_credentials WHERE id = ?', ref1), null);
  assert.deepEqual((await rows()).map((r) => [r.client_id, r.retired_at]), [['rot-2', null]]);
});

test('no secret of this file in any answer, log line or D1 table', async () => {
  await assertNoSecretsAnywhere(w, {
    answers,
    answered: [...[...clients].map(([id, secret]) => ({ id, secret })), credsFor('x'), credsFor('linkedin')],
    kept: [...mocks.tokens.keys()].map((secret) => ({ secret, what: 'a platform token' })),
  });
});
