// The hosted pages' languages, brand and static files (issue 25): a link's `locale` (checked
// on creation, stored, shown), the browser's Accept-Language when the link names none (the
// consent page, the chooser and its credential forms, the error pages), the app's name on the pages, GET /assets/<path> (content types, ETag and 304, 404 for what does
// not exist or is not a served type, no way out of assets/), and the page policy that lets
// the stylesheet in and nothing inline.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';

let w, acme;
before(async () => {
  w = await startWorker();
  acme = await w.createApp('Acme Posts');
});
after(async () => { await w?.stop(); });

/** The consent page of `link` as a browser with `acceptLanguage` gets it. */
async function consent(link, acceptLanguage) {
  const headers = acceptLanguage ? { 'accept-language': acceptLanguage } : {};
  const open = await fetch(link.url, { redirect: 'manual', headers });
  assert.equal(open.status, 302);
  const res = await fetch(open.headers.get('location'), { headers });
  assert.equal(res.status, 200);
  return { res, html: await res.text() };
}

const lang = (html) => /<html lang="([^"]+)">/.exec(html)?.[1];
const h1 = (html) => /<h1>([^<]*)<\/h1>/.exec(html)?.[1];

test('a link\'s locale picks the language of its pages, over the browser\'s', async () => {
  const link = await w.createLink(acme.api_key, { locale: 'de-AT' });
  const view = await w.call('GET', `/v1/connect-links/${link.id}`, { token: acme.api_key });
  assert.equal(view.body.locale, 'de-AT');
  const { res, html } = await consent(link, 'ja,en;q=0.5');
  assert.equal(lang(html), 'de');
  assert.equal(res.headers.get('content-language'), 'de');
  assert.equal(h1(html), 'Acme Posts möchte Ihr Sandbox-Konto verwenden');
  assert.match(html, />Zulassen<\/button>/);
  // The same link's error page (expired) speaks German too and names the app.
  await w.sql('UPDATE connect_links SET expires_at = ? WHERE id = ?', Math.floor(Date.now() / 1000) - 1, link.id);
  const gone = await fetch(link.url, { redirect: 'manual', headers: { 'accept-language': 'fr' } });
  assert.equal(gone.status, 410);
  const page = await gone.text();
  assert.equal(lang(page), 'de');
  assert.equal(h1(page), 'Dieser Link ist abgelaufen');
  assert.match(page, /<span class="party-name">Acme Posts<\/span>/);
  assert.match(page, /<span lang="en">This connect link has expired/, 'the English detail is marked English');
});

test('without a locale, Accept-Language decides by q-value with base-language fallback', async () => {
  const cases = [
    ['fr-CA,fr;q=0.9,en;q=0.5', 'fr', 'Acme Posts souhaite utiliser votre compte Sandbox'],
    ['it, ja;q=0.2, es;q=0.8', 'es', 'Acme Posts quiere usar tu cuenta de Sandbox'],
    ['ja-JP', 'ja', 'Acme Posts があなたの Sandbox アカウントの利用を求めています'],
    ['pt-BR, it;q=0.8', 'en', 'Acme Posts wants to use your Sandbox account'],
    [null, 'en', 'Acme Posts wants to use your Sandbox account'],
  ];
  for (const [accept, want, heading] of cases) {
    const link = await w.createLink(acme.api_key);
    const { res, html } = await consent(link, accept);
    assert.equal(lang(html), want, accept);
    assert.equal(res.headers.get('content-language'), want, accept);
    assert.equal(h1(html), heading, accept);
  }
  // A well-formed locale without a catalog is kept, and the browser decides.
  const pt = await w.createLink(acme.api_key, { locale: 'pt-BR' });
  assert.equal(pt.id.startsWith('cl_'), true);
  assert.equal(lang((await consent(pt, 'es')).html), 'es');
});

