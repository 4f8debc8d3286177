#!/usr/bin/env node
// `make bench`: refresh throughput of one scheduled run over N due profiles (each one grant
// with one profile under it) against the local X mock, D1 statements and subrequests per
// refresh, and the query plan of the due-grant selection. Not a test: it prints numbers and
// asserts nothing about speed.
import { Miniflare } from 'miniflare';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PlatformMocks, credsFor } from '../tests/e2e/platform-mocks.mjs';
import { freePort } from '../tests/e2e/harness.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.env.BENCH_PROFILES || 1000);
const mocks = new PlatformMocks();
const key = crypto.randomBytes(32);
const port = await freePort();

const mf = new Miniflare({
  host: '127.0.0.1',
  port,
  modules: true,
  modulesRoot: root,
  scriptPath: path.join(root, 'bench/counting-entry.mjs'),
  modulesRules: [
    { type: 'ESModule', include: ['**/*.js', '**/*.mjs'] },
    { type: 'CompiledWasm', include: ['**/*.wasm'], fallthrough: true },
  ],
  compatibilityDate: '2026-04-20',
  d1Databases: { DB: 'bench-db' },
  kvNamespaces: { OAUTH_STATE: 'bench-kv' },
  bindings: {
    PUBLIC_URL: `http://127.0.0.1:${port}`, SANDBOX: 'off', ADMIN_TOKEN: 'bench-admin', TOKEN_KEYS: `k1:${key.toString('base64')}`,
    X_CLIENT_ID: credsFor('x').id, X_CLIENT_SECRET: credsFor('x').secret, REFRESH_BATCH_SIZE: String(N),
    FACEBOOK_CLIENT_ID: credsFor('facebook').id, FACEBOOK_CLIENT_SECRET: credsFor('facebook').secret,
  },
  // Keep-alive here (the tests close each connection against an idle-close race that a
  // busy bench never waits long enough to meet): the numbers are the worker's, not TCP setup's.
  outboundService: (req) => mocks.answer(req),
  // The worker logs one line per platform call; a thousand of them would bury the numbers.
  handleRuntimeStdio(stdout, stderr) {
    stdout.resume();
    stderr.pipe(process.stderr);
  },
});
await mf.ready;
const db = await mf.getD1Database('DB');
for (const file of fs.readdirSync(path.join(root, 'migrations')).sort()) {
  const sql = fs.readFileSync(path.join(root, 'migrations', file), 'utf8').split('\n').map((l) => l.replace(/--.*$/, '')).join('\n');
  await db.batch(sql.split(';').map((s) => s.trim()).filter(Boolean).map((s) => db.prepare(s)));
}

const seal = (plain, id, field) => {
  const nonce = crypto.randomBytes(12);
  const c = crypto.createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(Buffer.from(`${id}:${field}`));
  const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return `v1.k1.${Buffer.concat([nonce, ct, c.getAuthTag()]).toString('base64url')}`;
};

// Seed: one app, N X profiles due now (plus as many not due, so the index has work to do):
// each a grant holding the tokens and refresh state, and a profile under it with the same id
// (as rows migrated from before 0005), so the envelopes are sealed for that id.
const now = Math.floor(Date.now() / 1000);
await db.prepare("INSERT INTO apps (id, name, allowed_redirect_urls, webhook_secret_enc, created_at, updated_at) VALUES ('app_bench', 'Bench', '[]', 'v1.k1.x', ?1, ?1)").bind(now).run();
const rows = [];
for (let i = 0; i < 2 * N; i++) {
  const id = `prf_bench${String(i).padStart(6, '0')}`;
  const grant = { platform: 'x', user: `b${i}`, scopes: ['tweet.read', 'offline.access'] };
  const at = mocks.issue(grant, 'xat_');
  const rt = mocks.issue(grant, 'xrt_', 'refresh');
  rows.push(db.prepare(
    `INSERT INTO grants (id, app_id, platform, platform_user_id, status, scopes, access_token_enc, refresh_token_enc, token_kid,
       access_token_expires_at, token_issued_at, next_refresh_at, created_at, updated_at)
     VALUES (?1, 'app_bench', 'x', ?2, 'active', '[]', ?3, ?4, 'k1', ?5, ?6, ?7, ?6, ?6)`,
  ).bind(id, `u${i}`, seal(at, id, 'access_token'), seal(rt, id, 'refresh_token'), now + 600, now - 6600, i < N ? now - 60 : now + 3600));
  rows.push(db.prepare(
    `INSERT INTO profiles (id, app_id, grant_id, platform, platform_user_id, status, scopes, access_token_expires_at, created_at, updated_at)
     VALUES (?1, 'app_bench', ?1, 'x', ?2, 'active', '[]', ?3, ?4, ?4)`,
  ).bind(id, `u${i}`, now + 600, now - 6600));
}
for (let i = 0; i < rows.length; i += 200) await db.batch(rows.slice(i, i + 200));

