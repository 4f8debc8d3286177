#!/usr/bin/env node
// Fails the build when a crate the workspace patches in from vendor/ (Cargo.toml's
// [patch.crates-io]) is not the one cargo resolved. A serde bump to a version the vendored
// copy is not would make cargo warn "patch was not used" and build the registry's serde_core,
// silently dropping the patch (and about 8.5 KB gzip of wasm with it, docs/performance.md).
// Also holds the vendored crate's own dependencies to exact versions (`=x.y.z`), so the
// patched code always builds against what its test ran with. The upgrade step is in
// docs/developing.md ("Patched crates").
// Usage: node scripts/patched-crates.mjs [metadata.json] (default: `cargo metadata` now).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The vendored crates: name -> folder under the workspace. */
export const PATCHED = { serde_core: 'vendor/serde_core' };

/** What is wrong with `metadata` (cargo metadata --format-version 1): one line each. */
export function problems(metadata, workspace = root) {
  const out = [];
  for (const [name, dir] of Object.entries(PATCHED)) {
    const found = metadata.packages.filter((p) => p.name === name);
    if (found.length === 0) out.push(`${name}: not in the crate graph (drop its patch and ${dir}?)`);
    for (const p of found) {
      const vendored = path.join(workspace, dir, 'Cargo.toml');
      if (p.source !== null || path.resolve(p.manifest_path) !== vendored) {
        out.push(`${name} ${p.version} resolves to ${p.source ?? p.manifest_path}, not ${dir}: the patch is not used ` +
          `(a dependency asks for another version; copy that version into ${dir} as docs/developing.md says)`);
        continue;
      }
      for (const d of p.dependencies.filter((d) => d.kind === null)) {
        if (!/^=\d+\.\d+\.\d+$/.test(d.req)) out.push(`${dir}/Cargo.toml: ${d.name} "${d.req}" must be pinned exactly (=x.y.z)`);
      }
    }
  }
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const given = process.argv[2];
  const text = given
    ? fs.readFileSync(given, 'utf8')
    : execFileSync('cargo', ['metadata', '--format-version', '1'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  const found = problems(JSON.parse(text));
  if (found.length) {
    console.error(`patched-crates: ${found.join('\npatched-crates: ')}`);
    process.exit(1);
  }
}
