// Removing an app's own platform credentials while connects are under way: a grant whose
// profile still waits for its claim, an account choice still open in the picker. Nothing is
// left live at the platform with no row to revoke it from, and a forced removal never fails
// on a pending profile. Also what a tenant may store: not another app's client id, not the
// deployment's (under its key or the operator's), and not an unbounded number of replaced ones.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker, callsQuiet } from './harness.mjs';
import { PlatformMocks, credentialVars, credsFor } from './platform-mocks.mjs';
import { recordAnswers, assertNoSecretsAnywhere } from './secret-scan.mjs';

const REDIRECT = 'https://app.example.com/connected';
const mocks = new PlatformMocks();
let w;
let answers; // every answer of this file, scanned by the last test
const clients = []; // every app's own client ({ id, secret }) the file stores

before(async () => {
  w = await startWorker({ vars: credentialVars(['x', 'facebook', 'linkedin']), outbound: mocks.handle, captureLogs: true });
  answers = recordAnswers(w);
});
after(async () => { await w?.stop(); });

const basic = (id, secret) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
async function until(check, what, ms = 5000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const callsSince = (from, platform, endpoint) => mocks.calls.slice(from).filter((c) => c.platform === platform && c.endpoint === endpoint);
/** Every revoke call to `platform` since `from`, once they have stopped coming (revocations run after the answer). */
const revokesSince = (from, platform) => callsQuiet(mocks.calls, (c, i) => i >= from && c.platform === platform && c.endpoint === 'revoke');

async function ownClient(app, platform, id, secret) {
  clients.push({ id, secret });
  mocks.allowClient(platform, id, secret);
  const r = await w.admin('PUT', `/v1/admin/apps/${app.app.id}/platforms/${platform}`, { client_id: id, client_secret: secret });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

test('a forced DELETE ends a grant whose profile waits for its claim (silently, the claim then refused) and revokes it with the removed client', async () => {
  const app = await w.createApp('Pending removal', [REDIRECT]); // claim: required
  await ownClient(app, 'x', 'pend-x-client', 'pend-x-secret');
  const link = await w.createLink(app.api_key, { platform: 'x', redirect_url: REDIRECT });
  const approved = mocks.approve(link.authorize_url, { user: 'pendx' });
  const res = await w.callback(`${approved.redirectUri}?${new URLSearchParams({ code: approved.code, state: approved.state })}`, { claim: false });
  const q = Object.fromEntries(new URL(res.headers.get('location')).searchParams);
  assert.equal(q.connected, 'true', JSON.stringify(q));
  assert.ok(q.connect_token, 'waits for its claim');
  const pending = await w.row('SELECT id, status FROM profiles WHERE app_id = ?', app.app.id);
  assert.equal(pending.status, 'pending');
  const { access, refresh } = await w.tokensOf(pending.id);

  const refused = await w.admin('DELETE', `/v1/admin/apps/${app.app.id}/platforms/x`);
  assert.equal(refused.status, 409, 'a pending profile holds its grant');
  const from = mocks.calls.length;
  const forced = await w.admin('DELETE', `/v1/admin/apps/${app.app.id}/platforms/x?force=true`);
  assert.equal(forced.status, 204, forced.text);
  // The revocation runs after the answer.
  await until(() => callsSince(from, 'x', 'revoke').length > 0, 'the revoke call');
  const after = await w.row('SELECT status, disconnect_reason FROM profiles WHERE id = ?', pending.id);
  assert.deepEqual([after.status, after.disconnect_reason], ['disconnected', 'credentials_removed']);
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM platform_credentials WHERE app_id = ?', app.app.id)).n, 0);
  const revokes = await revokesSince(from, 'x');
  // Exactly one revoke call: the grant's refresh token.
  assert.deepEqual(revokes.map((c) => c.form.token), [refresh], 'revoked once at X');
  for (const r of revokes) {
    assert.equal(r.headers.authorization, basic('pend-x-client', 'pend-x-secret'), 'with the removed client');
    assert.ok([access, refresh].includes(r.form.token), 'a token of the grant');
    assert.equal(mocks.tokens.get(r.form.token).revoked, true, 'the platform took the revocation');
  }

  const claim = await w.call('POST', `/v1/connect-links/${link.id}/claim`, { token: app.api_key, json: { connect_token: q.connect_token } });
  assert.equal(claim.status, 409, JSON.stringify(claim.body));
  assert.equal((await w.row('SELECT status FROM profiles WHERE id = ?', pending.id)).status, 'disconnected', 'the claim activated nothing');
});

test('a DELETE while the user is in the picker drops the choice, fails the link and revokes the tokens it held with the removed client', async () => {
  const app = await w.createApp('Picker removal', [REDIRECT]);
  await ownClient(app, 'facebook', 'pick-fb-client', 'pick-fb-secret');
  mocks.setPages('pickgone', [{ id: '7101', name: 'One' }, { id: '7102', name: 'Two' }]);
  const link = await w.createLink(app.api_key, { platform: 'facebook', redirect_url: REDIRECT });
  const approved = mocks.approve(link.authorize_url, { user: 'pickgone' });
  const page = await w.fetchChecked(`${approved.redirectUri}?${new URLSearchParams({ code: approved.code, state: approved.state })}`, { redirect: 'manual' });
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /name="form_token"/, 'the picker is open');
  const cookie = page.headers.get('set-cookie');
  const [token] = callsSince(0, 'facebook', 'token').filter((c) => c.clientId === 'pick-fb-client');
  assert.ok(token, 'the code went to the app client');
  const held = [...mocks.tokens.entries()].filter(([, t]) => t.platform === 'facebook' && t.user === 'pickgone' && t.clientId === 'pick-fb-client' && !t.revoked);
  assert.ok(held.length >= 1, 'the choice holds live tokens');

  const from = mocks.calls.length;
  const del = await w.admin('DELETE', `/v1/admin/apps/${app.app.id}/platforms/facebook`);
  assert.equal(del.status, 204, del.text);
  // The revocation runs after the answer.
  await until(() => callsSince(from, 'facebook', 'revoke').length > 0, 'the revoke call');
  const revokes = await revokesSince(from, 'facebook');
  assert.deepEqual(revokes.map((c) => [c.clientId, c.status]), [['pick-fb-client', 200]], 'the held grant revoked once, with the removed client');
  for (const [, t] of held) assert.equal(t.revoked, true, 'every token the choice held is dead at the platform');
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM account_choices WHERE link_id = ?', link.id)).n, 0, 'the choice is gone');
  const status = await w.call('GET', `/v1/connect-links/${link.id}`, { token: app.api_key });
  assert.deepEqual([status.body.status, status.body.error], ['failed', 'access_denied']);
  // The user submits the picker after all: nothing lands.
  const submitted = await w.choose(html, cookie, 'all');
  const location = submitted.headers.get('location');
  assert.ok(!location || new URL(location).searchParams.get('connected') !== 'true', 'nothing connected');
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM profiles WHERE app_id = ?', app.app.id)).n, 0);
});

test("a client id that is another app's or the deployment's is refused 409, under the app's key and the operator's alike", async () => {
  const a = await w.createApp('Share A', [REDIRECT]);
  const b = await w.createApp('Share B', [REDIRECT]);
  for (const app of [a, b]) assert.equal((await w.admin('PATCH', `/v1/admin/apps/${app.app.id}`, { self_service_credentials: true })).status, 200);
  const secretOf = (client_id) => `${client_id}-secret-0123`;
  const own = (app, platform, client_id) => {
    clients.push({ id: client_id, secret: secretOf(client_id) });
    return w.call('PUT', `/v1/platform-credentials/${platform}`, { token: app.api_key, json: { client_id, client_secret: secretOf(client_id) } });
  };
  const operator = (app, platform, client_id) => {
    clients.push({ id: client_id, secret: secretOf(client_id) });
    return w.admin('PUT', `/v1/admin/apps/${app.app.id}/platforms/${platform}`, { client_id, client_secret: secretOf(client_id) });
  };
  assert.equal((await own(a, 'linkedin', 'a-own-li')).status, 200);
  for (const [who, r] of [
    ["B's key, A's client id", await own(b, 'linkedin', 'a-own-li')],
    ["the operator, A's client id for B", await operator(b, 'linkedin', 'a-own-li')],
    ["B's key, A's client id on another platform", await own(b, 'x', 'a-own-li')],
    ["B's key, the deployment's client id", await own(b, 'x', credsFor('x').id)],
    ["the operator, the deployment's client id", await operator(b, 'x', credsFor('x').id)],
  ]) {
    assert.equal(r.status, 409, `${who}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.code, 'conflict', who);
    assert.ok(!r.text.includes(a.app.id), `${who}: which app holds it is not told`);
  }
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM platform_credentials WHERE app_id = ?', b.app.id)).n, 0, 'nothing stored for B');
  // A stores it again for itself (a new secret), and for a second platform of the same
  // platform app (one Meta app for Facebook and Instagram is the real case).
  assert.equal((await own(a, 'linkedin', 'a-own-li')).status, 200, 'the same app may');
  assert.equal((await own(a, 'x', 'a-own-li')).status, 200, 'the same app, another platform');
});

test('an app keeps at most 10 client ids per platform: the next new one is refused 409, a kept one comes back', async () => {
  const app = await w.createApp('Many clients', [REDIRECT]);
  const put = (id) => clients.push({ id, secret: `${id}-secret-0123` }) && w.admin('PUT', `/v1/admin/apps/${app.app.id}/platforms/linkedin`, { client_id: id, client_secret: `${id}-secret-0123` });
  for (let i = 0; i < 10; i++) assert.equal((await put(`many-${i}`)).status, 200, `client ${i}`);
  const over = await put('many-10');
  assert.equal(over.status, 409, JSON.stringify(over.body));
  assert.match(over.body.error.message, /DELETE/);
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM platform_credentials WHERE app_id = ?', app.app.id)).n, 10);
  const back = await put('many-3');
  assert.equal(back.status, 200, 'a kept client id is no new one');
  assert.equal(back.body.client_id, 'many-3');
  assert.equal((await w.admin('DELETE', `/v1/admin/apps/${app.app.id}/platforms/linkedin`)).status, 204);
  assert.equal((await put('many-10')).status, 200, 'room again once removed');
});

test('no secret of this file in any answer, log line or D1 table', async () => {
  await assertNoSecretsAnywhere(w, {
    answers,
    answered: [...clients, credsFor('x'), credsFor('facebook'), credsFor('linkedin')],
    kept: [...mocks.tokens.keys()].map((secret) => ({ secret, what: 'a platform token' })),
  });
});
