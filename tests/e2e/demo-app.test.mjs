// The demo app `make dev` serves (scripts/demo-app.mjs), run against the built worker: it
// claims a connect it started from its own session, and refuses one it did not start.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker, freePort } from './harness.mjs';
import { startDemoApp } from '../../scripts/demo-app.mjs';

let w;
let demo;
let port;
let app;

before(async () => {
  w = await startWorker();
  port = await freePort();
  app = await w.createApp('Demo app', [`http://localhost:${port}/connected`]);
  demo = await startDemoApp({ base: w.base, apiKey: app.api_key, port });
});
after(async () => {
  demo?.close();
  await w?.stop();
});

// The browser reaches the demo app at localhost; the test dials the IPv4 address it listens on.
const dial = (url) => url.replace(`//localhost:${port}`, `//127.0.0.1:${port}`);

test('the demo app starts a connect from its session and claims it on the way back', async () => {
  const start = await fetch(`http://127.0.0.1:${port}/start`, { method: 'POST', redirect: 'manual' });
  assert.equal(start.status, 303);
  const cookie = start.headers.get('set-cookie').split(';')[0];
  const linkUrl = start.headers.get('location');
  const open = await fetch(linkUrl, { redirect: 'manual' });
  const { back } = await w.consent({ url: linkUrl, authorize_url: open.headers.get('location') }, { username: 'demo-person' });
  const cb = await w.callback(back, { claim: false });
  const landing = cb.headers.get('location');
  assert.match(landing, /connect_token=/);
  const page = await fetch(dial(landing), { headers: { cookie } });
  const html = await page.text();
  assert.match(html, /<h1>Connected<\/h1>/, html);
  assert.match(html, /<b id="status">active<\/b>/);
  assert.match(html, /<ul id="profiles"><li>.*\(user\)<\/li><\/ul>/, 'the one account the harness picked');
  // The page shows the sandbox API answering through the proxy, as that profile.
  const proxied = /<pre id="proxied">([^<]*)<\/pre>/.exec(html);
  assert.ok(proxied, html);
  assert.equal(JSON.parse(proxied[1].replace(/&#34;/g, '"')).preferred_username, 'demo-person');
  const listed = await w.call('GET', '/v1/profiles', { token: app.api_key });
  assert.deepEqual(listed.body.data.map((p) => [p.username, p.status, p.external_user_id]), [['demo-person', 'active', 'demo-user']]);
});

test('a connect the demo app did not start is not claimed', async () => {
  const link = await w.createLink(app.api_key, { redirect_url: `http://localhost:${port}/connected`, state: 'by-hand' });
  const { back } = await w.consent(link, { username: 'stranger' });
  const landing = (await w.callback(back, { claim: false })).headers.get('location');
  const html = await (await fetch(dial(landing))).text();
  assert.match(html, /<h1>Not claimed<\/h1>/);
  const pending = await w.call('GET', '/v1/profiles?status=pending', { token: app.api_key });
  assert.deepEqual(pending.body.data.map((p) => p.username), ['stranger']);
});
