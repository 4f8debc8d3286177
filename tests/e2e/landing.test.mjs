// Landing a login's accounts. With the most Facebook Pages a listing takes (1,000) (`accounts: "all"`) every Page
// lands within D1's limits (the worker runs under tests/e2e/d1-limits-entry.mjs, which holds
// its D1 binding to the documented 1,000 queries per invocation; local D1 refuses more than
// 100 bound parameters per statement), all or nothing. A connect or a picker submit whose
// write fails (a storage error: a trigger refuses a row) leaves none of the login's accounts
// connected, and the grant it held is revoked at the platform, or kept in a row until the
// cron's retry revokes it: never live with no row.
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
let app; // claim: required (the default), with a webhook receiver
let auto; // claim: auto, no webhook

before(async () => {
  await receiver.start();
  w = await startWorker({ vars: credentialVars(['facebook']), outbound: mocks.handle, entry: 'tests/e2e/d1-limits-entry.mjs' });
  app = (await w.admin('POST', '/v1/admin/apps', { name: 'Many app', allowed_redirect_urls: [REDIRECT], webhook_url: receiver.url })).body;
  receiver.useSecret(app.webhook_secret);
  auto = (await w.admin('POST', '/v1/admin/apps', { name: 'Many auto', allowed_redirect_urls: [REDIRECT], claim: 'auto' })).body;
});
after(async () => {
  await w?.stop();
  await receiver.stop();
});

/** `n` Pages with ids `<prefix>0000`...; names long enough to weigh like real ones. */
const pagesOf = (prefix, n) => Array.from({ length: n }, (_, i) => ({ id: `${prefix}${String(i).padStart(4, '0')}`, name: `Page ${i} of a business with a long name ${'x'.repeat(40)}` }));
const listingCalls = (user) => mocks.calls.filter((c) => c.endpoint === 'accounts' && mocks.graphBearer(c)?.user === user);
const revokesOf = (user) => mocks.calls.filter((c) => c.platform === 'facebook' && c.endpoint === 'revoke' && mocks.tokens.get(/^Bearer (.+)$/.exec(c.headers.authorization || '')?.[1])?.user === user);
const countIn = async (sql, ids) => (await w.row(sql, JSON.stringify(ids))).n;

test('1,000 Pages (the listing cap) across Graph paging, claim required: every Page lands and the claim activates all of them', async () => {
  // As many Pages as D1 allows queries in one invocation: a write per Page would go over.
  const pages = pagesOf('61', 1000);
  mocks.setPages('many', pages);
  const { q, link, claimed } = await w.connectWithMock(mocks, app.api_key, 'facebook', { user: 'many', redirect: REDIRECT, linkFields: { accounts: 'all' } });
  assert.equal(q.connected, 'true', JSON.stringify(q));
  assert.equal(listingCalls('many').length, 10, 'ten listing pages of 100');
  // Too many for a URL an app server takes: the redirect names the first, the claim all.
  assert.equal(q.profile_ids, undefined);
  const ids = claimed.body.data.map((p) => p.id);
  assert.equal(ids.length, 1000);
  assert.equal(ids[0], q.profile_id);
  assert.ok(claimed.body.data.every((p) => p.status === 'active'));
  assert.deepEqual((await w.call('GET', `/v1/connect-links/${link.id}`, { token: app.api_key })).body.profile_ids, ids);
  const ours = pages.map((p) => p.id);
  assert.equal(await countIn("SELECT COUNT(*) AS n FROM profiles WHERE platform_user_id IN (SELECT value FROM json_each(?)) AND status = 'active' AND access_token_enc IS NOT NULL", ours), 1000);
  assert.equal((await w.row('SELECT COUNT(DISTINCT grant_id) AS n FROM profiles WHERE id IN (SELECT value FROM json_each(?))', JSON.stringify(ids))).n, 1, 'one grant');
  assert.equal((await w.row('SELECT status FROM connect_links WHERE id = ?', link.id)).status, 'completed');
  // The claim told the app of each one (its first deliveries go now, the rest with the cron).
  assert.equal(await countIn("SELECT COUNT(*) AS n FROM webhook_outbox WHERE type = 'profile.connected' AND json_extract(body, '$.data.id') IN (SELECT value FROM json_each(?))", ids), 1000);
  // Each Page acts with its own token.
  const one = await w.call('GET', `/v1/profiles/${ids[999]}/access-token`, { token: app.api_key });
  assert.equal(one.status, 200);
  assert.equal(one.body.access_token, mocks.pageToken(pages[999].id));
});

