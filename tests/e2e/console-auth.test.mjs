// The console's access (issue 28): off unless CONSOLE=on; signed in with ADMIN_TOKEN on a form
// bound to the browser (cookie + form token); a session cookie that is HttpOnly, SameSite=Strict,
// 12 hours, `__Host-` over https, and revoked by rotating ADMIN_TOKEN; every form refused
// without a session, from another site, or with a forged form token. Each attack is the
// request an attacker's page or script would send.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startWorker } from './harness.mjs';
import { ConsoleClient, signedIn, setCookies } from './console-client.mjs';

let w;
before(async () => {
  w = await startWorker({ vars: { CONSOLE: 'on' } });
});
after(async () => {
  await w?.stop();
});

/** The session key the worker derives from `token` (core/src/console/session.rs). */
function sessionKey(token) {
  const root = crypto.createHash('sha256').update(token).digest();
  return crypto.createHmac('sha256', root).update('connect-links console session v1').digest();
}

/** A validly signed session cookie value issued at `issued` (what a stolen key could mint). */
function forgeSession(token, issued, nonce = 'forged') {
  const mac = crypto.createHmac('sha256', sessionKey(token)).update(`session\n${issued}.${nonce}`).digest('base64url');
  return `${issued}.${nonce}.${mac}`;
}

test('the console is off unless CONSOLE=on: every /console path is 404', async () => {
  const off = await startWorker();
  try {
    for (const p of ['/console', '/console/sign-in', '/console/apps']) {
      const r = await fetch(off.base + p, { redirect: 'manual' });
      assert.equal(r.status, 404, p);
    }
    const c = new ConsoleClient(off.base);
    const r = await c.raw('POST', '/console/sign-in', { body: `token=${off.bindings.ADMIN_TOKEN}` });
    assert.equal(r.status, 404);
  } finally {
    await off.stop();
  }
});

