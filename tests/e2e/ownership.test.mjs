// Ownership on the real runtime (issue #7): the claim step against account-linking CSRF,
// owners that never change, revocation that never ends another profile's grant, and
// events that match the database.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';
import { PlatformMocks, credentialVars } from './platform-mocks.mjs';
import { WebhookReceiver } from './webhook-receiver.mjs';

const REDIRECT = 'http://localhost:3000/connected';
const now = () => Math.floor(Date.now() / 1000);
const mocks = new PlatformMocks();
const receiver = new WebhookReceiver();
let w;

before(async () => {
  await receiver.start();
  const vars = credentialVars(['x', 'facebook', 'tiktok']);
  w = await startWorker({ vars, outbound: mocks.handle });
});
after(async () => {
  await w?.stop();
  await receiver.stop();
});

/** An app with a webhook receiver; `claim` is the app's claim mode. */
async function hookedApp(name, claim) {
  const r = await w.admin('POST', '/v1/admin/apps', {
    name, allowed_redirect_urls: [REDIRECT, 'https://app.example.com/connected'], webhook_url: receiver.url, ...(claim ? { claim } : {}),
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  receiver.useSecret(r.body.webhook_secret);
  return r.body;
}

/** The sandbox user `username` approves `link` in their own browser; returns the final redirect's query. */
async function victimApproves(link, username, { claim = false } = {}) {
  const { back } = await w.consent(link, { username });
  const res = await w.callback(back, { claim });
  assert.equal(res.status, 302);
  return { q: Object.fromEntries(new URL(res.headers.get('location')).searchParams), location: res.headers.get('location'), res };
}

const revokedSandboxGrants = async (username) =>
  (await w.row("SELECT COUNT(*) AS n FROM sandbox_tokens WHERE username = ? AND kind = 'refresh' AND revoked_at IS NOT NULL", username)).n;

test('attack: a link sent to a victim does not hand the victim\'s account to the link creator', async () => {
  const app = await hookedApp('CSRF app');
  // The attacker, a user of the app, asks it for a link and sends it to the victim.
  const link = await w.createLink(app.api_key, { external_user_id: 'attacker', redirect_url: REDIRECT });
  const { q } = await victimApproves(link, 'csrf-victim');
  assert.equal(q.connected, 'true');
  assert.match(q.connect_token, /^[A-Za-z0-9_-]{43}$/, 'a one-time connect_token for the app');
  // The app's redirect handler sees that the session in this browser did not create the
  // link, so it does not claim. What can the attacker learn or use?
  const polled = await w.call('GET', `/v1/connect-links/${link.id}`, { token: app.api_key });
  assert.equal(polled.body.status, 'awaiting_claim');
  assert.equal(polled.body.profile_id, null, 'polling the link reveals no profile');
  assert.deepEqual(polled.body.profile_ids, []);
  const listed = await w.call('GET', '/v1/profiles?external_user_id=attacker', { token: app.api_key });
  assert.deepEqual(listed.body.data, [], 'the unclaimed profile is not listed by default');
  const pending = await w.call('GET', '/v1/profiles?status=pending', { token: app.api_key });
  assert.equal(pending.body.data.length, 1);
  const id = pending.body.data[0].id;
  assert.equal(pending.body.data[0].status, 'pending');
  const token = await w.call('GET', `/v1/profiles/${id}/access-token`, { token: app.api_key });
  assert.equal(token.status, 409, 'no access token before the claim');
  assert.equal((await w.call('POST', `/v1/profiles/${id}/refresh`, { token: app.api_key })).status, 409);
  await w.settled();
  assert.equal(receiver.of('profile.connected', id).length, 0, 'no profile.connected webhook');
  // A claim needs the token from the victim's redirect, which the attacker never saw.
  const guess = await w.call('POST', `/v1/connect-links/${link.id}/claim`, { token: app.api_key, json: { connect_token: 'A'.repeat(43) } });
  assert.equal(guess.status, 403);
  assert.equal(guess.body.error.code, 'forbidden');

  // Ten minutes later the cron removes the unclaimed profile and revokes its grant.
  const revokedBefore = await revokedSandboxGrants('csrf-victim');
  await w.cron();
  assert.ok(await w.row('SELECT id FROM profiles WHERE id = ?', id), 'kept inside the claim window');
  await w.sql('UPDATE connect_links SET claim_expires_at = ? WHERE id = ?', now() - 1, link.id);
  await w.cron();
  assert.equal(await w.row('SELECT id FROM profiles WHERE id = ?', id), null);
  // A run deletes unclaimed profiles 50 at a time, in no set order, and revokes a grant once
  // none of its profiles is left: the other tests' expired ones may take a run or two first.
  let revoked = await revokedSandboxGrants('csrf-victim');
  for (let run = 0; run < 5 && revoked === revokedBefore; run++) {
    await w.cron();
    revoked = await revokedSandboxGrants('csrf-victim');
  }
  assert.equal(revoked, revokedBefore + 1, 'the grant was revoked at the platform');
  const late = await w.call('GET', `/v1/connect-links/${link.id}`, { token: app.api_key });
  assert.equal(late.body.status, 'expired');
  const lateClaim = await w.call('POST', `/v1/connect-links/${link.id}/claim`, { token: app.api_key, json: { connect_token: q.connect_token } });
  assert.equal(lateClaim.status, 410);
});

test('the claim activates the profile once, then the link and the webhook show it', async () => {
  const app = await hookedApp('Claim app');
  const link = await w.createLink(app.api_key, { external_user_id: 'u-claim', redirect_url: REDIRECT });
  const { q, location } = await victimApproves(link, 'claim-user');
  let seenLinkStatus;
  receiver.onEvent = async (e) => {
    if (e.type === 'profile.connected' && e.data.id === q.profile_id) {
      seenLinkStatus = (await w.call('GET', `/v1/connect-links/${link.id}`, { token: app.api_key })).body.status;
    }
  };
  const other = await w.createApp('Other app', [REDIRECT]);
  const foreign = await w.call('POST', `/v1/connect-links/${link.id}/claim`, { token: other.api_key, json: { connect_token: q.connect_token } });
  assert.equal(foreign.status, 404, "another app's key cannot claim");
  const claimed = await w.claim(location);
  await w.settled(); // the delivery runs after the claim's answer
  receiver.onEvent = undefined;
  assert.equal(claimed.status, 200);
  assert.equal(claimed.body.data.length, 1);
  assert.equal(claimed.body.data[0].id, q.profile_id);
  assert.equal(claimed.body.data[0].status, 'active');
  assert.equal(claimed.body.data[0].external_user_id, 'u-claim');
  const again = await w.claim(location);
  assert.equal(again.status, 409, 'one use');
  await w.settled();
  const got = receiver.of('profile.connected', q.profile_id);
  assert.equal(got.length, 1);
  assert.equal(seenLinkStatus, 'completed', 'profile.connected goes out after the link is completed');
  const status = await w.call('GET', `/v1/connect-links/${link.id}`, { token: app.api_key });
  assert.equal(status.body.status, 'completed');
  assert.equal(status.body.profile_id, q.profile_id);
  assert.deepEqual(status.body.profile_ids, [q.profile_id]);
  const listed = await w.call('GET', '/v1/profiles?external_user_id=u-claim', { token: app.api_key });
  assert.equal(listed.body.data.length, 1);
  assert.equal((await w.call('GET', `/v1/profiles/${q.profile_id}/access-token`, { token: app.api_key })).status, 200);
  for (const { table, value } of await w.allStoredText()) {
    assert.ok(!value.includes(q.connect_token), `connect_token stored in ${table}`);
  }
});

test('attack: connecting a victim\'s already connected account under another owner fails and re-points nothing', async () => {
  const app = await hookedApp('Owner app');
  const mine = await w.createLink(app.api_key, { external_user_id: 'victim', redirect_url: REDIRECT });
  const { q: first } = await victimApproves(mine, 'owned-user', { claim: true });
  // Tokens from the profile's grant, owner and status from the profile.
  const before = await w.row('SELECT g.access_token_enc, p.external_user_id FROM profiles p JOIN grants g ON g.id = p.grant_id WHERE p.id = ?', first.profile_id);
  assert.equal(before.external_user_id, 'victim');

  const revokedBefore = await revokedSandboxGrants('owned-user');
  const evil = await w.createLink(app.api_key, { external_user_id: 'attacker', redirect_url: REDIRECT });
  const { q } = await victimApproves(evil, 'owned-user');
  assert.equal(q.connected, 'false');
  assert.equal(q.error, 'account_connected_elsewhere');
  assert.equal(q.profile_id, undefined);
  assert.equal(q.connect_token, undefined);
  await w.settled(); // the revocation runs after the answer, before the failure's webhook
  const afterRow = await w.row('SELECT g.access_token_enc, p.external_user_id, p.status FROM profiles p JOIN grants g ON g.id = p.grant_id WHERE p.id = ?', first.profile_id);
  assert.deepEqual(afterRow, { ...before, status: 'active' }, 'owner and tokens untouched');
  assert.equal(await revokedSandboxGrants('owned-user'), revokedBefore + 1, 'the new grant was revoked');
  const status = await w.call('GET', `/v1/connect-links/${evil.id}`, { token: app.api_key });
  assert.equal(status.body.status, 'failed');
  assert.equal(status.body.error, 'account_connected_elsewhere');
  await w.settled();
  assert.equal(receiver.events.filter((e) => e.type === 'connect_link.failed' && e.data.link_id === evil.id).length, 1);

  // The same owner again: same profile, new tokens, profile.reconnected once claimed.
  const again = await w.createLink(app.api_key, { external_user_id: 'victim', redirect_url: REDIRECT });
  const { q: q2 } = await victimApproves(again, 'owned-user', { claim: true });
  assert.equal(q2.profile_id, first.profile_id);
  const row2 = await w.row('SELECT g.access_token_enc, p.external_user_id FROM profiles p JOIN grants g ON g.id = p.grant_id WHERE p.id = ?', first.profile_id);
  assert.notEqual(row2.access_token_enc, before.access_token_enc);
  await w.settled();
  assert.equal(receiver.of('profile.reconnected', first.profile_id).length, 1);

  // A reconnect link made by the app for that profile refreshes it whatever its owner field.
  const re = await w.createLink(app.api_key, { profile_id: first.profile_id, external_user_id: 'someone-else', redirect_url: REDIRECT });
  const { q: q3 } = await victimApproves(re, 'owned-user', { claim: true });
  assert.equal(q3.profile_id, first.profile_id);
  assert.equal((await w.row('SELECT external_user_id FROM profiles WHERE id = ?', first.profile_id)).external_user_id, 'victim');
});

test('no owner on either side updates in place; an owner on one side only is another owner', async () => {
  const app = await hookedApp('Anonymous app');
  const a = await w.createLink(app.api_key, { redirect_url: REDIRECT });
  const { q: qa } = await victimApproves(a, 'anon-user', { claim: true });
  const b = await w.createLink(app.api_key, { redirect_url: REDIRECT });
  const { q: qb } = await victimApproves(b, 'anon-user', { claim: true });
  assert.equal(qb.profile_id, qa.profile_id);
  const c = await w.createLink(app.api_key, { external_user_id: 'late-owner', redirect_url: REDIRECT });
  const { q: qc } = await victimApproves(c, 'anon-user');
  assert.equal(qc.error, 'account_connected_elsewhere');
});

test('an abandoned unclaimed connect never locks the real owner out', async () => {
  const app = await hookedApp('Takeover app');
  const evil = await w.createLink(app.api_key, { external_user_id: 'attacker', redirect_url: REDIRECT });
  const { q: stale, location: staleLocation } = await victimApproves(evil, 'takeover-user');
  const mine = await w.createLink(app.api_key, { external_user_id: 'owner', redirect_url: REDIRECT });
  const { q, location } = await victimApproves(mine, 'takeover-user');
  assert.equal(q.connected, 'true');
  assert.equal(q.profile_id, stale.profile_id, 'the never-claimed profile is reused');
  const staleClaim = await w.claim(staleLocation);
  assert.equal(staleClaim.status, 409, "the abandoned link's claim no longer fits");
  const claimed = await w.claim(location);
  assert.equal(claimed.status, 200);
  assert.equal(claimed.body.data[0].external_user_id, 'owner');
  assert.equal((await w.claim(staleLocation)).status, 409, 'nor after the owner claimed it');
  await w.settled();
  assert.equal(receiver.of('profile.connected', q.profile_id).length, 1);
});

test('"claim": "auto" keeps the old behaviour for apps that bind the redirect themselves', async () => {
  const app = await hookedApp('Auto app', 'auto');
  assert.equal(app.app.claim, 'auto');
  const link = await w.createLink(app.api_key, { external_user_id: 'u-auto', redirect_url: REDIRECT });
  const { q } = await victimApproves(link, 'auto-user');
  assert.equal(q.connected, 'true');
  assert.equal(q.connect_token, undefined);
  const p = await w.call('GET', `/v1/profiles/${q.profile_id}`, { token: app.api_key });
  assert.equal(p.body.status, 'active');
  assert.equal((await w.call('GET', `/v1/connect-links/${link.id}`, { token: app.api_key })).body.profile_id, q.profile_id);
  await w.settled();
  assert.equal(receiver.of('profile.connected', q.profile_id).length, 1);
  const patched = await w.admin('PATCH', `/v1/admin/apps/${app.app.id}`, { claim: 'required' });
  assert.equal(patched.body.claim, 'required');
});

test('an app-callback link needs no claim: the exchange is the claim', async () => {
  const app = await hookedApp('App callback app');
  const link = await w.createLink(app.api_key, { callback: 'app', redirect_url: REDIRECT, external_user_id: 'u-app' });
  const { back } = await w.consent(link, { username: 'app-cb-user' });
  const r = await w.call('POST', '/v1/oauth/exchange', { token: app.api_key, json: { code: back.searchParams.get('code'), state: back.searchParams.get('state') } });
  assert.equal(r.status, 201);
  assert.equal(r.body.status, 'active');
  assert.equal((await w.call('GET', `/v1/connect-links/${link.id}`, { token: app.api_key })).body.status, 'completed');
});

test('deleting in one app never breaks another app\'s grant for the same account (Facebook revokes grant-wide)', async () => {
  const a = await hookedApp('FB app A', 'auto');
  const b = await hookedApp('FB app B', 'auto');
  const pa = (await w.connectWithMock(mocks, a.api_key, 'facebook', { user: 'shared', redirect: REDIRECT })).q.profile_id;
  const pb = (await w.connectWithMock(mocks, b.api_key, 'facebook', { user: 'shared', redirect: REDIRECT })).q.profile_id;
  const tokenOf = async (app, id) => (await w.call('GET', `/v1/profiles/${id}/access-token`, { token: app.api_key })).body.access_token;
  const tb = await tokenOf(b, pb);
  const revokes = () => mocks.calls.filter((c) => c.platform === 'facebook' && c.endpoint === 'revoke').length;
  const before = revokes();
  assert.equal((await w.call('DELETE', `/v1/profiles/${pa}`, { token: a.api_key })).status, 204);
  assert.equal(revokes(), before, 'no DELETE /me/permissions while app B holds the account');
  assert.equal(mocks.tokens.get(tb).revoked, false, "app B's token still works");
  assert.equal((await w.call('DELETE', `/v1/profiles/${pb}`, { token: b.api_key })).status, 204);
  assert.equal(revokes(), before + 1, 'the last holder revokes');
  assert.equal(mocks.tokens.get(tb).revoked, true);
});

test('two concurrent deletes send one profile.deleted', async () => {
  const app = await hookedApp('Delete race app', 'auto');
  const link = await w.createLink(app.api_key, { redirect_url: REDIRECT });
  const { q } = await victimApproves(link, 'race-user');
  const [d1, d2] = await Promise.all([
    w.call('DELETE', `/v1/profiles/${q.profile_id}`, { token: app.api_key }),
    w.call('DELETE', `/v1/profiles/${q.profile_id}`, { token: app.api_key }),
  ]);
  assert.ok([d1.status, d2.status].includes(204));
  await w.settled();
  assert.equal(receiver.of('profile.deleted', q.profile_id).length, 1);
});

test('a failed connect revokes the grant it got, where that ends no other grant', async () => {
  const app = await hookedApp('Revoke on failure app', 'auto');
  // X: a declined scope. X's revoke ends only that token.
  const r = await w.connectWithMock(mocks, app.api_key, 'x', { user: 'declines', grant: ['tweet.read', 'users.read', 'offline.access'], redirect: REDIRECT });
  assert.equal(r.q.error, 'missing_scopes');
  await w.settled(); // the revocation runs after the answer, before the failure's webhook
  const xRevoke = mocks.calls.filter((c) => c.platform === 'x' && c.endpoint === 'revoke').at(-1);
  assert.ok(xRevoke, 'X revoke called');
  assert.equal(mocks.tokens.get(xRevoke.form.token).kind, 'refresh', 'the refresh token ends the grant');
  assert.equal(mocks.tokens.get(xRevoke.form.token).revoked, true);
  // X: the identity call fails (profile_failed); the account is unknown, and X's revoke is token-scoped.
  mocks.failNext('x', 'identity', () => new Response('{"title":"Service Unavailable"}', { status: 503 }));
  const failed = await w.connectWithMock(mocks, app.api_key, 'x', { user: 'no-identity', redirect: REDIRECT });
  assert.equal(failed.q.error, 'profile_failed');
  await w.settled();
  const xRevoke2 = mocks.calls.filter((c) => c.platform === 'x' && c.endpoint === 'revoke').at(-1);
  assert.notEqual(xRevoke2, xRevoke);
  assert.equal(mocks.tokens.get(xRevoke2.form.token).user, 'no-identity');
  assert.equal(mocks.tokens.get(xRevoke2.form.token).revoked, true);

  // Facebook: connected elsewhere. Its revoke would end the owner's grant too, so none.
  const owner = (await w.connectWithMock(mocks, app.api_key, 'facebook', { user: 'fbowned', redirect: REDIRECT, linkFields: { external_user_id: 'owner' } })).q;
  assert.equal(owner.connected, 'true');
  const fbRevokes = () => mocks.calls.filter((c) => c.platform === 'facebook' && c.endpoint === 'revoke').length;
  const before = fbRevokes();
  const evil = await w.connectWithMock(mocks, app.api_key, 'facebook', { user: 'fbowned', redirect: REDIRECT, linkFields: { external_user_id: 'attacker' } });
  assert.equal(evil.q.error, 'account_connected_elsewhere');
  await w.settled();
  assert.equal(fbRevokes(), before, "no grant-wide revoke that would end the owner's grant");
  const ownerToken = await w.call('GET', `/v1/profiles/${owner.profile_id}/access-token`, { token: app.api_key });
  assert.equal(ownerToken.status, 200);
  assert.equal(mocks.tokens.get(ownerToken.body.access_token).revoked, false);
});

test('TikTok: a failed connect never revokes (its revoke disconnects the whole account)', async () => {
  const app = await hookedApp('TikTok app', 'auto');
  const owner = (await w.connectWithMock(mocks, app.api_key, 'tiktok', { user: 'ttowned', redirect: REDIRECT, linkFields: { external_user_id: 'owner' } })).q;
  assert.equal(owner.connected, 'true');
  const revokes = () => mocks.calls.filter((c) => c.platform === 'tiktok' && c.endpoint === 'revoke').length;
  const before = revokes();
  const evil = await w.connectWithMock(mocks, app.api_key, 'tiktok', { user: 'ttowned', redirect: REDIRECT, linkFields: { external_user_id: 'attacker' } });
  assert.equal(evil.q.error, 'account_connected_elsewhere');
  const declined = await w.connectWithMock(mocks, app.api_key, 'tiktok', { user: 'ttowned', redirect: REDIRECT, grant: ['user.info.basic'] });
  assert.equal(declined.q.error, 'missing_scopes');
  // A failed connect's revoke runs after the answer, before the failure's webhook: once
  // both link.failed events are delivered, any revoke has been made.
  await w.settled();
  assert.equal(revokes(), before, "no revoke: it would end the owner's grant");
  const token = await w.call('GET', `/v1/profiles/${owner.profile_id}/access-token`, { token: app.api_key });
  assert.equal(mocks.tokens.get(token.body.access_token).revoked, false);
});
