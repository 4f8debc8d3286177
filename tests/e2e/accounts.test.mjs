// Issue 9: a connect yields the accounts behind a login (Facebook Pages, Instagram business
// accounts through Facebook Login, LinkedIn organizations, the sandbox's Pages), each a
// profile under one grant; the account picker; reconnects that re-list; grants shared.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker, parsePicker } from './harness.mjs';
import { PlatformMocks, credentialVars } from './platform-mocks.mjs';
import { WebhookReceiver } from './webhook-receiver.mjs';

const REDIRECT = 'https://app.example.com/connected';
const mocks = new PlatformMocks();
const receiver = new WebhookReceiver();
let w;
let app; // claim: required (the default), with a webhook receiver
let auto; // claim: auto

before(async () => {
  await receiver.start();
  w = await startWorker({ vars: credentialVars(['facebook', 'instagram_facebook', 'linkedin']), outbound: mocks.handle });
  const r = await w.admin('POST', '/v1/admin/apps', { name: 'Accounts app', allowed_redirect_urls: [REDIRECT], webhook_url: receiver.url });
  app = { ...r.body, api_key: r.body.api_key };
  receiver.useSecret(r.body.webhook_secret);
  auto = (await w.admin('POST', '/v1/admin/apps', { name: 'Auto app', allowed_redirect_urls: [REDIRECT], claim: 'auto' })).body;
});
after(async () => {
  await w?.stop();
  await receiver.stop();
});

const get = (key, p) => w.call('GET', p, { token: key });
const profile = async (key, id) => (await get(key, `/v1/profiles/${id}`)).body;
const calls = (platform, endpoint) => mocks.calls.filter((c) => c.platform === platform && c.endpoint === endpoint);

/** A connect against the mocks up to the worker's first answer to the callback (no picking, no claim). */
async function callbackOf(key, platform, user, linkFields = {}) {
  const link = await w.createLink(key, { platform, redirect_url: REDIRECT, ...linkFields });
  const approved = mocks.approve(link.authorize_url, { user });
  const qs = new URLSearchParams({ code: approved.code, state: approved.state });
  const res = await fetch(`${w.base}/oauth/callback?${qs}`, { redirect: 'manual' });
  return { link, res };
}

/** A sandbox consent up to the picker page: { link, res, html, cookie, picker }. */
async function sandboxPicker(key, username, linkFields = {}) {
  const link = await w.createLink(key, { redirect_url: REDIRECT, ...linkFields });
  const { back } = await w.consent(link, { username });
  const res = await fetch(back, { redirect: 'manual' });
  const html = await res.text();
  return { link, res, html, cookie: (res.headers.get('set-cookie') || '').split(';')[0], picker: parsePicker(html) };
}

function post(action, fields, headers = {}) {
  return fetch(action, {
    method: 'POST',
    body: new URLSearchParams(fields),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    redirect: 'manual',
  });
}

test('attack: a picker form from another browser, another site or a forged page connects nothing, and the real one still works once', async () => {
  const { link, res, cookie, picker } = await sandboxPicker(auto.api_key, 'picked');
  assert.equal(res.status, 200);
  assert.equal(picker.ids.length, 3, 'the user and two Pages');
  const choice = [['form_token', picker.token], ['account', picker.ids[1]]];
  const before = (await w.row('SELECT COUNT(*) AS n FROM profiles')).n;
  // The form token alone (the attacker saw the page's HTML, not its HttpOnly cookie).
  assert.equal((await post(picker.action, choice)).status, 403);
  // The cookie with a made-up form token.
  assert.equal((await post(picker.action, [['form_token', 'forged'], ['account', picker.ids[1]]], { cookie })).status, 403);
  // Both, but posted from another site (a victim's browser made to submit it).
  assert.equal((await post(picker.action, choice, { cookie, 'sec-fetch-site': 'cross-site' })).status, 403);
  // Another link's form route with this form's token and cookie.
  const other = await sandboxPicker(auto.api_key, 'other');
  assert.equal((await post(other.picker.action, choice, { cookie })).status, 403);
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM profiles')).n, before, 'nothing connected');
  // The real browser's submission connects the one account it chose.
  const ok = await post(picker.action, choice, { cookie, 'sec-fetch-site': 'same-origin' });
  assert.equal(ok.status, 302);
  const q = new URL(ok.headers.get('location')).searchParams;
  assert.equal(q.get('connected'), 'true');
  assert.equal(q.get('profile_ids'), q.get('profile_id'));
  assert.equal((await profile(auto.api_key, q.get('profile_id'))).platform_user_id, picker.ids[1]);
  // Once: a replay (even with everything right) is refused.
  const replay = await post(picker.action, choice, { cookie });
  assert.equal(replay.status, 410);
  const l = (await get(auto.api_key, `/v1/connect-links/${link.id}`)).body;
  assert.deepEqual([l.status, l.profile_ids], ['completed', [q.get('profile_id')]]);
});

