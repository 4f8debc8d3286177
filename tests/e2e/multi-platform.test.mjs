// One link, many platforms (issue 25): a link created with `platforms` (or neither) opens a
// hosted chooser; choosing one continues that platform's connect on the same link (OAuth
// consent, a Mastodon instance form, Bluesky's handle and app password, an API key), and the
// link, the final redirect and the webhooks name the chosen platform. The chooser's forms are
// bound to the browser that was shown them (login CSRF).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chooserClient } from './chooser-client.mjs';
import { startWorker } from './harness.mjs';
import { PlatformMocks, chainOutbound, credentialVars, CUSTOM_PROVIDERS } from './platform-mocks.mjs';
import { MastodonMocks } from './mocks-mastodon.mjs';
import { BlueskyMocks, PDS_HOSTS } from './mocks-bluesky.mjs';
import { WebhookReceiver } from './webhook-receiver.mjs';

const REDIRECT = 'https://app.example.com/connected';
const INSTANCE = 'mastodon.social';
const mocks = new PlatformMocks();
const masto = new MastodonMocks().addInstance(INSTANCE, { version: '4.3' });
const bsky = new BlueskyMocks();
const receiver = new WebhookReceiver();
let w;
let app;

before(async () => {
  await receiver.start();
  // Custom providers: two OAuth ones without credentials (not offered), two API-key ones.
  const vars = { ...credentialVars(['x', 'linkedin']), CUSTOM_PROVIDERS: JSON.stringify(CUSTOM_PROVIDERS), PLATFORM_TIMEOUT_MS: '3000' };
  w = await startWorker({ vars, outbound: chainOutbound(masto, { handle: chainOutbound(bsky, mocks) }) });
  const r = await w.admin('POST', '/v1/admin/apps', { name: 'Multi app', allowed_redirect_urls: [REDIRECT], webhook_url: receiver.url });
  assert.equal(r.status, 201);
  app = r.body;
  receiver.useSecret(app.webhook_secret);
});
after(async () => {
  await w?.stop();
  await receiver.stop();
});

const { create, status, chooserLink, openChooser, post, choose } = chooserClient(() => w, () => app, REDIRECT);

