#!/usr/bin/env node
// `make bench`: create-link throughput (issue 14). Three workers in one Miniflare (one
// workerd), each with its own D1 database and KV namespace, routed by hostname:
//
//   ours  the built connect-links worker (build/), `POST /v1/connect-links` for `x`;
//   peer  bench/peers/ts/worker.ts: the same work in TypeScript (key lookup in D1, body
//         checks, state and PKCE with oauth4webapi, the authorization URL, the sealed URL
//         in a D1 row, the sealed verifier in KV with a 600 s TTL, the same 201 answer);
//   no-op bench/peers/noop: a workers-rs worker answering 201 `{}`, the ceiling of a
//         workers-rs worker under this runtime (and the floor of its size).
//
// Each answer and what it stored is checked first; then autocannon, BENCH_CONNECTIONS (10)
// connections, a warm-up round per worker and BENCH_ROUNDS (3) alternating rounds of
// BENCH_SECONDS (10) s: medians of requests/s, p50 and p99, and the ratios against the
// issue's targets. Not a test: the targets are printed, not asserted.
import autocannon from 'autocannon';
import { Miniflare } from 'miniflare';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { challengeOf, freePort, migrate, openWith, sha256Hex, statements } from '../tests/e2e/harness.mjs';
import { bundlePeer, call as callPort, compatibilityDate, copyAppToPeer, wasmRules } from './shared.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 10);
const SECONDS = Number(process.env.BENCH_SECONDS || 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);
// Issue 14's targets for create-link against the TypeScript peer.
const TARGET_RPS = 1.2; // ours/peer requests/s at least
const TARGET_P99 = 1.0; // ours/peer p99 at most

