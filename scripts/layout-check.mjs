#!/usr/bin/env node
// The house rules of the source tree, checked from the code itself (docs/architecture.md):
//  1. no import circle among the files of src/ or core/src: a file's edges are the crate
//     paths it names (`use crate::a::b`, `super::x`, inline `crate::a::f()`), each resolved
//     to the file that holds the module; `mod x;` lines are not edges (a folder's mod.rs
//     declaring its files is not a dependency), test files are left out;
//  2. the flows (src/api, src/browser, src/connect, src/inbound, src/jobs) never name one
//     another: what two flows share lives in the domain layer below them; and no file of
//     src/ names a file of a layer above its own (entry, flows, domain, storage, plumbing);
//  3. no source file over 600 lines, test files aside (tests.rs, a tests/ folder);
//  4. every folder's module file (its mod.rs, or the `<name>.rs` beside a `<name>/` folder)
//     opens with a `//!` comment saying what it holds.
// Exits 1 and names each breach. `--graph` prints every edge too.
//   node scripts/layout-check.mjs [--graph]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MAX_LINES = 600;
const FLOWS = ['api', 'browser', 'connect', 'console', 'inbound', 'jobs'];
// src/'s layers, top down (docs/architecture.md): a file may name files of its own layer or
// of a layer below, never above. The first entry whose prefix matches a path gives its layer.
const LAYERS = [
  ['entry', ['src/lib.rs', 'src/routes.rs', 'src/routes/']],
  ['flow', FLOWS.map((f) => `src/${f}/`)],
  ['domain', ['src/grants/', 'src/links/', 'src/events/', 'src/platform_events/', 'src/accounts.rs', 'src/credentials.rs', 'src/instances.rs', 'src/keys.rs', 'src/sealed_secrets.rs', 'src/tenant.rs']],
  ['storage', ['src/store/']],
  ['plumbing', ['src/assets.rs', 'src/body.rs', 'src/pages.rs', 'src/ctx.rs', 'src/error.rs', 'src/fetch.rs', 'src/isolate.rs', 'src/limiter.rs', 'src/limiter/', 'src/log.rs', 'src/respond.rs']],
];
const layerOf = (rel) => LAYERS.findIndex(([, prefixes]) => prefixes.some((p) => rel === p || (p.endsWith('/') && rel.startsWith(p))));
const problems = [];

const isTest = (rel) => /(^|\/)tests(\.rs|\/)/.test(rel);

function files(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.rs')) out.push(path.relative(root, p));
    }
  };
  walk(path.join(root, dir));
  return out.sort();
}

/**
 * Code without comments and literals (so a path in a doc comment or a string is no edge), in
 * one pass: whichever of a comment, a string, a raw string or a char literal starts first is
 * skipped whole (a `//` inside a string is no comment). Lifetimes (`'a`) are left alone.
 */
function code(text) {
  let out = '';
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    const next = text[i + 1];
    if (c === '/' && next === '/') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && next === '*') {
      // Rust block comments nest.
      let depth = 0;
      do {
        if (text[i] === '/' && text[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (text[i] === '*' && text[i + 1] === '/') {
          depth--;
          i += 2;
        } else i++;
      } while (i < n && depth > 0);
      out += ' ';
      continue;
    }
    const raw = /^b?r(#*)"/.exec(text.slice(i, i + 40));
    if (raw && !/\w/.test(text[i - 1] ?? '')) {
      const end = text.indexOf(`"${raw[1]}`, i + raw[0].length);
      i = end < 0 ? n : end + 1 + raw[1].length;
      out += '""';
      continue;
    }
    if (c === '"') {
      i++;
      while (i < n && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i++;
      out += '""';
      continue;
    }
    if (c === "'") {
      const ch = /^'(?:[^'\\\n]|\\[^\n]{1,10}?)'/.exec(text.slice(i, i + 14));
      if (ch) {
        i += ch[0].length;
        out += "' '";
        continue;
      }
    }
    out += c;
    i++;
  }
  return out;
}

/** Expands one `use` tree (`a::{b, c::{d, e}}`) into its paths. */
function expand(tree) {
  tree = tree.replace(/\s+/g, '');
  const open = tree.indexOf('{');
  if (open < 0) return [tree.replace(/::self$/, '').replace(/\bas\w+$/, '')];
  const prefix = tree.slice(0, open);
  const inner = tree.slice(open + 1, tree.lastIndexOf('}'));
  const parts = [];
  let depth = 0;
  let cur = '';
  for (const ch of inner) {
    if (ch === '{') depth++;
    if (ch === '}') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur) parts.push(cur);
  return parts.flatMap((p) => (p === 'self' ? [prefix.replace(/::$/, '')] : expand(prefix + p)));
}

