#!/usr/bin/env node
// The docs cannot drift from the repository without a test failing (`make test-docs`):
//  1. every relative link in README.md and docs/**/*.md resolves to a file or folder of the
//     repository, and a link with a #fragment to a heading of the Markdown file it names
//     (GitHub's slugs; a folder's fragment is read in its README.md);
//  2. every path of openapi/openapi.json's `paths` is written somewhere in docs/, as the
//     document spells it (`/v1/profiles/{id}/refresh`), and each of its operations as
//     `METHOD path` (`DELETE /v1/profiles/{id}`), so no route goes undocumented;
//  3. every repository path written in backticks (an inline code span, or a word of one)
//     that starts with src/, core/, tests/, scripts/, migrations/, bench/ or openapi/ exists,
//     a folder when it ends with `/`, so the docs cannot name a file that moved. Where a
//     placeholder or glob follows (`core/src/platforms/<id>.rs`, `src/store/**`), the
//     folder before it must exist.
// Fenced code blocks are examples: neither their links nor their paths are checked.
// Exits 1 and names the file, the line and what is missing for each failure.
//   node scripts/docs-check.mjs
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PREFIXES = ['src/', 'core/', 'tests/', 'scripts/', 'migrations/', 'bench/', 'openapi/'];
// Paths under those prefixes that only a build creates, so a fresh clone lacks them. Nothing
// under src/ may be here: the docs must follow the code.
const BUILT = ['bench/peers/noop/build/'];
const problems = [];
const rel = (p) => path.relative(root, p).split(path.sep).join('/');

function markdownFiles() {
  const out = [path.join(root, 'README.md')];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.md')) out.push(p);
    }
  };
  if (fs.existsSync(path.join(root, 'docs'))) walk(path.join(root, 'docs'));
  return out.sort();
}

/** The text with fenced code blocks and HTML comments blanked (newlines kept, so offsets
 * still give line numbers). */
