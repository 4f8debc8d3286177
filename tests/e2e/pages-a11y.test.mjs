// Every hosted page in Chromium (issue 25): the sandbox consent page, the account picker, the
// chooser of a link offering several platforms and its credential forms (a Mastodon server,
// Bluesky's handle and app password, an API key; the server form also with its error), an
// error page of a known app's link and of an unknown one, and the Meta deletion status page,
// each in two languages, at desktop width and on a 360 px phone, light and dark. On each,
// axe-core (npm, pinned) must find no serious or critical violation, the page must not
// scroll sideways, and a screenshot is saved for a reviewer under test-results/screenshots/
// (gitignored; the path is printed). The consent page, the chooser and Bluesky's form are also
// driven by keyboard alone: the focus order and a visible focus ring on every control.
//
// Chromium comes from CHROMIUM_PATH, else `chromium` on PATH. Without one these tests are
// skipped loudly, unless REQUIRE_BROWSER=1 (CI), which makes them fail instead.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startWorker } from './harness.mjs';
import { CHROMIUM, skip } from './browser-find.mjs';
import { SHOTS, axeProblems, launchChromium, policyTab } from './browser-kit.mjs';
import { CUSTOM_PROVIDERS } from './platform-mocks.mjs';
const VIEWS = [
  { name: 'desktop', width: 1280, height: 800, scheme: 'light' },
  { name: 'phone', width: 360, height: 740, scheme: 'light' },
  { name: 'phone-dark', width: 360, height: 740, scheme: 'dark' },
];
const LANGS = ['en', 'de'];

let w, browser, app;
before(async () => {
  if (skip) return;
  assert.ok(CHROMIUM, `REQUIRE_BROWSER=1 but no Chromium was found (set CHROMIUM_PATH or install chromium)`);
  // The custom providers bring an API-key platform (`keyed`) for the key form.
  w = await startWorker({ vars: { CUSTOM_PROVIDERS: JSON.stringify(CUSTOM_PROVIDERS) } });
  app = await w.createApp('Acme Posts');
  fs.mkdirSync(SHOTS, { recursive: true });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await w?.stop();
  if (!skip) console.log(`\nScreenshots of the hosted pages: ${SHOTS}\n`);
});

/** A tab whose browser asks for `locale` (Accept-Language) and records policy violations. */
const tab = (locale) => policyTab(browser, { locale });

/**
 * Checks the page in every view: axe (no serious or critical violation), no sideways scroll,
 * the stylesheet applied; saves a screenshot of each.
 */
async function audit(page, name) {
  for (const view of VIEWS) {
    await page.setViewportSize({ width: view.width, height: view.height });
    await page.emulateMedia({ colorScheme: view.scheme });
    assert.deepEqual(await axeProblems(page), [], `${name} ${view.name}`);
    const sideways = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(sideways <= 0, `${name} ${view.name} scrolls sideways by ${sideways}px`);
    assert.equal(await page.$eval('.shell', (e) => getComputedStyle(e).maxWidth), '512px', 'the stylesheet applies');
    // Light and dark follow the system: the page's background is dark exactly in the dark view.
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const [r, g, b] = (bg.match(/\d+/g) ?? []).map(Number);
    assert.equal((r + g + b) / 3 < 96, view.scheme === 'dark', `${name} ${view.name}: background ${bg}`);
    const file = path.join(SHOTS, `${name}-${view.name}.png`);
    await page.screenshot({ path: file, fullPage: true });
  }
}

/** The first `count` controls in focus order, from the one focused on load (autofocus) or
 * else from the top, reached by Tab: each one's tag:name:value (or href); each must show its
 * focus ring. */
async function tabOrder(page, count) {
  await page.setViewportSize({ width: 1280, height: 800 });
  const focused = () => page.evaluate(() => {
    const e = document.activeElement;
    if (!e || e === document.body) return null;
    const ring = getComputedStyle(e);
    return { what: `${e.tagName.toLowerCase()}:${e.name ?? ''}:${e.value ?? e.getAttribute('href')}`, ring: ring.outlineStyle !== 'none' && parseFloat(ring.outlineWidth) >= 2 };
  });
  const order = [];
  const first = await focused();
  if (first) order.push(first);
  while (order.length < count) {
    await page.keyboard.press('Tab');
    order.push(await focused());
  }
  assert.ok(order.every((o) => o?.ring), JSON.stringify(order));
  return order.map((o) => o.what);
}

/** Every image of the page loaded (the platforms' icons come from this worker). */
async function imagesLoaded(page) {
  const imgs = await page.$$eval('img', (all) => all.map((i) => ({ src: new URL(i.src).pathname, ok: i.complete && i.naturalWidth > 0 })));
  assert.deepEqual(imgs.filter((i) => !i.ok), [], 'every image loads');
  return imgs.map((i) => i.src);
}

