// A console client for the e2e tests (issue 28): a browser's cookie jar over plain fetch,
// signing in with the admin token through the sign-in form (its cookie and form token, as a
// browser would), then GET pages and POST forms with the session's form token. Redirects are
// not followed (tests assert on them); `follow` reads the page a 303 points at.
import assert from 'node:assert/strict';
import { unescapeHtml } from './harness.mjs';

/** The `csrf` hidden field of a console page (null when it has none). */
export function csrfOf(html) {
  const m = /name="csrf" value="([^"]*)"/.exec(html);
  return m ? unescapeHtml(m[1]) : null;
}

/** name=value pairs of every Set-Cookie of an answer. */
export function setCookies(res) {
  return res.headers.getSetCookie();
}

export class ConsoleClient {
  constructor(base) {
    this.base = base;
    this.jar = new Map();
    this.csrf = null;
  }

  /** The Cookie header of the jar. */
  cookieHeader() {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  keep(res) {
    for (const c of setCookies(res)) {
      const [pair, ...attrs] = c.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      const gone = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '';
      if (gone) this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }

  /** A request with the jar's cookies; `site` is the Sec-Fetch-Site a browser would send. */
  async raw(method, p, { body, site = 'same-origin', headers = {} } = {}) {
    const h = { ...headers };
    if (this.jar.size) h.cookie = this.cookieHeader();
    if (site) h['sec-fetch-site'] = site;
    if (body !== undefined) h['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(this.base + p, { method, headers: h, body, redirect: 'manual' });
    this.keep(res);
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, location: res.headers.get('location') };
  }

  /** GET a page; remembers its form token. */
  async get(p, opts) {
    const r = await this.raw('GET', p, opts);
    const t = csrfOf(r.text);
    if (t) this.csrf = t;
    return r;
  }

  /** POST a form (`fields` an object), with the last page's form token unless `csrf` is given. */
  async post(p, fields = {}, { csrf, site } = {}) {
    const body = new URLSearchParams({ csrf: csrf ?? this.csrf ?? '', ...fields }).toString();
    const r = await this.raw('POST', p, { body, site });
    const t = csrfOf(r.text);
    if (t) this.csrf = t;
    return r;
  }

  /** Follows a redirect answer with a GET. */
  async follow(r) {
    assert.ok([302, 303].includes(r.status), `a redirect, got ${r.status}: ${r.text.slice(0, 300)}`);
    return this.get(new URL(r.location, this.base).pathname + new URL(r.location, this.base).search);
  }

  /** Signs in with `token` through the form; returns the 303's answer. */
  async signIn(token) {
    const form = await this.get('/console/sign-in');
    assert.equal(form.status, 200, form.text.slice(0, 300));
    return this.post('/console/sign-in', { token });
  }
}

/** A client signed in to `w`'s console (asserting it worked), on its overview. */
export async function signedIn(w) {
  const c = new ConsoleClient(w.base);
  const r = await c.signIn(w.bindings.ADMIN_TOKEN);
  assert.equal(r.status, 303, r.text.slice(0, 300));
  assert.equal(r.location, '/console');
  const home = await c.get('/console');
  assert.equal(home.status, 200, home.text.slice(0, 300));
  return c;
}
