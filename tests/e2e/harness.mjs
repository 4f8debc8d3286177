// Runs the built worker (build/index.js + wasm) in workerd through Miniflare, with real
// local D1 and KV, on a loopback port. The sandbox platform is reached by the worker
// through a real fetch to that port, as any platform would be.
import { Miniflare } from 'miniflare';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkAnswer } from './openapi-check.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Waits until the calls of `calls` (a mock's record, such as `PlatformMocks.calls`) that
 * `match` picks have stopped coming: none new for `quietMs`, and each answered (`status`
 * set). Returns them. Work the worker runs after its answer (a revocation under
 * `wait_until`) is seen whole this way, so a test can count it exactly: a call still on its
 * way when the test looked would otherwise go unseen.
 */
export async function callsQuiet(calls, match, { quietMs = 300, maxMs = 10000 } = {}) {
  const end = Date.now() + maxMs;
  let seen = -1;
  for (;;) {
    const now = calls.filter(match);
    if (now.length === seen && now.every((c) => c.status !== undefined)) return now;
    if (Date.now() > end) throw new Error(`calls did not settle within ${maxMs} ms (${now.length} seen)`);
    seen = now.length;
    await new Promise((r) => setTimeout(r, quietMs));
  }
}

/** Splits a migration file into statements (comments dropped). */
export function statements(sql) {
  return sql
    .split('\n')
    .map((l) => l.replace(/--.*$/, ''))
    .join('\n')
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * Applies migrations/ to `db` in order; `beforeMigration[file](db)`, when given, runs just
 * before `file` (a test of a migration seeds rows as the schema before it had them).
 */
export async function migrate(db, beforeMigration = {}) {
  for (const file of fs.readdirSync(path.join(root, 'migrations')).sort()) {
    if (beforeMigration[file]) await beforeMigration[file](db);
    const sql = fs.readFileSync(path.join(root, 'migrations', file), 'utf8');
    await db.batch(statements(sql).map((s) => db.prepare(s)));
  }
}

/** A JSON body as `call` shows it: parsed, null when empty, the text itself when not JSON. */
function parseBody(text) {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}

export function randomKey() {
  return crypto.randomBytes(32).toString('base64');
}

/**
 * Starts the worker; `vars` override bindings, `outbound` answers its outbound fetches,
 * `queue` binds REFRESH_QUEUE (with this worker as its consumer). `entry`: a module (path
 * from the repository root) that wraps the built worker, such as tests/e2e/d1-limits-entry.mjs.
 */
export async function startWorker({ vars = {}, outbound, queue = false, tokenKeys = `k1:${randomKey()}`, captureLogs = false, beforeMigration = {}, entry } = {}) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const logs = [];
  const adminToken = `adm_${crypto.randomBytes(16).toString('hex')}`;
  const bindings = { PUBLIC_URL: base, SANDBOX: 'on', ADMIN_TOKEN: adminToken, TOKEN_KEYS: tokenKeys, ...vars };
  const options = {
    host: '127.0.0.1',
    port,
    modules: true,
    scriptPath: path.join(root, entry ?? 'build/index.js'),
    modulesRoot: entry ? root : path.join(root, 'build'),
    modulesRules: [
      ...(entry ? [{ type: 'ESModule', include: ['**/*.js', '**/*.mjs'] }] : []),
      { type: 'CompiledWasm', include: ['**/*.wasm'], fallthrough: true },
    ],
    compatibilityDate: '2026-04-20',
    d1Databases: { DB: 'e2e-db' },
    kvNamespaces: { OAUTH_STATE: 'e2e-kv' },
    // As wrangler.toml binds it (its migration declares the class with SQLite storage).
    durableObjects: { RATE_LIMITER: { className: 'RateLimiter', useSQLite: true } },
    // ASSETS: wrangler.toml's [assets] (`make build` writes the directory; GET /openapi.json
    // reads it). With run_worker_first every request reaches the worker, so no router stands
    // in front of it here: Miniflare's assets router, when it does, resets the client's
    // connection now and then after an answer that left the request body unread (a 401 to a
    // POST). The binding is a service binding to a second worker that holds the assets and
    // hands each fetch to its own ASSETS binding, Miniflare's real asset server.
    serviceBindings: { ASSETS: 'assets' },
    bindings,
    ...(outbound ? { outboundService: outbound } : {}),
    // Everything workerd writes (the worker's console included), kept for a scan.
    ...(captureLogs ? { handleRuntimeStdio: (out, err) => { for (const s of [out, err]) s.on('data', (d) => logs.push(String(d))); } } : {}),
    ...(queue ? {
      queueProducers: { REFRESH_QUEUE: 'refresh-queue' },
      queueConsumers: { 'refresh-queue': { maxBatchSize: 10, maxBatchTimeout: 1, maxRetries: 3 } },
    } : {}),
  };
  const mf = new Miniflare(withAssets(options));
  let db;
  let kv;
  try {
    await mf.ready;
    db = await mf.getD1Database('DB');
    kv = await mf.getKVNamespace('OAUTH_STATE');
    await migrate(db, beforeMigration);
  } catch (e) {
    // A runtime that failed to start must not outlive the test file (it would hang the run).
    await mf.dispose().catch(() => {});
    throw e;
  }
  const worker = new Worker(mf, base, db, kv, bindings);
  worker.logs = logs;
  worker.options = options;
  return worker;
}

