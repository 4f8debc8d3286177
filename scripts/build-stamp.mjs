#!/usr/bin/env node
// `make build`'s up-to-date check. Prints the stamp line of a build in MODE (dev or release)
// with worker-build FLAGS: the mode, the flags and a hash of every input's path, size and
// mtime. The Makefile compares it with build/.stamp (written after a successful build) and
// skips the build when they are equal, so a release build is never skipped because of a dev
// stamp, nor a dev build because of a release one.
//   node scripts/build-stamp.mjs MODE [FLAGS...]
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const STAMP = path.join(root, 'build/.stamp');

// What the wasm is built from: both crates' sources and manifests, the patched crates in
// vendor/ (Cargo.toml's [patch.crates-io]), the lock file, any build script or cargo config, and
// the Makefile (the build recipe, the pinned wasm-bindgen and worker-build versions, the
// name-section strip); the compiler's version is hashed in too.
// core/target (a stray `cargo` run inside core/) and core/tests (host-only) are left out.
// assets/i18n/en.json is compiled in (the pages' English fallback, core/src/i18n.rs); the rest
// of assets/ is copied, not built, so it is no input. vendor/ holds the patched serde_core.
const DIRS = ['src', 'core', 'vendor'];
const SKIP = new Set(['core/target', 'core/tests', 'vendor/serde_core/target']);
const FILES = ['Makefile', 'scripts/short-imports.mjs', 'scripts/function-order.mjs', 'assets/i18n/en.json', 'Cargo.toml', 'Cargo.lock', 'build.rs', 'core/build.rs',
  '.cargo/config.toml', '.cargo/config', 'rust-toolchain.toml', 'rust-toolchain'];

function walk(rel, out) {
  for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
    const child = `${rel}/${e.name}`;
    if (SKIP.has(child)) continue;
    if (e.isDirectory()) walk(child, out);
    else if (e.isFile()) out.push(child);
  }
}

/** The sorted input files (relative paths) that exist now. */
export function inputs() {
  const out = [];
  for (const d of DIRS) if (fs.existsSync(path.join(root, d))) walk(d, out);
  for (const f of FILES) if (fs.existsSync(path.join(root, f))) out.push(f);
  return out.sort();
}

/** A hash of each input's path, size and mtime: any edit, touch, addition or removal changes it. */
export function inputsHash() {
  const h = crypto.createHash('sha256');
  const rustc = spawnSync('rustc', ['-V'], { encoding: 'utf8' });
  h.update(`rustc\0${rustc.stdout || rustc.error || ''}\n`);
  for (const f of inputs()) {
    const s = fs.statSync(path.join(root, f));
    h.update(`${f}\0${s.size}\0${s.mtimeMs}\n`);
  }
  return h.digest('hex');
}

/** The stamp line of a build in `mode` with worker-build `flags`. */
export function stampLine(mode, flags = []) {
  return `${mode} ${flags.join(' ')} inputs=${inputsHash()}`.replace(/ +/g, ' ');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [mode, ...flags] = process.argv.slice(2);
  if (mode !== 'dev' && mode !== 'release') {
    console.error('usage: build-stamp.mjs dev|release [worker-build flags...]');
    process.exit(2);
  }
  console.log(stampLine(mode, flags));
}
