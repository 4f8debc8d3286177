// `make deploy`: a first deploy (and every later one) after `npx wrangler login`, in one
// command. Idempotent: it looks before it creates, and a second run only deploys again.
//   0. PUBLIC_URL: from the environment, else wrangler.toml, else asked; an https origin,
//      never a loopback one (checked before any wrangler command); written into wrangler.toml;
//   1. the D1 database and the KV namespace, created when wrangler.toml still holds the
//      placeholder ids (found by name first, so a run cut short is not created twice), their
//      ids written into wrangler.toml;
//   2. the remote D1 migrations;
//   3. ADMIN_TOKEN and TOKEN_KEYS, generated when the deployed worker has none (the admin
//      token is written to .admin-token, mode 600, never printed);
//   4. `wrangler deploy`, with the new secrets in a temporary file (--secrets-file).
// Every command is printed before it runs. WRANGLER names another wrangler (the tests' stub).
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline/promises';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wrangler = process.env.WRANGLER || path.join(root, 'node_modules/.bin/wrangler');
const TOML = 'wrangler.toml';
const PLACEHOLDER_DB = '00000000-0000-0000-0000-000000000000';
const PLACEHOLDER_KV = '00000000000000000000000000000000';
// CONNECT_LINKS_BUILD=release: wrangler deploy's `make build` ships the optimized build.
const env = { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false', CONNECT_LINKS_BUILD: 'release' };

/** A temporary file holding secrets, removed however the run ends. */
let secretsDir = null;
const cleanUp = () => {
  if (secretsDir) fs.rmSync(secretsDir, { recursive: true, force: true });
  secretsDir = null;
};
process.on('exit', cleanUp);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

/** Stops the run with `message` (the exit handler removes any secrets file). */
function stop(message) {
  console.error(`make deploy: ${message}`);
  process.exit(1);
}

/**
 * Runs wrangler with `args`, printed first; returns its stdout. A failure stops the run,
 * unless `soft`: then `null` is returned and `lastError` holds its stderr.
 */
let lastError = '';
function run(args, { soft = false, quiet = false } = {}) {
  console.log(`→ wrangler ${args.join(' ')}`);
  const r = spawnSync(wrangler, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (!quiet && r.stdout) process.stdout.write(r.stdout.replace(/^/gm, '  '));
  lastError = r.stderr || '';
  if (r.status !== 0 && !soft) {
    process.stderr.write(lastError);
    stop(`\`wrangler ${args.join(' ')}\` failed; nothing after it ran. Fix it and run make deploy again.`);
  }
  return r.status === 0 ? r.stdout : null;
}

/** The first JSON array or object in `text` (wrangler may print a banner first). */
function jsonIn(text) {
  const start = text.search(/[[{]/);
  if (start < 0) return null;
  try {
    return JSON.parse(text.slice(start));
  } catch {
    return null;
  }
}

/**
 * The https origin `url` names, or null: a DNS name of two labels or more (no IP address in
 * any spelling, no localhost, no private suffix), no user or password, no path, query or
 * fragment.
 */
function publicOrigin(url) {
  let u;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  const host = u.hostname;
  const ip = host.startsWith('[') || /^[0-9.]+$/.test(host);
  const privateName = !host.includes('.') || host.endsWith('.') || /(^|\.)(localhost|local|internal|lan|home|test|example|invalid)$/.test(host);
  const bare = u.pathname === '/' && !u.search && !u.hash && !u.username && !u.password;
  return u.protocol === 'https:' && !ip && !privateName && bare ? u.origin : null;
}

let toml = fs.readFileSync(TOML, 'utf8');
const dbName = /database_name\s*=\s*"([^"]+)"/.exec(toml)?.[1] ?? 'connect-links';

// 0. PUBLIC_URL first: a wrong one stops the run before any wrangler command.
let publicUrl = process.env.PUBLIC_URL || /^PUBLIC_URL\s*=\s*"([^"]*)"/m.exec(toml)?.[1] || '';
if (!publicUrl && process.stdin.isTTY) {
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  publicUrl = (await rl.question('PUBLIC_URL (the https origin the worker is served on): ')).trim();
  rl.close();
}
publicUrl = publicOrigin(publicUrl.trim());
if (!publicUrl) {
  stop('PUBLIC_URL must be the https origin the worker is served on: a public DNS name, no IP address, no localhost, no user, path or query (e.g. PUBLIC_URL=https://connect.example.com make deploy)');
}
// Written as parsed (an origin has no quote or newline), as a TOML string.
const line = `PUBLIC_URL = ${JSON.stringify(publicUrl)}`;
if (!toml.split(/\r?\n/).includes(line)) {
  if (/^PUBLIC_URL\s*=.*$/m.test(toml)) toml = toml.replace(/^PUBLIC_URL\s*=.*$/m, line);
  else if (/^\[vars\][^\S\r\n]*(#.*)?\r?$/m.test(toml)) toml = toml.replace(/^(\[vars\][^\S\r\n]*(#.*)?)\r?$/m, `$1\n${line}`);
  else toml = `${toml.replace(/\s*$/, '')}\n\n[vars]\n${line}\n`;
  if (!toml.split(/\r?\n/).includes(line)) stop('could not write PUBLIC_URL into wrangler.toml; add it under [vars] by hand');
  fs.writeFileSync(TOML, toml);
  console.log(`  wrangler.toml: ${line}`);
}

// Logged in?
if (run(['whoami'], { soft: true }) === null) {
  console.error('make deploy: log in first with `npx wrangler login` (or set CLOUDFLARE_API_TOKEN).');
  process.exit(1);
}

// 1. D1 and KV.
if (toml.includes(PLACEHOLDER_DB)) {
  const listed = jsonIn(run(['d1', 'list', '--json'], { quiet: true }) || '') || [];
  let id = listed.find((d) => d.name === dbName)?.uuid;
  if (!id) {
    const out = run(['d1', 'create', dbName]);
    id = /database_id["\s]*[=:]\s*"([0-9a-f-]{36})"/.exec(out)?.[1];
  }
  if (!id) {
    console.error('make deploy: could not read the new database id; put it in wrangler.toml and run again.');
    process.exit(1);
  }
  toml = toml.replace(PLACEHOLDER_DB, id);
  fs.writeFileSync(TOML, toml);
  console.log(`  wrangler.toml: database_id = "${id}"`);
}
if (toml.includes(PLACEHOLDER_KV)) {
  const listed = jsonIn(run(['kv', 'namespace', 'list'], { quiet: true }) || '') || [];
  // A title of this project's own: a bare OAUTH_STATE on a shared account may be another's.
  const title = `${dbName}-OAUTH_STATE`;
  let id = listed.find((n) => n.title === title)?.id;
  if (!id) {
    const out = run(['kv', 'namespace', 'create', title]);
    id = /"?id"?\s*[=:]\s*"([0-9a-f]{32})"/.exec(out)?.[1];
  }
  if (!id) {
    console.error('make deploy: could not read the new KV namespace id; put it in wrangler.toml and run again.');
    process.exit(1);
  }
  toml = toml.replace(PLACEHOLDER_KV, id);
  fs.writeFileSync(TOML, toml);
  console.log(`  wrangler.toml: OAUTH_STATE id = "${id}"`);
}

// 2. Migrations (wrangler applies only the ones not applied yet).
run(['d1', 'migrations', 'apply', 'DB', '--remote']);

// 3. Secrets the deployed worker lacks. Only "this worker does not exist" means none: any
// other failure stops the run, since new TOKEN_KEYS over live ones would make every stored
// token unreadable.
const listedSecrets = run(['secret', 'list', '--format', 'json'], { soft: true, quiet: true });
let existing;
if (listedSecrets === null) {
  if (!/\[code: 10007\]|does not exist/i.test(lastError)) {
    process.stderr.write(lastError);
    stop('could not list the worker\'s secrets; not generating any. Run make deploy again.');
  }
  existing = [];
} else {
  const parsed = jsonIn(listedSecrets);
  if (!Array.isArray(parsed)) stop('could not read the worker\'s secrets; not generating any.');
  existing = parsed.map((s) => s.name);
}
const secrets = {};
if (!existing.includes('ADMIN_TOKEN')) {
  secrets.ADMIN_TOKEN = `adm_${crypto.randomBytes(32).toString('base64url')}`;
  fs.writeFileSync('.admin-token', `${secrets.ADMIN_TOKEN}\n`, { mode: 0o600 });
  fs.chmodSync('.admin-token', 0o600); // an older file keeps its mode otherwise
  console.log('  ADMIN_TOKEN: new, written to .admin-token (mode 600); keep it somewhere safe');
}
if (!existing.includes('TOKEN_KEYS')) {
  secrets.TOKEN_KEYS = `k1:${crypto.randomBytes(32).toString('base64')}`;
  console.log('  TOKEN_KEYS: new key k1 (see "Rotating the token key" to change it later)');
}

// 4. Deploy, new secrets in a file only this user can read, removed right after.
const args = ['deploy'];
if (Object.keys(secrets).length) {
  secretsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'connect-links-'));
  const secretsFile = path.join(secretsDir, 'secrets.json');
  fs.writeFileSync(secretsFile, JSON.stringify(secrets), { mode: 0o600 });
  args.push('--secrets-file', secretsFile);
}
run(args);
cleanUp();
console.log(`Deployed. Next: the platforms' secrets (README, Platforms), then create an app:
  curl -X POST ${publicUrl}/v1/admin/apps -H "authorization: Bearer $(cat .admin-token)" \\
    -H 'content-type: application/json' -d '{"name": "My app", "allowed_redirect_urls": ["https://app.example.com/connected"]}'`);
