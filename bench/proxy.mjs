#!/usr/bin/env node
// `make bench`: the proxy's overhead (issue 11). The same mock platform API answers both
// ways: called directly over HTTP, and through `GET /v1/profiles/{id}/proxy/...` on the
// built worker in workerd (API-key check, profile and token read, the rate-limit Durable
// Object, the platform call, the counters), and through the TypeScript peer's proxy
// (bench/peers/ts/worker.ts: key, profile row, token opened, the call; issue 26's target is at
// least 1.2x its requests/s at no worse a p99). Closed-loop load, alternating rounds, medians.
// Not a test: it prints numbers and asserts nothing about speed.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';
import { startWorker, freePort, statements } from '../tests/e2e/harness.mjs';
import { PlatformMocks, credentialVars } from '../tests/e2e/platform-mocks.mjs';
import { bundlePeer, compatibilityDate, copyAppToPeer } from './shared.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 10);
const SECONDS = Number(process.env.BENCH_SECONDS || 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);

const mocks = new PlatformMocks();
// The platform endpoint both ways: a small JSON answer, as a timeline read would get.
const BODY = JSON.stringify({ data: [{ id: '1', text: 'hello' }], meta: { result_count: 1 } });
const api = () => new Response(BODY, { status: 200, headers: { 'content-type': 'application/json' } });
mocks.api = async (request, url) => (url.pathname === '/2/tweets/search/recent' ? api() : undefined);

// Through bench/counting-entry.mjs, which counts the D1 statements the worker runs.
const w = await startWorker({ vars: credentialVars(['x']), outbound: (req) => mocks.answer(req), captureLogs: true, entry: 'bench/counting-entry.mjs' });
// The app's proxy rate raised to its maximum: the bench measures calls made, not 429s.
const made = await w.admin('POST', '/v1/admin/apps', { name: 'Bench', allowed_redirect_urls: ['https://app.example.com/done'], limits: { proxy_per_minute: 1000000 } });
const app = made.body;
const { q } = await w.connectWithMock(mocks, app.api_key, 'x', { user: 'bench', redirect: 'https://app.example.com/done' });
const profile = q.profile_id;

// The TypeScript peer, in a Miniflare of its own with the same platform mock, holding our
// app, key, profile and grant (its sealed token as ours stores it, under the same keyring).
const peerPort = await freePort();
const peer = new Miniflare({
  host: '127.0.0.1',
  port: peerPort,
  modules: [{ type: 'ESModule', path: 'worker.js', contents: await bundlePeer() }],
  compatibilityDate,
  d1Databases: { DB: 'peer-db' },
  kvNamespaces: { OAUTH_STATE: 'peer-kv' },
  bindings: { PUBLIC_URL: `http://127.0.0.1:${peerPort}`, TOKEN_KEYS: w.bindings.TOKEN_KEYS },
  outboundService: (req) => mocks.answer(req),
});
await peer.ready;
const peerDb = await peer.getD1Database('DB');
const schema = fs.readFileSync(path.join(root, 'bench/peers/ts/schema.sql'), 'utf8');
await peerDb.batch(statements(schema).map((s) => peerDb.prepare(s)));
const appRow = await w.row('SELECT * FROM apps WHERE id = ?', app.app.id);
const keyRow = await w.row('SELECT * FROM api_keys WHERE app_id = ?', app.app.id);
await copyAppToPeer(peerDb, appRow, keyRow);
const p0 = await w.row('SELECT * FROM profiles WHERE id = ?', profile);
const g0 = await w.row('SELECT * FROM grants WHERE id = ?', p0.grant_id);
await peerDb.batch([
  peerDb.prepare('INSERT INTO grants (id, app_id, platform, platform_user_id, access_token_enc, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6)')
    .bind(g0.id, g0.app_id, g0.platform, g0.platform_user_id, g0.access_token_enc, g0.status),
  peerDb.prepare('INSERT INTO profiles (id, app_id, grant_id, platform, status, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)')
    .bind(p0.id, p0.app_id, p0.grant_id, p0.platform, p0.status, p0.created_at),
]);

// The same mock over plain HTTP, for the direct calls.
const directPort = await freePort();
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) });
  res.end(BODY);
});
await new Promise((r) => server.listen(directPort, '127.0.0.1', r));

const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
function get(port, path, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end();
  });
}