const plan = await db.prepare("EXPLAIN QUERY PLAN SELECT id FROM grants WHERE status = 'active' AND next_refresh_at <= ?1 AND (refresh_lease_until IS NULL OR refresh_lease_until < ?1) ORDER BY next_refresh_at LIMIT ?2").bind(now, N).all();

// The console's history (issue 28): its growth, rows and bytes, measured around each run.
// Bytes are the sum of the row's stored values (integers as 8 bytes, text by length) plus
// the keys its indexes hold (migration 0025: at; app_id+id; profile_id+id when set;
// grant_id+id when set; kind+at), before SQLite's per-record and per-page overhead (a few
// bytes a record, pages up to 4 KiB filled as they come).
const HISTORY_BYTES = `SELECT COUNT(*) AS n, COALESCE(SUM(
  8 + 8 + length(app_id) + length(platform) + COALESCE(length(profile_id), 0) + COALESCE(length(grant_id), 0)
  + length(kind) + length(outcome) + (CASE WHEN status IS NULL THEN 0 ELSE 8 END) + COALESCE(length(code), 0) + COALESCE(length(detail), 0)
  + 8 + 8 + (length(app_id) + 8) + (CASE WHEN profile_id IS NULL THEN 0 ELSE length(profile_id) + 8 END)
  + (CASE WHEN grant_id IS NULL THEN 0 ELSE length(grant_id) + 8 END) + (length(kind) + 8)), 0) AS bytes FROM activity`;
const history = async () => db.prepare(HISTORY_BYTES).first();
const historyBefore = await history();

await fetch(`http://127.0.0.1:${port}/__bench/reset`);
const callsBefore = mocks.calls.length;
const worker = await mf.getWorker();
const t0 = performance.now();
await worker.scheduled({ cron: '*/5 * * * *' });
const seconds = (performance.now() - t0) / 1000;
const refreshed = mocks.calls.slice(callsBefore).filter((c) => c.endpoint === 'refresh').length;
const subrequests = mocks.calls.length - callsBefore;
const { statements } = await (await fetch(`http://127.0.0.1:${port}/__bench/counts`)).json();
const stillDue = (await db.prepare('SELECT COUNT(*) AS n FROM grants WHERE next_refresh_at <= ?1').bind(now).first()).n;

console.log(`connect-links refresh bench: ${N} due profiles (of ${2 * N}), one scheduled run, local X mock`);
console.log(`  refreshed:                ${refreshed} in ${seconds.toFixed(2)} s, ${stillDue} still due`);
console.log(`  refreshes per second:     ${(refreshed / seconds).toFixed(0)}`);
console.log(`  D1 statements / refresh:  ${(statements / Math.max(refreshed, 1)).toFixed(2)} (${statements} in the run, including the job's own selection and housekeeping)`);
console.log(`  subrequests / refresh:    ${(subrequests / Math.max(refreshed, 1)).toFixed(2)} (${subrequests} fetches)`);
const historyAfter = await history();
const perRefresh = (x) => (x / Math.max(refreshed, 1)).toFixed(2);
console.log(`  history rows / refresh:   ${perRefresh(historyAfter.n - historyBefore.n)} (${historyAfter.n - historyBefore.n} activity rows in the run)`);
console.log(`  history bytes / refresh:  ${perRefresh(historyAfter.bytes - historyBefore.bytes)} (values and index keys, before SQLite's record and page overhead)`);
console.log('  due-grant selection plan:');
for (const r of plan.results) console.log(`    ${r.detail}`);

