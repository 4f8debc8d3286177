#!/usr/bin/env node
// `make dev`: prepares local secrets and the local D1 database, runs `wrangler dev` with the
// sandbox platform on, plays "your app" on a second port, and prints a dev app and key.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoAppSettings, startDemoApp } from './demo-app.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const portArg = process.argv.indexOf('--port');
const port = Number(portArg > 0 ? process.argv[portArg + 1] : process.env.PORT || 8787);
const appPort = port + 1;
const base = `http://127.0.0.1:${port}`;
const redirectUrl = `http://localhost:${appPort}/connected`;
const wrangler = path.join(root, 'node_modules/.bin/wrangler');
const env = { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };

// 1. .dev.vars from the example, only when absent; each __RANDOM__ becomes fresh bytes.
if (!fs.existsSync('.dev.vars')) {
  const example = fs.readFileSync('.dev.vars.example', 'utf8');
  fs.writeFileSync('.dev.vars', example.replace(/__RANDOM__/g, () => crypto.randomBytes(32).toString('base64')), { mode: 0o600 });
  console.log('created .dev.vars with fresh random ADMIN_TOKEN and TOKEN_KEYS');
}
const devVars = Object.fromEntries(
  fs.readFileSync('.dev.vars', 'utf8').split('\n')
    .filter((l) => /^[A-Z0-9_]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()]),
);
if (!devVars.ADMIN_TOKEN || !devVars.TOKEN_KEYS) {
  console.error('.dev.vars needs ADMIN_TOKEN and TOKEN_KEYS (see .dev.vars.example)');
  process.exit(1);
}

// 2. Local D1 migrations (idempotent: applied ones are skipped). Starting wrangler for this
// takes seconds, so it is skipped when the migrations and wrangler.toml are those of the last
// successful run (a stamp kept beside the local database: removing it brings the run back).
const d1State = path.join('.wrangler/state/v3/d1/miniflare-D1DatabaseObject');
const migStamp = path.join(d1State, '.connect-links-migrations');
const migHash = crypto.createHash('sha256');
for (const f of ['wrangler.toml', ...fs.readdirSync('migrations').sort().map((m) => path.join('migrations', m))]) {
  migHash.update(`${f}\0`).update(fs.readFileSync(f)).update('\0');
}
const migDigest = migHash.digest('hex');
const applied = fs.existsSync(migStamp) && fs.readFileSync(migStamp, 'utf8').trim() === migDigest
  && fs.readdirSync(d1State).some((f) => f.endsWith('.sqlite') && f !== 'metadata.sqlite');
if (applied) {
  console.log('local D1 migrations: none changed since the last `make dev`, not run again');
} else {
  fs.rmSync(migStamp, { force: true });
  const mig = spawnSync(wrangler, ['d1', 'migrations', 'apply', 'DB', '--local'], { env, stdio: 'inherit' });
  if (mig.status !== 0) process.exit(mig.status ?? 1);
  fs.mkdirSync(d1State, { recursive: true });
  fs.writeFileSync(migStamp, `${migDigest}\n`);
}

// 3. The worker, in its own process group so that workerd stops with it. Its `make build`
// (wrangler.toml [build]) builds in dev mode: the dev-fast profile, no wasm-opt, and no build
// at all when no input changed since the last dev build (wrangler runs the command twice at
// start, once to find the entry point and once more when its file watcher is ready).
const dev = spawn(
  wrangler,
  ['dev', '--ip', '127.0.0.1', '--port', String(port), '--var', 'SANDBOX:on', '--var', 'CONSOLE:on', '--var', `PUBLIC_URL:${base}`, '--show-interactive-dev-session=false'],
  { env: { ...env, CONNECT_LINKS_BUILD: 'dev' }, stdio: 'inherit', detached: true },
);
const stop = () => {
  try { process.kill(-dev.pid, 'SIGTERM'); } catch {}
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
dev.on('exit', (code) => { console.error(`wrangler dev exited (${code})`); process.exit(code ?? 1); });

// 4. "Your app" (scripts/demo-app.mjs): starts a connect from its own session and claims
// it on the way back. It needs the dev app's key, so it starts once the worker is up.
let app; // the dev app, once known

// 5. Wait for the worker, then make sure a dev app exists.
async function waitHealthy() {
  for (let i = 0; i < 600; i++) {
    try { if ((await fetch(`${base}/health`)).ok) return; } catch {}
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('the worker did not become healthy');
}

async function devApp() {
  const file = '.dev-app.json';
  if (fs.existsSync(file)) {
    const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
    const r = await fetch(`${base}/v1/platforms`, { headers: { authorization: `Bearer ${saved.api_key}` } });
    if (r.ok) return saved;
  }
  const r = await fetch(`${base}/v1/admin/apps`, {
    method: 'POST',
    headers: { authorization: `Bearer ${devVars.ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Dev app', allowed_redirect_urls: [redirectUrl] }),
  });
  if (r.status !== 201) throw new Error(`creating the dev app failed: ${r.status} ${await r.text()}`);
  const body = await r.json();
  const saved = { app_id: body.app.id, api_key: body.api_key, webhook_secret: body.webhook_secret };
  fs.writeFileSync(file, JSON.stringify(saved, null, 2), { mode: 0o600 });
  return saved;
}

// The dev app's webhooks go to the demo app, with every sandbox platform event: set on each
// start, so a dev app saved by an older `make dev` gets them too.
async function devAppSettings() {
  const r = await fetch(`${base}/v1/admin/apps/${app.app_id}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${devVars.ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(demoAppSettings(appPort)),
  });
  if (r.status !== 200) throw new Error(`setting the dev app's webhooks failed: ${r.status} ${await r.text()}`);
}

try {
  await waitHealthy();
  app = await devApp();
  await devAppSettings();
  await startDemoApp({ base, apiKey: app.api_key, port: appPort, webhookSecret: app.webhook_secret });
  console.log(`
connect-links is running at ${base} (sandbox platform on)

  dev app id: ${app.app_id}
  API key:    ${app.api_key}
  (saved in .dev-app.json; the admin token is in .dev.vars)

Open http://localhost:${appPort}/ (the demo app), press "Connect the sandbox", then Approve:
the demo app checks that its own session started the link and claims the profile.
Back on its page, "Send a sandbox event" makes the sandbox push a comment for a profile: the
page lists the webhooks the app receives (http://127.0.0.1:${appPort}/webhooks), that one too.
Then: curl -s ${base}/v1/profiles -H "Authorization: Bearer ${app.api_key}"

The operator's console: ${base}/console (sign in with ADMIN_TOKEN from .dev.vars).
Press Ctrl-C to stop.
`);
} catch (e) {
  console.error(String(e));
  stop();
}