test('the picker page: escaped names, pictures, under the page policy, bound by an HttpOnly SameSite cookie', async () => {
  mocks.setPages('escaper', [
    { id: '901', name: '<script>alert(1)</script>' },
    { id: '902', name: 'Quote " Page' },
  ]);
  const { link, res } = await callbackOf(auto.api_key, 'facebook', 'escaper');
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.ok(!html.includes('<script>alert(1)'), 'escaped');
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(html.includes('<img class="avatar" src="https://cdn.facebook.test/page_901.jpg"'));
  assert.ok(!/EAAPage_/.test(html), 'no Page token on the page');
  const csp = res.headers.get('content-security-policy');
  assert.match(csp, /default-src 'none'; style-src 'self'; img-src 'self' https:;/);
  assert.match(csp, /form-action 'self' [^;]*https:\/\/app\.example\.com/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(res.headers.get('x-frame-options'), 'DENY');
  const cookie = res.headers.get('set-cookie');
  for (const part of ['HttpOnly', 'SameSite=Strict', `Path=/connect/${link.id}/accounts`, 'Max-Age=600']) assert.ok(cookie.includes(part), cookie);
  assert.equal((await get(auto.api_key, `/v1/connect-links/${link.id}`)).body.status, 'pending', 'still on the consent path');
});

test('facebook: a login without Pages fails with no_accounts, stores nothing and revokes the grant', async () => {
  mocks.setPages('nopages', []);
  const before = (await w.row('SELECT COUNT(*) AS n FROM grants')).n;
  const revokes = calls('facebook', 'revoke').length;
  const { q, link } = await w.connectWithMock(mocks, auto.api_key, 'facebook', { user: 'nopages', redirect: REDIRECT });
  assert.deepEqual([q.connected, q.error], ['false', 'no_accounts']);
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM grants')).n, before);
  const l = (await get(auto.api_key, `/v1/connect-links/${link.id}`)).body;
  assert.deepEqual([l.status, l.error], ['failed', 'no_accounts']);
  for (let i = 0; i < 100 && calls('facebook', 'revoke').length === revokes; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(calls('facebook', 'revoke').length, revokes + 1, 'the fresh grant was revoked');
});

test('facebook: one Page connects without a picker; the profile acts with its own Page token, which does not expire', async () => {
  mocks.setPages('onepage', [{ id: '501', name: 'Solo Page' }]);
  const { res, link } = await callbackOf(auto.api_key, 'facebook', 'onepage');
  assert.equal(res.status, 302, 'no picker for one account');
  const q = new URL(res.headers.get('location')).searchParams;
  const p = await profile(auto.api_key, q.get('profile_id'));
  assert.deepEqual([p.account_type, p.platform_user_id, p.display_name, p.parent, p.access_token_expires_at], ['page', '501', 'Solo Page', null, null]);
  assert.match(p.grant_id, /^grn_/);
  const t = (await get(auto.api_key, `/v1/profiles/${p.id}/access-token`)).body;
  assert.equal(t.access_token, mocks.pageToken('501'));
  assert.equal(t.expires_at, null);
  // The user's long-lived token stays on the grant (for re-listing), with its 60 days.
  const g = await w.row('SELECT access_token_expires_at, token_issued_at FROM grants WHERE id = ?', p.grant_id);
  assert.ok(g.access_token_expires_at - g.token_issued_at > 59 * 86400);
  assert.equal((await get(auto.api_key, `/v1/connect-links/${link.id}`)).body.profile_ids.length, 1);
});

test('facebook: /me/accounts is read across its pages (paging.next on Graph)', async () => {
  const pages = Array.from({ length: 102 }, (_, i) => ({ id: `7${String(i).padStart(3, '0')}`, name: `Page ${i}` }));
  mocks.setPages('manypages', pages);
  const listed = calls('facebook', 'accounts').length;
  const { res } = await callbackOf(auto.api_key, 'facebook', 'manypages');
  const picker = parsePicker(await res.text());
  assert.equal(picker.ids.length, 102);
  assert.equal(calls('facebook', 'accounts').length - listed, 2, 'two pages of answers');
  const next = calls('facebook', 'accounts').at(-1);
  assert.ok(next.query.after, 'the second call follows the cursor');
  assert.equal(next.headers.authorization?.startsWith('Bearer '), true);
});

test('instagram_facebook: each Instagram account behind a Page is a profile acting with its Page token; Pages without one are skipped', async () => {
  mocks.setPages('iguser', [
    { id: '601', name: 'Shop', instagram: { id: '1784601', username: 'shop_ig', name: 'Shop IG', profile_picture_url: 'https://cdn.instagram.test/shop.jpg' } },
    { id: '602', name: 'No Instagram here' },
  ]);
  const { res } = await callbackOf(auto.api_key, 'instagram_facebook', 'iguser');
  assert.equal(res.status, 302, 'one Instagram account: no picker');
  const q = new URL(res.headers.get('location')).searchParams;
  const p = await profile(auto.api_key, q.get('profile_id'));
  assert.deepEqual(
    [p.platform, p.account_type, p.platform_user_id, p.username, p.display_name, p.avatar_url],
    ['instagram_facebook', 'instagram_business', '1784601', 'shop_ig', 'Shop IG', 'https://cdn.instagram.test/shop.jpg'],
  );
  assert.deepEqual(p.parent, { id: '601', name: 'Shop', type: 'page' });
  assert.equal((await get(auto.api_key, `/v1/profiles/${p.id}/access-token`)).body.access_token, mocks.pageToken('601'));
  const listing = calls('instagram_facebook', 'accounts').at(-1);
  assert.match(listing.query.fields, /instagram_business_account\{id,username,name,profile_picture_url\}/);
});

test('linkedin: the member and the organizations it administers (not those it only analyses) share one grant; a renewed grant shows on all', async () => {
  const scopes = ['openid', 'profile', 'w_member_social', 'rw_organization_admin', 'w_organization_social'];
  const first = await w.connectWithMock(mocks, auto.api_key, 'linkedin', { user: 'lorg', redirect: REDIRECT, linkFields: { scopes, accounts: 'all' } });
  const ids = first.q.profile_ids.split(',');
  assert.equal(ids.length, 2);
  const [member, org] = await Promise.all(ids.map((id) => profile(auto.api_key, id)));
  assert.deepEqual([member.account_type, member.platform_user_id], ['user', 'li_lorg']);
  assert.deepEqual([org.account_type, org.platform_user_id, org.display_name, org.username], ['organization', 'urn:li:organization:2001', 'Org of lorg', 'org-lorg']);
  assert.equal(member.grant_id, org.grant_id);
  const acl = calls('linkedin', 'organization_acls').at(-1) ?? mocks.calls.filter((c) => c.path === '/rest/organizationAcls').at(-1);
  assert.match(acl.headers['linkedin-version'], /^20\d{4}$/);
  assert.equal(acl.headers['x-restli-protocol-version'], '2.0.0');
  assert.deepEqual([acl.query.q, acl.query.role, acl.query.state], ['roleAssignee', 'ADMINISTRATOR', 'APPROVED']);
  const oldToken = (await get(auto.api_key, `/v1/profiles/${org.id}/access-token`)).body.access_token;
  await w.sql('UPDATE grants SET access_token_expires_at = ? WHERE id = ?', Math.floor(Date.now() / 1000) + 3600, org.grant_id);
  // LinkedIn renews a grant by a new consent (refresh tokens are for approved partners only).
  const again = await w.connectWithMock(mocks, auto.api_key, 'linkedin', { user: 'lorg', redirect: REDIRECT, linkFields: { scopes, accounts: 'all' } });
  assert.deepEqual(again.q.profile_ids.split(','), ids, 'the same profiles');
  const token = (await get(auto.api_key, `/v1/profiles/${org.id}/access-token`)).body.access_token;
  assert.notEqual(token, oldToken);
  assert.equal((await get(auto.api_key, `/v1/profiles/${member.id}/access-token`)).body.access_token, token, 'one grant, one token');
  for (const id of ids) {
    const p = await profile(auto.api_key, id);
    assert.ok(Date.parse(p.access_token_expires_at) > Date.now() + 59 * 86400_000, `${id} shows the renewed expiry`);
  }
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM grants WHERE platform = ? AND platform_user_id = ?', 'linkedin', 'li_lorg')).n, 1);
});

test('sandbox with accounts "all": three profiles, one profile.connected each on the claim, and the link shows them all', async () => {
  const link = await w.createLink(app.api_key, { redirect_url: REDIRECT, accounts: 'all' });
  const { back } = await w.consent(link, { username: 'trio' });
  const res = await w.callback(back);
  assert.equal(res.status, 302, 'no picker with "all"');
  const q = new URL(res.headers.get('location')).searchParams;
  const ids = q.get('profile_ids').split(',');
  assert.equal(ids.length, 3);
  assert.equal(q.get('profile_id'), ids[0]);
  assert.deepEqual(res.claimed.body.data.map((p) => p.id), ids);
  assert.deepEqual(res.claimed.body.data.map((p) => p.account_type), ['user', 'page', 'page']);
  await w.settled();
  for (const id of ids) assert.equal(receiver.of('profile.connected', id).length, 1, id);
  const l = (await get(app.api_key, `/v1/connect-links/${link.id}`)).body;
  assert.deepEqual([l.status, l.profile_id, l.profile_ids], ['completed', ids[0], ids]);
});

test('a claim takes every profile of the link whatever their ids\' order (D1 gives them back in the link\'s order)', async () => {
  const link = await w.createLink(app.api_key, { redirect_url: REDIRECT, accounts: 'all' });
  const { back } = await w.consent(link, { username: 'order' });
  const res = await w.callback(back, { claim: false });
  const location = res.headers.get('location');
  const ids = new URL(location).searchParams.get('profile_ids').split(',');
  assert.equal(ids.length, 3);
  // The link lists its profiles against the order of their ids, so rows read in id order
  // (what D1 gives without the query's ORDER BY) would miss all but one of them.
  const row = await w.db.prepare('SELECT claim_events FROM connect_links WHERE id = ?').bind(link.id).first();
  const events = JSON.parse(row.claim_events);
  const order = [...ids.keys()].sort((a, b) => (ids[a] < ids[b] ? 1 : -1));
  await w.sql(
    'UPDATE connect_links SET profile_ids = ?, claim_events = ? WHERE id = ?',
    JSON.stringify(order.map((i) => ids[i])), JSON.stringify(order.map((i) => events[i])), link.id,
  );
  const claimed = await w.claim(location);
  assert.equal(claimed.status, 200, JSON.stringify(claimed.body));
  assert.deepEqual(claimed.body.data.map((p) => p.id), order.map((i) => ids[i]));
  for (const id of ids) assert.equal((await profile(app.api_key, id)).status, 'active', id);
});

test('a refreshed grant updates every profile under it; Page profiles keep their own tokens', async () => {
  const link = await w.createLink(auto.api_key, { redirect_url: REDIRECT, accounts: 'all' });
  const { back } = await w.consent(link, { username: 'refresher' });
  const ids = new URL((await w.callback(back)).headers.get('location')).searchParams.get('profile_ids').split(',');
  const tokens = async () => Promise.all(ids.map(async (id) => (await get(auto.api_key, `/v1/profiles/${id}/access-token`)).body.access_token));
  const before = await tokens();
  const grant = await w.grantOf(ids[0]);
  await w.sql('UPDATE grants SET next_refresh_at = ? WHERE id = ?', Math.floor(Date.now() / 1000) - 1, grant);
  await w.cron();
  const after = await tokens();
  assert.notEqual(after[0], before[0], 'the user profile acts with the refreshed grant token');
  assert.deepEqual(after.slice(1), before.slice(1), 'the Pages keep their own tokens');
  const views = await Promise.all(ids.map((id) => profile(auto.api_key, id)));
  for (const p of views) assert.ok(p.last_refreshed_at, `${p.id} shows the refresh`);
  assert.deepEqual(views.map((p) => p.access_token_expires_at === null), [false, true, true]);
});

test('reconnect with one Page gone: kept Pages keep their ids, the vanished one ends (account_removed), a new one is added', async () => {
  mocks.setPages('recon', [{ id: '801', name: 'Kept' }, { id: '802', name: 'Vanishing' }]);
  const first = await w.connectWithMock(mocks, app.api_key, 'facebook', { user: 'recon', redirect: REDIRECT, linkFields: { accounts: 'all', external_user_id: 'owner-r' } });
  const [kept, vanishing] = first.q.profile_ids.split(',');
  mocks.setPages('recon', [{ id: '801', name: 'Kept (renamed)' }, { id: '803', name: 'New Page' }]);
  // With the picker: the Page already connected is checked first; the user adds the new one.
  const again = await w.connectWithMock(mocks, app.api_key, 'facebook', {
    user: 'recon', redirect: REDIRECT, linkFields: { external_user_id: 'owner-r', pick: (ids) => { assert.deepEqual(ids, ['801', '803']); return ids; } },
  });
  const ids = again.q.profile_ids.split(',');
  assert.equal(ids[0], kept, 'the kept Page keeps its profile id');
  assert.equal(ids.length, 2);
  const k = await profile(app.api_key, kept);
  assert.deepEqual([k.status, k.display_name, k.external_user_id], ['active', 'Kept (renamed)', 'owner-r']);
  assert.equal((await get(app.api_key, `/v1/profiles/${kept}/access-token`)).body.access_token, mocks.pageToken('801'), 'the fresh Page token');
  const gone = await profile(app.api_key, vanishing);
  assert.deepEqual([gone.status, gone.disconnect_reason], ['disconnected', 'account_removed']);
  await w.settled();
  assert.equal(receiver.of('profile.disconnected', vanishing).length, 1);
  assert.equal(receiver.of('profile.reconnected', kept).length, 1);
  assert.equal(receiver.of('profile.connected', ids[1]).length, 1);
});

test('the picker checks first the accounts already connected here', async () => {
  mocks.setPages('prechecked', [{ id: '851', name: 'Old' }, { id: '852', name: 'Other' }]);
  await w.connectWithMock(mocks, auto.api_key, 'facebook', { user: 'prechecked', redirect: REDIRECT, linkFields: { pick: ['852'] } });
  const { res } = await callbackOf(auto.api_key, 'facebook', 'prechecked');
  const html = await res.text();
  assert.ok(html.includes('value="852" checked'));
  assert.ok(!html.includes('value="851" checked'));
});

test('with "callback": "app", the exchange connects the account_ids chosen and lists every account', async () => {
  mocks.setPages('appcb', [{ id: '701', name: 'One' }, { id: '702', name: 'Two' }]);
  const exchange = async (account_ids) => {
    const link = await w.createLink(app.api_key, { platform: 'facebook', redirect_url: REDIRECT, callback: 'app' });
    const approved = mocks.approve(link.authorize_url, { user: 'appcb' });
    return w.call('POST', '/v1/oauth/exchange', { token: app.api_key, json: { code: approved.code, state: approved.state, account_ids } });
  };
  const r = await exchange(['702']);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.platform_user_id, '702');
  assert.deepEqual(r.body.profiles.map((p) => p.platform_user_id), ['702']);
  assert.deepEqual(r.body.accounts.map((a) => [a.platform_user_id, a.profile_id]), [['701', null], ['702', r.body.id]]);
  assert.ok(r.body.accounts.every((a) => !('own_token' in a) && !('access_token' in a)));
  const none = await exchange(['999']);
  assert.equal(none.status, 400);
  assert.match(none.body.error.message, /no_accounts/);
  const all = await exchange(undefined);
  assert.deepEqual(all.body.profiles.map((p) => p.platform_user_id), ['701', '702']);
  assert.equal(all.body.profiles[1].id, r.body.id, 'the same account keeps its profile');
});

test('deleting one Page keeps the grant and revokes nothing; deleting the last revokes the grant', async () => {
  mocks.setPages('deleter', [{ id: '951', name: 'A' }, { id: '952', name: 'B' }]);
  const { q } = await w.connectWithMock(mocks, auto.api_key, 'facebook', { user: 'deleter', redirect: REDIRECT, linkFields: { accounts: 'all' } });
  const [a, b] = q.profile_ids.split(',');
  const grant = await w.grantOf(a);
  const revokes = calls('facebook', 'revoke').length;
  assert.equal((await w.call('DELETE', `/v1/profiles/${a}`, { token: auto.api_key })).status, 204);
  assert.ok(await w.row('SELECT id FROM grants WHERE id = ?', grant), 'the grant stays for the other Page');
  assert.equal(calls('facebook', 'revoke').length, revokes);
  assert.equal((await get(auto.api_key, `/v1/profiles/${b}/access-token`)).body.access_token, mocks.pageToken('952'));
  assert.equal((await w.call('DELETE', `/v1/profiles/${b}`, { token: auto.api_key })).status, 204);
  assert.equal(await w.row('SELECT id FROM grants WHERE id = ?', grant), null);
  assert.equal(calls('facebook', 'revoke').length, revokes + 1);
});

test('an unchosen picker expires: its sealed grant is dropped and revoked, the link expires', async () => {
  mocks.setPages('undecided', [{ id: '961', name: 'A' }, { id: '962', name: 'B' }]);
  const { link, res } = await callbackOf(auto.api_key, 'facebook', 'undecided');
  assert.equal(res.status, 200);
  const revokes = calls('facebook', 'revoke').length;
  await w.sql('UPDATE account_choices SET expires_at = ? WHERE link_id = ?', Math.floor(Date.now() / 1000) - 1, link.id);
  await w.sql('UPDATE connect_links SET choice_expires_at = ? WHERE id = ?', Math.floor(Date.now() / 1000) - 1, link.id);
  assert.equal((await get(auto.api_key, `/v1/connect-links/${link.id}`)).body.status, 'expired');
  await w.cron();
  assert.equal(await w.row('SELECT link_id FROM account_choices WHERE link_id = ?', link.id), null);
  assert.equal(calls('facebook', 'revoke').length, revokes + 1);
  assert.equal((await w.row('SELECT status FROM connect_links WHERE id = ?', link.id)).status, 'expired');
});

test('one Meta app for facebook and instagram_facebook: deleting in one never revokes the login the other holds', async () => {
  const fb = credentialVars(['facebook']);
  const vars = { ...fb, INSTAGRAM_FACEBOOK_CLIENT_ID: fb.FACEBOOK_CLIENT_ID, INSTAGRAM_FACEBOOK_CLIENT_SECRET: fb.FACEBOOK_CLIENT_SECRET };
  const w2 = await startWorker({ vars, outbound: mocks.handle });
  try {
    const pagesApp = (await w2.admin('POST', '/v1/admin/apps', { name: 'Pages', allowed_redirect_urls: [REDIRECT], claim: 'auto' })).body;
    const igApp = (await w2.admin('POST', '/v1/admin/apps', { name: 'IG', allowed_redirect_urls: [REDIRECT], claim: 'auto' })).body;
    const pages = await w2.connectWithMock(mocks, pagesApp.api_key, 'facebook', { user: 'onemeta', redirect: REDIRECT, linkFields: { accounts: 'all' } });
    const ig = await w2.connectWithMock(mocks, igApp.api_key, 'instagram_facebook', { user: 'onemeta', redirect: REDIRECT });
    assert.equal(ig.q.connected, 'true', JSON.stringify(ig.q));
    const revokes = calls('facebook', 'revoke').length + calls('instagram_facebook', 'revoke').length;
    assert.equal((await w2.call('DELETE', `/v1/profiles/${ig.q.profile_id}`, { token: igApp.api_key })).status, 204);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(calls('facebook', 'revoke').length + calls('instagram_facebook', 'revoke').length, revokes, 'DELETE /me/permissions would end the Pages grant too');
    const page = pages.q.profile_ids.split(',')[0];
    const t = (await w2.call('GET', `/v1/profiles/${page}/access-token`, { token: pagesApp.api_key })).body.access_token;
    assert.equal(mocks.tokens.get(t).revoked, false);
  } finally {
    await w2.stop();
  }
});

test('linkedin: a member administering more organizations than one ACL page lists them all', async () => {
  const orgs = Array.from({ length: 12 }, (_, i) => ({ id: 3000 + i, name: `Org ${i}`, vanity: `org-${i}`, role: 'ADMINISTRATOR', state: 'APPROVED' }));
  orgs.push({ id: 3999, name: 'Only analysed', vanity: 'analysed', role: 'ANALYST', state: 'APPROVED' });
  mocks.setOrganizations('manyorgs', orgs);
  const scopes = ['openid', 'profile', 'w_member_social', 'rw_organization_admin'];
  const before = mocks.calls.filter((c) => c.path === '/rest/organizationAcls').length;
  const { q } = await w.connectWithMock(mocks, auto.api_key, 'linkedin', { user: 'manyorgs', redirect: REDIRECT, linkFields: { scopes, accounts: 'all' } });
  const ids = q.profile_ids.split(',');
  assert.equal(ids.length, 13, 'the member and its 12 organizations');
  assert.equal(mocks.calls.filter((c) => c.path === '/rest/organizationAcls').length - before, 2, 'two ACL pages');
  const last = (await profile(auto.api_key, ids[12]));
  assert.equal(last.platform_user_id, 'urn:li:organization:3011');
});

test('facebook past day 60: the Pages stay active on their own tokens, and nothing revokes the login they live on', async () => {
  mocks.setPages('day60', [{ id: '1601', name: 'Sixty' }]);
  const first = await w.connectWithMock(mocks, app.api_key, 'facebook', { user: 'day60', redirect: REDIRECT, linkFields: { external_user_id: 'v60' } });
  const page = first.q.profile_id;
  const grant = await w.grantOf(page);
  const past = Math.floor(Date.now() / 1000) - 1;
  await w.sql('UPDATE grants SET access_token_expires_at = ?, next_refresh_at = ? WHERE id = ?', past, past, grant);
  await w.cron();
  assert.equal((await w.row('SELECT status FROM grants WHERE id = ?', grant)).status, 'disconnected', 'the user token expired');
  const p = await profile(app.api_key, page);
  assert.equal(p.status, 'active');
  assert.equal((await get(app.api_key, `/v1/profiles/${page}/access-token`)).body.access_token, mocks.pageToken('1601'));
  await w.settled();
  assert.equal(receiver.of('profile.disconnected', page).length, 0);
  // Another user of the app gets the same login to connect: refused, and the fresh grant is
  // not revoked (DELETE /me/permissions would end the Page token too).
  const revokes = calls('facebook', 'revoke').length;
  const attack = await w.connectWithMock(mocks, app.api_key, 'facebook', { user: 'day60', redirect: REDIRECT, linkFields: { external_user_id: 'attacker' } });
  assert.equal(attack.q.error, 'account_connected_elsewhere');
  // Its revoke, were there one, runs after the answer and before the failure's webhook.
  await w.settled();
  assert.equal(calls('facebook', 'revoke').length, revokes);
  assert.equal(mocks.tokens.get(mocks.pageToken('1601')).revoked, false);
});

test('attack: a co-admin\'s login completing the owner\'s link cannot move the owner\'s Page to its own grant', async () => {
  mocks.setPages('owner2', [{ id: '1701', name: 'Shared Page' }]);
  mocks.setPages('coadmin', [{ id: '1701', name: 'Shared Page' }, { id: '1709', name: 'Co-admin Page' }]);
  const first = await w.connectWithMock(mocks, app.api_key, 'facebook', { user: 'owner2', redirect: REDIRECT, linkFields: { external_user_id: 'v2' } });
  const page = first.q.profile_id;
  const grant = await w.grantOf(page);
  const token = (await get(app.api_key, `/v1/profiles/${page}/access-token`)).body.access_token;
  const revokes = calls('facebook', 'revoke').length;
  // A reconnect link for the Page, completed with the co-admin's login.
  const re = await w.connectWithMock(mocks, app.api_key, 'facebook', { user: 'coadmin', redirect: REDIRECT, linkFields: { profile_id: page, claim: false } });
  assert.equal(re.q.error, 'profile_failed');
  // A link for the owner's user id, completed with the co-admin's login: the shared Page is
  // not offered; only the co-admin's own Page connects.
  const plain = await w.connectWithMock(mocks, app.api_key, 'facebook', { user: 'coadmin', redirect: REDIRECT, linkFields: { external_user_id: 'v2', claim: false } });
  assert.equal(plain.q.connected, 'true');
  assert.deepEqual(plain.q.profile_ids.split(',').length, 1);
  assert.equal((await profile(app.api_key, plain.q.profile_id)).platform_user_id, '1709');
  assert.equal(await w.grantOf(page), grant, 'the Page stays on the owner\'s grant');
  assert.equal((await get(app.api_key, `/v1/profiles/${page}/access-token`)).body.access_token, token);
  // The failed reconnect's revoke runs after the answer, before its link.failed webhook.
  await w.settled();
  // Only the co-admin's unused fresh grant may have been revoked; the owner's tokens live.
  for (const c of calls('facebook', 'revoke').slice(revokes)) assert.equal(mocks.tokens.get(c.headers.authorization.slice('Bearer '.length)).user, 'coadmin');
  assert.equal(mocks.tokens.get(token).revoked, false);
  const ownerGrant = await w.row('SELECT access_token_enc FROM grants WHERE id = ?', grant);
  assert.equal(mocks.tokens.get(w.openEnvelope(ownerGrant.access_token_enc, grant, 'access_token')).revoked, false);
});

test('linkedin: ACL pages without a total are followed; a listing cut short ends no organization, a whole one does', async () => {
  const orgs = (n) => Array.from({ length: n }, (_, i) => ({ id: 4000 + i, name: `P${i}`, vanity: `p-${i}`, role: 'ADMINISTRATOR', state: 'APPROVED' }));
  const scopes = ['openid', 'profile', 'w_member_social', 'rw_organization_admin'];
  const connect = () => w.connectWithMock(mocks, auto.api_key, 'linkedin', { user: 'pager', redirect: REDIRECT, linkFields: { scopes, accounts: 'all' } });
  mocks.setOrganizations('pager', orgs(12));
  mocks.aclNoTotal = true;
  const ids = (await connect()).q.profile_ids.split(',');
  mocks.aclNoTotal = false;
  assert.equal(ids.length, 13, 'no total: pages followed while full');
  // The platform stops answering after 10 entries although its total says 12.
  mocks.aclCutAt = 10;
  const cut = (await connect()).q.profile_ids.split(',');
  delete mocks.aclCutAt;
  assert.equal(cut.length, 11);
  const statuses = async () => Promise.all(ids.map(async (id) => (await profile(auto.api_key, id)).status));
  assert.deepEqual(await statuses(), ids.map(() => 'active'), 'a cut listing proves nothing: nobody ends');
  // A whole listing without the last organization ends its profile.
  mocks.setOrganizations('pager', orgs(11));
  await connect();
  const last = await profile(auto.api_key, ids[12]);
  assert.deepEqual([last.status, last.disconnect_reason], ['disconnected', 'account_removed']);
});

test('a Page its old login lost reconnects, same profile id, through another login of the same owner', async () => {
  mocks.setPages('oldadmin', [{ id: '1801', name: 'Handed over' }]);
  const first = await w.connectWithMock(mocks, auto.api_key, 'facebook', { user: 'oldadmin', redirect: REDIRECT, linkFields: { external_user_id: 'c1' } });
  const page = first.q.profile_id;
  mocks.setPages('oldadmin', [{ id: '1802', name: 'Still mine' }]);
  await w.connectWithMock(mocks, auto.api_key, 'facebook', { user: 'oldadmin', redirect: REDIRECT, linkFields: { external_user_id: 'c1' } });
  assert.equal((await profile(auto.api_key, page)).disconnect_reason, 'account_removed');
  mocks.setPages('newadmin', [{ id: '1801', name: 'Handed over' }]);
  const back = await w.connectWithMock(mocks, auto.api_key, 'facebook', { user: 'newadmin', redirect: REDIRECT, linkFields: { profile_id: page } });
  assert.equal(back.q.profile_id, page);
  const p = await profile(auto.api_key, page);
  assert.deepEqual([p.status, p.external_user_id], ['active', 'c1']);
  assert.equal(p.grant_id, await w.row("SELECT id FROM grants WHERE platform = 'facebook' AND platform_user_id = '10newadmin'").then((r) => r.id));
  assert.equal((await get(auto.api_key, `/v1/profiles/${page}/access-token`)).body.access_token, mocks.pageToken('1801'));
});
