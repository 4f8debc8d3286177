// One link, many platforms (issue 25), continued: how many forms a chooser link takes, the
// link's locale, a failed connect naming the chosen platform, an app's own credentials
// offering their platform, and the icons the chooser references. The chooser's own markup
// is tested in multi-platform.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chooserClient } from './chooser-client.mjs';
import { startWorker } from './harness.mjs';
import { PlatformMocks, chainOutbound, credentialVars } from './platform-mocks.mjs';
import { BlueskyMocks } from './mocks-bluesky.mjs';
import { WebhookReceiver } from './webhook-receiver.mjs';

const REDIRECT = 'https://app.example.com/connected';
const mocks = new PlatformMocks();
const bsky = new BlueskyMocks();
const receiver = new WebhookReceiver();
let w;
let app;

before(async () => {
  await receiver.start();
  const vars = { ...credentialVars(['x', 'linkedin']), PLATFORM_TIMEOUT_MS: '3000' };
  w = await startWorker({ vars, outbound: chainOutbound(bsky, mocks) });
  app = await w.createApp('Multi more', [REDIRECT], { receiver });
});
after(async () => {
  await w?.stop();
  await receiver.stop();
});

const { create, status, chooserLink, openChooser, choose } = chooserClient(() => w, () => app, REDIRECT);

test('a chooser link takes 10 posted forms: the 11th is refused with 429 and nothing is tried at the platform', async () => {
  bsky.addAccount({ handle: 'tries.bsky.social', appPasswords: ['good-good-good-good'] });
  const link = await chooserLink(['x', 'bluesky']);
  const page = await openChooser(link);
  assert.equal((await choose(link, page, 'bluesky')).status, 200, 'the form: post 1');
  const before = bsky.count('createSession');
  for (let i = 2; i <= 10; i += 1) {
    const wrong = await choose(link, page, 'bluesky', { identifier: 'tries.bsky.social', app_password: `wrong-${i}` });
    assert.equal(wrong.status, 400, `post ${i}`);
  }
  assert.equal(bsky.count('createSession'), before + 9);
  // The 11th, even with the right password: refused before any sign-in.
  const eleventh = await choose(link, page, 'bluesky', { identifier: 'tries.bsky.social', app_password: 'good-good-good-good' });
  assert.equal(eleventh.status, 429);
  assert.match(eleventh.headers.get('content-type'), /^text\/html/);
  assert.match(await eleventh.text(), /Too many tries on this connect link/);
  assert.equal(bsky.count('createSession'), before + 9, 'no sign-in was tried');
  // An OAuth choice is refused the same way: no consent is started.
  assert.equal((await choose(link, page, 'x')).status, 429);
  const s = await status(link.id);
  assert.deepEqual([s.status, s.platform], ['pending', null]);
});

test('a chooser link keeps its locale: the status shows it', async () => {
  const link = await chooserLink(['x', 'linkedin'], { locale: 'de' });
  assert.equal((await status(link.id)).locale, 'de');
});

test('a choice replaced while its consent is landing does not complete the link: the end checks the latest choice', async () => {
  const link = await chooserLink(['linkedin', 'x']);
  const page = await openChooser(link);
  const first = await choose(link, page, 'linkedin');
  assert.equal(first.status, 303);
  const stale = mocks.approve(first.headers.get('location'), { user: 'race_li' });
  // LinkedIn's token endpoint holds the first consent's exchange until the user chose again.
  let reached;
  const atExchange = new Promise((r) => { reached = r; });
  let release;
  const gate = new Promise((r) => { release = r; });
  mocks.api = async (_request, url) => {
    if (url.hostname === 'www.linkedin.com' && url.pathname.endsWith('/accessToken')) {
      reached();
      await gate;
    }
    return undefined;
  };
  try {
    const landing = w.fetchChecked(`${stale.redirectUri}?${new URLSearchParams({ code: stale.code, state: stale.state })}`, { redirect: 'manual' });
    await atExchange;
    const again = await openChooser(link, page.cookie);
    const second = await choose(link, again, 'x');
    assert.equal(second.status, 303);
    release();
    const res = await landing;
    const to = res.headers.get('location');
    assert.ok(!to || new URL(to).searchParams.get('connected') !== 'true', `the replaced choice did not connect: ${res.status} ${to}`);
    const s = await status(link.id);
    assert.deepEqual([s.status, s.platform, s.profile_id ?? null], ['pending', 'x', null]);
    const latest = mocks.approve(second.headers.get('location'), { user: 'race_x' });
    const done = await w.callback(`${latest.redirectUri}?${new URLSearchParams({ code: latest.code, state: latest.state })}`);
    assert.equal(new URL(done.headers.get('location')).searchParams.get('connected'), 'true');
    assert.deepEqual([(await status(link.id)).status, (await status(link.id)).platform], ['completed', 'x']);
  } finally {
    release();
    mocks.api = undefined;
  }
});