test('the chooser and a credential form come in the link\'s locale, else the browser\'s, naming the app and platform', async () => {
  for (const [locale, accept] of [['de-CH', 'fr,en;q=0.5'], [undefined, 'de-DE,de;q=0.9,en;q=0.5']]) {
    const r = await w.call('POST', '/v1/connect-links', {
      token: acme.api_key,
      json: { platforms: ['sandbox', 'bluesky'], redirect_url: 'http://localhost:3000/connected', ...(locale ? { locale } : {}) },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const headers = { 'accept-language': accept };
    const open = await fetch(r.body.url, { headers });
    assert.equal(open.status, 200);
    assert.equal(open.headers.get('content-language'), 'de', accept);
    const chooser = await open.text();
    assert.equal(lang(chooser), 'de', accept);
    assert.equal(h1(chooser), 'Konto verbinden');
    assert.match(chooser, /<p>Wählen Sie die Plattform des Kontos, das Acme Posts verwenden darf\.<\/p>/);
    assert.match(chooser, /<legend>Plattformen<\/legend>/);
    assert.match(chooser, /<span class="party-name">Acme Posts<\/span>/);
    const cookie = open.headers.get('set-cookie').split(';')[0];
    const form_token = /name="form_token" value="([^"]*)"/.exec(chooser)[1];
    const post = (fields) => fetch(`${w.base}/connect/${r.body.id}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { ...headers, cookie, 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
      body: new URLSearchParams({ form_token, platform: 'bluesky', ...fields }),
    });
    const res = await post({});
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-language'), 'de');
    const form = await res.text();
    assert.equal(lang(form), 'de');
    assert.equal(h1(form), 'Bei Bluesky anmelden');
    assert.match(form, /<legend>Ihr Bluesky-Konto<\/legend>/);
    assert.match(form, /<label for="f_app_password">App-Passwort<\/label>/);
    assert.match(form, /<button type="submit" class="primary">Verbinden<\/button>/);
    assert.match(form, /<span class="party platform"><img class="mark" src="\/assets\/icons\/bluesky\.svg" alt="" width="32" height="32"><span class="party-name">Bluesky<\/span>/);
    assert.match(form, /<span class="party-name">Acme Posts<\/span>/);
    // Shown again incomplete: the alert in German, the handle kept, the password not.
    const again = await post({ identifier: 'de.bsky.social', app_password: '' });
    assert.equal(again.status, 400);
    const back = await again.text();
    assert.match(back, /role="alert"><p><strong>Bitte füllen Sie alle Felder aus\.<\/strong><\/p>/);
    assert.match(back, /value="de\.bsky\.social"/);
    // A form refused (posted without the cookie): its error page in German too, naming the app.
    const refused = await fetch(`${w.base}/connect/${r.body.id}`, {
      method: 'POST', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: 'platform=bluesky',
    });
    assert.equal(refused.status, 403);
    const page = await refused.text();
    assert.equal(lang(page), 'de');
    assert.match(page, /<span class="party-name">Acme Posts<\/span>/);
  }
});

test('a malformed locale is refused with 400', async () => {
  for (const locale of ['', 'english', 'de_AT', 'de-', '<script>', 'x'.repeat(40), 'en-abcdefghi']) {
    const r = await w.call('POST', '/v1/connect-links', {
      token: acme.api_key,
      json: { platform: 'sandbox', redirect_url: 'http://localhost:3000/connected', locale },
    });
    assert.equal(r.status, 400, locale);
    assert.equal(r.body.error.code, 'invalid_request');
    assert.match(r.body.error.message, /locale/);
  }
});

test('error pages of unknown links follow Accept-Language', async () => {
  const res = await fetch(`${w.base}/connect/cl_nope`, { headers: { 'accept-language': 'es-MX,es;q=0.9' } });
  assert.equal(res.status, 404);
  const html = await res.text();
  assert.equal(lang(html), 'es');
  assert.equal(h1(html), 'No encontrado');
  assert.ok(!html.includes('<header'), 'no app is known');
  const bad = await fetch(`${w.base}/sandbox/authorize?client_id=nope`, { headers: { 'accept-language': 'ja' } });
  assert.equal(bad.status, 400);
  assert.equal(h1(await bad.text()), 'サンドボックス：不正な認可リクエスト');
});

test('the deletion status page speaks the browser\'s language', async () => {
  const code = '0123456789abcdef0123';
  await w.sql('INSERT INTO platform_deletions (code, platform, profiles_deleted, created_at) VALUES (?, ?, ?, ?)', code, 'facebook', 2, 1_800_000_000);
  const res = await fetch(`${w.base}/platform-webhooks/meta/deletion-status/${code}`, { headers: { 'accept-language': 'fr' } });
  assert.equal(res.status, 200);
  const html = await res.text();
  assert.equal(lang(html), 'fr');
  assert.match(html, /2 comptes connectés ont été supprimés/);
  assert.match(html, /<code>0123456789abcdef0123<\/code>/);
});

test('the page policy loads the worker\'s stylesheet and images, nothing inline, no script', async () => {
  const { res, html } = await consent(await w.createLink(acme.api_key));
  const csp = res.headers.get('content-security-policy');
  assert.match(csp, /^default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' /);
  assert.ok(!csp.includes('unsafe-inline') && !csp.includes('script-src'), csp);
  assert.match(html, /<link rel="stylesheet" href="\/assets\/pages.css">/);
  assert.ok(!/<style|style="|<script/.test(html), 'nothing the policy refuses');
});

test('GET /assets/<path>: served types with an ETag, 304, 404 for anything else', async () => {
  const css = await fetch(`${w.base}/assets/pages.css`);
  assert.equal(css.status, 200);
  assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
  assert.match(css.headers.get('cache-control'), /^public, max-age=3600/);
  assert.match(css.headers.get('content-security-policy'), /sandbox/);
  assert.equal(css.headers.get('x-content-type-options'), 'nosniff');
  const etag = css.headers.get('etag');
  assert.ok(etag, 'an ETag');
  assert.match(await css.text(), /prefers-color-scheme: dark/);
  const again = await fetch(`${w.base}/assets/pages.css`, { headers: { 'if-none-match': etag } });
  assert.equal(again.status, 304);
  assert.equal(again.headers.get('etag'), etag);

  const de = await fetch(`${w.base}/assets/i18n/de.json`);
  assert.equal(de.status, 200);
  assert.equal(de.headers.get('content-type'), 'application/json');
  assert.equal((await de.json())['consent.approve'], 'Zulassen');

  const accent = await fetch(`${w.base}/assets/accent/0A7F3C.css`);
  assert.equal(accent.status, 200);
  assert.equal(await accent.text(), ':root{--accent:#0a7f3c;--on-accent:#ffffff}\n');
  assert.match(accent.headers.get('cache-control'), /immutable/);

  // Nothing that is not a served file of assets/: no traversal, no hidden file, no worker code.
  for (const p of ['/assets/nope.css', '/assets/accent/red.css', '/assets/%2e%2e/wrangler.toml', '/assets/..%2fwrangler.toml',
    '/assets/i18n/%2e%2e%2f%2e%2e%2fwrangler.toml', '/assets/index.js', '/assets/index_bg.wasm', '/assets/.stamp',
    '/assets/i18n', '/assets/', '/assets/pages.css/x.css']) {
    const r = await fetch(w.base + p);
    assert.equal(r.status, 404, p);
    assert.equal(r.headers.get('cache-control'), 'no-store', p);
  }
  const post = await fetch(`${w.base}/assets/pages.css`, { method: 'POST' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET');
});
