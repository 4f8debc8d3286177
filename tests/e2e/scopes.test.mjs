// Every consent screen the platform mocks play knows its platform's documented scopes and
// refuses any other, in the platform's own way: so a worker default scope the platform does
// not know fails its connect (platforms.test.mjs connects each with its defaults), and a
// scope an app asks for that the platform does not know never turns into a code.
// (TikTok, Pinterest, Reddit and Threads: refresh-routes.test.mjs.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';
import { PlatformMocks, KNOWN_SCOPES, credentialVars, CUSTOM_PROVIDERS } from './platform-mocks.mjs';

const REDIRECT_PLATFORMS = ['instagram', 'facebook', 'instagram_facebook', 'threads', 'linkedin', 'x', 'youtube', 'tiktok', 'pinterest', 'reddit', 'acme', 'globex'];
const REDIRECT = 'https://app.example.com/connected';
const mocks = new PlatformMocks();
let w;
let app;

before(async () => {
  const vars = { ...credentialVars(REDIRECT_PLATFORMS), CUSTOM_PROVIDERS: JSON.stringify(CUSTOM_PROVIDERS) };
  w = await startWorker({ vars, outbound: mocks.handle });
  app = await w.createApp('Scopes app', [REDIRECT]);
});
after(async () => { await w?.stop(); });

test('each mocked consent screen has its platform\'s scope list, and knows every default scope the worker asks for', async () => {
  const r = await w.call('GET', '/v1/platforms', { token: app.api_key });
  assert.equal(r.status, 200);
  const byId = Object.fromEntries(r.body.data.map((p) => [p.id, p]));
  for (const id of REDIRECT_PLATFORMS) {
    assert.ok(byId[id], `${id} is in the catalog`);
    assert.ok(KNOWN_SCOPES[id]?.length, `${id}: the mock knows its scopes`);
    const unknown = byId[id].default_scopes.filter((s) => !KNOWN_SCOPES[id].includes(s));
    assert.deepEqual(unknown, [], `${id}: default scopes the platform does not know`);
  }
});

/** A link asking for one known scope and one the platform does not know; the consent screen's answer. */
async function refusedAt(platform, unknownScope) {
  const link = await w.createLink(app.api_key, { platform, redirect_url: REDIRECT, scopes: [KNOWN_SCOPES[platform][0], unknownScope] });
  const codes = mocks.codes.size;
  const refused = mocks.approve(link.authorize_url, { user: `scoper_${platform}` });
  assert.equal(refused.code, undefined, `${platform} issued a code`);
  assert.equal(mocks.codes.size, codes, `${platform} kept a code`);
  return { link, refused };
}

test('Meta\'s dialogs and Google\'s consent screen show a scope they do not know as an error page and send nobody back', async () => {
  const cases = {
    instagram: ['instagram_business_everything', /^Invalid Scopes: instagram_business_everything\. This message is only shown to developers\./],
    facebook: ['pages_manage_everything', /^Invalid Scopes: pages_manage_everything\. /],
    instagram_facebook: ['instagram_manage_everything', /^Invalid Scopes: instagram_manage_everything\. /],
    youtube: ['https://www.googleapis.com/auth/youtube.delete', /Error 400: invalid_scope\. Some requested scopes were invalid\. \{invalid=\[https:\/\/www\.googleapis\.com\/auth\/youtube\.delete\]\}/],
  };
  for (const [platform, [scope, page]] of Object.entries(cases)) {
    const { refused } = await refusedAt(platform, scope);
    assert.equal(refused.back, undefined, `${platform} sent the browser back`);
    assert.match(refused.page, page, platform);
  }
});

test('X, LinkedIn and the custom providers send the browser back with their refusal; the app hears access_denied', async () => {
  const cases = {
    x: ['tweet.delete', 'invalid_scope', /^Invalid scopes: tweet\.delete$/],
    linkedin: ['r_liteprofile', 'unauthorized_scope_error', /^Scope "r_liteprofile" is not authorized for your application$/],
    acme: ['admin', 'invalid_scope', /^Invalid scopes: admin$/],
    globex: ['delete', 'invalid_scope', /^Invalid scopes: delete$/],
  };
  for (const [platform, [scope, error, description]] of Object.entries(cases)) {
    const { link, refused } = await refusedAt(platform, scope);
    assert.equal(refused.back.origin + refused.back.pathname, `${w.base}/oauth/callback`, platform);
    assert.deepEqual([refused.back.searchParams.get('error'), refused.back.searchParams.get('state')], [error, refused.state], platform);
    assert.match(refused.back.searchParams.get('error_description'), description, platform);
    const res = await w.callback(refused.back);
    assert.equal(res.status, 302, platform);
    const q = new URL(res.headers.get('location')).searchParams;
    assert.deepEqual([q.get('connected'), q.get('error'), q.get('link_id')], ['false', 'access_denied', link.id], platform);
    assert.equal((await w.call('GET', `/v1/connect-links/${link.id}`, { token: app.api_key })).body.status, 'failed', platform);
  }
});
