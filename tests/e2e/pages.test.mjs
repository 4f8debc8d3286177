// Pages and redirects on the real runtime (issue #8): the page policy on every HTML answer,
// the sandbox consent form's CSRF token, the sandbox's redirect targets, the names a
// redirect_url may not carry, and the allowlist checked again at callback time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startWorker, unescapeHtml } from './harness.mjs';

let w;
before(async () => { w = await startWorker(); });
after(async () => { await w?.stop(); });

const REDIRECT = 'http://localhost:3000/connected';
export const PAGE_POLICY = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** An HTML answer with the page policy (or `policy`) and X-Frame-Options: DENY. */
function assertPage(res, status, what, policy = PAGE_POLICY) {
  assert.equal(res.status, status, what);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/, what);
  assert.equal(res.headers.get('content-security-policy'), policy, what);
  assert.equal(res.headers.get('x-frame-options'), 'DENY', what);
}

const get = (p) => fetch(w.base + p, { redirect: 'manual' });

/** The consent page's form as a browser would submit it (hidden fields, checked scopes). */
function consentForm(html, { username = 'ada', decision = 'approve' } = {}) {
  const form = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) form.append(m[1], unescapeHtml(m[2]));
  for (const m of html.matchAll(/<input type="checkbox" name="scope" value="([^"]*)" checked>/g)) form.append('scope', unescapeHtml(m[1]));
  form.append('username', username);
  form.append('decision', decision);
  return form;
}

const decide = (form) => fetch(`${w.base}/sandbox/authorize`, { method: 'POST', body: form, redirect: 'manual' });

/** A copy of `form` with `name` set to `value` (removed when null). */
function withField(form, name, value) {
  const f = new URLSearchParams(form);
  f.delete(name);
  if (value !== null) f.set(name, value);
  return f;
}

const hmac = (key, msg) => crypto.createHmac('sha256', key).update(msg).digest();

/**
 * Signs `form` as the worker does (what only TOKEN_KEYS' holder can do): the key derived
 * from the current key for `sandbox-csrf`, a MAC over the issue time and the request.
 */
function signedForm(form, issuedAt) {
  const [kid, b64] = w.bindings.TOKEN_KEYS.split(',')[0].split(':');
  assert.ok(kid);
  const key = hmac(hmac(Buffer.from(b64, 'base64'), 'connect-links derive v1'), 'sandbox-csrf');
  const f = (n) => form.get(n) ?? '';
  const bound = JSON.stringify([issuedAt, f('client_id'), f('redirect_uri'), f('requested_scope'), f('state'), f('code_challenge'), f('code_challenge_method')]);
  return withField(form, 'csrf_token', `${issuedAt}.${hmac(key, bound).toString('base64url')}`);
}

async function sandboxCodes() {
  return (await w.row('SELECT COUNT(*) AS n FROM sandbox_codes')).n;
}

test('every HTML answer carries the page policy and X-Frame-Options: DENY', async () => {
  const { api_key } = await w.createApp('Policy app', [REDIRECT]);
  assertPage(await get('/connect/cl_nope'), 404, 'unknown short link');
  const expired = await w.createLink(api_key);
  await w.sql('UPDATE connect_links SET expires_at = ? WHERE id = ?', Math.floor(Date.now() / 1000) - 1, expired.id);
  assertPage(await get(`/connect/${expired.id}`), 410, 'expired short link');
  assertPage(await get('/oauth/callback?code=c&state=nope'), 400, 'unknown state');
  assertPage(await get('/oauth/callback'), 400, 'no state');
  assertPage(await fetch(`${w.base}/connect/x`, { method: 'PUT', redirect: 'manual' }), 405, 'wrong method on a page');
  assertPage(await get('/sandbox/authorize?client_id=nope'), 400, 'bad sandbox request');
  const link = await w.createLink(api_key);
  const u = new URL(link.authorize_url);
  const form = new URLSearchParams(u.searchParams);
  form.set('username', 'NOT VALID');
  form.set('decision', 'approve');
  const bad = await fetch(`${w.base}/sandbox/authorize`, { method: 'POST', body: form, redirect: 'manual' });
  assert.equal(bad.headers.get('location'), null);
  assertPage(bad, 400, 'sandbox decision refused');
  // JSON answers are not pages.
  const api = await w.call('GET', '/v1/platforms');
  assert.equal(api.headers.get('x-frame-options'), null);
});