const ours = path.join(root, 'build');
const noop = path.join(root, 'bench/peers/noop/build');
if (!fs.existsSync(path.join(ours, 'index.js'))) {
  console.error('build/index.js is missing: run `make build` (or `make bench`) first');
  process.exit(1);
}
// `make bench` builds the no-op first (`make bench-noop`); run alone, this builds it when stale.
const mtime = (f) => (fs.existsSync(f) ? fs.statSync(f).mtimeMs : 0);
const noopSources = ['Cargo.toml', 'src/lib.rs'].map((f) => mtime(path.join(root, 'bench/peers/noop', f)));
if (mtime(path.join(noop, 'index.js')) < Math.max(...noopSources)) {
  const make = spawnSync('make', ['--no-print-directory', '-C', root, 'bench-noop'], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (make.status !== 0) process.exit(1);
}

// The peer, bundled as wrangler would (its esbuild).
const peerScript = await bundlePeer();

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const tokenKey = crypto.randomBytes(32);
const TOKEN_KEYS = `k1:${tokenKey.toString('base64')}`;
const ADMIN_TOKEN = `adm_${crypto.randomBytes(16).toString('hex')}`;
// The same configuration for ours and the peer: the answer's `url` and the callback both
// start with PUBLIC_URL, and X's client id goes into the authorization URL.
const shared = {
  PUBLIC_URL: base, TOKEN_KEYS,
  X_CLIENT_ID: 'bench-x-client-id', X_CLIENT_SECRET: 'bench-x-client-secret',
};
const HOSTS = { ours: 'ours.bench', peer: 'peer.bench', noop: 'noop.bench' };

const mf = new Miniflare({
  host: '127.0.0.1',
  port,
  // The first worker also gets any request no route matches.
  workers: [
    {
      name: 'ours',
      routes: [`${HOSTS.ours}/*`],
      modules: true,
      scriptPath: path.join(ours, 'index.js'),
      modulesRoot: ours,
      modulesRules: wasmRules,
      compatibilityDate,
      d1Databases: { DB: 'ours-db' },
      kvNamespaces: { OAUTH_STATE: 'ours-kv' },
      // As wrangler.toml binds it (create-link does not use it).
      durableObjects: { RATE_LIMITER: { className: 'RateLimiter', useSQLite: true } },
      bindings: { ...shared, SANDBOX: 'off', ADMIN_TOKEN },
    },
    {
      name: 'peer',
      routes: [`${HOSTS.peer}/*`],
      modules: [{ type: 'ESModule', path: 'worker.js', contents: peerScript }],
      compatibilityDate,
      d1Databases: { DB: 'peer-db' },
      kvNamespaces: { OAUTH_STATE: 'peer-kv' },
      bindings: shared,
    },
    {
      name: 'noop',
      routes: [`${HOSTS.noop}/*`],
      modules: true,
      scriptPath: path.join(noop, 'index.js'),
      modulesRoot: noop,
      modulesRules: wasmRules,
      compatibilityDate,
    },
  ],
  handleRuntimeStdio(stdout, stderr) {
    stdout.resume();
    stderr.pipe(process.stderr);
  },
});

/** One request to `worker` by its host name, on a connection of its own (`shared.mjs`'s `call`). */
function call(worker, method, p, { token, json } = {}) {
  return callPort(port, method, p, { host: HOSTS[worker], token, json });
}

/** Opens an envelope `v1.k1.<nonce | ct | tag>` sealed for `rowId:field` (core/src/envelope.rs). */
function open(envelope, rowId, field) {
  const [v, kid] = envelope.split('.');
  assert.equal(`${v}.${kid}`, 'v1.k1', 'an envelope under TOKEN_KEYS k1');
  return openWith(TOKEN_KEYS, envelope, rowId, field);
}

const REDIRECT = 'https://app.example.com/done';
const BODY = { platform: 'x', redirect_url: REDIRECT, external_user_id: 'bench-user-1' };

/**
 * Creates one link on `worker` and checks the answer and what was stored: the D1 row (its
 * sealed authorization URL is the one answered), and the KV record under the state's
 * SHA-256 (its sealed verifier hashes to the URL's code_challenge). Returns the answer.
 */
async function checkWorker(worker, apiKey, db, kv) {
  const r = await call(worker, 'POST', '/v1/connect-links', { token: apiKey, json: BODY });
  assert.equal(r.status, 201, `${worker}: ${JSON.stringify(r.body)}`);
  const a = r.body;
  assert.deepEqual(Object.keys(a).sort(), ['authorize_url', 'expires_at', 'id', 'platform', 'url'], worker);
  assert.match(a.id, /^cl_[0-9a-f]{32}$/, worker);
  assert.equal(a.url, `${base}/connect/${a.id}`, worker);
  assert.equal(a.platform, 'x', worker);
  assert.match(a.expires_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, worker);
  const expires = Date.parse(a.expires_at) / 1000 - Date.now() / 1000;
  assert.ok(expires > 590 && expires <= 601, `${worker}: expires in ${expires} s`);
  const u = new URL(a.authorize_url);
  assert.equal(u.origin + u.pathname, 'https://x.com/i/oauth2/authorize', worker);
  const q = Object.fromEntries(u.searchParams);
  assert.deepEqual(
    { ...q, state: '', code_challenge: '' },
    {
      response_type: 'code', client_id: shared.X_CLIENT_ID, redirect_uri: `${base}/oauth/callback`,
      scope: 'tweet.read tweet.write users.read offline.access', state: '', code_challenge: '', code_challenge_method: 'S256',
    },
    worker,
  );
  assert.match(q.state, /^[A-Za-z0-9_-]{43}$/, `${worker}: a state of 32 random bytes`);
  const row = await db.prepare('SELECT * FROM connect_links WHERE id = ?1').bind(a.id).first();
  assert.ok(row, `${worker}: the link row`);
  assert.equal(row.status, 'pending');
  assert.equal(row.platform, 'x');
  assert.equal(row.redirect_url, REDIRECT);
  assert.equal(row.external_user_id, BODY.external_user_id);
  assert.equal(row.callback, 'hosted');
  assert.equal(row.accounts, 'pick');
  assert.deepEqual(JSON.parse(row.scopes), ['tweet.read', 'tweet.write', 'users.read', 'offline.access']);
  assert.equal(row.expires_at - row.created_at, 600);
  assert.equal(open(row.authorize_url, a.id, 'authorize_url'), a.authorize_url, `${worker}: the sealed URL`);
  const stateKey = sha256Hex(q.state);
  const stored = await kv.getWithMetadata(stateKey);
  assert.ok(stored.value, `${worker}: the KV record under the state's hash`);
  const pending = JSON.parse(stored.value);
  assert.deepEqual({ ...pending, verifier: '', created_at: 0 }, {
    link_id: a.id, app_id: row.app_id, platform: 'x', verifier: '', redirect_uri: `${base}/oauth/callback`, callback: 'hosted', created_at: 0,
  }, worker);
  const verifier = open(pending.verifier, stateKey, 'pkce_verifier');
  assert.match(verifier, /^[A-Za-z0-9_-]{43}$/, worker);
  assert.equal(challengeOf(verifier), q.code_challenge, `${worker}: S256 of the stored verifier`);
  return { answer: a, appId: row.app_id };
}

/** One autocannon round against `worker`: requests/s, p50 and p99 (ms), non-2xx, errors (timeouts included). */
async function round(worker, apiKey) {
  const r = await autocannon({
    url: `${base}/v1/connect-links`,
    method: 'POST',
    connections: CONNECTIONS,
    duration: SECONDS,
    headers: { host: HOSTS[worker], authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(BODY),
  });
  ok2xx[worker] += r['2xx'];
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts };
}
const ok2xx = { ours: 0, peer: 0, noop: 0 };

/** What a worker uploads, raw and gzip -9: the JS glue and the wasm of a build, or the peer's bundle. */
function sizeOf(files) {
  let raw = 0;
  let gz = 0;
  let wasm = 0;
  for (const [name, data] of files) {
    raw += data.length;
    gz += zlib.gzipSync(data, { level: 9 }).length;
    if (name.endsWith('.wasm')) wasm += data.length;
  }
  const kb = (n) => `${(n / 1024).toFixed(0)} KB`;
  return `${kb(raw)} raw, ${kb(gz)} gzip${wasm ? ` (wasm ${kb(wasm)})` : ''}`;
}
const buildFiles = (dir) => fs.readdirSync(dir).filter((f) => /\.(js|mjs|wasm)$/.test(f)).map((f) => [f, fs.readFileSync(path.join(dir, f))]);

try {
  await mf.ready;
  const oursDb = await mf.getD1Database('DB', 'ours');
  const peerDb = await mf.getD1Database('DB', 'peer');
  await migrate(oursDb);
  const schema = fs.readFileSync(path.join(root, 'bench/peers/ts/schema.sql'), 'utf8');
  await peerDb.batch(statements(schema).map((s) => peerDb.prepare(s)));

  // Our app through the admin API; the same app and key in the peer's tables. Its per-app
  // limits raised to their maximum: the bench measures links made, not 429s.
  const limits = { connect_links_per_minute: 100000, pending_links: 100000 };
  const made = await call('ours', 'POST', '/v1/admin/apps', { token: ADMIN_TOKEN, json: { name: 'Bench', allowed_redirect_urls: ['https://app.example.com/'], limits } });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const apiKey = made.body.api_key;
  const app = await oursDb.prepare('SELECT * FROM apps WHERE id = ?1').bind(made.body.app.id).first();
  const key = await oursDb.prepare('SELECT * FROM api_keys WHERE app_id = ?1').bind(app.id).first();
  assert.equal(key.key_hash, sha256Hex(apiKey));
  await copyAppToPeer(peerDb, app, key);

  // The same work, checked: answers, rows and KV records; refusals alike for a bad key and
  // a redirect off the allowlist.
  for (const w of ['ours', 'peer']) {
    const kv = await mf.getKVNamespace('OAUTH_STATE', w);
    const { appId } = await checkWorker(w, apiKey, w === 'ours' ? oursDb : peerDb, kv);
    assert.equal(appId, app.id);
    const bad = await call(w, 'POST', '/v1/connect-links', { token: `${apiKey}x`, json: BODY });
    assert.equal(bad.status, 401, `${w}: an unknown key`);
    const off = await call(w, 'POST', '/v1/connect-links', { token: apiKey, json: { ...BODY, redirect_url: 'https://evil.example.com/' } });
    assert.equal(off.status, 422, `${w}: a redirect off the allowlist`);
    assert.equal(off.body.error.code, 'redirect_not_allowed');
  }
  const n = await call('noop', 'POST', '/v1/connect-links', { token: apiKey, json: BODY });
  assert.equal(n.status, 201);
  assert.deepEqual(n.body, {});
  console.log('create-link bench: answers, D1 rows and KV records checked for ours and the peer; the no-op answers 201 {}');

  const WORKERS = ['ours', 'peer', 'noop'];
  for (const w of WORKERS) await round(w, apiKey); // warm-up
  const results = { ours: [], peer: [], noop: [] };
  for (let i = 0; i < ROUNDS; i++) for (const w of WORKERS) results[w].push(await round(w, apiKey));

  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const summary = (rs) => ({
    rps: median(rs.map((r) => r.rps)), p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)),
    non2xx: rs.reduce((s, r) => s + r.non2xx, 0), errors: rs.reduce((s, r) => s + r.errors, 0), timeouts: rs.reduce((s, r) => s + r.timeouts, 0),
  });
  const s = Object.fromEntries(WORKERS.map((w) => [w, summary(results[w])]));
  const linkRows = async (db) => (await db.prepare('SELECT COUNT(*) AS n FROM connect_links').first()).n;
  const sizes = {
    ours: sizeOf(buildFiles(ours)),
    peer: sizeOf([['worker.js', Buffer.from(peerScript)]]),
    noop: sizeOf(buildFiles(noop)),
  };
  const names = { ours: 'ours', peer: 'ts peer', noop: 'no-op' };
  console.log(`create-link bench: POST /v1/connect-links (x), ${CONNECTIONS} connections, ${ROUNDS} alternating round${ROUNDS === 1 ? '' : 's'} of ${SECONDS} s after a warm-up round each (medians; autocannon, one Miniflare)`);
  for (const w of WORKERS) {
    const x = s[w];
    console.log(`  ${names[w].padEnd(8)} ${x.rps.toFixed(0).padStart(6)} req/s   p50 ${x.p50.toFixed(2).padStart(7)} ms   p99 ${x.p99.toFixed(2).padStart(7)} ms   non-2xx ${x.non2xx}   errors ${x.errors} (timeouts ${x.timeouts})   size ${sizes[w]}`);
  }
  console.log(`  rounds   req/s ${WORKERS.map((w) => `${names[w]} ${results[w].map((r) => r.rps.toFixed(0)).join('/')}`).join(', ')}`);
  // At least one row per 2xx answer (plus the check's); a request in flight when a round
  // ends is stored but not counted.
  console.log(`  links stored: ours ${await linkRows(oursDb)} for ${ok2xx.ours} 2xx answers, peer ${await linkRows(peerDb)} for ${ok2xx.peer} (warm-up included)`);
  for (const w of WORKERS) {
    if (s[w].non2xx || s[w].errors) {
      console.log(`\n  !!! WARNING: ${names[w]} answered ${s[w].non2xx} non-2xx and had ${s[w].errors} errors (${s[w].timeouts} of them timeouts of 10 s): its figures are not comparable !!!\n`);
    }
  }
  const verdict = (ok) => (ok ? 'met' : 'NOT met');
  const rpsRatio = s.ours.rps / s.peer.rps;
  const p99Ratio = s.ours.p99 / s.peer.p99;
  console.log(`  ratio    ours/peer requests/s ${rpsRatio.toFixed(2)}x   (target >= ${TARGET_RPS.toFixed(1)}x: ${verdict(rpsRatio >= TARGET_RPS)})`);
  console.log(`  ratio    ours/peer p99        ${p99Ratio.toFixed(2)}x   (target <= ${TARGET_P99.toFixed(1)}x: ${verdict(p99Ratio <= TARGET_P99)})`);
  console.log(`  ratio    ours/no-op requests/s ${(s.ours.rps / s.noop.rps).toFixed(2)}x  (the share of a workers-rs no-op's throughput)`);
} finally {
  await mf.dispose();
}