test('without a session every page goes to the sign-in form; the form signs in with the admin token', async () => {
  const c = new ConsoleClient(w.base);
  for (const p of ['/console', '/console/apps', '/console/profiles', '/console/webhooks', '/console/activity', '/console/profiles/prf_x']) {
    const r = await c.get(p);
    assert.equal(r.status, 303, p);
    assert.equal(r.location, '/console/sign-in', p);
  }
  const form = await c.raw('GET', '/console/sign-in');
  assert.equal(form.status, 200);
  assert.match(form.headers.get('content-security-policy'), /default-src 'none'/);
  assert.doesNotMatch(form.text, /<script/);
  assert.equal(form.headers.get('cache-control'), 'no-store');
  // A wrong token: 401, the form again, no session.
  const c2 = new ConsoleClient(w.base);
  await c2.get('/console/sign-in');
  const wrong = await c2.post('/console/sign-in', { token: `${w.bindings.ADMIN_TOKEN}x` });
  assert.equal(wrong.status, 401);
  assert.match(wrong.text, /not the admin token/);
  assert.ok(![...c2.jar.keys()].includes('cl_console'));
  assert.ok(!wrong.text.includes(w.bindings.ADMIN_TOKEN), 'the typed token is not echoed');
  // The right one: a session cookie with the attributes the issue names.
  const c3 = new ConsoleClient(w.base);
  await c3.get('/console/sign-in');
  const ok = await c3.post('/console/sign-in', { token: w.bindings.ADMIN_TOKEN });
  assert.equal(ok.status, 303);
  assert.equal(ok.location, '/console');
  const cookie = setCookies({ headers: ok.headers }).find((s) => s.startsWith('cl_console='));
  assert.ok(cookie, 'a session cookie');
  assert.match(cookie, /; HttpOnly/);
  assert.match(cookie, /; SameSite=Strict/);
  assert.match(cookie, /; Max-Age=43200/);
  assert.match(cookie, /; Path=\//);
  assert.ok(!cookie.includes(w.bindings.ADMIN_TOKEN));
  const home = await c3.get('/console');
  assert.equal(home.status, 200);
  assert.match(home.text, /<h1>Overview<\/h1>/);
  // Signed in, the sign-in form goes on to the overview.
  const again = await c3.get('/console/sign-in');
  assert.equal(again.status, 303);
});

test('login CSRF: the attacker\'s own valid form token, replayed in the victim\'s browser, is refused; so are a forged token and another site', async () => {
  // The attacker loads the sign-in form in their own browser: a valid pair, their cookie and
  // the form token bound to it. The pair itself signs in (so the token is a real one).
  const attacker = new ConsoleClient(w.base);
  await attacker.get('/console/sign-in');
  const token = attacker.csrf;
  assert.ok(token && attacker.jar.has('cl_console_signin'), 'the attacker holds a form token and its cookie');
  // Their page makes the victim's browser post it (with the attacker's admin token, or any):
  // without the matching cookie (the victim never opened the form)...
  const victim = new ConsoleClient(w.base);
  const r1 = await victim.post('/console/sign-in', { token: w.bindings.ADMIN_TOKEN }, { csrf: token });
  assert.equal(r1.status, 403);
  assert.ok(!victim.jar.has('cl_console'), 'no session planted');
  // ... and with the victim's own, different sign-in cookie (the victim has the form open).
  const opened = new ConsoleClient(w.base);
  await opened.get('/console/sign-in');
  assert.notEqual(opened.jar.get('cl_console_signin'), attacker.jar.get('cl_console_signin'));
  assert.notEqual(opened.csrf, token);
  const r2 = await opened.post('/console/sign-in', { token: w.bindings.ADMIN_TOKEN }, { csrf: token });
  assert.equal(r2.status, 403);
  assert.ok(!opened.jar.has('cl_console'), 'no session planted');
  // The cookie, but a forged token.
  const c = new ConsoleClient(w.base);
  await c.get('/console/sign-in');
  const r3 = await c.post('/console/sign-in', { token: w.bindings.ADMIN_TOKEN }, { csrf: 'AAAA' });
  assert.equal(r3.status, 403);
  assert.ok(!c.jar.has('cl_console'));
  // From another site, with the browser's own valid pair.
  const c3 = new ConsoleClient(w.base);
  await c3.get('/console/sign-in');
  const r4 = await c3.post('/console/sign-in', { token: w.bindings.ADMIN_TOKEN }, { site: 'cross-site' });
  assert.equal(r4.status, 403);
  assert.ok(!c3.jar.has('cl_console'));
  // Control: the attacker's pair, posted together from the same site, does sign in.
  const own = await attacker.post('/console/sign-in', { token: w.bindings.ADMIN_TOKEN });
  assert.equal(own.status, 303);
  assert.ok(attacker.jar.has('cl_console'));
});

test('forms are refused without a session, with a forged form token, or from another site', async () => {
  const c = await signedIn(w);
  const good = c.csrf;
  assert.ok(good);
  // No session: a script with no cookie posting sign-out (or any action).
  const stranger = new ConsoleClient(w.base);
  for (const p of ['/console/sign-out', '/console/profiles/prf_x/disconnect', '/console/apps/app_x/api-keys']) {
    const r = await stranger.post(p, {}, { csrf: good });
    assert.equal(r.status, 403, p);
  }
  // The session, but a forged token: refused, and still signed in afterwards.
  const forged = await c.post('/console/sign-out', {}, { csrf: good.slice(0, -2) + (good.endsWith('AA') ? 'BB' : 'AA') });
  assert.equal(forged.status, 403);
  const missing = await c.post('/console/sign-out', {}, { csrf: '' });
  assert.equal(missing.status, 403);
  // Another site's page posting with the browser's cookie (SameSite aside).
  const cross = await c.post('/console/sign-out', {}, { csrf: good, site: 'cross-site' });
  assert.equal(cross.status, 403);
  assert.equal((await c.get('/console')).status, 200, 'still signed in');
  // The real form: signed out.
  const out = await c.post('/console/sign-out', {}, { csrf: good });
  assert.equal(out.status, 303);
  assert.equal(out.location, '/console/sign-in');
  assert.equal((await c.get('/console')).status, 303, 'signed out');
});

test('sign-out ends the session in this browser; a copy of its cookie still works until it expires or ADMIN_TOKEN rotates', async () => {
  // As docs/console.md says: sign-out clears the browser's cookie; the session is a signed
  // cookie with no server-side record, so a copy taken before sign-out stays valid for its 12
  // hours (the 12-hour test below) unless ADMIN_TOKEN rotates. A change to this is deliberate.
  const r = await startWorker({ vars: { CONSOLE: 'on' } });
  try {
    const c = await signedIn(r);
    const copy = c.jar.get('cl_console');
    assert.ok(copy);
    const out = await c.post('/console/sign-out', {});
    assert.equal(out.status, 303);
    const cleared = setCookies({ headers: out.headers }).find((x) => x.startsWith('cl_console='));
    assert.ok(cleared && /Max-Age=0/i.test(cleared), `the cookie is cleared: ${cleared}`);
    assert.equal((await c.get('/console')).status, 303, 'this browser is signed out');
    const withCopy = () => fetch(`${r.base}/console`, { headers: { cookie: `cl_console=${copy}` }, redirect: 'manual' });
    assert.equal((await withCopy()).status, 200, 'a copy of the cookie still opens the console');
    await r.restart({ ADMIN_TOKEN: `adm_${crypto.randomBytes(16).toString('hex')}` });
    const after = await withCopy();
    assert.equal(after.status, 303, 'rotating ADMIN_TOKEN revokes the copy');
    assert.equal(after.headers.get('location'), '/console/sign-in');
  } finally {
    await r.stop();
  }
});

test('the sign-in form, signing in and signing out run no D1 statement', async () => {
  const n = await startWorker({ vars: { CONSOLE: 'on' }, entry: 'tests/e2e/d1-count-entry.mjs' });
  try {
    const statements = (res) => res.headers.get('x-test-d1-statements');
    const c = new ConsoleClient(n.base);
    const form = await c.get('/console/sign-in');
    assert.equal(form.status, 200);
    assert.equal(statements(form), '0', 'the sign-in form');
    const wrong = await c.post('/console/sign-in', { token: 'not-the-token' });
    assert.equal(wrong.status, 401);
    assert.equal(statements(wrong), '0', 'a refused sign-in');
    await c.get('/console/sign-in');
    const ok = await c.post('/console/sign-in', { token: n.bindings.ADMIN_TOKEN });
    assert.equal(ok.status, 303);
    assert.equal(statements(ok), '0', 'signing in');
    const home = await c.get('/console');
    assert.equal(home.status, 200);
    assert.ok(Number(statements(home)) > 0, 'the counter counts (the overview reads D1)');
    const out = await c.post('/console/sign-out', {});
    assert.equal(out.status, 303);
    assert.equal(out.location, '/console/sign-in');
    assert.equal(statements(out), '0', 'signing out');
  } finally {
    await n.stop();
  }
});

test('a session lasts 12 hours; a forged or tampered cookie is no session', async () => {
  const now = Math.floor(Date.now() / 1000);
  const token = w.bindings.ADMIN_TOKEN;
  const get = (value) => fetch(`${w.base}/console`, { headers: { cookie: `cl_console=${value}` }, redirect: 'manual' });
  assert.equal((await get(forgeSession(token, now - 60))).status, 200, 'a cookie minted under the key verifies');
  assert.equal((await get(forgeSession(token, now - 43200 - 5))).status, 303, 'over 12 hours old');
  assert.equal((await get(forgeSession(token, now + 3600))).status, 303, 'from the future');
  assert.equal((await get(forgeSession('another token', now))).status, 303, 'under another key');
  const good = forgeSession(token, now);
  assert.equal((await get(good.replace(`${now}.`, `${now + 1}.`))).status, 303, 'issued time changed');
});

test('rotating ADMIN_TOKEN signs every session out', async () => {
  const r = await startWorker({ vars: { CONSOLE: 'on' } });
  try {
    const c = await signedIn(r);
    await r.restart({ ADMIN_TOKEN: `adm_${crypto.randomBytes(16).toString('hex')}` });
    const after = await c.get('/console');
    assert.equal(after.status, 303);
    assert.equal(after.location, '/console/sign-in');
    assert.equal((await c.signIn(r.bindings.ADMIN_TOKEN)).status, 303, 'the new token signs in');
  } finally {
    await r.stop();
  }
});

test('over https the session cookie is __Host- prefixed and Secure', async () => {
  const s = await startWorker({ vars: { CONSOLE: 'on', PUBLIC_URL: 'https://links.example.com' } });
  try {
    const c = new ConsoleClient(s.base);
    await c.get('/console/sign-in');
    const ok = await c.post('/console/sign-in', { token: s.bindings.ADMIN_TOKEN });
    assert.equal(ok.status, 303);
    const cookie = setCookies({ headers: ok.headers }).find((x) => x.startsWith('__Host-cl_console='));
    assert.ok(cookie, setCookies({ headers: ok.headers }).join(' | '));
    assert.match(cookie, /; Secure/);
    assert.match(cookie, /; Path=\/;/);
    assert.doesNotMatch(cookie, /Domain=/i);
    assert.equal((await c.get('/console')).status, 200);
  } finally {
    await s.stop();
  }
});
