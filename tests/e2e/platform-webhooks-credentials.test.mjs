// Platform webhooks of an app's own platform credentials: Meta's callbacks name no app and
// TikTok's only a client key, so each stored credential has paths of its own
// (/platform-webhooks/meta/apps/{ref}/..., /platform-webhooks/tiktok/apps/{ref}), verified
// with that credential's secret only, acting only on the grants it minted. The deployment's
// paths keep the deployment's secrets and grants. Signed by the test in each platform's
// documented format (platform-webhook-signers.mjs); the connects go through the mocks with
// the app's own client. Each test makes the apps and credentials it needs (client ids are
// unique per test: one client id is one app's); only the last, the secret scan, reads what
// the tests before it did (node:test runs a file's tests in order).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startWorker } from './harness.mjs';
import { PlatformMocks, credentialVars, credsFor } from './platform-mocks.mjs';
import { metaSignedRequest, tiktokSignatureHeader } from './platform-webhook-signers.mjs';
import { recordAnswers, assertNoSecretsAnywhere } from './secret-scan.mjs';

const REDIRECT = 'https://app.example.com/connected';
const mocks = new PlatformMocks();
let w;
let answers; // every answer of this file, scanned by the last test
const clients = []; // every app's own client ({ id, secret }) the file stores

before(async () => {
  w = await startWorker({ vars: credentialVars(['facebook', 'tiktok']), outbound: mocks.handle, captureLogs: true });
  answers = recordAnswers(w);
});
after(async () => {
  await w?.stop();
});