/** `CONNECTIONS` loops calling `one()` for `SECONDS`; returns requests/s, p50, p99 (ms), errors. */
async function round(one) {
  const latencies = [];
  let errors = 0;
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
    while (performance.now() < end) {
      const t = performance.now();
      const status = await one().catch(() => 0);
      if (status !== 200) errors += 1;
      latencies.push(performance.now() - t);
    }
  }));
  latencies.sort((a, b) => a - b);
  const at = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))];
  return { rps: latencies.length / SECONDS, p50: at(0.5), p99: at(0.99), errors };
}

const direct = () => get(directPort, '/2/tweets/search/recent?query=a', {});
const base = new URL(w.base);
const proxied = () => get(Number(base.port), `/v1/profiles/${profile}/proxy/2/tweets/search/recent?query=a`, { authorization: `Bearer ${app.api_key}` });

// For scale: an API route of the same worker that makes no platform call (the API key and
// one D1 read), so the proxy's cost can be told apart from the local runtime's.
const read = () => get(Number(base.port), `/v1/profiles/${profile}`, { authorization: `Bearer ${app.api_key}` });
const peerProxied = () => get(peerPort, `/v1/profiles/${profile}/proxy/2/tweets/search/recent?query=a`, { authorization: `Bearer ${app.api_key}` });

// Both answer the same call the same way before anything is timed.
for (const [name, one] of [['ours', proxied], ['peer', peerProxied]]) {
  const status = await one();
  if (status !== 200) throw new Error(`the ${name} proxy answered ${status}`);
}

// Warm-up, then alternating rounds.
await round(direct);
await round(proxied);
await round(peerProxied);
const results = { direct: [], proxy: [], read: [], peer: [] };
for (let i = 0; i < ROUNDS; i++) {
  results.direct.push(await round(direct));
  results.proxy.push(await round(proxied));
  results.read.push(await round(read));
  results.peer.push(await round(peerProxied));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const summary = (rs) => ({ rps: median(rs.map((r) => r.rps)), p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)), errors: rs.reduce((n, r) => n + r.errors, 0) });
const d = summary(results.direct);
const p = summary(results.proxy);
const line = (name, s) => `  ${name.padEnd(8)} ${s.rps.toFixed(0).padStart(6)} req/s   p50 ${s.p50.toFixed(2).padStart(6)} ms   p99 ${s.p99.toFixed(2).padStart(6)} ms   errors ${s.errors}`;
console.log(`proxy bench: GET through the proxy vs the same mock called directly, ${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${SECONDS} s (medians)`);
console.log(line('direct', d));
console.log(line('proxy', p));
console.log(line('api read', summary(results.read)) + '   (GET /v1/profiles/{id}: no platform call, for scale)');
console.log(`  ratio    proxy/direct: ${(p.rps / d.rps).toFixed(2)}x requests/s, ${(p.p50 / d.p50).toFixed(1)}x p50, ${(p.p99 / d.p99).toFixed(1)}x p99; added p50 ${(p.p50 - d.p50).toFixed(2)} ms`);
const r = summary(results.read);
const t = summary(results.peer);
console.log(line('ts peer', t) + '   (bench/peers/ts/worker.ts: key, profile row, token opened, the call)');
console.log(`  ratio    proxy/api read: ${(p.rps / r.rps).toFixed(2)}x requests/s (issue 26's target: at least 1.0x)`);
console.log(`  ratio    proxy/ts peer: ${(p.rps / t.rps).toFixed(2)}x requests/s, p99 ${(p.p99 / t.p99).toFixed(2)}x (issue 26's targets: at least 1.2x, at most 1.0x)`);

// D1 statements per proxied call: 200 calls, 10 at a time, then the isolate's counter write
// (about a second after the answers), counted by the entry.
const CALLS = 200;
await fetch(`${w.base}/__bench/reset`);
for (let i = 0; i < CALLS; i += 10) await Promise.all(Array.from({ length: 10 }, proxied));
await new Promise((res) => setTimeout(res, 2000));
const { statements: counted } = await (await fetch(`${w.base}/__bench/counts`)).json();
console.log(`  D1 statements / proxied call: ${(counted / CALLS).toFixed(2)} (${counted} for ${CALLS} calls, the profile reads and the counters' writes)`);

agent.destroy();
server.close();
await peer.dispose();
await w.stop();
