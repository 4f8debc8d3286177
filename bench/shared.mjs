// What the benches that run ours beside the TypeScript peer share (bench/create-link.mjs,
// bench/first-request.mjs): the peer bundled as wrangler would, one request on a connection
// of its own, and our app and API key copied into the peer's tables.
import * as esbuild from 'esbuild';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The workers' compatibility date and the rule that loads a wasm module as compiled. */
export const compatibilityDate = '2026-04-20';
export const wasmRules = [{ type: 'CompiledWasm', include: ['**/*.wasm'], fallthrough: true }];

/** bench/peers/ts/worker.ts bundled as wrangler would (its esbuild): oauth4webapi inlined, types stripped. */
export async function bundlePeer() {
  const bundled = await esbuild.build({
    entryPoints: [path.join(root, 'bench/peers/ts/worker.ts')],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    write: false,
    logLevel: 'warning',
  });
  return bundled.outputFiles[0].text;
}

/**
 * One request to 127.0.0.1:`port` (to the worker `host` names, when given: fetch would not
 * send our Host header) on a connection of its own: workerd closes a connection whose request
 * body went unread (a 401 answered before the body), and a reused one would then fail.
 * Resolves { status, body (parsed when JSON), headers }.
 */
export function call(port, method, p, { host, token, json } = {}) {
  const body = json === undefined ? undefined : JSON.stringify(json);
  const headers = { connection: 'close' };
  if (host) headers.host = host;
  if (token) headers.authorization = `Bearer ${token}`;
  if (body) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: p, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed = text;
        try {
          parsed = JSON.parse(text);
        } catch {}
        resolve({ status: res.statusCode, body: parsed, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Our `app` and its API key row `key` (as our D1 holds them) written into the peer's tables. */
export async function copyAppToPeer(peerDb, app, key) {
  await peerDb.batch([
    peerDb.prepare('INSERT INTO apps (id, name, allowed_redirect_urls, webhook_url, webhook_secret_enc, created_at, updated_at, claim) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)')
      .bind(app.id, app.name, app.allowed_redirect_urls, app.webhook_url, app.webhook_secret_enc, app.created_at, app.updated_at, app.claim),
    peerDb.prepare('INSERT INTO api_keys (id, app_id, key_hash, created_at) VALUES (?1, ?2, ?3, ?4)').bind(key.id, app.id, key.key_hash, key.created_at),
  ]);
}