/** `options` (one worker's, with the shared ones) as two workers: the worker, then the one holding build/assets. */
function withAssets(options) {
  const { host, port, handleRuntimeStdio, ...worker } = options;
  const assets = {
    name: 'assets',
    modules: true,
    script: 'export default { fetch: (request, env) => env.ASSETS.fetch(request) };',
    compatibilityDate: worker.compatibilityDate,
    assets: { directory: path.join(root, 'build/assets'), binding: 'ASSETS', routerConfig: { has_user_worker: true, invoke_user_worker_ahead_of_assets: true } },
  };
  return { host, port, ...(handleRuntimeStdio ? { handleRuntimeStdio } : {}), workers: [{ name: 'connect-links', ...worker }, assets] };
}

class Worker {
  constructor(mf, base, db, kv, bindings) {
    Object.assign(this, { mf, base, db, kv, bindings });
    this.linkKeys = new Map(); // link id -> the API key that created it (to claim as its app)
  }

  async stop() {
    await this.mf.dispose();
  }

  /**
   * Restarts the worker with `vars` over its bindings (a new `TOKEN_KEYS`, as an operator
   * rotating the key would deploy), on the same D1 and KV.
   */
  async restart(vars) {
    // Work the old runtime still does after its answers (webhook deliveries) finishes first.
    await this.settled();
    this.bindings = { ...this.bindings, ...vars };
    this.options = { ...this.options, bindings: this.bindings };
    await this.mf.setOptions(withAssets(this.options));
    this.db = await this.mf.getD1Database('DB');
    this.kv = await this.mf.getKVNamespace('OAUTH_STATE');
  }

  /** Runs the cron trigger's handler once, as the scheduler would. */
  async cron() {
    const worker = await this.mf.getWorker();
    await worker.scheduled({ cron: '*/5 * * * *' });
  }

  /** Sends a message to REFRESH_QUEUE. */
  async enqueue(body) {
    const producer = await this.mf.getQueueProducer('REFRESH_QUEUE');
    await producer.send(body);
  }

  /**
   * Waits until every webhook event in the outbox has had its first delivery attempt: the
   * worker makes it after its answer (`wait_until`), so a test looks once it has happened.
   */
  async settled(ms = 5000) {
    for (const start = Date.now(); Date.now() - start < ms; await new Promise((r) => setTimeout(r, 20))) {
      if ((await this.row('SELECT COUNT(*) AS n FROM webhook_outbox WHERE attempts = 0 AND next_attempt_at IS NOT NULL')).n === 0) return;
    }
    throw new Error('webhook deliveries did not settle');
  }

  /** Runs SQL against the local D1 database (for seeding time-dependent state). */
  async sql(query, ...params) {
    return this.db.prepare(query).bind(...params).run();
  }

  async row(query, ...params) {
    return this.db.prepare(query).bind(...params).first();
  }

  /** The 24 h platform-event counters of `platform` (`GET /v1/admin/platform-events/stats`; zeros when it has none yet). */
  async platformEventStats(platform) {
    const r = await this.admin('GET', '/v1/admin/platform-events/stats');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const row = r.body.data.find((s) => s.platform === platform) ?? {};
    return Object.fromEntries(['received', 'verified', 'refused', 'matched', 'forwarded'].map((k) => [k, row[k] ?? 0]));
  }

  // --- Grants (migration 0005) ------------------------------------------------------------
  // Tokens and refresh state live on `grants`; a profile points at its grant by `grant_id`.
  // Tests hold profile ids (what the API returns), so these look the grant up through it.

  /** The id of the grant a profile is under (null when there is no such profile). */
  async grantOf(profileId) {
    const r = await this.row('SELECT grant_id FROM profiles WHERE id = ?', profileId);
    return r ? r.grant_id : null;
  }

