// The app's and the browser's side of chooser links (issue 25), shared by the multi-platform
// test files: create a link, read its status, open its page as a browser (its cookie, form
// token, buttons, policy) and post its forms same-origin with that cookie.
import assert from 'node:assert/strict';
import { unescapeHtml } from './harness.mjs';

/**
 * The helpers for the worker `worker()` and the app `app()` (getters: both are made in a
 * test file's `before`), links redirecting to `redirect`.
 */
export function chooserClient(worker, app, redirect) {
  const create = (json, key = app().api_key) =>
    worker().call('POST', '/v1/connect-links', { token: key, json: { redirect_url: redirect, ...json } });
  const status = async (id) => (await worker().call('GET', `/v1/connect-links/${id}`, { token: app().api_key })).body;

  /** A chooser link of `platforms` (more fields in `extra`), registered with the harness (for its claim). */
  async function chooserLink(platforms, extra = {}) {
    const r = await create({ platforms, ...extra });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    worker().linkKeys.set(r.body.id, app().api_key);
    return r.body;
  }

  /** Opens the link as a browser with `cookie` (a jar of one): the page, its token, its buttons. */
  async function openChooser(link, cookie) {
    const res = await worker().fetchChecked(link.url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    assert.equal(res.status, 200);
    const html = await res.text();
    const set = res.headers.get('set-cookie');
    return {
      html,
      cookie: set ? set.split(';')[0] : cookie,
      setCookie: set,
      policy: res.headers.get('content-security-policy'),
      token: unescapeHtml(html.match(/name="form_token" value="([^"]*)"/)[1]),
      buttons: [...html.matchAll(/<button type="submit" name="platform" value="([^"]+)"/g)].map((m) => m[1]),
    };
  }

  /** Posts a form of the link as a browser would (same-origin), `headers` overriding. */
  function post(link, fields, { cookie, headers = {} } = {}) {
    const h = { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin', ...headers };
    if (cookie) h.cookie = cookie;
    const w = worker();
    return w.fetchChecked(`${w.base}/connect/${link.id}`, { method: 'POST', body: new URLSearchParams(fields), headers: h, redirect: 'manual' });
  }

  /** Chooses `platform` in an opened chooser (its token and cookie), `extra` fields added: the answer. */
  const choose = (link, page, platform, extra = {}) => post(link, { form_token: page.token, platform, ...extra }, { cookie: page.cookie });

  return { create, status, chooserLink, openChooser, post, choose };
}
