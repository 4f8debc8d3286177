// The demo app that `make dev` serves on port 8788: it plays "your app". It shows the one
// pattern every app follows with connect links: the app creates the link from a user's
// session, and on the way back claims the connect only if that same session created it.
// The e2e suite runs it against the built worker (tests/e2e/demo-app.test.mjs).
import crypto from 'node:crypto';
import http from 'node:http';

/**
 * Starts the demo app on 127.0.0.1:`port` for the worker at `base`, acting with `apiKey`.
 * Its pages: `/` (a Connect button), `POST /start` (creates a link, remembers it in a
 * session cookie, redirects to it) and `/connected` (the link's `redirect_url`: checks the
 * session, then claims). Resolves to the server once it listens.
 */
export function startDemoApp({ base, apiKey, port, host = 'localhost' }) {
  const redirectUrl = `http://${host}:${port}/connected`;
  const sessions = new Map(); // session id -> { linkId, state }
  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, redirectUrl);
      const sid = /(?:^|;\s*)demo_session=([a-f0-9]{32})/.exec(req.headers.cookie || '')?.[1];
      if (req.method === 'POST' && url.pathname === '/start') {
        const state = crypto.randomBytes(16).toString('hex');
        const r = await fetch(`${base}/v1/connect-links`, {
          method: 'POST',
          headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ platform: 'sandbox', redirect_url: redirectUrl, state, external_user_id: 'demo-user' }),
        });
        const link = await r.json();
        if (r.status !== 201) return page(res, 502, 'Could not create a link', `<pre>${esc(JSON.stringify(link))}</pre>`);
        const id = crypto.randomBytes(16).toString('hex');
        sessions.set(id, { linkId: link.id, state });
        res.writeHead(303, { location: link.url, 'set-cookie': `demo_session=${id}; HttpOnly; SameSite=Lax; Path=/` });
        return res.end();
      }
      if (url.pathname === '/connected') return await connected(res, url, sid);
      return page(res, 200, 'Your app', `<p>This page plays your app. Press the button to connect a sandbox account.</p>
<form method="post" action="/start"><button>Connect the sandbox</button></form>`);
    } catch (e) {
      page(res, 500, 'Error', `<pre>${esc(String(e))}</pre>`);
    }
  });

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
    const r = await fetch(`${base}/v1/connect-links/${encodeURIComponent(q.get('link_id'))}/claim`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ connect_token: q.get('connect_token') }),
    });
    const body = await r.json();
    if (r.status !== 200) return page(res, 200, 'Claim failed', `<pre>${esc(JSON.stringify(body, null, 2))}</pre>`);
    // One profile per account chosen on the picker (the sandbox login offers itself and two Pages).
    const p = body.data[0];
    const items = body.data.map((x) => `<li><code>${esc(x.id)}</code> ${esc(x.display_name ?? x.username ?? '')} (${esc(x.account_type)})</li>`).join('');
    // The app acts as the profile without ever holding its token: the worker's proxy calls
    // the platform (here the sandbox's user-info endpoint) with it.
    const user = body.data.find((x) => x.account_type === 'user');
    let proxied = '';
    if (user) {
      const call = await fetch(`${base}/v1/profiles/${encodeURIComponent(user.id)}/proxy/userinfo`, { headers: { authorization: `Bearer ${apiKey}` } });
      proxied = `<p>The sandbox API, called through the proxy as <code>${esc(user.id)}</code>
(<code>GET /v1/profiles/${esc(user.id)}/proxy/userinfo</code>, status ${call.status}):</p><pre id="proxied">${esc(await call.text())}</pre>`;
    }
    return page(res, 200, 'Connected', `<p>Claimed profile <code id="profile">${esc(p.id)}</code> (${esc(p.username ?? p.display_name)}), status
<b id="status">${esc(p.status)}</b>.</p><ul id="profiles">${items}</ul>${proxied}<p>Now: <code>curl -H "Authorization: Bearer $API_KEY" ${esc(base)}/v1/profiles</code></p>`);
  }

  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

function page(res, status, title, body) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><meta charset="utf-8"><title>${esc(title)}</title><body style="font-family:system-ui;max-width:44rem;margin:3rem auto">
<h1>${esc(title)}</h1>${body}</body>`);
}

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