  /**
   * The `grants` row behind a profile: `columns` is a SQL column list ('a, b') or an array of
   * names (plain names only; they are put into the query as they are). Null when not found.
   */
  async grantRow(profileId, columns = '*') {
    const cols = Array.isArray(columns) ? columns.join(', ') : columns;
    return this.row(`SELECT ${cols} FROM grants WHERE id = (SELECT grant_id FROM profiles WHERE id = ?)`, profileId);
  }

  /** The access and refresh tokens stored on a profile's grant, opened: { access, refresh } (refresh null when none). */
  async tokensOf(profileId) {
    const grant = await this.grantOf(profileId);
    const row = await this.row('SELECT access_token_enc, refresh_token_enc FROM grants WHERE id = ?', grant);
    const refresh = row.refresh_token_enc === null ? null : this.openEnvelope(row.refresh_token_enc, grant, 'refresh_token');
    return { access: this.openEnvelope(row.access_token_enc, grant, 'access_token'), refresh };
  }

  /** Makes a profile's grant due for the cron's refresh (next_refresh_at a second ago). */
  makeDue(profileId) {
    return this.sql('UPDATE grants SET next_refresh_at = ? WHERE id = (SELECT grant_id FROM profiles WHERE id = ?)', Math.floor(Date.now() / 1000) - 1, profileId);
  }
  // --- end grants ---------------------------------------------------------------------------

  /**
   * Plays a user connecting `platform` against the platform mocks: creates the link,
   * approves at the mock, follows the callback. Returns { link, q } with the final query.
   */
  async connectWithMock(mocks, apiKey, platform, { user = 'u1', grant, code = (c) => c, redirect = 'https://app.example.com/connected', linkFields = {} } = {}) {
    const link = await this.createLink(apiKey, { platform, redirect_url: redirect, ...linkFields });
    const approved = mocks.approve(link.authorize_url, { user, grant });
    // A per-instance platform (Mastodon) comes back on its instance's own callback path.
    const back = linkFields.instance ? approved.redirectUri : `${this.base}/oauth/callback`;
    assert.equal(approved.redirectUri, back);
    assert.ok(back.startsWith(`${this.base}/oauth/callback`), back);
    const qs = new URLSearchParams({ code: code(approved.code), state: approved.state });
    const res = await this.callback(`${back}?${qs}`, { claim: linkFields.claim, pick: linkFields.pick });
    assert.equal(res.status, 302);
    const final = new URL(res.headers.get('location'));
    return { link, final, q: Object.fromEntries(final.searchParams), claimed: res.claimed };
  }

  /** Seals like the worker does (for seeding rows under another key). */
  sealEnvelope(plain, rowId, field, kid) {
    return sealWith(this.bindings.TOKEN_KEYS, plain, rowId, field, kid);
  }