test('the consent page widens form-action by exactly the origins its submission ends on', async () => {
  const appOrigin = 'http://localhost:3000';
  const { api_key } = await w.createApp('Consent policy app', [REDIRECT]);
  const hosted = await w.createLink(api_key);
  const hostedPolicy = PAGE_POLICY.replace("form-action 'self'", `form-action 'self' ${w.base} ${appOrigin}`);
  assertPage(await get(new URL(hosted.authorize_url).pathname + new URL(hosted.authorize_url).search), 200, 'hosted consent', hostedPolicy);
  const own = await w.createLink(api_key, { callback: 'app' });
  const ownPolicy = PAGE_POLICY.replace("form-action 'self'", `form-action 'self' ${appOrigin}`);
  assertPage(await fetch(own.authorize_url, { redirect: 'manual' }), 200, 'app-callback consent', ownPolicy);
});

test('attack: the sandbox redirects nowhere outside our callback and the apps\' allowlists', async () => {
  const { api_key } = await w.createApp('Open redirect app', [REDIRECT]);
  const link = await w.createLink(api_key);
  const evil = new URL(link.authorize_url);
  evil.searchParams.set('redirect_uri', 'https://evil.example/');
  const page = await get(evil.pathname + evil.search);
  assertPage(page, 400, 'consent page for evil.example');
  assert.equal(page.headers.get('location'), null);
  assert.match(await page.text(), /redirect_uri is neither/);

  // The decision checks again: a form served while an app allowed the URL, decided after
  // the app dropped it, redirects nowhere (approve or deny) and issues no code.
  const { app, api_key: key2 } = await w.createApp('Dropped URL app', ['https://evil.example/']);
  const own = await w.createLink(key2, { redirect_url: 'https://evil.example/', callback: 'app' });
  const consent = await fetch(own.authorize_url, { redirect: 'manual' });
  assert.equal(consent.status, 200, 'allowlisted while the page is served');
  const html = await consent.text();
  const patched = await w.admin('PATCH', `/v1/admin/apps/${app.id}`, { allowed_redirect_urls: ['https://other.example/'] });
  assert.equal(patched.status, 200);
  const codes = await sandboxCodes();
  for (const decision of ['approve', 'deny']) {
    const res = await decide(consentForm(html, { decision }));
    assertPage(res, 400, `decision ${decision}`);
    assert.equal(res.headers.get('location'), null, decision);
  }
  assert.equal(await sandboxCodes(), codes, 'no code issued');
});

test('attack: a cross-site POST to the consent form without its own CSRF token issues no code', async () => {
  const { api_key } = await w.createApp('CSRF app', [REDIRECT]);
  const link = await w.createLink(api_key);
  const other = await w.createLink(api_key);
  const form = consentForm(await (await fetch(link.authorize_url)).text());
  const otherForm = consentForm(await (await fetch(other.authorize_url)).text());
  assert.match(form.get('csrf_token'), /^\d+\.[A-Za-z0-9_-]{43}$/);
  const now = Math.floor(Date.now() / 1000);
  const attempts = {
    'no token': withField(form, 'csrf_token', null),
    'an empty token': withField(form, 'csrf_token', ''),
    'a forged token': withField(form, 'csrf_token', `${now}.${crypto.randomBytes(32).toString('base64url')}`),
    "another request's token": withField(form, 'csrf_token', otherForm.get('csrf_token')),
    'more scopes than the page was served for': withField(form, 'requested_scope', 'profile.read offline.access posts.write'),
    'a token signed 11 minutes ago': signedForm(form, now - 660),
    'no token, deny': withField(withField(form, 'csrf_token', null), 'decision', 'deny'),
  };
  const codes = await sandboxCodes();
  for (const [what, body] of Object.entries(attempts)) {
    const res = await fetch(`${w.base}/sandbox/authorize`, {
      method: 'POST', body, redirect: 'manual', headers: { origin: 'https://evil.example' },
    });
    assertPage(res, 400, what);
    assert.equal(res.headers.get('location'), null, what);
    const text = await res.text();
    assert.match(text, what.includes('11 minutes') ? /older than 10 minutes/ : /not issued for this authorization request/, what);
  }
  assert.equal(await sandboxCodes(), codes, 'no code issued');

  // The attacker's own, valid form (fetched for their own link), submitted from their site
  // by the victim's browser: the browser says so, and it is refused (login CSRF).
  for (const site of ['cross-site', 'same-site']) {
    const res = await fetch(`${w.base}/sandbox/authorize`, {
      method: 'POST', body: withField(form, 'decision', 'approve'), redirect: 'manual', headers: { 'sec-fetch-site': site },
    });
    assertPage(res, 400, site);
    assert.match(await res.text(), /submitted from another site/);
  }
  assert.equal(await sandboxCodes(), codes, 'still no code issued');

  // A token the test signs with the worker's key now is accepted (so the 11-minute one was
  // refused for its age), and the attempts burned nothing: the connect completes.
  const ok = await decide(signedForm(form, now));
  assert.equal(ok.status, 302);
  const res = await w.callback(new URL(ok.headers.get('location')));
  assert.equal(new URL(res.headers.get('location')).searchParams.get('connected'), 'true');
});