test('1,000 Pages, claim auto: every Page lands in the callback itself', async () => {
  const pages = pagesOf('62', 1000);
  mocks.setPages('many-auto', pages);
  const idsOf = async (link) => (await w.call('GET', `/v1/connect-links/${link.id}`, { token: auto.api_key })).body.profile_ids;
  const { q, link } = await w.connectWithMock(mocks, auto.api_key, 'facebook', { user: 'many-auto', redirect: REDIRECT, linkFields: { accounts: 'all' } });
  assert.equal(q.connected, 'true', JSON.stringify(q));
  assert.equal(q.connect_token, undefined);
  assert.equal(await countIn("SELECT COUNT(*) AS n FROM profiles WHERE platform_user_id IN (SELECT value FROM json_each(?)) AND status = 'active'", pages.map((p) => p.id)), 1000);
  const ids = await idsOf(link);
  assert.equal(ids.length, 1000);
  // Connected again: every Page is updated in place (same profile ids), none added.
  const again = await w.connectWithMock(mocks, auto.api_key, 'facebook', { user: 'many-auto', redirect: REDIRECT, linkFields: { accounts: 'all' } });
  assert.equal(again.q.connected, 'true', JSON.stringify(again.q));
  assert.deepEqual((await idsOf(again.link)).sort(), [...ids].sort());
  assert.equal(await countIn('SELECT COUNT(*) AS n FROM profiles WHERE platform_user_id IN (SELECT value FROM json_each(?))', pages.map((p) => p.id)), 1000);
});

test('a write that fails on the 550th Page: none of the login\'s Pages is connected, and the fresh grant is revoked', async () => {
  const pages = pagesOf('63', 600);
  mocks.setPages('many-fail', pages);
  // A storage error the worker cannot tell from any other: D1 refuses that one row.
  await w.sql(`CREATE TRIGGER refuse_page BEFORE INSERT ON profiles WHEN NEW.platform_user_id = '${pages[549].id}' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`);
  try {
    const { q, link } = await w.connectWithMock(mocks, auto.api_key, 'facebook', { user: 'many-fail', redirect: REDIRECT, linkFields: { accounts: 'all' } });
    assert.equal(q.connected, 'false');
    assert.equal(q.error, 'server_error');
    assert.equal(await countIn('SELECT COUNT(*) AS n FROM profiles WHERE platform_user_id IN (SELECT value FROM json_each(?))', pages.map((p) => p.id)), 0, 'no Page half-connected');
    assert.equal((await w.row("SELECT COUNT(*) AS n FROM grants WHERE platform = 'facebook' AND platform_user_id = ?", '10many-fail')).n, 0, 'no grant row');
    assert.equal((await w.row('SELECT status, error FROM connect_links WHERE id = ?', link.id)).error, 'server_error');
    // The grant the platform issued is not left live with no row.
    await until('the fresh grant to be revoked', () => revokesOf('many-fail').length === 1);
    assert.ok([...mocks.tokens.values()].filter((t) => t.user === 'many-fail' && t.kind === 'access').every((t) => t.revoked));
    // With the grant revoked, the row that held it for the link goes too.
    await until('the hold row to be dropped', async () => (await choiceRow(link)) === null);
  } finally {
    await w.sql('DROP TRIGGER refuse_page');
  }
});

