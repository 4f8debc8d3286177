// The demo app that `make dev` serves on port 8788: it plays "your app". It shows the one
// pattern every app follows with connect links: the app creates the link from a user's
// session, and on the way back claims the connect only if that same session created it.
// It also receives the app's webhooks (verified as Standard Webhooks), lists the last ones,
// and can make the sandbox send a platform event for a connected profile.
// The e2e suite runs it against the built worker (tests/e2e/demo-app.test.mjs,
// tests/e2e/demo-app-browser.test.mjs).
// Every call to the worker goes through the TypeScript SDK (clients/typescript, linked by the
// npm workspace and built by `make sdk-ts`), so the quick start runs the SDK as an app would.
import crypto from 'node:crypto';
import http from 'node:http';
import { ConnectLinks, ConnectLinksError } from '@connect-links/sdk';

/** How many received webhooks the page keeps (in memory, newest first). */
const KEPT_EVENTS = 50;

/**
 * The app settings the demo app needs for the demo app on `port`: its webhook endpoint, and
 * every event of the sandbox platform forwarded as `platform.event`.
 */
export function demoAppSettings(port) {
  return { webhook_url: `http://127.0.0.1:${port}/webhooks`, platform_events: { sandbox: ['*'] } };
}

/**
 * Starts the demo app on 127.0.0.1:`port` for the worker at `base`, acting with `apiKey`
 * and verifying webhooks with `webhookSecret` (`whsec_...`; without one, none is accepted).
 * Its pages: `/` (a Connect button, the app's active sandbox profiles each with a "Send a
 * sandbox event" button, the webhooks received), `POST /start` (creates a link, remembers
 * it in a session cookie, redirects to it), `/connected` (the link's `redirect_url`: checks
 * the session, then claims), `POST /webhooks` (the app's webhook endpoint) and `POST /send`
 * (asks the worker's sandbox for an event, then back to `/`). Resolves to the server once
 * it listens.
 */
