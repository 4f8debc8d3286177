#!/usr/bin/env node
// `make bench`: start-up (issue 26). How long a fresh start of each worker takes to its first
// create-link answer: ours (build/), the TypeScript peer (bench/peers/ts) and the workers-rs
// no-op (bench/peers/noop), each alone in a Miniflare (one workerd) of its own, STARTS (3)
// times, medians printed:
//
//   start  `new Miniflare(...)` to `ready`: workerd started and the worker's modules loaded
//          and evaluated (for a wasm worker: its wasm compiled and instantiated);
//   first  the first `POST /v1/connect-links` (x) after that, sent to the fresh isolate;
//   total  the two together, what a user waiting on a cold start sees of it.
//
// Each worker's modules are read before any timer starts (as the peer's bundle is made first):
// given by path, Miniflare would read and parse ours for imports inside the timed start, Node's
// work, not the worker's. The storage (D1, KV) is made once beforehand and kept on disk, so a
// start does not include migrations: our app comes from our admin API, the same app and key go into the peer's
// tables, as bench/create-link.mjs does. Each first answer is checked (201, a link) before its
// time counts. Not a test: the target (ours' total at most 1.2x the peer's) is printed, not
// asserted.
import { Miniflare } from 'miniflare';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, migrate, statements } from '../tests/e2e/harness.mjs';
import { bundlePeer, call, compatibilityDate, copyAppToPeer } from './shared.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STARTS = Number(process.env.BENCH_STARTS || 3);
const TARGET = 1.2; // ours/peer total at most (issue 26)
const ours = path.join(root, 'build');
const noop = path.join(root, 'bench/peers/noop/build');
for (const dir of [ours, noop]) {
  if (!fs.existsSync(path.join(dir, 'index.js'))) {
    console.error(`${dir}/index.js is missing: run \`make bench\` (it builds both) first`);
    process.exit(1);
  }
}
const peerScript = await bundlePeer();
/** A workers-rs build's modules, read before any timer starts (as the peer is bundled first). */
const modulesOf = (dir) => [
  { type: 'ESModule', path: path.join(dir, 'index.js'), contents: fs.readFileSync(path.join(dir, 'index.js'), 'utf8') },
  { type: 'CompiledWasm', path: path.join(dir, 'index_bg.wasm'), contents: fs.readFileSync(path.join(dir, 'index_bg.wasm')) },
];
const oursModules = modulesOf(ours);
const noopModules = modulesOf(noop);

const TOKEN_KEYS = `k1:${crypto.randomBytes(32).toString('base64')}`;
const ADMIN_TOKEN = `adm_${crypto.randomBytes(16).toString('hex')}`;
const persist = fs.mkdtempSync(path.join(os.tmpdir(), 'connect-links-first-request-'));

/** The Miniflare options of `worker` alone on `port`, its storage under `persist`. */
function options(worker, port) {
  const shared = {
    PUBLIC_URL: `http://127.0.0.1:${port}`, TOKEN_KEYS,
    X_CLIENT_ID: 'bench-x-client-id', X_CLIENT_SECRET: 'bench-x-client-secret',
  };
  const common = { host: '127.0.0.1', port, defaultPersistRoot: persist, handleRuntimeStdio(o, e) { o.resume(); e.resume(); } };
  const of = {
    ours: {
      name: 'ours', modules: oursModules, modulesRoot: ours,
      d1Databases: { DB: 'ours-db' }, kvNamespaces: { OAUTH_STATE: 'ours-kv' },
      durableObjects: { RATE_LIMITER: { className: 'RateLimiter', useSQLite: true } },
      bindings: { ...shared, SANDBOX: 'off', ADMIN_TOKEN },
    },
    peer: {
      name: 'peer', modules: [{ type: 'ESModule', path: 'worker.js', contents: peerScript }],
      d1Databases: { DB: 'peer-db' }, kvNamespaces: { OAUTH_STATE: 'peer-kv' }, bindings: shared,
    },
    noop: { name: 'noop', modules: noopModules, modulesRoot: noop },
  };
  return { ...common, workers: [{ ...of[worker], compatibilityDate }] };
}