test("an app's own platform credentials offer that platform: instagram in the default list, and in a platforms list (201)", async () => {
  const own = (await w.createApp('own-instagram')).app;
  const ownApp = await w.admin('GET', `/v1/admin/apps/${own.id}`);
  assert.equal(ownApp.status, 200);
  const key = (await w.admin('POST', `/v1/admin/apps/${own.id}/api-keys`, {})).body.api_key;
  await w.admin('PATCH', `/v1/admin/apps/${own.id}`, { allowed_redirect_urls: [REDIRECT] });
  const before = await create({}, key);
  assert.equal(before.status, 201, JSON.stringify(before.body));
  assert.ok(!before.body.platforms.includes('instagram'), 'no deployment credentials for instagram');
  mocks.allowClient('instagram', 'own-ig-client', 'own-ig-secret-0123');
  const put = await w.admin('PUT', `/v1/admin/apps/${own.id}/platforms/instagram`, { client_id: 'own-ig-client', client_secret: 'own-ig-secret-0123' });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  const after = await create({}, key);
  assert.equal(after.status, 201);
  assert.ok(after.body.platforms.includes('instagram'), JSON.stringify(after.body.platforms));
  assert.ok(after.body.platforms.includes('x'));
  const listed = await create({ platforms: ['instagram', 'x'] }, key);
  assert.equal(listed.status, 201, JSON.stringify(listed.body));
  assert.deepEqual(listed.body.platforms, ['instagram', 'x']);
});

test('a failed connect on a chooser link names the chosen platform: the final redirect and connect_link.failed', async () => {
  const link = await chooserLink(['linkedin', 'x'], { external_user_id: 'u-denied' });
  const page = await openChooser(link);
  const res = await choose(link, page, 'x');
  assert.equal(res.status, 303);
  // The user denies at X: the platform returns the browser with error=access_denied.
  const consent = new URL(res.headers.get('location'));
  const back = `${consent.searchParams.get('redirect_uri')}?${new URLSearchParams({ error: 'access_denied', state: consent.searchParams.get('state') })}`;
  const denied = await w.fetchChecked(back, { redirect: 'manual' });
  assert.equal(denied.status, 302);
  const q = new URL(denied.headers.get('location')).searchParams;
  assert.deepEqual([q.get('connected'), q.get('error'), q.get('platform'), q.get('link_id')], ['false', 'access_denied', 'x', link.id]);
  const s = await status(link.id);
  assert.deepEqual([s.status, s.platform, s.error], ['failed', 'x', 'access_denied']);
  await w.settled();
  const told = receiver.of('connect_link.failed').filter((e) => e.data.link_id === link.id);
  assert.equal(told.length, 1);
  assert.deepEqual(told[0].data, { link_id: link.id, platform: 'x', error: 'access_denied', external_user_id: 'u-denied' });
});

test("Bluesky's refusal is the worker's own words on the form, never the text the PDS sent", async () => {
  bsky.addAccount({ handle: 'words.bsky.social', appPasswords: ['word-word-word-word'] });
  const link = await chooserLink(['x', 'bluesky']);
  const page = await openChooser(link);
  const marker = 'PDS-MARKER-3f9a <b>injected</b>';
  bsky.failNext('createSession', () => new Response(JSON.stringify({ error: 'AuthenticationRequired', message: marker }), { status: 401, headers: { 'content-type': 'application/json' } }));
  const refused = await choose(link, page, 'bluesky', { identifier: 'words.bsky.social', app_password: 'word-word-word-word' });
  assert.equal(refused.status, 400);
  const html = await refused.text();
  assert.match(html, /<div class="alert" role="alert"><p><strong>Bluesky refused what you entered\.<\/strong> <span lang="en">Bluesky refused the handle or app password<\/span><\/p><\/div>/);
  assert.ok(!html.includes('PDS-MARKER'), 'the PDS message is not shown');
  assert.ok(!html.includes('injected'));
});

test('the icons the chooser references are served: 200, image/svg+xml', async () => {
  const link = await chooserLink(['linkedin', 'x', 'bluesky']);
  const page = await openChooser(link);
  const icons = [...page.html.matchAll(/<img class="mark" src="(\/assets\/icons\/[a-z_]+\.svg)"/g)].map((m) => m[1]);
  assert.ok(icons.length >= 3, page.html);
  for (const icon of icons) {
    const res = await fetch(`${w.base}${icon}`);
    assert.equal(res.status, 200, icon);
    assert.match(res.headers.get('content-type'), /^image\/svg\+xml/, icon);
    assert.match(await res.text(), /^<svg[\s>]/, icon);
  }
});