  /**
   * A JSON call; returns { status, body, headers }. Every answer is checked against
   * openapi/openapi.json (tests/e2e/openapi-check.mjs) and an answer the document does not
   * describe throws; `unchecked: true` skips that, for a request the document cannot describe
   * (an unknown path, a method a path does not have).
   */
  async call(method, p, { token, json, raw, headers = {}, unchecked = false } = {}) {
    const h = { ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    let body;
    if (json !== undefined) {
      h['content-type'] = 'application/json';
      body = JSON.stringify(json);
    } else if (raw !== undefined) {
      body = raw;
    }
    const big = body !== undefined && Buffer.byteLength(body) > 64 * 1024;
    const res = big ? await ownConnection(this.base + p, method, h, body) : await fetch(this.base + p, { method, headers: h, body, redirect: 'manual' });
    const text = await res.text();
    const parsed = parseBody(text);
    if (!unchecked) checkAnswer({ method, path: p, status: res.status, contentType: res.headers.get('content-type'), body: parsed, text });
    return { status: res.status, body: parsed, headers: res.headers, text };
  }

  /** `call` with the admin token; `opts` as `call`'s (`{ unchecked: true }`). */
  admin(method, p, json, opts = {}) {
    return this.call(method, p, { ...opts, token: this.bindings.ADMIN_TOKEN, json });
  }

  /**
   * Creates an app and returns { app, api_key, webhook_secret }. `receiver`: a
   * WebhookReceiver the app's webhooks go to (told the app's secret); `fields`: more of the
   * create body (`claim`, `limits`, ...).
   */
  async createApp(name = 'Test app', allowed = ['http://localhost:3000/connected'], { receiver, ...fields } = {}) {
    const hooks = receiver ? { webhook_url: receiver.url } : {};
    const r = await this.admin('POST', '/v1/admin/apps', { name, allowed_redirect_urls: allowed, ...hooks, ...fields });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    receiver?.useSecret(r.body.webhook_secret);
    return r.body;
  }

  async createLink(apiKey, fields = {}) {
    const r = await this.call('POST', '/v1/connect-links', {
      token: apiKey,
      json: { platform: 'sandbox', redirect_url: 'http://localhost:3000/connected', ...withoutHarnessFields(fields) },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    this.linkKeys.set(r.body.id, apiKey);
    return r.body;
  }

  /**
   * Plays the app's redirect handler: claims the link with the `connect_token` of a final
   * redirect, as the app whose key created the link. Returns the claim's { status, body }.
   */
  async claim(location) {
    const q = new URL(location).searchParams;
    const apiKey = this.linkKeys.get(q.get('link_id'));
    assert.ok(apiKey, 'the harness created this link');
    return this.call('POST', `/v1/connect-links/${q.get('link_id')}/claim`, { token: apiKey, json: { connect_token: q.get('connect_token') } });
  }

  /** The KV record of a state (as the worker stores it: under the state's SHA-256). */
  stateKey(state) {
    return sha256Hex(state);
  }

  /**
   * A browser's fetch of a worker route (the short link, the consent pages, the callback,
   * the picker), its answer held to the OpenAPI document like `call`'s: status, content type,
   * and the body where it is JSON. Other origins (a platform mock) are fetched unchecked.
   */
  async fetchChecked(url, init = {}) {
    const res = await fetch(url, init);
    const u = new URL(url, this.base);
    if (u.origin === this.base) {
      const text = await res.clone().text();
      checkAnswer({ method: init.method || 'GET', path: u.pathname, status: res.status, contentType: res.headers.get('content-type'), body: parseBody(text), text });
    }
    return res;
  }

  /**
   * Plays the user's browser from a connect link up to the platform's redirect back:
   * opens the short link, loads the consent page, submits Approve or Deny.
   * Returns { authorizeUrl, back } where `back` is the URL the sandbox redirected to.
   */
  async consent(link, { decision = 'approve', username = 'ada', dropScopes = [] } = {}) {
    const open = await this.fetchChecked(link.url, { redirect: 'manual' });
    assert.equal(open.status, 302);
    const authorizeUrl = open.headers.get('location');
    assert.equal(authorizeUrl, link.authorize_url);
    const page = await this.fetchChecked(authorizeUrl, { redirect: 'manual' });
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /Approve/);
    const form = new URLSearchParams();
    for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
      form.append(m[1], unescapeHtml(m[2]));
    }
    for (const m of html.matchAll(/<input type="checkbox" name="scope" value="([^"]*)" checked>/g)) {
      const s = unescapeHtml(m[1]);
      if (!dropScopes.includes(s)) form.append('scope', s);
    }
    form.append('username', username);
    form.append('decision', decision);
    const action = new URL('authorize', authorizeUrl).toString();
    const res = await this.fetchChecked(action, { method: 'POST', body: form, redirect: 'manual' });
    assert.equal(res.status, 302, await res.text());
    return { authorizeUrl, back: new URL(res.headers.get('location')) };
  }

  /**
   * Follows the platform's redirect into the worker's callback; returns the response. Like
   * an app's redirect handler, it claims a successful connect (its `connect_token`) unless
   * `claim: false`; the claim's answer is on `res.claimed`.
   */
  async callback(back, { claim = true, pick } = {}) {
    let res = await this.fetchChecked(back.toString(), { redirect: 'manual' });
    // A login with several accounts shows the picker first: choose as the user would.
    if (res.status === 200 && (res.headers.get('content-type') || '').startsWith('text/html')) {
      const html = await res.text();
      if (!html.includes('name="form_token"')) throw new Error(`callback answered a page: ${html.slice(0, 300)}`);
      res = await this.choose(html, res.headers.get('set-cookie'), pick);
    }
    const location = res.headers.get('location');
    if (claim !== false && location && new URL(location).searchParams.get('connect_token')) {
      res.claimed = await this.claim(location);
      assert.equal(res.claimed.status, 200, JSON.stringify(res.claimed.body));
    }
    return res;
  }

  /**
   * Submits an account picker page as its browser would (with the cookie it was given).
   * `pick`: the account ids to check, 'all', or a function of the offered ids; by default the
   * first account offered (a sandbox login's own account).
   */
  async choose(html, setCookie, pick) {
    const picker = parsePicker(html);
    const chosen = pick === 'all' ? picker.ids : typeof pick === 'function' ? pick(picker.ids) : (pick ?? picker.ids.slice(0, 1));
    const body = new URLSearchParams([['form_token', picker.token], ...chosen.map((id) => ['account', id])]);
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    if (setCookie) headers.cookie = setCookie.split(';')[0];
    return this.fetchChecked(picker.action, { method: 'POST', body, headers, redirect: 'manual' });
  }

