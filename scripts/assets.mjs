#!/usr/bin/env node
// Copies the static files of assets/ (the hosted pages' stylesheet, message catalogs, icons)
// into build/assets/, which the worker reads through its ASSETS binding (wrangler.toml
// [assets]) and serves at GET /assets/<path> (src/assets.rs): not compiled into the wasm.
// `make build` runs it after every build, built or skipped (no build stamp covers assets/).
// A catalog that is not a flat JSON object of strings fails here, not at run time. Files of
// build/assets/ that no longer exist in assets/ are removed (openapi.json is not ours).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'assets');
const out = path.join(root, 'build/assets');
const KEEP = new Set(['openapi.json']);

function walk(dir) {
  const files = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) files.push(...walk(p));
    else if (e.isFile()) files.push(p);
  }
  return files;
}

const copied = new Set();
for (const file of walk(src)) {
  const rel = path.relative(src, file);
  const text = fs.readFileSync(file);
  if (rel.startsWith(`i18n${path.sep}`)) {
    const cat = JSON.parse(text.toString('utf8'));
    const flat = cat && typeof cat === 'object' && !Array.isArray(cat) && Object.values(cat).every((v) => typeof v === 'string');
    if (!flat) throw new Error(`${rel}: a catalog is a flat JSON object of strings`);
  }
  const dest = path.join(out, rel);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  if (!fs.existsSync(dest) || !fs.readFileSync(dest).equals(text)) {
    fs.writeFileSync(`${dest}.tmp`, text);
    fs.renameSync(`${dest}.tmp`, dest);
  }
  copied.add(rel);
}
if (fs.existsSync(out)) {
  for (const file of walk(out)) {
    const rel = path.relative(out, file);
    if (!copied.has(rel) && !KEEP.has(rel)) fs.rmSync(file);
  }
}