/** A fresh app (auto-claimed links): { id, api_key }. */
async function newApp(name) {
  const r = await w.admin('POST', '/v1/admin/apps', { name, allowed_redirect_urls: [REDIRECT], claim: 'auto' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { id: r.body.app.id, api_key: r.body.api_key };
}

const now = () => Math.floor(Date.now() / 1000);
const fbUser = (user) => `10${user}`;
const r2s = async (key, id) => {
  const r = await w.call('GET', `/v1/profiles/${id}`, { token: key });
  return r.status === 404 ? 'gone' : `${r.body.status}/${r.body.disconnect_reason}`;
};
const form = (signed) => new URLSearchParams({ signed_request: signed }).toString();
const postForm = (path, signed) => w.call('POST', path, { raw: form(signed), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
const deauth = (user, secret, issued = now()) => metaSignedRequest({ algorithm: 'HMAC-SHA256', issued_at: issued, user_id: fbUser(user) }, secret);

/** Stores `app`'s own client for `platform` (and lets the mock take it); returns its credential_ref. */
async function ownClient(app, platform, body) {
  clients.push({ id: body.client_id, secret: body.client_secret });
  const r = await w.admin('PUT', `/v1/admin/apps/${app.id}/platforms/${platform}`, body);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  mocks.allowClient(platform, body.client_id, body.client_secret);
  const url = Object.values(r.body.platform_webhooks)[0];
  const ref = /\/apps\/(pcr_[^/]+)/.exec(url)[1];
  return { ref, hooks: r.body.platform_webhooks };
}

async function connectPages(app, user, pages) {
  mocks.setPages(user, pages);
  const { q } = await w.connectWithMock(mocks, app.api_key, 'facebook', { user, redirect: REDIRECT, linkFields: { accounts: 'all' } });
  assert.equal(q.connected, 'true', JSON.stringify(q));
  return q.profile_ids.split(',');
}

test('Meta deauthorize on an app credential\'s path: only its secret verifies, and only its grants end', async () => {
  const own = await newApp('Own apps');
  const third = await newApp('Third');
  const shared = await newApp('Shared');
  const FB_OWN = { client_id: 'own-fb-app', client_secret: 'own-fb-secret' };
  const FB_THIRD = { client_id: 'third-fb-app', client_secret: 'third-fb-secret' };
  const fbOwn = await ownClient(own, 'facebook', FB_OWN);
  const fbThird = await ownClient(third, 'facebook', FB_THIRD);
  assert.deepEqual(fbOwn.hooks, {
    deauthorize: `${w.base}/platform-webhooks/meta/apps/${fbOwn.ref}/deauthorize`,
    data_deletion: `${w.base}/platform-webhooks/meta/apps/${fbOwn.ref}/data-deletion`,
    // Meta's event webhooks (tests/e2e/platform-events-meta.test.mjs).
    events: `${w.base}/platform-webhooks/meta/apps/${fbOwn.ref}`,
    verify_token: crypto.createHmac('sha256', FB_OWN.client_secret).update('meta-webhook-verify-token').digest('hex').slice(0, 32),
  });
  // The same login (the mock numbers users alike for every client) in three apps, through
  // three platform apps.
  const [mine] = await connectPages(own, 'same', [{ id: '3101', name: 'Mine' }]);
  const [theirs] = await connectPages(third, 'same', [{ id: '3101', name: 'Theirs' }]);
  const [common] = await connectPages(shared, 'same', [{ id: '3101', name: 'Common' }]);
  assert.equal((await w.grantRow(mine, 'credential_ref')).credential_ref, fbOwn.ref);
  assert.equal((await w.grantRow(theirs, 'credential_ref')).credential_ref, fbThird.ref);
  assert.equal((await w.grantRow(common, 'credential_ref')).credential_ref, null);
  const all = async () => [await r2s(own.api_key, mine), await r2s(third.api_key, theirs), await r2s(shared.api_key, common)];
  const path = `/platform-webhooks/meta/apps/${fbOwn.ref}/deauthorize`;

  // The deployment's secret, or another app's, does not verify on this path; this secret
  // does not verify on the deployment's path.
  assert.equal((await postForm(path, deauth('same', credsFor('facebook').secret))).status, 401);
  assert.equal((await postForm(path, deauth('same', FB_THIRD.client_secret))).status, 401);
  assert.equal((await postForm('/platform-webhooks/meta/deauthorize', deauth('same', FB_OWN.client_secret))).status, 401);
  assert.deepEqual(await all(), ['active/null', 'active/null', 'active/null']);

  const r = await postForm(path, deauth('same', FB_OWN.client_secret));
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { ok: true });
  assert.deepEqual(await all(), ['disconnected/revoked', 'active/null', 'active/null']);

  // The deployment's path ends the deployment's grants only.
  assert.equal((await postForm('/platform-webhooks/meta/deauthorize', deauth('same', credsFor('facebook').secret))).status, 200);
  assert.deepEqual(await all(), ['disconnected/revoked', 'active/null', 'disconnected/revoked']);

  // Replaced by another client id, the third app's old credentials are retired, kept while
  // its grant uses them: their path still verifies with their secret.
  await ownClient(third, 'facebook', { client_id: 'third-fb-app-2', client_secret: 'third-fb-secret-2' });
  assert.ok((await w.row('SELECT retired_at FROM platform_credentials WHERE id = ?', fbThird.ref)).retired_at);
  const retired = `/platform-webhooks/meta/apps/${fbThird.ref}/deauthorize`;
  assert.equal((await postForm(retired, deauth('same', 'third-fb-secret-2'))).status, 401, 'the new secret is not the old one\'s');
  assert.equal((await postForm(retired, deauth('same', FB_THIRD.client_secret))).status, 200);
  assert.deepEqual(await all(), ['disconnected/revoked', 'disconnected/revoked', 'disconnected/revoked']);
});

test('Meta data deletion on an app credential\'s path deletes only its grants; the status page is the deployment\'s, the code the credential\'s own', async () => {
  const own = await newApp('Own eraser');
  const shared = await newApp('Shared eraser');
  const FB_OWN = { client_id: 'erase-fb-app', client_secret: 'erase-fb-secret' };
  const fbOwn = await ownClient(own, 'facebook', FB_OWN);
  const [mine] = await connectPages(own, 'eraser', [{ id: '3201', name: 'Mine' }]);
  const [common] = await connectPages(shared, 'eraser', [{ id: '3201', name: 'Common' }]);
  const issued = now();
  const path = `/platform-webhooks/meta/apps/${fbOwn.ref}/data-deletion`;
  assert.equal((await postForm(path, deauth('eraser', credsFor('facebook').secret, issued))).status, 401);
  assert.equal((await postForm('/platform-webhooks/meta/data-deletion', deauth('eraser', FB_OWN.client_secret, issued))).status, 401);
  assert.equal(await r2s(own.api_key, mine), 'active/null');

  const r = await postForm(path, deauth('eraser', FB_OWN.client_secret, issued));
  assert.equal(r.status, 200);
  assert.equal(r.body.url, `${w.base}/platform-webhooks/meta/deletion-status/${r.body.confirmation_code}`);
  assert.equal(await r2s(own.api_key, mine), 'gone');
  assert.equal(await r2s(shared.api_key, common), 'active/null');
  assert.match(await (await w.fetchChecked(r.body.url)).text(), /1 connected account was deleted/);
  const again = await postForm(path, deauth('eraser', FB_OWN.client_secret, issued));
  assert.equal(again.body.confirmation_code, r.body.confirmation_code, 'a repeat gets the same code');

  // The deployment's request for the same user and time deletes the deployment's grant, and
  // gets a code of its own.
  const dep = await postForm('/platform-webhooks/meta/data-deletion', deauth('eraser', credsFor('facebook').secret, issued));
  assert.equal(dep.status, 200);
  assert.notEqual(dep.body.confirmation_code, r.body.confirmation_code);
  assert.equal(await r2s(shared.api_key, common), 'gone');
});

test('an open account choice is dropped only by its own platform app\'s callback', async () => {
  const own = await newApp('Own chooser');
  const FB_OWN = { client_id: 'choice-fb-app', client_secret: 'choice-fb-secret' };
  const fbOwn = await ownClient(own, 'facebook', FB_OWN);
  mocks.setPages('chooser', [{ id: '3301', name: 'A' }, { id: '3302', name: 'B' }]);
  const link = await w.createLink(own.api_key, { platform: 'facebook', redirect_url: REDIRECT });
  const approved = mocks.approve(link.authorize_url, { user: 'chooser' });
  assert.equal(approved.clientId, FB_OWN.client_id);
  const res = await w.fetchChecked(`${w.base}/oauth/callback?${new URLSearchParams({ code: approved.code, state: approved.state })}`, { redirect: 'manual' });
  assert.equal(res.status, 200, 'the picker');
  await res.text();
  const choice = () => w.row('SELECT link_id FROM account_choices WHERE link_id = ?', link.id);
  assert.ok(await choice());
  assert.equal((await postForm('/platform-webhooks/meta/data-deletion', deauth('chooser', credsFor('facebook').secret))).status, 200);
  assert.ok(await choice(), 'the deployment\'s callback leaves an app\'s own platform app\'s choice');
  assert.equal((await w.row('SELECT status FROM connect_links WHERE id = ?', link.id)).status, 'choosing');
  assert.equal((await postForm(`/platform-webhooks/meta/apps/${fbOwn.ref}/deauthorize`, deauth('chooser', FB_OWN.client_secret))).status, 200);
  assert.equal(await choice(), null);
  assert.deepEqual({ ...(await w.row('SELECT status, error FROM connect_links WHERE id = ?', link.id)) }, { status: 'failed', error: 'access_denied' });
});

test('TikTok on an app credential\'s path: its client secret verifies (a webhook_secret is refused), and only its grants end', async () => {
  const own = await newApp('Own TikTok');
  const third = await newApp('Third TikTok');
  const shared = await newApp('Shared TikTok');
  const TT_OWN = { client_id: 'own-tt-key', client_secret: 'own-tt-secret' };
  // TikTok signs with the client secret and nothing else: a webhook_secret is refused, as
  // for every Meta platform.
  for (const platform of ['tiktok', 'facebook', 'instagram_facebook']) {
    const refused = await w.admin('PUT', `/v1/admin/apps/${own.id}/platforms/${platform}`, { ...TT_OWN, webhook_secret: 'own-tt-hooks' });
    assert.equal(refused.status, 422, platform);
    assert.equal(refused.body.error.code, 'platform_unsupported');
    assert.match(refused.body.error.message, /webhook_secret/);
  }
  const TT_THIRD = { client_id: 'third-tt-key', client_secret: 'third-tt-secret' };
  const ttOwn = await ownClient(own, 'tiktok', TT_OWN);
  const ttThird = await ownClient(third, 'tiktok', TT_THIRD);
  assert.deepEqual(ttOwn.hooks, { events: `${w.base}/platform-webhooks/tiktok/apps/${ttOwn.ref}` });
  const connect = async (app) => (await w.connectWithMock(mocks, app.api_key, 'tiktok', { user: 'ttsame', redirect: REDIRECT })).q.profile_id;
  const mine = await connect(own);
  const theirs = await connect(third);
  const common = await connect(shared);
  assert.equal((await w.grantRow(mine, 'credential_ref')).credential_ref, ttOwn.ref);
  const user = (await w.call('GET', `/v1/profiles/${mine}`, { token: own.api_key })).body.platform_user_id;
  const event = (clientKey) => JSON.stringify({ client_key: clientKey, event: 'authorization.removed', create_time: now(), user_openid: user, content: '{"reason":1}' });
  const post = (path, raw, secret) => w.call('POST', path, { raw, headers: { 'content-type': 'application/json', 'tiktok-signature': tiktokSignatureHeader(raw, secret) } });
  const all = async () => [await r2s(own.api_key, mine), await r2s(third.api_key, theirs), await r2s(shared.api_key, common)];
  const path = `/platform-webhooks/tiktok/apps/${ttOwn.ref}`;
  const raw = event(TT_OWN.client_id);

  assert.equal((await post(path, raw, credsFor('tiktok').secret)).status, 401, 'the deployment\'s secret');
  assert.equal((await post(path, raw, TT_THIRD.client_secret)).status, 401, 'another app\'s secret');
  assert.equal((await post('/platform-webhooks/tiktok', raw, TT_OWN.client_secret)).status, 401, 'its secret on the deployment\'s path');
  assert.deepEqual(await all(), ['active/null', 'active/null', 'active/null']);
  // Another client key signed with this secret is not about this client's users.
  assert.equal((await post(path, event(credsFor('tiktok').id), TT_OWN.client_secret)).status, 200);
  assert.deepEqual(await all(), ['active/null', 'active/null', 'active/null']);

  assert.equal((await post(path, raw, TT_OWN.client_secret)).status, 200);
  assert.deepEqual(await all(), ['disconnected/revoked', 'active/null', 'active/null']);

  // The other app's credentials: their own client secret.
  const thirdPath = `/platform-webhooks/tiktok/apps/${ttThird.ref}`;
  assert.equal((await post(thirdPath, event(TT_THIRD.client_id), TT_THIRD.client_secret)).status, 200);
  assert.deepEqual(await all(), ['disconnected/revoked', 'disconnected/revoked', 'active/null']);

  // The deployment's path ends the deployment's grant only.
  assert.equal((await post('/platform-webhooks/tiktok', event(credsFor('tiktok').id), credsFor('tiktok').secret)).status, 200);
  assert.deepEqual(await all(), ['disconnected/revoked', 'disconnected/revoked', 'disconnected/revoked']);
});

test('an unknown, removed or other-platform credential_ref is a 404, like any unknown path', async () => {
  const own = await newApp('Own removed');
  const FB_OWN = { client_id: 'gone-fb-app', client_secret: 'gone-fb-secret' };
  const fbOwn = await ownClient(own, 'facebook', FB_OWN);
  await ownClient(own, 'tiktok', { client_id: 'gone-tt-key', client_secret: 'gone-tt-secret' });
  const unknownRoute = (await w.call('POST', '/platform-webhooks/meta/nowhere', { raw: '', unchecked: true })).body;
  const paths = (ref) => [`/platform-webhooks/meta/apps/${ref}/deauthorize`, `/platform-webhooks/meta/apps/${ref}/data-deletion`, `/platform-webhooks/tiktok/apps/${ref}`];
  const signedBoth = async (path, secret) => {
    if (path.includes('/tiktok/')) {
      const raw = JSON.stringify({ client_key: 'x', event: 'authorization.removed', create_time: now(), user_openid: 'u', content: '{}' });
      return w.call('POST', path, { raw, headers: { 'content-type': 'application/json', 'tiktok-signature': tiktokSignatureHeader(raw, secret) } });
    }
    return postForm(path, deauth('nobody', secret));
  };
  for (const path of [...paths('pcr_0123456789abcdef'), ...paths('not-a-ref'), ...paths('pcr_' + 'a'.repeat(200))]) {
    const r = await signedBoth(path, FB_OWN.client_secret);
    assert.equal(r.status, 404, path);
    assert.deepEqual(r.body, unknownRoute, 'the answer of an unknown path');
  }
  // A Meta credential on TikTok's path, a TikTok one on Meta's.
  const tt = (await w.row("SELECT id FROM platform_credentials WHERE app_id = ? AND platform = 'tiktok'", own.id)).id;
  assert.equal((await signedBoth(`/platform-webhooks/tiktok/apps/${fbOwn.ref}`, FB_OWN.client_secret)).status, 404);
  assert.equal((await signedBoth(`/platform-webhooks/meta/apps/${tt}/deauthorize`, 'own-tt-hooks')).status, 404);
  // Removed: signed with its secret all the same, the path is gone.
  const [page] = await connectPages(own, 'removed', [{ id: '3501', name: 'Mine' }]);
  assert.equal((await w.admin('DELETE', `/v1/admin/apps/${own.id}/platforms/facebook?force=true`)).status, 204);
  assert.equal(await r2s(own.api_key, page), 'disconnected/credentials_removed');
  for (const path of paths(fbOwn.ref).slice(0, 2)) {
    assert.equal((await signedBoth(path, FB_OWN.client_secret)).status, 404, path);
  }
  // Another method on the path: 405, as the document says.
  assert.equal((await w.call('GET', `/platform-webhooks/meta/apps/${fbOwn.ref}/deauthorize`, { unchecked: true })).status, 405);
});

test('one Meta app stored for facebook and instagram_facebook: a callback on either credential\'s path acts for both', async () => {
  const both = await newApp('Both Meta');
  const own = await newApp('Own bystander');
  await ownClient(own, 'facebook', { client_id: 'bystander-fb-app', client_secret: 'bystander-fb-secret' });
  const META = { client_id: 'both-meta-app', client_secret: 'both-meta-secret' };
  const fb = await ownClient(both, 'facebook', META);
  const ig = await ownClient(both, 'instagram_facebook', META);
  assert.notEqual(fb.ref, ig.ref);
  const pages = [{ id: '3501', name: 'Both', instagram: { id: '1783501', username: 'both_ig', name: 'Both IG' } }];
  const [page] = await connectPages(both, 'bothmeta', pages);
  const igConnect = await w.connectWithMock(mocks, both.api_key, 'instagram_facebook', { user: 'bothmeta', redirect: REDIRECT });
  assert.equal(igConnect.q.connected, 'true', JSON.stringify(igConnect.q));
  const insta = igConnect.q.profile_id;
  assert.equal((await w.grantRow(page, 'credential_ref')).credential_ref, fb.ref);
  assert.equal((await w.grantRow(insta, 'credential_ref')).credential_ref, ig.ref);
  const [bystander] = await connectPages(own, 'bothmeta', [{ id: '3501', name: 'Own' }]);
  const all = async () => [await r2s(both.api_key, page), await r2s(both.api_key, insta), await r2s(own.api_key, bystander)];
  assert.deepEqual(await all(), ['active/null', 'active/null', 'active/null']);

  const r = await postForm(`/platform-webhooks/meta/apps/${fb.ref}/deauthorize`, deauth('bothmeta', META.client_secret));
  assert.equal(r.status, 200);
  assert.deepEqual(await all(), ['disconnected/revoked', 'disconnected/revoked', 'active/null']);
});

test('a new secret for the same Meta app: a callback signed with the old one is refused 401 on its path, with the new one it is taken', async () => {
  const app = await newApp('Rotated Meta secret');
  const first = await ownClient(app, 'facebook', { client_id: 'rot-fb-app', client_secret: 'rot-fb-secret-1' });
  const [page] = await connectPages(app, 'rotfb', [{ id: '3601', name: 'Rotated' }]);
  // Rotated at Meta, then stored: the same client id, the same credentials and path.
  const second = await ownClient(app, 'facebook', { client_id: 'rot-fb-app', client_secret: 'rot-fb-secret-2' });
  const urls = ({ ref, hooks: { verify_token: _, ...hooks } }) => ({ ref, hooks });
  assert.deepEqual(urls(second), urls(first), 'the same credentials and paths');
  // Meta's event webhooks' verify token is derived from the secret: it changes with it.
  assert.notEqual(second.hooks.verify_token, first.hooks.verify_token);
  const path = `/platform-webhooks/meta/apps/${first.ref}/deauthorize`;
  const old = await postForm(path, deauth('rotfb', 'rot-fb-secret-1'));
  assert.equal(old.status, 401, 'the old secret no longer verifies');
  assert.equal(await r2s(app.api_key, page), 'active/null');
  const r = await postForm(path, deauth('rotfb', 'rot-fb-secret-2'));
  assert.equal(r.status, 200);
  assert.equal(await r2s(app.api_key, page), 'disconnected/revoked');
});

test('no secret of this file in any answer, log line or D1 table', async () => {
  await assertNoSecretsAnywhere(w, {
    answers,
    answered: [...clients, credsFor('facebook'), credsFor('tiktok'), { secret: 'own-tt-hooks', what: 'a refused webhook_secret' }],
    kept: [...mocks.tokens.keys()].map((secret) => ({ secret, what: 'a platform token' })),
  });
});
