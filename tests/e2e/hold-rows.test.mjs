// The row that holds a connect's grant until its accounts land (an `account_choices` row):
// written as soon as the token answer is in, so no isolate that dies while the identity and
// the accounts are read leaves a live grant with no row; dropped only once the grant's
// revocation is settled (a 2xx, or the platform's answer for a token it no longer knows),
// never on a 429 or a refused client; and an expired one is revoked by the cron, tried again
// with backoff until that is settled, and given up after its last try.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';
import { PlatformMocks, credentialVars } from './platform-mocks.mjs';
import { WebhookReceiver } from './webhook-receiver.mjs';
import { until } from './streams.mjs';

const REDIRECT = 'https://app.example.com/connected';
const mocks = new PlatformMocks();
const receiver = new WebhookReceiver();
let w;
let app; // claim: auto, with a webhook receiver

before(async () => {
  await receiver.start();
  w = await startWorker({ vars: credentialVars(['facebook']), outbound: mocks.handle });
  app = (await w.admin('POST', '/v1/admin/apps', { name: 'Hold app', allowed_redirect_urls: [REDIRECT], webhook_url: receiver.url, claim: 'auto' })).body;
  receiver.useSecret(app.webhook_secret);
});
after(async () => {
  await w?.stop();
  await receiver.stop();
});

const now = () => Math.floor(Date.now() / 1000);
const bearerUser = (c) => mocks.tokens.get(/^Bearer (.+)$/.exec(c.headers.authorization || '')?.[1])?.user;
const revokesOf = (user) => mocks.calls.filter((c) => c.platform === 'facebook' && c.endpoint === 'revoke' && bearerUser(c) === user);
const live = (user) => [...mocks.tokens.values()].filter((t) => t.user === user && t.kind === 'access' && !t.revoked);
const holdRow = (linkId) => w.row('SELECT token_hash, sealed, expires_at, revoke_tries FROM account_choices WHERE link_id = ?', linkId);
const failedTold = (linkId) => until('connect_link.failed', () => receiver.of('connect_link.failed').some((e) => e.data.link_id === linkId));

/**
 * A connect of `user` (all of its two Pages) whose write fails (D1 refuses the second
 * Page), with the next revocation answered `answer()`. Resolves once the worker has tried
 * the revocation and told the app: { link }.
 */
async function failedConnect(user, answer) {
  mocks.setPages(user, [{ id: `${user}-1`, name: 'A' }, { id: `${user}-2`, name: 'B' }]);
  if (answer) mocks.failNext('facebook', 'revoke', answer);
  await w.sql(`CREATE TRIGGER refuse_hold BEFORE INSERT ON profiles WHEN NEW.platform_user_id = '${user}-2' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`);
  try {
    const { q, link } = await w.connectWithMock(mocks, app.api_key, 'facebook', { user, redirect: REDIRECT, linkFields: { accounts: 'all' } });
    assert.equal(q.error, 'server_error');
    // After the answer the worker revokes, then delivers `connect_link.failed`.
    await failedTold(link.id);
    assert.equal(revokesOf(user).length, 1, 'the revocation was tried');
    return { link };
  } finally {
    await w.sql('DROP TRIGGER refuse_hold');
  }
}

test('the grant is held in a row from the token answer on, while the identity and the Pages are read', async () => {
  mocks.setPages('early', [{ id: '7101', name: 'A' }, { id: '7102', name: 'B' }]);
  const link = await w.createLink(app.api_key, { platform: 'facebook', redirect_url: REDIRECT, accounts: 'all' });
  const approved = mocks.approve(link.authorize_url, { user: 'early' });
  // The Page listing answers late: the window in which an isolate that dies would have left
  // the grant with no row.
  // Held (not delayed by a fixed time) so that a slow runner cannot let it answer before the
  // row is read.
  let letGo = mocks.hold('facebook:accounts');
  try {
    const done = fetch(`${w.base}/oauth/callback?${new URLSearchParams({ code: approved.code, state: approved.state })}`, { redirect: 'manual' });
    await until('the Pages to be asked for', () => mocks.calls.some((c) => c.endpoint === 'accounts' && !c.answered && bearerUser(c) === 'early'));
    const row = await holdRow(link.id);
    assert.ok(row, 'a row holds the grant while the Pages are read');
    assert.equal(row.token_hash, '', 'no browser can submit it');
    const held = JSON.parse(w.openEnvelope(row.sealed, link.id, 'account_choice'));
    assert.ok(live('early').some((t) => t === mocks.tokens.get(held.access_token)), 'it holds the grant the platform issued');
    letGo();
    letGo = null;
    const res = await done;
    assert.equal(new URL(res.headers.get('location')).searchParams.get('connected'), 'true');
  } finally {
    letGo?.();
  }
  assert.equal(await holdRow(link.id), null, 'the landing dropped it');
  assert.equal((await w.row("SELECT COUNT(*) AS n FROM profiles WHERE platform_user_id IN ('7101', '7102') AND status = 'active'")).n, 2);
});

