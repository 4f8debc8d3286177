// Pages and redirects on the real runtime (issue #8): the page policy on every HTML answer,
// the sandbox consent form's CSRF token, the sandbox's redirect targets, the names a
// redirect_url may not carry, and the allowlist checked again at callback time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';

let w;
before(async () => { w = await startWorker(); });
after(async () => { await w?.stop(); });

const REDIRECT = 'http://localhost:3000/connected';
export const PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** An HTML answer with the page policy (or `policy`) and X-Frame-Options: DENY. */
function assertPage(res, status, what, policy = PAGE_POLICY) {
  assert.equal(res.status, status, what);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/, what);
  assert.equal(res.headers.get('content-security-policy'), policy, what);
  assert.equal(res.headers.get('x-frame-options'), 'DENY', what);
}

const get = (p) => fetch(w.base + p, { redirect: 'manual' });

test('every HTML answer carries the page policy and X-Frame-Options: DENY', async () => {
  const { api_key } = await w.createApp('Policy app', [REDIRECT]);
  assertPage(await get('/connect/cl_nope'), 404, 'unknown short link');
  const expired = await w.createLink(api_key);
  await w.sql('UPDATE connect_links SET expires_at = ? WHERE id = ?', Math.floor(Date.now() / 1000) - 1, expired.id);
  assertPage(await get(`/connect/${expired.id}`), 410, 'expired short link');
  assertPage(await get('/oauth/callback?code=c&state=nope'), 400, 'unknown state');
  assertPage(await get('/oauth/callback'), 400, 'no state');
  assertPage(await fetch(`${w.base}/connect/x`, { method: 'POST', redirect: 'manual' }), 405, 'wrong method on a page');
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
