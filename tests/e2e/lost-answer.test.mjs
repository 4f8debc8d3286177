// D1 can fail a call whose transaction committed (the answer is lost on the way back). The
// row that held a connect's grant is the landing's commit marker (the landing batch deletes
// it): after a storage error the worker reads it back and revokes the grant only while the
// row is still there, so a grant that was stored is never revoked under its new profiles.
// The worker runs under tests/e2e/lost-answer-entry.mjs, which loses the answer of the next
// batch holding the statement text the test names.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker, parsePicker } from './harness.mjs';
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
  w = await startWorker({ vars: credentialVars(['facebook', 'x']), outbound: mocks.handle, entry: 'tests/e2e/lost-answer-entry.mjs' });
  app = (await w.admin('POST', '/v1/admin/apps', { name: 'Lost app', allowed_redirect_urls: [REDIRECT], webhook_url: receiver.url, claim: 'auto' })).body;
  receiver.useSecret(app.webhook_secret);
  await w.sql('CREATE TABLE lose_answer (fragment TEXT NOT NULL)');
});
after(async () => {
  await w?.stop();
  await receiver.stop();
});

/** The landing batch (it deletes the row that held the grant). */
const LANDING = 'DELETE FROM account_choices WHERE link_id = ?1';
/** The picker's batch (it binds the row to the page's form token and cookie). */
const PICKER = 'ON CONFLICT (link_id) DO UPDATE';

// A token-scoped revoke (X, the sandbox) would end the very grant just stored: an
// account-wide one (Facebook) is skipped anyway while a stored grant holds the login.
const xRevokesOf = (user) => mocks.calls.filter((c) => c.platform === 'x' && c.endpoint === 'revoke' && mocks.tokens.get(c.form.token)?.user === user);
const sandboxRevoked = async (username) => (await w.row('SELECT COUNT(*) AS n FROM sandbox_tokens WHERE username = ? AND revoked_at IS NOT NULL', username)).n;
const bearerUser = (c) => mocks.tokens.get(/^Bearer (.+)$/.exec(c.headers.authorization || '')?.[1])?.user;
const revokesOf = (user) => mocks.calls.filter((c) => c.platform === 'facebook' && c.endpoint === 'revoke' && bearerUser(c) === user);
const loseNext = (fragment) => w.sql('INSERT INTO lose_answer (fragment) VALUES (?)', fragment);
const activeProfiles = async (ids) => (await w.row("SELECT COUNT(*) AS n FROM profiles WHERE platform_user_id IN (SELECT value FROM json_each(?)) AND status = 'active'", JSON.stringify(ids))).n;

/** The lost answer was used up (the batch it names ran). */
const used = () => until('the lost answer to be used', async () => (await w.row('SELECT COUNT(*) AS n FROM lose_answer')).n === 0);

/**
 * Waits for what follows a landing whose answer was lost: its events wait in the outbox for
 * the cron (the worker never saw them stored), which runs after anything the request left
 * to do after its answer.
 */
async function delivered(accounts) {
  await used();
  await w.cron();
  await until('profile.connected for each account', () => accounts.every((a) => receiver.of('profile.connected').some((e) => e.data.platform_user_id === a)));
}

test('a connect whose landing committed but whose answer was lost keeps the grant it stored', async () => {
  await loseNext(LANDING);
  const { q, link } = await w.connectWithMock(mocks, app.api_key, 'x', { user: 'lost', redirect: REDIRECT });
  assert.equal(q.error, 'server_error', 'the worker could not tell');
  const profile = (await w.row("SELECT platform_user_id FROM profiles WHERE platform = 'x' AND status = 'active'"))?.platform_user_id;
  assert.ok(profile, 'the landing committed');
  await delivered([profile]);
  assert.equal(xRevokesOf('lost').length, 0, 'the stored grant was not revoked');
  assert.ok([...mocks.tokens.values()].some((t) => t.user === 'lost' && t.platform === 'x' && t.kind === 'access' && !t.revoked));
  assert.equal((await w.row('SELECT status FROM connect_links WHERE id = ?', link.id)).status, 'completed', 'not marked failed');
  assert.equal(receiver.of('connect_link.failed').filter((e) => e.data.link_id === link.id).length, 0);
});

test('a picker submit whose landing committed but whose answer was lost keeps the grant it stored', async () => {
  const link = await w.createLink(app.api_key, { platform: 'sandbox', redirect_url: REDIRECT });
  const { back } = await w.consent(link, { username: 'lostpick' });
  const res = await fetch(back, { redirect: 'manual' });
  assert.equal(res.status, 200, 'the picker');
  const picker = parsePicker(await res.text());
  const cookie = res.headers.get('set-cookie').split(';')[0];
  await loseNext(LANDING);
  const submit = await fetch(picker.action, {
    method: 'POST', body: new URLSearchParams([['form_token', picker.token], ['account', picker.ids[0]]]),
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual',
  });
  assert.equal(new URL(submit.headers.get('location')).searchParams.get('error'), 'server_error');
  await delivered([picker.ids[0]]);
  assert.equal(await activeProfiles([picker.ids[0]]), 1, 'the landing committed');
  assert.equal(await sandboxRevoked('lostpick'), 0, 'the stored grant was not revoked');
});

test('a picker whose write committed but whose answer was lost is shown, its grant kept', async () => {
  mocks.setPages('lostask', [{ id: '7501', name: 'A' }, { id: '7502', name: 'B' }]);
  const link = await w.createLink(app.api_key, { platform: 'facebook', redirect_url: REDIRECT });
  const approved = mocks.approve(link.authorize_url, { user: 'lostask' });
  await loseNext(PICKER);
  const res = await fetch(`${w.base}/oauth/callback?${new URLSearchParams({ code: approved.code, state: approved.state })}`, { redirect: 'manual' });
  assert.equal(res.status, 200, 'the picker, all the same');
  const picker = parsePicker(await res.text());
  const cookie = res.headers.get('set-cookie').split(';')[0];
  await used();
  assert.equal(revokesOf('lostask').length, 0);
  const submit = await fetch(picker.action, {
    method: 'POST', body: new URLSearchParams([['form_token', picker.token], ['account', '7502']]),
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual',
  });
  assert.equal(new URL(submit.headers.get('location')).searchParams.get('connected'), 'true');
  assert.equal(await activeProfiles(['7502']), 1);
  await w.settled();
  assert.equal(revokesOf('lostask').length, 0, 'the grant it held landed, never revoked');
});