test('a revocation answered 429 or invalid_client is not settled: the row keeps the grant', async () => {
  const answers = [
    ['throttled', () => new Response(JSON.stringify({ error: { message: 'Application request limit reached', code: 4 } }), { status: 429, headers: { 'content-type': 'application/json' } })],
    ['badclient', () => new Response(JSON.stringify({ error: 'invalid_client' }), { status: 401, headers: { 'content-type': 'application/json' } })],
  ];
  for (const [user, answer] of answers) {
    const { link } = await failedConnect(user, answer);
    const row = await holdRow(link.id);
    assert.ok(row, `${user}: the row still holds the grant`);
    assert.ok(live(user).length > 0, `${user}: still live at the platform`);
  }
  // The platform's own answer for a token it no longer knows (Graph's 190) settles it.
  const { link } = await failedConnect('gone', () => new Response(JSON.stringify({ error: { message: 'Invalid OAuth access token.', code: 190 } }), { status: 400, headers: { 'content-type': 'application/json' } }));
  await until('the row to be dropped', async () => (await holdRow(link.id)) === null);
});

test('the cron revokes an expired row and drops it only once that is settled, trying again with backoff', async () => {
  const { link } = await failedConnect('retry', () => new Response('unavailable', { status: 503 }));
  assert.ok(await holdRow(link.id));
  await w.sql('UPDATE account_choices SET expires_at = ? WHERE link_id = ?', now() - 1, link.id);
  mocks.failNext('facebook', 'revoke', () => new Response('unavailable', { status: 503 }));
  await w.cron();
  assert.equal(revokesOf('retry').length, 2, 'the cron tried');
  const row = await holdRow(link.id);
  assert.ok(row, 'a revocation that did not get through keeps the row');
  assert.equal(row.revoke_tries, 1);
  assert.ok(row.expires_at > now(), 'its next try waits');
  assert.ok(live('retry').length > 0);
  // Not due yet: the next run leaves it alone.
  await w.cron();
  assert.equal(revokesOf('retry').length, 2);
  await w.sql('UPDATE account_choices SET expires_at = ? WHERE link_id = ?', now() - 1, link.id);
  await w.cron();
  assert.equal(revokesOf('retry').length, 3);
  assert.equal(live('retry').length, 0, 'revoked at the platform');
  assert.equal(await holdRow(link.id), null, 'then dropped');
});

test('a row whose revocation never settles is given up after its last try', async () => {
  const { link } = await failedConnect('hopeless', () => new Response('unavailable', { status: 503 }));
  // Its eleventh failed try is behind it; the twelfth is the last.
  await w.sql('UPDATE account_choices SET expires_at = ?, revoke_tries = 11 WHERE link_id = ?', now() - 1, link.id);
  mocks.failNext('facebook', 'revoke', () => new Response('unavailable', { status: 503 }));
  await w.cron();
  assert.equal(revokesOf('hopeless').length, 2, 'tried once more');
  assert.equal(await holdRow(link.id), null, 'given up');
});

test('the row learns the login from the identity call: a connect whose Pages fail is revoked by the cron as the login\'s', async () => {
  const user = 'listless';
  mocks.setPages(user, [{ id: `${user}-1`, name: 'A' }]);
  // The Page listing and the revocation after it both get no usable answer.
  mocks.failNext('facebook', 'accounts', () => new Response('unavailable', { status: 503 }));
  mocks.failNext('facebook', 'revoke', () => new Response('unavailable', { status: 503 }));
  const { q, link } = await w.connectWithMock(mocks, app.api_key, 'facebook', { user, redirect: REDIRECT, linkFields: { accounts: 'all' } });
  assert.ok(q.error, 'the connect failed');
  await failedTold(link.id);
  assert.equal(revokesOf(user).length, 1, 'the revocation was tried');
  const row = await w.row('SELECT sealed, login_key FROM account_choices WHERE link_id = ?', link.id);
  assert.ok(row, 'a revocation that did not settle keeps the row');
  assert.equal(JSON.parse(w.openEnvelope(row.sealed, link.id, 'account_choice')).login.platform_user_id, `10${user}`, 'it holds the login');
  assert.ok(row.login_key, 'and its key');
  await w.sql('UPDATE account_choices SET expires_at = ? WHERE link_id = ?', now() - 1, link.id);
  await w.cron();
  assert.equal(revokesOf(user).length, 2, 'the cron revoked it (not skipped as an unknown account\'s)');
  assert.equal(live(user).length, 0, 'revoked at the platform');
  assert.equal(await holdRow(link.id), null, 'then dropped');
});

test('an expired row whose login is unknown is not dropped as settled: kept, then given up after its last try', async () => {
  const { link } = await failedConnect('nameless', () => new Response('unavailable', { status: 503 }));
  // As a request that died during the identity call would have left it.
  const row = await w.row('SELECT sealed, token_kid FROM account_choices WHERE link_id = ?', link.id);
  const held = JSON.parse(w.openEnvelope(row.sealed, link.id, 'account_choice'));
  held.login.platform_user_id = '';
  const sealed = w.sealEnvelope(JSON.stringify(held), link.id, 'account_choice', row.token_kid);
  await w.sql('UPDATE account_choices SET sealed = ?, login_key = NULL, expires_at = ? WHERE link_id = ?', sealed, now() - 1, link.id);
  await w.cron();
  assert.equal(revokesOf('nameless').length, 1, 'Facebook\'s revoke would end every grant of an unknown account: not called');
  const kept = await holdRow(link.id);
  assert.ok(kept, 'the row stays');
  assert.equal(kept.revoke_tries, 1);
  assert.ok(live('nameless').length > 0);
  await w.sql('UPDATE account_choices SET expires_at = ?, revoke_tries = 11 WHERE link_id = ?', now() - 1, link.id);
  await w.cron();
  assert.equal(await holdRow(link.id), null, 'given up after its last try');
});