const BODY = { platform: 'x', redirect_url: 'https://app.example.com/done', external_user_id: 'bench-user-1' };

/** Makes the stored state once: both schemas, our app and its key, the same in the peer's tables. */
async function prepare() {
  const port = await freePort();
  const mf = new Miniflare(options('ours', port));
  try {
    await mf.ready;
    const db = await mf.getD1Database('DB', 'ours');
    await migrate(db);
    const limits = { connect_links_per_minute: 100000, pending_links: 100000 };
    const made = await call(port, 'POST', '/v1/admin/apps', { token: ADMIN_TOKEN, json: { name: 'Bench', allowed_redirect_urls: ['https://app.example.com/'], limits } });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const app = await db.prepare('SELECT * FROM apps WHERE id = ?1').bind(made.body.app.id).first();
    const key = await db.prepare('SELECT * FROM api_keys WHERE app_id = ?1').bind(app.id).first();
    await mf.setOptions(options('peer', port));
    const peerDb = await mf.getD1Database('DB', 'peer');
    const schema = fs.readFileSync(path.join(root, 'bench/peers/ts/schema.sql'), 'utf8');
    await peerDb.batch(statements(schema).map((s) => peerDb.prepare(s)));
    await copyAppToPeer(peerDb, app, key);
    return made.body.api_key;
  } finally {
    await mf.dispose();
  }
}

/** One fresh start of `worker`: { start, first } in ms, its first answer checked. */
async function freshStart(worker, apiKey) {
  const port = await freePort();
  const t0 = performance.now();
  const mf = new Miniflare(options(worker, port));
  try {
    await mf.ready;
    const t1 = performance.now();
    const r = await call(port, 'POST', '/v1/connect-links', { token: apiKey, json: BODY });
    const t2 = performance.now();
    assert.equal(r.status, 201, `${worker}: ${JSON.stringify(r.body)}`);
    // The no-op answers `{}`; ours and the peer a link.
    if (worker !== 'noop') {
      assert.match(r.body.id, /^cl_[0-9a-f]{32}$/, `${worker}: a link`);
      assert.equal(new URL(r.body.authorize_url).origin, 'https://x.com', worker);
    }
    return { start: t1 - t0, first: t2 - t1 };
  } finally {
    await mf.dispose();
  }
}

try {
  const apiKey = await prepare();
  const WORKERS = ['ours', 'peer', 'noop'];
  const runs = { ours: [], peer: [], noop: [] };
  // Alternating, so a busy moment of the machine falls on all three alike.
  for (let i = 0; i < STARTS; i++) for (const w of WORKERS) runs[w].push(await freshStart(w, apiKey));
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const m = Object.fromEntries(WORKERS.map((w) => [w, {
    start: median(runs[w].map((r) => r.start)), first: median(runs[w].map((r) => r.first)), total: median(runs[w].map((r) => r.start + r.first)),
  }]));
  const names = { ours: 'ours', peer: 'ts peer', noop: 'no-op' };
  const ms = (n) => `${n.toFixed(0).padStart(5)} ms`;
  console.log(`start-up bench: a fresh Miniflare per start, each worker alone, ${STARTS} alternating starts (medians)`);
  for (const w of WORKERS) {
    console.log(`  ${names[w].padEnd(8)} start ${ms(m[w].start)}   first create-link ${ms(m[w].first)}   total ${ms(m[w].total)}   (totals ${runs[w].map((r) => (r.start + r.first).toFixed(0)).join('/')})`);
  }
  const ratio = m.ours.total / m.peer.total;
  console.log(`  ratio    ours/peer total ${ratio.toFixed(2)}x   (target <= ${TARGET.toFixed(1)}x: ${ratio <= TARGET ? 'met' : 'NOT met'}); first answer alone ${(m.ours.first / m.peer.first).toFixed(2)}x`);
} finally {
  fs.rmSync(persist, { recursive: true, force: true });
}
