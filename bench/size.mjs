// The size of what `wrangler deploy` would upload: a dry run into a temporary folder, each
// file raw and gzip -9 (the compressed size is what Cloudflare's script size limits count),
// the wasm against its budget and against the last release's (bench/last-release.json;
// `node bench/size.mjs --record` writes this build's figures there when a release is cut).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'connect-links-bundle-'));
const env = { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };
const r = spawnSync(path.join(root, 'node_modules/.bin/wrangler'), ['deploy', '--dry-run', '--outdir', outdir], { cwd: root, env, encoding: 'utf8' });
if (r.status !== 0) {
  process.stderr.write(r.stderr);
  process.exit(1);
}
const files = [];
const walk = (dir) => {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (!/\.(map|json|md)$/.test(e.name)) files.push(p);
  }
};
walk(outdir);
let raw = 0;
let gz = 0;
console.log('\n## Bundle (wrangler deploy --dry-run)\n\n| file | bytes | gzip -9 |\n|---|---|---|');
for (const f of files.sort()) {
  const data = fs.readFileSync(f);
  const z = zlib.gzipSync(data, { level: 9 }).length;
  raw += data.length;
  gz += z;
  console.log(`| ${path.relative(outdir, f)} | ${data.length.toLocaleString('en')} | ${z.toLocaleString('en')} |`);
}
console.log(`| total | ${raw.toLocaleString('en')} | ${gz.toLocaleString('en')} |`);

// The size budget: the wasm at most 512 KB gzip (start-up, not the platform's limit, is what
// size costs), and, when bench/peers/noop/build/index_bg.wasm has been built, the ratio to a
// workers-rs no-op.
const BUDGET_KB = 512;
const wasm = files.find((f) => f.endsWith('.wasm'));
if (wasm) {
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
  const wasmGz = zlib.gzipSync(fs.readFileSync(wasm), { level: 9 }).length;
  const over = wasmGz - BUDGET_KB * 1024;
  console.log(`\nbudget: wasm <= ${BUDGET_KB} KB gzip: ${kb(wasmGz)} gzip, ${over <= 0 ? `within it (${kb(-over)} left)` : `OVER it by ${kb(over)}`}`);
  const wasmBytes = fs.statSync(wasm).size;
  const lastFile = path.join(root, 'bench/last-release.json');
  const signed = (n) => `${n >= 0 ? '+' : '-'}${Math.abs(n).toLocaleString('en')}`;
  if (process.argv.includes('--record')) {
    const ref = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim();
    const record = { ref, what: 'the release cut at this commit', wasm_bytes: wasmBytes, wasm_gzip: wasmGz };
    fs.writeFileSync(lastFile, `${JSON.stringify(record, null, 2)}\n`);
    console.log(`recorded as the last release: ${ref}, ${wasmBytes.toLocaleString('en')} bytes, ${wasmGz.toLocaleString('en')} gzip (bench/last-release.json)`);
  } else if (fs.existsSync(lastFile)) {
    const last = JSON.parse(fs.readFileSync(lastFile, 'utf8'));
    console.log(
      `delta to the last release (${last.ref}, ${last.what}): ${signed(wasmGz - last.wasm_gzip)} bytes gzip, ` +
        `${signed(wasmBytes - last.wasm_bytes)} bytes raw`,
    );
  }
  const noop = path.join(root, 'bench/peers/noop/build/index_bg.wasm');
  if (fs.existsSync(noop)) {
    const data = fs.readFileSync(noop);
    const noopGz = zlib.gzipSync(data, { level: 9 }).length;
    const wasmRaw = fs.statSync(wasm).size;
    console.log(
      `no-op (bench/peers/noop): ${kb(data.length)} raw, ${kb(noopGz)} gzip; this worker is ` +
        `${(wasmRaw / data.length).toFixed(1)}x raw, ${(wasmGz / noopGz).toFixed(1)}x gzip`,
    );
  }
}
fs.rmSync(outdir, { recursive: true, force: true });
