// The check `make build` starts with (scripts/patched-crates.mjs): the vendored serde_core
// is the one cargo resolves, with its dependencies pinned exactly; a serde bump that would
// silently build the registry's copy instead fails the build, naming what to do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { problems } from '../../scripts/patched-crates.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const metadata = JSON.parse(execFileSync('cargo', ['metadata', '--format-version', '1', '--offline'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 }));

test('the workspace as it is: serde_core is the vendored one and zmij is pinned', () => {
  assert.deepEqual(problems(metadata), []);
  const core = metadata.packages.find((p) => p.name === 'serde_core');
  assert.equal(core.dependencies.find((d) => d.name === 'zmij').req, '=1.0.23');
});

test("a serde_core from the registry (the patch unused) or an unpinned dependency fails, saying what to do", () => {
  const swap = (fn) => ({ ...metadata, packages: metadata.packages.map((p) => (p.name === 'serde_core' ? fn(structuredClone(p)) : p)) });
  const registry = swap((p) => ({
    ...p, version: '1.0.230', source: 'registry+https://github.com/rust-lang/crates.io-index',
    manifest_path: '/home/u/.cargo/registry/src/index.crates.io-x/serde_core-1.0.230/Cargo.toml',
  }));
  const [unused] = problems(registry);
  assert.match(unused, /^serde_core 1\.0\.230 resolves to registry\+.*, not vendor\/serde_core: the patch is not used/);
  const loose = swap((p) => {
    p.dependencies.find((d) => d.name === 'zmij').req = '^1';
    return p;
  });
  assert.deepEqual(problems(loose), ['vendor/serde_core/Cargo.toml: zmij "^1" must be pinned exactly (=x.y.z)']);
  const gone = { ...metadata, packages: metadata.packages.filter((p) => p.name !== 'serde_core') };
  assert.match(problems(gone)[0], /^serde_core: not in the crate graph/);
});