  /** Every text value in every table of the local D1 database. */
  async allStoredText() {
    const tables = await this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
    const out = [];
    for (const { name } of tables.results) {
      if (name.startsWith('_cf_') || name.startsWith('sqlite_')) continue;
      const rows = await this.db.prepare(`SELECT * FROM "${name}"`).all();
      for (const row of rows.results) for (const v of Object.values(row)) out.push({ table: name, value: String(v) });
    }
    return out;
  }

  /**
   * Opens a token envelope with the test's copy of TOKEN_KEYS (what only the keyring can do).
   * `rowId` is the id the envelope is bound to: a grant's id for a grant's tokens.
   */
  openEnvelope(envelope, rowId, field) {
    return openWith(this.bindings.TOKEN_KEYS, envelope, rowId, field);
  }
}

/** Link fields the harness reads itself and the API does not take. */
function withoutHarnessFields(fields) {
  const { claim, pick, ...rest } = fields;
  return rest;
}

/** The parts of an account picker page: its form action, form token and offered account ids. */
/** Counters `a` minus counters `b`, key by key (what happened between two reads of [`platformEventStats`]). */
export function minusCounts(a, b) {
  return Object.fromEntries(Object.keys(a).map((k) => [k, a[k] - b[k]]));
}

export function parsePicker(html) {
  const action = /<form method="post" action="([^"]+)"/.exec(html);
  const token = /name="form_token" value="([^"]*)"/.exec(html);
  if (!action || !token) throw new Error('not an account picker page');
  const ids = [...html.matchAll(/name="account" value="([^"]*)"/g)].map((m) => unescapeHtml(m[1]));
  return { action: unescapeHtml(action[1]), token: unescapeHtml(token[1]), ids };
}

/** Seals `plain` like the worker does, with a key of a `TOKEN_KEYS` list (`kid:base64,...`). */
export function sealWith(tokenKeys, plain, rowId, field, kid) {
  const entry = tokenKeys.split(',').find((e) => e.startsWith(`${kid}:`));
  const key = Buffer.from(entry.slice(kid.length + 1), 'base64');
  const nonce = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(`${rowId}:${field}`));
  const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return `v1.${kid}.${Buffer.concat([nonce, ct, cipher.getAuthTag()]).toString('base64url')}`;
}

/**
 * Opens a token envelope (`v1.<kid>.<nonce | ct | tag>`, core/src/envelope.rs) sealed for
 * `rowId:field`, with the key `kid` of a `TOKEN_KEYS` list (`kid:base64,...`).
 */
export function openWith(tokenKeys, envelope, rowId, field) {
  const [v, kid, data] = envelope.split('.');
  assert.equal(v, 'v1');
  const entry = tokenKeys.split(',').find((e) => e.startsWith(`${kid}:`));
  assert.ok(entry, `key ${kid} in keyring`);
  const key = Buffer.from(entry.slice(kid.length + 1), 'base64');
  const blob = Buffer.from(data, 'base64url');
  const decipher = crypto.createDecipheriv('aes-256-gcm', key, blob.subarray(0, 12));
  decipher.setAAD(Buffer.from(`${rowId}:${field}`));
  decipher.setAuthTag(blob.subarray(blob.length - 16));
  return Buffer.concat([decipher.update(blob.subarray(12, blob.length - 16)), decipher.final()]).toString('utf8');
}

/** Lowercase hex SHA-256 of a string (a state's KV key, an API key's stored hash). */
export function sha256Hex(s) {
  return crypto.createHash('sha256').update(s).digest('hex');
}

export function unescapeHtml(s) {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

export function challengeOf(verifier) {
  return crypto.createHash('sha256').update(verifier).digest('base64url');
}

/**
 * A request with a body over the worker's 64 KiB cap, on a connection of its own: the worker
 * may answer 413 before the body is all sent and close the connection under it, and a pooled
 * connection reused by the next request would then fail ("fetch failed"). Resolves with the
 * answer (as much of `Response` as `call` reads) even when the rest of the upload is refused.
 */
export function ownConnection(url, method, headers, body) {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      answered = true;
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', () => {});
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) h.set(k, Array.isArray(v) ? v.join(', ') : String(v));
        resolve({ status: res.statusCode, headers: h, text: async () => text });
      });
    });
    req.on('error', (e) => { if (!answered) reject(e); });
    req.end(body);
  });
}