export function startDemoApp({ base, apiKey, port, host = 'localhost', webhookSecret }) {
  const redirectUrl = `http://${host}:${port}/connected`;
  const sdk = new ConnectLinks({ baseUrl: base, apiKey, webhookSecret });
  const sessions = new Map(); // session id -> { linkId, state }
  const events = []; // verified webhooks, newest first: { id, type, timestamp, data }
  const arrived = new Set(); // waiters on a new event
  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, redirectUrl);
      const sid = /(?:^|;\s*)demo_session=([a-f0-9]{32})/.exec(req.headers.cookie || '')?.[1];
      if (req.method === 'POST' && url.pathname === '/webhooks') return await webhook(req, res);
      if (req.method === 'POST' && url.pathname === '/send') return await send(req, res);
      if (req.method === 'POST' && url.pathname === '/start') {
        const state = crypto.randomBytes(16).toString('hex');
        let link;
        try {
          link = await sdk.createLink({ platform: 'sandbox', redirect_url: redirectUrl, state, external_user_id: 'demo-user' });
        } catch (e) {
          return page(res, 502, 'Could not create a link', `<pre>${esc(errorText(e))}</pre>`);
        }
        const id = crypto.randomBytes(16).toString('hex');
        sessions.set(id, { linkId: link.id, state });
        res.writeHead(303, { location: link.url, 'set-cookie': `demo_session=${id}; HttpOnly; SameSite=Lax; Path=/` });
        return res.end();
      }
      if (url.pathname === '/connected') return await connected(res, url, sid);
      return await home(res, url);
    } catch (e) {
      page(res, 500, 'Error', `<pre>${esc(String(e))}</pre>`);
    }
  });

  async function home(res, url) {
    const sent = url.searchParams.get('sent');
    const note = sent ? `<p id="sent">Sent: ${esc(sent)}</p>` : '';
    return page(res, 200, 'Your app', `<p>This page plays your app. Press the button to connect a sandbox account.</p>
<form method="post" action="/start"><button>Connect the sandbox</button></form>
${await profilesHtml()}${note}${eventsHtml()}`);
  }

  /** The app's active sandbox profiles, each with its button. */
  async function profilesHtml() {
    const list = await sdk.profiles.list({ platform: 'sandbox', status: 'active' }).then((page) => page.data, () => []);
    if (!list.length) return '<h2>Connected profiles</h2><p>None yet.</p>';
    const rows = list.map((p) => `<li><code>${esc(p.id)}</code> ${esc(p.display_name ?? p.username ?? '')} (${esc(p.account_type)})
<form method="post" action="/send" style="display:inline"><input type="hidden" name="profile_id" value="${esc(p.id)}"><button>Send a sandbox event</button></form></li>`).join('');
    return `<h2>Connected profiles</h2><p>"Send a sandbox event" asks the worker's sandbox to push a comment for that
account (<code>POST /sandbox/events</code>); the worker verifies it, matches it to the profile and forwards it here as
<code>platform.event</code>.</p><ul id="connected">${rows}</ul>`;
  }

  /** The webhooks received, newest first. */
  function eventsHtml() {
    if (!events.length) return '<h2>Webhooks received</h2><p id="no-events">None yet.</p>';
    const items = events.map((e) => {
      const d = e.data ?? {};
      const what = e.type === 'platform.event'
        ? `<b>${esc(d.event_type)}</b> on <code>${esc(d.account_id)}</code> for <code>${esc(d.profile_id)}</code>`
        : `<code>${esc(d.id ?? d.link_id ?? '')}</code>`;
      return `<li class="event" data-type="${esc(e.type)}"><code>${esc(e.type)}</code> ${what} (${esc(new Date(e.timestamp).toISOString())})
<pre>${esc(JSON.stringify(d, null, 2))}</pre></li>`;
    }).join('');
    return `<h2>Webhooks received</h2><p>The last ${KEPT_EVENTS}, verified as Standard Webhooks, newest first.</p><ol id="events">${items}</ol>`;
  }

  /**
   * `POST /webhooks`: a Standard Webhooks delivery (https://www.standardwebhooks.com/), checked
   * by the SDK's `webhooks.verify` on the raw body: the signature under the app's secret, a
   * timestamp within 5 minutes. Anything else (or no secret) is 400 and not kept.
   */
  async function webhook(req, res) {
    const body = await readBody(req, 256 * 1024);
    const id = req.headers['webhook-id'];
    let payload;
    try {
      payload = sdk.webhooks.verify(req.headers, body);
    } catch {
      return res.writeHead(400).end('not verified');
    }
    // A retried delivery has the same id: kept once.
    if (!events.some((e) => e.id === id)) {
      events.unshift({ id, type: payload.type, timestamp: payload.timestamp, data: payload.data });
      events.length = Math.min(events.length, KEPT_EVENTS);
      for (const wake of arrived) wake();
    }
    return res.writeHead(200).end('ok');
  }

  /**
   * `POST /send` (a form with `profile_id`): the app asks the worker's sandbox to push an
   * event for that profile's account, waits a few seconds for its webhook (the worker
   * forwards after answering), then shows the page again.
   */
  async function send(req, res) {
    const form = new URLSearchParams(await readBody(req, 4096));
    // A route outside the common path: the SDK's typed client (`sdk.api`) calls it.
    const { data: sent, error } = await sdk.api.POST('/sandbox/events', { body: { profile_id: form.get('profile_id') ?? '' } });
    if (!sent) return page(res, 502, 'Could not send an event', `<pre>${esc(JSON.stringify(error, null, 2))}</pre>`);
    await until(() => events.some((e) => e.data?.payload?.id === sent.event_id), 5000);
    res.writeHead(303, { location: `/?sent=${encodeURIComponent(sent.event_id ?? sent.event_type)}#events` });
    return res.end();
  }

  /** Resolves when `done()` holds, checked at each new event, or after `ms`. */
  function until(done, ms) {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => {
      const stop = () => { clearTimeout(timer); arrived.delete(check); resolve(); };
      const check = () => { if (done()) stop(); };
      const timer = setTimeout(stop, ms);
      arrived.add(check);
    });
  }

  async function connected(res, url, sid) {
    const session = sid && sessions.get(sid);
    const q = url.searchParams;
    const rows = [...q].map(([k, v]) => `<tr><td>${esc(k)}</td><td><code>${esc(v)}</code></td></tr>`).join('');
    if (q.get('connected') !== 'true') return page(res, 200, 'Not connected', `<table>${rows}</table>`);
    // The check that makes a connect link safe to hand out: this browser's session created
    // this link (and the state matches). Only then does the app claim.
    if (!session || session.linkId !== q.get('link_id') || session.state !== q.get('state')) {
      return page(res, 200, 'Not claimed', `<p>This connect was not started from this browser's session, so the app does
not claim it: the profile stays pending and is removed after 10 minutes. (For a link you made with curl, claim it
yourself: <code>curl -X POST ${esc(base)}/v1/connect-links/${esc(q.get('link_id'))}/claim -H "Authorization: Bearer $API_KEY"
-H "Content-Type: application/json" -d '{"connect_token":"..."}'</code> with the connect_token below.)</p><table>${rows}</table>`);
    }
    sessions.delete(sid); // one claim per session start
    let claimed;
    try {
      claimed = await sdk.claim(q.get('link_id'), q.get('connect_token') ?? '');
    } catch (e) {
      return page(res, 200, 'Claim failed', `<pre>${esc(errorText(e))}</pre>`);
    }
    // One profile per account chosen on the picker (the sandbox login offers itself and two Pages).
    const p = claimed[0];
    const items = claimed.map((x) => `<li><code>${esc(x.id)}</code> ${esc(x.display_name ?? x.username ?? '')} (${esc(x.account_type)})</li>`).join('');
    // The app acts as the profile without ever holding its token: the worker's proxy calls
    // the platform (here the sandbox's user-info endpoint) with it.
    const user = claimed.find((x) => x.account_type === 'user');
    let proxied = '';
    if (user) {
      const call = await sdk.proxy(user.id, 'GET', 'userinfo');
      proxied = `<p>The sandbox API, called through the proxy as <code>${esc(user.id)}</code>
(<code>GET /v1/profiles/${esc(user.id)}/proxy/userinfo</code>, status ${call.status}):</p><pre id="proxied">${esc(await call.text())}</pre>`;
    }
    return page(res, 200, 'Connected', `<p>Claimed profile <code id="profile">${esc(p.id)}</code> (${esc(p.username ?? p.display_name)}), status
<b id="status">${esc(p.status)}</b>.</p><ul id="profiles">${items}</ul>${proxied}<p>Now: <code>curl -H "Authorization: Bearer $API_KEY" ${esc(base)}/v1/profiles</code></p>
<p><a href="/">Back to your app's page</a>: send a sandbox event for a profile and see its webhook arrive.</p>`);
  }

  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

/** An SDK error as the page shows it: the API's code, status and message (never a key or token). */
function errorText(e) {
  if (e instanceof ConnectLinksError) return JSON.stringify({ code: e.code, status: e.status, message: e.message }, null, 2);
  throw e;
}

/** The request body as text, refused past `max` bytes. */
function readBody(req, max) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => {
      body += d;
      if (body.length > max) reject(new Error('request body too large'));
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

function page(res, status, title, body) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><meta charset="utf-8"><title>${esc(title)}</title><body style="font-family:system-ui;max-width:44rem;margin:3rem auto">
<h1>${esc(title)}</h1>${body}</body>`);
}

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