/** The KV keys (OAUTH_STATE) whose key or value holds `text`. */
async function kvHolding(text) {
  const found = [];
  let cursor;
  do {
    const page = await w.kv.list({ cursor });
    for (const { name } of page.keys) {
      const value = await w.kv.get(name);
      if (name.includes(text) || (value ?? '').includes(text)) found.push(name);
    }
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return found;
}

/** Chooses `platform` in an opened chooser: the answer. */
test('platforms makes a chooser link: no platform or consent yet, the list in order, in the create answer and the status', async () => {
  const link = await chooserLink(['x', 'mastodon', 'linkedin']);
  assert.equal(link.platform, null);
  assert.equal(link.authorize_url, null);
  assert.deepEqual(link.platforms, ['x', 'mastodon', 'linkedin']);
  assert.equal(link.url, `${w.base}/connect/${link.id}`);
  const s = await status(link.id);
  assert.deepEqual([s.status, s.platform, s.platforms, s.instance], ['pending', null, ['x', 'mastodon', 'linkedin'], null]);
});

test('neither platform nor platforms offers every platform configured for the app, in catalog order', async () => {
  const r = await create({});
  assert.equal(r.status, 201, JSON.stringify(r.body));
  // x and linkedin have credentials; bluesky, mastodon and the API-key providers need none;
  // the custom OAuth providers have none; the sandbox is on.
  assert.deepEqual(r.body.platforms, ['linkedin', 'x', 'bluesky', 'mastodon', 'keyed', 'querykey', 'sandbox']);
});

test('one platform listed is exactly platform: its consent at once, no chooser', async () => {
  const r = await create({ platforms: ['x'] });
  assert.equal(r.status, 201);
  assert.equal(r.body.platform, 'x');
  assert.equal(r.body.platforms, null);
  assert.match(r.body.authorize_url, /^https:\/\/x\.com\/i\/oauth2\/authorize\?/);
  const open = await w.fetchChecked(r.body.url, { redirect: 'manual' });
  assert.equal(open.status, 302);
  assert.equal(open.headers.get('location'), r.body.authorize_url);
  // `platform` alone keeps its answer: Bluesky connects with posted credentials there.
  const bsky = await create({ platform: 'bluesky' });
  assert.equal(bsky.status, 422);
  assert.equal(bsky.body.error.code, 'platform_unsupported');
});

test('one listed platform that asks on a form: the link\'s url is that form, no chooser (Bluesky connects; Mastodon asks for its server)', async () => {
  const a = bsky.addAccount({ handle: 'single.bsky.social', appPasswords: ['sing-sing-sing-sing'] });
  const r = await create({ platforms: ['bluesky'] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  w.linkKeys.set(r.body.id, app.api_key);
  assert.deepEqual([r.body.platform, r.body.platforms, r.body.authorize_url], [null, ['bluesky'], null]);
  const page = await openChooser(r.body);
  assert.deepEqual(page.buttons, [], 'no chooser');
  assert.match(page.html, /<h1>Sign in to Bluesky<\/h1>/);
  assert.match(page.html, /<input type="hidden" name="platform" value="bluesky">/);
  const res = await choose(r.body, page, 'bluesky', { identifier: 'single.bsky.social', app_password: 'sing-sing-sing-sing' });
  assert.equal(res.status, 302);
  const q = new URL(res.headers.get('location')).searchParams;
  assert.deepEqual([q.get('connected'), q.get('platform')], ['true', 'bluesky']);
  const claimed = await w.claim(res.headers.get('location'));
  assert.equal(claimed.body.data[0].platform_user_id, a.did);

  const m = await create({ platforms: ['mastodon'] });
  assert.equal(m.status, 201, JSON.stringify(m.body));
  const mPage = await openChooser(m.body);
  assert.deepEqual(mPage.buttons, []);
  assert.match(mPage.html, /<input type="hidden" name="platform" value="mastodon">/);
  assert.match(mPage.html, /name="instance"/);
  // With a field of one platform's it is `platform`'s path: Mastodon with its instance
  // starts at once; Bluesky with scopes is refused as `platform` refuses it.
  const withInstance = await create({ platforms: ['mastodon'], instance: INSTANCE });
  assert.equal(withInstance.status, 201, JSON.stringify(withInstance.body));
  assert.equal(withInstance.body.platform, 'mastodon');
  const scoped = await create({ platforms: ['bluesky'], scopes: ['atproto'] });
  assert.equal(scoped.status, 422);
});

test('refused: both fields, an empty or repeating list, unknown or unconfigured platforms (named), one-platform fields', async () => {
  const both = await create({ platform: 'x', platforms: ['x', 'linkedin'] });
  assert.equal(both.status, 400);
  assert.match(both.body.error.message, /not both/);
  assert.equal((await create({ platforms: [] })).status, 400);
  assert.equal((await create({ platforms: ['x', 'x'] })).status, 400);
  const missing = await create({ platforms: ['x', 'instagram', 'nope'] });
  assert.equal(missing.status, 422);
  assert.equal(missing.body.error.code, 'platform_not_configured');
  assert.match(missing.body.error.message, /instagram, nope$/);
  const oneOnly = [['scopes', ['tweet.read']], ['instance', INSTANCE], ['profile_id', 'pr_x'], ['callback', 'app']];
  oneOnly.push(['optional_scopes', ['like.read']]);
  for (const [field, value] of oneOnly) {
    const r = await create({ platforms: ['x', 'mastodon'], [field]: value });
    assert.equal(r.status, 400, field);
    assert.match(r.body.error.message, new RegExp(`^${field} can only be given for a link to one platform`), field);
  }
  // Neither field: the link may offer several, so the same refusal, whatever is configured.
  const neither = await create({ scopes: ['tweet.read'] });
  assert.equal(neither.status, 400);
  assert.match(neither.body.error.message, /^scopes can only be given for a link to one platform/);
  const elsewhere = await create({ platforms: ['x', 'linkedin'], redirect_url: 'https://evil.example/cb' });
  assert.equal(elsewhere.status, 422);
  assert.equal(elsewhere.body.error.code, 'redirect_not_allowed');
});

test('the chooser lists exactly the link\'s platforms as named buttons with their icons, and binds its form to this browser', async () => {
  const link = await chooserLink(['linkedin', 'mastodon', 'x']);
  const page = await openChooser(link);
  assert.deepEqual(page.buttons, ['linkedin', 'mastodon', 'x']);
  assert.match(page.html, /<button type="submit" name="platform" value="x" class="choice"><img class="mark" src="\/assets\/icons\/x\.svg" alt="" width="24" height="24"><span>X<\/span><\/button>/);
  assert.match(page.html, /<fieldset><legend>Platforms<\/legend>/);
  // The shared layout: the app named in the header, the page in its language.
  assert.match(page.html, /<header class="brand"><span class="party app">.*<span class="party-name">Multi app<\/span><\/span><\/header>/);
  assert.match(page.html, /<h1>Connect an account<\/h1><p>Choose the platform of the account Multi app should be able to use\.<\/p>/);
  assert.match(page.html, /<link rel="stylesheet" href="\/assets\/pages\.css">/);
  assert.match(page.setCookie, /^cl_link=[\w-]+; Path=\/connect\/cl_\w+; Max-Age=600; HttpOnly; SameSite=Strict$/);
  // The policy: no script and no inline style (the page carries none), and a form answer may
  // go on to any https consent screen (a platform may redirect among its own hosts: Chromium
  // checks form-action on every hop) and to the app's redirect, even on plain http.
  assert.doesNotMatch(page.html, /<script|<style|style="/);
  assert.match(page.policy, /default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' https: https:\/\/app\.example\.com; frame-ancestors 'none'; base-uri 'none'/);
  assert.doesNotMatch(page.policy, /unsafe-inline|script-src/);
  // Opened again with its cookie: the same cookie stays, no new one is set.
  const again = await openChooser(link, page.cookie);
  assert.equal(again.setCookie, null);
  assert.equal(again.token, page.token);
});

test('choosing an OAuth platform: 303 to its consent, then the link completes naming it (status, redirect, webhook)', async () => {
  const link = await chooserLink(['linkedin', 'x']);
  const page = await openChooser(link);
  const res = await choose(link, page, 'x');
  assert.equal(res.status, 303);
  const consent = res.headers.get('location');
  assert.match(consent, /^https:\/\/x\.com\/i\/oauth2\/authorize\?/);
  const picked = await status(link.id);
  assert.deepEqual([picked.status, picked.platform, picked.platforms], ['pending', 'x', ['linkedin', 'x']]);
  const approved = mocks.approve(consent, { user: 'multi_x' });
  const back = await w.callback(approved.redirectUri + '?' + new URLSearchParams({ code: approved.code, state: approved.state }));
  assert.equal(back.status, 302);
  const q = new URL(back.headers.get('location')).searchParams;
  assert.deepEqual([q.get('connected'), q.get('platform'), q.get('link_id')], ['true', 'x', link.id]);
  assert.ok(back.claimed, 'claimed with its connect_token');
  const done = await status(link.id);
  assert.deepEqual([done.status, done.platform], ['completed', 'x']);
  await w.settled();
  const events = receiver.of('profile.connected', done.profile_id);
  assert.equal(events.length, 1);
  assert.equal(events[0].data.platform, 'x');
  // The link is used: its chooser and its form are gone.
  assert.equal((await w.fetchChecked(link.url, { redirect: 'manual' })).status, 410);
  assert.equal((await choose(link, page, 'linkedin')).status, 410);
});

test('choosing again while pending: the latest choice completes, the earlier consent is refused', async () => {
  const link = await chooserLink(['linkedin', 'x']);
  const page = await openChooser(link);
  const first = await choose(link, page, 'linkedin');
  assert.equal(first.status, 303);
  // Back to the chooser (the browser keeps its cookie), another platform.
  const back = await openChooser(link, page.cookie);
  const second = await choose(link, back, 'x');
  assert.equal(second.status, 303);
  assert.equal((await status(link.id)).platform, 'x');
  const stale = mocks.approve(first.headers.get('location'), { user: 'stale_li' });
  const refused = await w.fetchChecked(`${stale.redirectUri}?${new URLSearchParams({ code: stale.code, state: stale.state })}`, { redirect: 'manual' });
  assert.equal(refused.status, 400);
  assert.match(await refused.text(), /replaced by a later choice/);
  assert.deepEqual([(await status(link.id)).status, (await status(link.id)).platform], ['pending', 'x']);
  const latest = mocks.approve(second.headers.get('location'), { user: 'latest_x' });
  const res = await w.callback(`${latest.redirectUri}?${new URLSearchParams({ code: latest.code, state: latest.state })}`);
  const q = new URL(res.headers.get('location')).searchParams;
  assert.deepEqual([q.get('connected'), q.get('platform')], ['true', 'x']);
  assert.equal((await status(link.id)).status, 'completed');
});

test('login CSRF: a post from another site, with another browser\'s token, or without the cookie changes nothing', async () => {
  const link = await chooserLink(['linkedin', 'x']);
  const victim = await openChooser(link);
  const attacker = await openChooser(link); // the attacker's own browser: its own cookie and token
  assert.notEqual(attacker.cookie, victim.cookie);
  const attempts = [
    // The attacker's page makes the victim's browser post: the browser says cross-site.
    post(link, { form_token: victim.token, platform: 'x' }, { cookie: victim.cookie, headers: { 'sec-fetch-site': 'cross-site' } }),
    post(link, { form_token: attacker.token, platform: 'x' }, { cookie: victim.cookie, headers: { 'sec-fetch-site': 'same-site' } }),
    // A browser that sends no Sec-Fetch-Site: the attacker's token is not the victim's.
    post(link, { form_token: attacker.token, platform: 'x' }, { cookie: victim.cookie, headers: { 'sec-fetch-site': '' } }),
    // SameSite=Strict kept the cookie home: no cookie, no form.
    post(link, { form_token: attacker.token, platform: 'x' }, { headers: { 'sec-fetch-site': '' } }),
    post(link, { platform: 'x' }, { cookie: victim.cookie }),
  ];
  for (const res of await Promise.all(attempts)) {
    assert.equal(res.status, 403);
    assert.match(res.headers.get('content-type'), /^text\/html/);
  }
  const s = await status(link.id);
  assert.deepEqual([s.status, s.platform], ['pending', null], 'no choice was made');
  // A platform the link does not offer is refused too, even from the right browser.
  assert.equal((await choose(link, victim, 'instagram')).status, 400);
  assert.equal((await choose(link, victim, 'x')).status, 303, 'the victim still can');
});

test('Mastodon: the instance asked on a hosted form, errors shown on it with what was typed, then the instance\'s consent', async () => {
  const link = await chooserLink(['x', 'mastodon']);
  const page = await openChooser(link);
  const form = await choose(link, page, 'mastodon');
  assert.equal(form.status, 200);
  const html = await form.text();
  assert.match(html, /<label for="f_instance">Server<\/label>/);
  assert.match(html, /<span class="party platform"><img class="mark" src="\/assets\/icons\/mastodon\.svg" alt="" width="32" height="32"><span class="party-name">Mastodon<\/span>/);
  assert.match(html, /<span class="party-name">Multi app<\/span>/);
  assert.equal(form.headers.get('content-language'), 'en');
  assert.match(html, /name="platform" value="mastodon"/);
  assert.match(form.headers.get('content-security-policy'), /form-action 'self' https:/);
  const bad = await choose(link, page, 'mastodon', { instance: 'localhost' });
  assert.equal(bad.status, 400);
  const badHtml = await bad.text();
  assert.match(badHtml, /<div class="alert" role="alert"><p><strong>That server cannot be used\.<\/strong> <span lang="en">The server must be a public DNS name [^<]+\.<\/span><\/p><\/div>/);
  assert.match(badHtml, /value="localhost"/, 'what was typed is kept');
  const gone = await choose(link, page, 'mastodon', { instance: 'gone.example' });
  assert.equal(gone.status, 400);
  assert.match(await gone.text(), /role="alert"/);
  assert.equal((await status(link.id)).platform, null, 'nothing chosen yet');
  const res = await choose(link, page, 'mastodon', { instance: `https://${INSTANCE}/` });
  assert.equal(res.status, 303);
  const approved = masto.approve(res.headers.get('location'), { user: 'multi_alice' });
  assert.equal(approved.redirectUri, `${w.base}/oauth/callback/mastodon/${INSTANCE}`);
  const back = await w.callback(`${approved.redirectUri}?${new URLSearchParams({ code: approved.code, state: approved.state })}`);
  const q = new URL(back.headers.get('location')).searchParams;
  assert.deepEqual([q.get('connected'), q.get('platform')], ['true', 'mastodon']);
  const s = await status(link.id);
  assert.deepEqual([s.status, s.platform, s.instance], ['completed', 'mastodon', INSTANCE]);
});

test('Bluesky: handle and app password on a hosted form; a refusal shows it again without the password; then connected', async () => {
  const a = bsky.addAccount({ handle: 'multi.bsky.social', appPasswords: ['abcd-efgh-ijkl-mnop'], displayName: 'Multi' });
  const link = await chooserLink(['x', 'bluesky']);
  const page = await openChooser(link);
  const form = await choose(link, page, 'bluesky');
  assert.equal(form.status, 200);
  const html = await form.text();
  assert.match(html, /<h1>Sign in to Bluesky<\/h1>/);
  assert.match(html, /<label for="f_identifier">Handle<\/label>/);
  assert.match(html, /<label for="f_app_password">App password<\/label>.*<input id="f_app_password" name="app_password" type="password" autocomplete="current-password"/);
  assert.match(html, new RegExp(`<a href="/connect/${link.id}">Choose another platform</a>`));
  const wrong = await choose(link, page, 'bluesky', { identifier: 'multi.bsky.social', app_password: 'wrong-pass-word-1234' });
  assert.equal(wrong.status, 400);
  const wrongHtml = await wrong.text();
  assert.match(wrongHtml, /<div class="alert" role="alert"><p><strong>Bluesky refused what you entered\.<\/strong> <span lang="en">[^<]+<\/span><\/p><\/div>/);
  assert.match(wrongHtml, /name="identifier" type="text" autocomplete="username" required aria-describedby="f_identifier_hint" autocapitalize="none" spellcheck="false" value="multi.bsky.social"/);
  assert.match(wrongHtml, /<fieldset><legend>Your Bluesky account<\/legend>/);
  assert.ok(!wrongHtml.includes('wrong-pass-word-1234'), 'the password is not shown again');
  const empty = await choose(link, page, 'bluesky', { identifier: 'multi.bsky.social', app_password: '' });
  assert.equal(empty.status, 400);
  assert.match(await empty.text(), /role="alert"><p><strong>Fill in every field\.<\/strong><\/p>/);
  assert.deepEqual([(await status(link.id)).status, (await status(link.id)).platform], ['pending', null]);
  const res = await choose(link, page, 'bluesky', { identifier: 'multi.bsky.social', app_password: 'abcd-efgh-ijkl-mnop' });
  assert.equal(res.status, 302);
  const q = new URL(res.headers.get('location')).searchParams;
  assert.deepEqual([q.get('connected'), q.get('platform'), q.get('link_id')], ['true', 'bluesky', link.id]);
  const claimed = await w.claim(res.headers.get('location'));
  assert.equal(claimed.status, 200);
  assert.equal(claimed.body.data[0].platform_user_id, a.did);
  const s = await status(link.id);
  assert.deepEqual([s.status, s.platform, s.instance], ['completed', 'bluesky', PDS_HOSTS[0]]);
  await w.settled();
  const [event] = receiver.of('profile.connected', s.profile_id);
  assert.equal(event.data.platform, 'bluesky');
  assert.ok(!(await w.allStoredText()).some((t) => t.value.includes('abcd-efgh-ijkl-mnop')), 'the app password is stored nowhere');
  await w.kv.put('e2e-probe', 'a value holding kv-probe-text'); // the scan finds what is there
  assert.deepEqual(await kvHolding('kv-probe-text'), ['e2e-probe']);
  await w.kv.delete('e2e-probe');
  assert.deepEqual(await kvHolding('abcd-efgh-ijkl-mnop'), [], 'nor in KV');
});

test('login CSRF with credentials: another site posting its own Bluesky account into a victim\'s open link is refused', async () => {
  bsky.addAccount({ handle: 'attacker.bsky.social', appPasswords: ['attk-attk-attk-attk'] });
  const link = await chooserLink(['x', 'bluesky']);
  const victim = await openChooser(link);
  const attacker = await openChooser(link);
  const fields = (token) => ({ form_token: token, platform: 'bluesky', identifier: 'attacker.bsky.social', app_password: 'attk-attk-attk-attk' });
  const sessions = bsky.count('createSession');
  for (const [token, opts] of [
    [victim.token, { cookie: victim.cookie, headers: { 'sec-fetch-site': 'cross-site' } }],
    [attacker.token, { cookie: victim.cookie, headers: { 'sec-fetch-site': '' } }],
    [attacker.token, { headers: { 'sec-fetch-site': '' } }],
  ]) {
    const res = await post(link, fields(token), opts);
    assert.equal(res.status, 403);
    assert.ok(!(await res.text()).includes('attk-attk-attk-attk'));
  }
  assert.equal(bsky.count('createSession'), sessions, 'no sign-in was even tried');
  const s = await status(link.id);
  assert.deepEqual([s.status, s.platform], ['pending', null]);
  const profiles = await w.call('GET', '/v1/profiles?platform=bluesky&status=pending', { token: app.api_key });
  assert.ok(!profiles.body.data.some((p) => p.username === 'attacker.bsky.social'), 'no profile of the attacker');
});

test('API-key platform: the key on a hosted form, never shown again; a refused key shows the form again; then connected', async () => {
  const key = mocks.issueApiKey('multi_key_user');
  const link = await chooserLink(['keyed', 'x']);
  const page = await openChooser(link);
  assert.deepEqual(page.buttons, ['keyed', 'x']);
  assert.match(page.html, /value="keyed" class="choice"><span class="mark monogram" aria-hidden="true">K<\/span><span>Keyed<\/span><\/button>/, 'a custom provider has no icon: a monogram');
  const form = await choose(link, page, 'keyed');
  assert.equal(form.status, 200);
  assert.match(await form.text(), /<label for="f_api_key">API key<\/label><input id="f_api_key" name="api_key" type="password"/);
  const wrong = await choose(link, page, 'keyed', { api_key: 'key_not_issued' });
  assert.equal(wrong.status, 400);
  const wrongHtml = await wrong.text();
  assert.match(wrongHtml, /role="alert"><p><strong>Keyed refused what you entered\.<\/strong> <span lang="en">Keyed refused the key<\/span>/);
  assert.match(wrongHtml, /<span class="party platform"><span class="mark monogram" aria-hidden="true">K<\/span><span class="party-name">Keyed<\/span>/);
  assert.ok(!wrongHtml.includes('key_not_issued'));
  const res = await choose(link, page, 'keyed', { api_key: key });
  assert.equal(res.status, 302);
  const q = new URL(res.headers.get('location')).searchParams;
  assert.deepEqual([q.get('connected'), q.get('platform')], ['true', 'keyed']);
  assert.equal((await w.claim(res.headers.get('location'))).status, 200);
  const s = await status(link.id);
  assert.deepEqual([s.status, s.platform], ['completed', 'keyed']);
  assert.ok(!(await w.allStoredText()).some((t) => t.value.includes(key)), 'the key is stored sealed only');
});