function prose(text) {
  const lines = text.split('\n');
  let fence = null;
  for (let i = 0; i < lines.length; i++) {
    const m = /^ {0,3}(`{3,}|~{3,})/.exec(lines[i]);
    if (fence) {
      if (m && m[1][0] === fence[0] && m[1].length >= fence.length && !/\S/.test(lines[i].slice(m[0].length))) fence = null;
      lines[i] = '';
    } else if (m) {
      fence = m[1];
      lines[i] = '';
    }
  }
  return lines.join('\n').replace(/<!--[\s\S]*?-->/g, (c) => c.replace(/[^\n]/g, ' '));
}

/** Inline code spans of the prose: [{start, end, content}] (CommonMark: a run of n
 * backticks closes at the next run of exactly n). */
function codeSpans(text) {
  const spans = [];
  const re = /`+/g;
  let m;
  while ((m = re.exec(text))) {
    const open = m[0];
    const close = new RegExp(`(?<!\`)${open}(?!\`)`, 'g');
    close.lastIndex = m.index + open.length;
    const c = close.exec(text);
    if (!c) continue;
    spans.push({ start: m.index, end: c.index + open.length, content: text.slice(m.index + open.length, c.index) });
    re.lastIndex = c.index + open.length;
  }
  return spans;
}

const lineOf = (text, offset) => text.slice(0, offset).split('\n').length;

/** GitHub's heading anchor: lower case, punctuation dropped (but `-` and `_`), each space
 * a `-`; a repeated slug gets -1, -2, ... */
function slug(heading) {
  // Code spans keep their text as written (`<ADMIN_TOKEN>` is no HTML tag); outside them,
  // a link counts by its text, and HTML tags and emphasis marks are not text.
  const plain = heading
    .split(/(`+[^`]*`+)/)
    .map((part, i) =>
      i % 2
        ? part.replace(/^`+|`+$/g, '')
        : part
            .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
            .replace(/<[^>]+>/g, '')
            .replace(/\*\*|__|\*/g, ''),
    )
    .join('')
    .trim()
    .toLowerCase();
  return plain.replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '').replace(/ /g, '-');
}

const anchorCache = new Map();
function anchors(file) {
  if (anchorCache.has(file)) return anchorCache.get(file);
  const set = new Set();
  const seen = new Map();
  const text = prose(fs.readFileSync(file, 'utf8'));
  for (const line of text.split('\n')) {
    const h = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (h) {
      const base = slug(h[1]);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      set.add(n ? `${base}-${n}` : base);
    }
    for (const a of line.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) set.add(a[1]);
  }
  anchorCache.set(file, set);
  return set;
}

function checkLink(file, line, target) {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return; // absolute URL
  const [rawPath, fragment] = target.split('#', 2);
  let decoded;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    problems.push(`${rel(file)}:${line}: link ${target}: not a valid URL path`);
    return;
  }
  const resolved = decoded === '' ? file : path.resolve(path.dirname(file), decoded);
  if (!resolved.startsWith(root + path.sep) && resolved !== root) {
    problems.push(`${rel(file)}:${line}: link ${target}: leaves the repository`);
    return;
  }
  if (!fs.existsSync(resolved)) {
    problems.push(`${rel(file)}:${line}: link ${target}: no such file or folder ${rel(resolved)}`);
    return;
  }
  if (fragment === undefined || fragment === '') return;
  let md = resolved;
  if (fs.statSync(resolved).isDirectory()) md = path.join(resolved, 'README.md');
  if (!md.endsWith('.md') || !fs.existsSync(md)) return; // a fragment of code (#L10) or data
  if (!anchors(md).has(decodeURIComponent(fragment).toLowerCase())) {
    problems.push(`${rel(file)}:${line}: link ${target}: no heading #${fragment} in ${rel(md)}`);
  }
}

function checkPath(file, line, word) {
  if (!PREFIXES.some((p) => word.startsWith(p))) return;
  if (BUILT.some((b) => word.startsWith(b))) return;
  // A placeholder or glob: the folder before it must exist.
  const wild = word.search(/[<{*[]/);
  const p = wild >= 0 ? word.slice(0, word.lastIndexOf('/', wild) + 1) : word;
  const abs = path.join(root, p);
  const folder = p.endsWith('/');
  if (!fs.existsSync(abs)) {
    problems.push(`${rel(file)}:${line}: \`${word}\`: no such ${folder ? 'folder' : 'file'} ${p}`);
  } else if (folder && !fs.statSync(abs).isDirectory()) {
    problems.push(`${rel(file)}:${line}: \`${word}\`: ${p} is a file, not a folder`);
  }
}

const docsText = [];
const mdFiles = markdownFiles();
for (const file of mdFiles) {
  const raw = fs.readFileSync(file, 'utf8');
  const text = prose(raw);
  const spans = codeSpans(text);
  // Paths: each word of each code span, without the punctuation around it.
  for (const s of spans) {
    for (const m of s.content.matchAll(/\S+/g)) {
      const word = m[0].replace(/^[("'[]+/, '').replace(/[)"',;:.\]]+$/, '');
      checkPath(file, lineOf(text, s.start + 1 + m.index), word);
    }
  }
  // Links, outside code spans: inline [text](target "title") and reference definitions.
  let linkText = text;
  for (const s of spans) linkText = linkText.slice(0, s.start) + linkText.slice(s.start, s.end).replace(/[^\n]/g, ' ') + linkText.slice(s.end);
  for (const m of linkText.matchAll(/\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+"[^"]*")?\s*\)/g)) {
    checkLink(file, lineOf(linkText, m.index), m[1].replace(/^<|>$/g, ''));
  }
  for (const m of linkText.matchAll(/^ {0,3}\[[^\]]+\]:\s*(\S+)/gm)) checkLink(file, lineOf(linkText, m.index), m[1]);
  if (rel(file).startsWith('docs/')) docsText.push(raw);
}

// Every route of the OpenAPI document is named in docs/, not as the start of a longer path.
const openapi = JSON.parse(fs.readFileSync(path.join(root, 'openapi/openapi.json'), 'utf8'));
const docs = docsText.join('\n');
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
let operations = 0;
for (const [route, item] of Object.entries(openapi.paths)) {
  if (!new RegExp(`(?<![\\w.{}/-])${esc(route)}(?![\\w.{}/-])`).test(docs)) {
    problems.push(`openapi/openapi.json: route ${route} is not mentioned in docs/ (docs/api.md lists every route)`);
    continue;
  }
  // And each of its operations, as `METHOD path` (a path's GET named is no word on its
  // DELETE); `ANY path` names them all (the proxy's).
  const named = (verb) => new RegExp(`(?<![\\w])${esc(`${verb} ${route}`)}(?![\\w.{}/-])`).test(docs);
  const any = named('ANY');
  for (const method of METHODS.filter((m) => item[m])) {
    operations++;
    const op = `${method.toUpperCase()} ${route}`;
    if (!any && !named(method.toUpperCase())) {
      problems.push(`openapi/openapi.json: operation ${op} is not mentioned in docs/ (docs/api.md lists every route)`);
    }
  }
}

if (problems.length) {
  console.error(`docs-check: ${problems.length} problem(s)`);
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
console.log(`docs-check: ok (${mdFiles.length} Markdown files, ${Object.keys(openapi.paths).length} routes, ${operations} operations)`);