test('the consent form refuses a granted scope that was not requested', async () => {
  const { api_key } = await w.createApp('Scope widen app', [REDIRECT]);
  const link = await w.createLink(api_key, { scopes: ['profile.read'] });
  const form = consentForm(await (await fetch(link.authorize_url)).text());
  form.append('scope', 'posts.write');
  const res = await decide(form);
  assertPage(res, 400, 'unrequested scope');
  assert.equal(res.headers.get('location'), null);
});

test('a redirect_url carrying a name the worker appends is refused at creation (400)', async () => {
  const { api_key } = await w.createApp('Appended names app', [REDIRECT]);
  const names = ['connected', 'profile_id', 'profile_ids', 'platform', 'link_id', 'state', 'error', 'connect_token'];
  for (const q of [...names.map((n) => `tenant=7&${n}=x`), '%73tate=x', 'connected']) {
    const r = await w.call('POST', '/v1/connect-links', { token: api_key, json: { platform: 'sandbox', redirect_url: `${REDIRECT}?${q}` } });
    assert.equal(r.status, 400, q);
    assert.equal(r.body.error.code, 'invalid_request', q);
    assert.match(r.body.error.message, /may not carry the query parameter/, q);
  }
  const fine = await w.call('POST', '/v1/connect-links', {
    token: api_key, json: { platform: 'sandbox', redirect_url: `${REDIRECT}?tenant=7&statement=1&State=2` },
  });
  assert.equal(fine.status, 201, JSON.stringify(fine.body));
});

test('a link whose redirect_url left the allowlist ends on a 403 page at the callback, failed, code unspent', async () => {
  const kept = 'http://localhost:4000/done';
  const { app, api_key } = await w.createApp('Dropped redirect app', [REDIRECT, kept]);
  const link = await w.createLink(api_key, { redirect_url: kept, state: 'dropped' });
  const { back } = await w.consent(link, { username: 'dropped-user' });
  const patched = await w.admin('PATCH', `/v1/admin/apps/${app.id}`, { allowed_redirect_urls: [REDIRECT] });
  assert.equal(patched.status, 200);
  const profiles = (await w.row('SELECT COUNT(*) AS n FROM profiles')).n;

  const res = await w.callback(back);
  assertPage(res, 403, 'callback after the allowlist dropped the URL');
  assert.equal(res.headers.get('location'), null);
  assert.match(await res.text(), /no longer allows/);
  const status = await w.call('GET', `/v1/connect-links/${link.id}`, { token: api_key });
  assert.equal(status.body.status, 'failed');
  assert.equal(status.body.error, 'redirect_not_allowed');
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM profiles')).n, profiles, 'no profile');
  const code = back.searchParams.get('code');
  const codeRow = await w.row('SELECT used_at FROM sandbox_codes WHERE code_hash = ?', crypto.createHash('sha256').update(code).digest('hex'));
  assert.equal(codeRow.used_at, null, 'the code was never exchanged');
  // The state is spent: the same answer again is the usual 400 page.
  assertPage(await w.callback(back), 400, 'replay');
});

test('a link whose redirect_url left the allowlist no longer opens, nor completes through the app callback', async () => {
  const kept = 'http://localhost:4000/done';
  const { app, api_key } = await w.createApp('Dropped before open app', [REDIRECT, kept]);
  const hosted = await w.createLink(api_key, { redirect_url: kept });
  const appCb = await w.createLink(api_key, { redirect_url: kept, callback: 'app' });
  const { back } = await w.consent(appCb, { username: 'dropped-app-cb' });
  await w.admin('PATCH', `/v1/admin/apps/${app.id}`, { allowed_redirect_urls: [REDIRECT] });
  const open = await fetch(hosted.url, { redirect: 'manual' });
  assertPage(open, 403, 'short link after the allowlist dropped the URL');
  assert.equal(open.headers.get('location'), null, 'the user is not sent to consent for nothing');
  const r = await w.call('POST', '/v1/oauth/exchange', { token: api_key, json: { code: back.searchParams.get('code'), state: back.searchParams.get('state') } });
  assert.equal(r.status, 422);
  assert.equal(r.body.error.code, 'redirect_not_allowed');
  assert.equal((await w.call('GET', `/v1/connect-links/${appCb.id}`, { token: api_key })).body.error, 'redirect_not_allowed');
});