// Liveness (issue 10): N Facebook Page profiles with their own never-expiring tokens, ten
// Pages per login grant, all due for their check; cron runs until none is due.
const pages = [];
for (let g = 0; g < N / 10; g++) {
  const gid = `grn_live${String(g).padStart(5, '0')}`;
  const user = { platform: 'facebook', user: `live${g}`, scopes: ['pages_show_list'] };
  pages.push(db.prepare(
    `INSERT INTO grants (id, app_id, platform, platform_user_id, status, scopes, access_token_enc, token_kid,
       access_token_expires_at, token_issued_at, next_refresh_at, created_at, updated_at)
     VALUES (?1, 'app_bench', 'facebook', ?2, 'active', '[]', ?3, 'k1', ?4, ?5, ?4, ?5, ?5)`,
  ).bind(gid, `10live${g}`, seal(mocks.issue(user, 'EAAlong_'), gid, 'access_token'), now + 50 * 86400, now));
  for (let k = 0; k < 10; k++) {
    const pid = `prf_live${String(g * 10 + k).padStart(6, '0')}`;
    const token = mocks.issue({ ...user, pageId: `9${g}${k}` }, 'EAAPage_', 'page');
    pages.push(db.prepare(
      `INSERT INTO profiles (id, app_id, grant_id, platform, account_type, platform_user_id, status, scopes, access_token_enc,
         token_kid, next_check_at, created_at, updated_at)
       VALUES (?1, 'app_bench', ?2, 'facebook', 'page', ?3, 'active', '[]', ?4, 'k1', ?5, ?6, ?6)`,
    ).bind(pid, gid, `9${g}${k}`, seal(token, pid, 'access_token'), now - 60, now));
  }
}
for (let i = 0; i < pages.length; i += 200) await db.batch(pages.slice(i, i + 200));
await fetch(`http://127.0.0.1:${port}/__bench/reset`);
const liveBefore = mocks.calls.length;
const liveHistoryBefore = await history();
const l0 = performance.now();
let runs = 0;
const dueChecks = async () => (await db.prepare("SELECT COUNT(*) AS n FROM profiles WHERE status = 'active' AND next_check_at <= ?1").bind(now).first()).n;
while ((await dueChecks()) > 0 && runs < 20) {
  await worker.scheduled({ cron: '*/5 * * * *' });
  runs += 1;
}
const liveSeconds = (performance.now() - l0) / 1000;
const checks = mocks.calls.slice(liveBefore).filter((c) => c.path === '/v25.0/me').length;
const liveCounts = await (await fetch(`http://127.0.0.1:${port}/__bench/counts`)).json();
const per1000 = (x) => ((x / Math.max(checks, 1)) * 1000).toFixed(0);
console.log(`liveness bench: ${pages.length - N / 10} Page profiles due for their check, ${runs} scheduled runs (REFRESH_BATCH_SIZE=${N} checks a run at most)`);
console.log(`  checked:                  ${checks} in ${liveSeconds.toFixed(2)} s, ${await dueChecks()} still due`);
console.log(`  per 1,000 checks:         ${per1000(checks)} subrequests, ${per1000(liveCounts.statements)} D1 statements, ${(liveSeconds / Math.max(checks, 1) * 1000).toFixed(1)} s`);
const liveHistory = await history();
console.log(`  history per check:        ${((liveHistory.n - liveHistoryBefore.n) / Math.max(checks, 1)).toFixed(2)} rows, ${((liveHistory.bytes - liveHistoryBefore.bytes) / Math.max(checks, 1)).toFixed(0)} bytes`);
await mf.dispose();