for (const lang of LANGS) {
  test(`chooser and credential forms (${lang}): accessible, responsive, keyboard usable, icons loaded`, { skip }, async () => {
    const r = await w.call('POST', '/v1/connect-links', {
      token: app.api_key,
      json: { platforms: ['bluesky', 'mastodon', 'keyed', 'sandbox'], redirect_url: 'http://localhost:3000/connected', locale: lang },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const { context, page, violations } = await tab(lang === 'en' ? 'en-US' : 'de-DE');
    assert.equal((await page.goto(r.body.url)).status(), 200);
    assert.equal(await page.getAttribute('html', 'lang'), lang);
    assert.deepEqual(await imagesLoaded(page), ['/assets/icons/bluesky.svg', '/assets/icons/mastodon.svg', '/assets/icons/sandbox.svg']);
    await audit(page, `chooser-${lang}`);
    // Keyboard alone: one Tab per platform, in the link's order.
    assert.deepEqual(await tabOrder(page, 4), [
      'button:platform:bluesky', 'button:platform:mastodon', 'button:platform:keyed', 'button:platform:sandbox',
    ]);

    for (const id of ['bluesky', 'keyed', 'mastodon']) {
      await page.goto(r.body.url);
      await Promise.all([page.waitForURL((u) => u.pathname === `/connect/${r.body.id}`), page.click(`button[value=${id}]`)]);
      assert.equal(await page.getAttribute('html', 'lang'), lang, id);
      const icons = await imagesLoaded(page);
      assert.deepEqual(icons, id === 'keyed' ? [] : [`/assets/icons/${id}.svg`], `${id}: the platform's icon in the header`);
      await audit(page, `form-${id}-${lang}`);
      if (id === 'bluesky') {
        // The handle has the focus on load; then the app password, Connect, back to the chooser.
        assert.deepEqual(await tabOrder(page, 4), [
          'input:identifier:', 'input:app_password:', 'button::', `a::/connect/${r.body.id}`,
        ]);
      }
    }
    // The server form (the last one opened) shown again with its error (what was typed kept, the alert announced).
    await page.fill('input[name=instance]', 'localhost');
    await Promise.all([page.waitForLoadState('load'), page.keyboard.press('Enter')]);
    await page.getByRole('alert').waitFor();
    assert.equal(await page.inputValue('input[name=instance]'), 'localhost');
    await audit(page, `form-mastodon-error-${lang}`);
    assert.deepEqual(violations, []);
    await context.close();
  });

  test(`consent page and account picker (${lang}): accessible, responsive, keyboard usable`, { skip }, async () => {
    const link = await w.createLink(app.api_key, { locale: lang });
    const { context, page, violations } = await tab(lang === 'en' ? 'en-US' : 'de-DE');
    const res = await page.goto(link.url);
    assert.equal(res.status(), 200);
    assert.equal(await page.getAttribute('html', 'lang'), lang);
    await audit(page, `consent-${lang}`);

    // Keyboard alone: Tab walks the account name, each permission, Approve, Deny, in that
    // order, each with a visible focus ring.
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.evaluate(() => document.activeElement?.blur());
    const order = [];
    for (let i = 0; i < 5; i++) {
      await page.keyboard.press('Tab');
      order.push(await page.evaluate(() => {
        const e = document.activeElement;
        const ring = getComputedStyle(e);
        return { what: `${e.tagName.toLowerCase()}:${e.name}:${e.value}`, ring: ring.outlineStyle !== 'none' && parseFloat(ring.outlineWidth) >= 2 };
      }));
    }
    assert.deepEqual(order.map((o) => o.what), [
      'input:username:sandbox-user', 'input:scope:profile.read', 'input:scope:offline.access',
      'button:decision:approve', 'button:decision:deny',
    ]);
    assert.ok(order.every((o) => o.ring), JSON.stringify(order));

    // Approve by keyboard: focus Approve and press Enter; the sandbox login has three
    // accounts, so the picker comes next.
    await page.fill('input[name=username]', `a11y-${lang}`);
    await page.focus('button[value=approve]');
    await Promise.all([page.waitForURL((u) => u.pathname === '/oauth/callback'), page.keyboard.press('Enter')]);
    assert.equal(await page.getAttribute('html', 'lang'), lang);
    assert.equal(await page.locator('input[name=account]').count(), 3);
    await audit(page, `picker-${lang}`);
    assert.deepEqual(violations, []);
    await context.close();
  });

  test(`error pages and the deletion status page (${lang}): accessible and responsive`, { skip }, async () => {
    const { context, page, violations } = await tab(lang === 'en' ? 'en-US' : 'de-DE');
    // An expired link of a known app: its name on the page.
    const link = await w.createLink(app.api_key, { locale: lang });
    await w.sql('UPDATE connect_links SET expires_at = ? WHERE id = ?', Math.floor(Date.now() / 1000) - 1, link.id);
    assert.equal((await page.goto(link.url)).status(), 410);
    assert.equal(await page.getAttribute('html', 'lang'), lang);
    await audit(page, `error-expired-${lang}`);
    // An unknown link: the browser's language, no app.
    assert.equal((await page.goto(`${w.base}/connect/cl_nope`)).status(), 404);
    assert.equal(await page.getAttribute('html', 'lang'), lang);
    await audit(page, `error-not-found-${lang}`);
    const code = lang === 'en' ? 'aaaaaaaaaaaaaaaaaaa1' : 'aaaaaaaaaaaaaaaaaaa2';
    await w.sql('INSERT INTO platform_deletions (code, platform, profiles_deleted, created_at) VALUES (?, ?, ?, ?)', code, 'facebook', 1, 1_800_000_000);
    assert.equal((await page.goto(`${w.base}/platform-webhooks/meta/deletion-status/${code}`)).status(), 200);
    assert.equal(await page.getAttribute('html', 'lang'), lang);
    await audit(page, `deletion-status-${lang}`);
    assert.deepEqual(violations, []);
    await context.close();
  });
}