/** The module path (segments from the crate root) a file holds. */
function modulePath(crateDir, rel) {
  const segs = path.relative(crateDir, rel).replace(/\.rs$/, '').split('/');
  if (segs.at(-1) === 'mod' || segs.at(-1) === 'lib') segs.pop();
  return segs;
}

/** The file holding the longest module prefix of `segs`. */
function resolve(crateDir, segs) {
  for (let n = segs.length; n >= 0; n--) {
    const base = path.join(crateDir, ...segs.slice(0, n));
    if (n === 0) return path.join(crateDir, 'lib.rs');
    for (const f of [`${base}.rs`, path.join(base, 'mod.rs')]) if (fs.existsSync(path.join(root, f))) return f;
  }
  return null;
}

/** Whether the module `here` has a child module file named `name`. */
function childModule(crateDir, here, name) {
  if (!/^\w+$/.test(name)) return false;
  const base = path.join(crateDir, ...here, name);
  return fs.existsSync(path.join(root, `${base}.rs`)) || fs.existsSync(path.join(root, base, 'mod.rs'));
}

function edgesOf(crateDir, rel, source) {
  // An inline test module (`#[cfg(test)] mod tests { use super::*; ... }`) is test code, and
  // its `super` is this file's own module: what follows it is no edge.
  const text = code(source).split(/#\[cfg\(test\)\]\s*mod\s+\w+\s*\{/)[0];
  const here = modulePath(crateDir, rel);
  const paths = [];
  for (const m of text.matchAll(/\buse\s+([^;]+);/g)) paths.push(...expand(m[1]));
  for (const m of text.matchAll(/(?<![\w:])((?:crate|super|self)(?:::\w+)+)/g)) paths.push(m[1]);
  const out = new Set();
  for (const p of paths) {
    let segs = p.split('::').filter(Boolean);
    // `super` in a file is its module's parent; in a mod.rs/lib.rs, too (the module is the folder).
    if (segs[0] === 'crate') segs = segs.slice(1);
    else if (segs[0] === 'super' || segs[0] === 'self') {
      let base = [...here];
      while (segs[0] === 'super' || segs[0] === 'self') {
        if (segs[0] === 'super') base = base.slice(0, -1);
        segs = segs.slice(1);
      }
      segs = [...base, ...segs];
    } else if (childModule(crateDir, here, segs[0])) {
      // A path that starts with a child module's name (`use fair::Tenant;`) is `self::fair`.
      segs = [...here, ...segs];
    } else continue; // another crate, or a name in scope
    const target = resolve(crateDir, segs);
    if (target && target !== rel && !isTest(target)) out.add(target);
  }
  return out;
}

/** Strongly connected components with more than one file (Tarjan). */
function circles(graph) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const found = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) found.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

const showGraph = process.argv.includes('--graph');
for (const crateDir of ['src', 'core/src']) {
  const graph = new Map();
  for (const rel of files(crateDir)) {
    const text = fs.readFileSync(path.join(root, rel), 'utf8');
    const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    if (!isTest(rel) && lines > MAX_LINES) problems.push(`${rel}: ${lines} lines (at most ${MAX_LINES} outside tests)`);
    // A folder's module file: its mod.rs, or the `<name>.rs` beside a `<name>/` folder.
    const folderModule = rel.endsWith('/mod.rs') || fs.existsSync(path.join(root, rel.replace(/\.rs$/, '')));
    if (folderModule && !text.startsWith('//!')) problems.push(`${rel}: a folder's module file does not open with a //! comment`);
    if (isTest(rel)) continue;
    graph.set(rel, edgesOf(crateDir, rel, text));
  }
  for (const [from, tos] of graph) {
    if (showGraph) for (const to of tos) console.log(`${from} -> ${to}`);
    if (crateDir === 'src') {
      const here = layerOf(from);
      if (here < 0) problems.push(`${from}: in no layer (add it to LAYERS in scripts/layout-check.mjs and to docs/architecture.md)`);
      for (const to of tos) {
        const there = layerOf(to);
        if (here >= 0 && there >= 0 && there < here) problems.push(`${LAYERS[here][0]} calls ${LAYERS[there][0]} (up): ${from} -> ${to}`);
      }
    }
    const flow = crateDir === 'src' && FLOWS.find((f) => from.startsWith(`src/${f}/`));
    if (!flow) continue;
    for (const to of tos) {
      const other = FLOWS.find((f) => to.startsWith(`src/${f}/`));
      if (other && other !== flow) problems.push(`flow calls flow: ${from} -> ${to}`);
    }
  }
  for (const c of circles(graph)) problems.push(`import circle: ${c.join(', ')}`);
}

if (problems.length) {
  console.error(`layout-check: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join('\n')}`);
  process.exit(1);
}
console.log('layout-check: no import circle, no flow calling another, no layer calling up, no file over 600 lines, every folder\'s module file opens with a //! comment');