/** Runs `body` while D1 refuses to insert a profile for `platformUserId`. */
async function refusing(platformUserId, body) {
  await w.sql(`CREATE TRIGGER refuse_one BEFORE INSERT ON profiles WHEN NEW.platform_user_id = '${platformUserId}' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`);
  try {
    return await body();
  } finally {
    await w.sql('DROP TRIGGER refuse_one');
  }
}

/** A Facebook connect up to the picker page: { link, picker, cookie }. */
async function pickerOf(key, user) {
  const link = await w.createLink(key, { platform: 'facebook', redirect_url: REDIRECT });
  const approved = mocks.approve(link.authorize_url, { user });
  const res = await fetch(`${w.base}/oauth/callback?${new URLSearchParams({ code: approved.code, state: approved.state })}`, { redirect: 'manual' });
  assert.equal(res.status, 200, 'the picker');
  return { link, picker: parsePicker(await res.text()), cookie: res.headers.get('set-cookie').split(';')[0] };
}

const submit = ({ picker, cookie }, ids) => fetch(picker.action, {
  method: 'POST', body: new URLSearchParams([['form_token', picker.token], ...ids.map((id) => ['account', id])]),
  headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual',
});
const choiceRow = (link) => w.row('SELECT token_hash FROM account_choices WHERE link_id = ?', link.id);

test('a picker submit whose write fails: nothing connected, the grant its choice held is revoked and the choice dropped', async () => {
  mocks.setPages('pick-fail', [{ id: '6401', name: 'A' }, { id: '6402', name: 'B' }]);
  const open = await pickerOf(auto.api_key, 'pick-fail');
  const res = await refusing('6402', () => submit(open, ['6401', '6402']));
  assert.equal(res.status, 302);
  const q = Object.fromEntries(new URL(res.headers.get('location')).searchParams);
  assert.deepEqual([q.connected, q.error], ['false', 'server_error']);
  assert.equal((await w.row("SELECT COUNT(*) AS n FROM profiles WHERE platform_user_id IN ('6401', '6402')")).n, 0);
  await until('the grant to be revoked', () => revokesOf('pick-fail').length === 1);
  await until('the choice to be dropped', async () => (await choiceRow(open.link)) === null);
  assert.equal((await submit(open, ['6401'])).status, 410, 'the choice cannot be made again');
});

test('a revocation that does not get through keeps the grant in its row; the cron revokes it when the row expires', async () => {
  mocks.setPages('pick-retry', [{ id: '6501', name: 'A' }, { id: '6502', name: 'B' }]);
  const open = await pickerOf(app.api_key, 'pick-retry');
  mocks.failNext('facebook', 'revoke', () => new Response('unavailable', { status: 503 }));
  const res = await refusing('6501', () => submit(open, ['6501']));
  assert.equal(new URL(res.headers.get('location')).searchParams.get('error'), 'server_error');
  // After the answer the worker revokes, then (once that is settled or not) delivers
  // `connect_link.failed`: with the event here, the row's fate is decided.
  await until('connect_link.failed', () => receiver.of('connect_link.failed').some((e) => e.data.link_id === open.link.id));
  assert.equal(revokesOf('pick-retry').length, 1, 'the revocation was tried');
  assert.ok(await choiceRow(open.link), 'the row still holds the grant');
  assert.equal((await choiceRow(open.link)).token_hash, '', 'no browser can submit it');
  const live = () => [...mocks.tokens.values()].filter((t) => t.user === 'pick-retry' && t.kind === 'access' && !t.revoked);
  assert.ok(live().length > 0, 'still live at the platform');
  await w.sql('UPDATE account_choices SET expires_at = ? WHERE link_id = ?', Math.floor(Date.now() / 1000) - 1, open.link.id);
  await w.cron();
  assert.equal(revokesOf('pick-retry').length, 2);
  assert.equal(live().length, 0);
  assert.equal(await choiceRow(open.link), null);
});
