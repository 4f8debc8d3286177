// `make deploy` (scripts/deploy.mjs) against a stand-in wrangler that keeps an account's
// state: the first run creates what is missing, writes the ids and PUBLIC_URL into
// wrangler.toml, applies migrations and deploys with fresh secrets (never printed); a second
// run creates nothing and changes nothing; a loopback PUBLIC_URL or a logged-out wrangler
// stops it before anything is created.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A deployment folder with the repository's wrangler.toml and a fresh stub account. */
function workspace(state) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-test-'));
  // The repository's wrangler.toml as shipped, even in a checkout that was deployed from.
  const toml = fs.readFileSync(path.join(root, 'wrangler.toml'), 'utf8')
    .replace(/^database_id = ".*"$/m, 'database_id = "00000000-0000-0000-0000-000000000000"')
    .replace(/^id = ".*"$/m, 'id = "00000000000000000000000000000000"')
    .replace(/^PUBLIC_URL = .*\n/m, '');
  fs.writeFileSync(path.join(dir, 'wrangler.toml'), toml);
  if (state) fs.writeFileSync(path.join(dir, 'state.json'), JSON.stringify(state));
  return dir;
}

function deploy(dir, extraEnv = {}) {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts/deploy.mjs')], {
    cwd: dir,
    encoding: 'utf8',
    env: {
      ...process.env,
      WRANGLER: path.join(root, 'tests/e2e/fixtures/wrangler-stub.mjs'),
      STUB_STATE: path.join(dir, 'state.json'),
      STUB_LOG: path.join(dir, 'calls.log'),
      PUBLIC_URL: 'https://connect.example.com',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = fs.existsSync(path.join(dir, 'calls.log')) ? fs.readFileSync(path.join(dir, 'calls.log'), 'utf8') : '';
  const calls = log.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  fs.rmSync(path.join(dir, 'calls.log'), { force: true });
  return { ...r, calls, commands: calls.map((c) => c.args.join(' ')) };
}

test('a first deploy creates what is missing, and a second one only deploys again', () => {
  const dir = workspace();
  const first = deploy(dir);
  assert.equal(first.status, 0, first.stderr + first.stdout);
  assert.deepEqual(first.commands.map((c) => c.replace(/--secrets-file \S+/, '--secrets-file F')), [
    'whoami', 'd1 list --json', 'd1 create connect-links', 'kv namespace list', 'kv namespace create connect-links-OAUTH_STATE',
    'd1 migrations apply DB --remote', 'secret list --format json', 'deploy --secrets-file F',
  ]);
  // Every command is printed before it runs.
  for (const c of first.commands) assert.ok(first.stdout.includes(`→ wrangler ${c}`), c);
  const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'));
  const toml = fs.readFileSync(path.join(dir, 'wrangler.toml'), 'utf8');
  assert.ok(toml.includes(`database_id = "${state.databases[0].uuid}"`));
  assert.ok(toml.includes(`id = "${state.namespaces[0].id}"`));
  assert.match(toml, /^PUBLIC_URL = "https:\/\/connect\.example\.com"$/m);
  assert.equal(toml.includes('00000000'), false, 'no placeholder left');
  // The secrets: generated, deployed from a file only this user could read (gone now), never printed.
  const deployed = first.calls.at(-1);
  assert.equal(deployed.secretsFileMode, 0o600);
  assert.equal(fs.existsSync(deployed.secretsFile), false, 'the secrets file is removed');
  assert.match(state.secrets.ADMIN_TOKEN, /^adm_[A-Za-z0-9_-]{43}$/);
  assert.match(state.secrets.TOKEN_KEYS, /^k1:[A-Za-z0-9+/]{43}=$/);
  assert.equal(fs.readFileSync(path.join(dir, '.admin-token'), 'utf8').trim(), state.secrets.ADMIN_TOKEN);
  assert.equal(fs.statSync(path.join(dir, '.admin-token')).mode & 0o777, 0o600);
  for (const secret of [state.secrets.ADMIN_TOKEN, state.secrets.TOKEN_KEYS]) {
    assert.equal((first.stdout + first.stderr).includes(secret), false, 'no secret printed');
  }
  // Deployed with the ids and PUBLIC_URL in place.
  assert.ok(deployed.toml.includes(state.databases[0].uuid) && deployed.toml.includes('PUBLIC_URL = "https://connect.example.com"'));

  const second = deploy(dir);
  assert.equal(second.status, 0, second.stderr);
  assert.deepEqual(second.commands, ['whoami', 'd1 migrations apply DB --remote', 'secret list --format json', 'deploy']);
  assert.equal(fs.readFileSync(path.join(dir, 'wrangler.toml'), 'utf8'), toml, 'wrangler.toml unchanged');
  const after = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'));
  assert.deepEqual(after.secrets, state.secrets, 'the secrets are kept');
  assert.equal(after.databases.length, 1);
  assert.equal(after.namespaces.length, 1);
});

test('a run cut short before its ids were written finds the database and namespace by name', () => {
  const dir = workspace({ loggedIn: true, databases: [{ uuid: '11111111-2222-3333-4444-555555555555', name: 'connect-links' }], namespaces: [{ id: 'ab'.repeat(16), title: 'connect-links-OAUTH_STATE' }, { id: 'ef'.repeat(16), title: 'OAUTH_STATE' }], secrets: {}, deployed: 0 });
  const r = deploy(dir);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.commands.some((c) => c.includes('create')), false, 'nothing created twice');
  const toml = fs.readFileSync(path.join(dir, 'wrangler.toml'), 'utf8');
  assert.ok(toml.includes('database_id = "11111111-2222-3333-4444-555555555555"') && toml.includes(`id = "${'ab'.repeat(16)}"`));
});

test('a loopback or plain-http PUBLIC_URL, or a logged-out wrangler, stops it before anything is created', () => {
  for (const url of [
    'http://127.0.0.1:8787', 'https://localhost', 'https://localhost.', 'https://app.localhost', 'https://127.0.0.2',
    'https://[::ffff:127.0.0.1]', 'https://[::1]', 'https://0.0.0.0', 'https://10.0.0.1', 'https://169.254.169.254',
    'https://2130706433', 'https://intranet', 'https://printer.local', 'https://:pw@connect.example.com',
    'https://user@connect.example.com', 'https://:x"\nSANDBOX = "on"\nZ = "@connect.example.com',
    'http://connect.example.com', 'https://connect.example.com/path', 'https://connect.example.com/?a=1', 'not a url',
  ]) {
    const dir = workspace();
    const toml = fs.readFileSync(path.join(dir, 'wrangler.toml'), 'utf8');
    const r = deploy(dir, { PUBLIC_URL: url });
    assert.equal(r.status, 1, url);
    assert.match(r.stderr, /PUBLIC_URL must be the https origin/);
    assert.deepEqual(r.commands, [], `${url}: no wrangler command ran`);
    assert.equal(fs.readFileSync(path.join(dir, 'wrangler.toml'), 'utf8'), toml);
  }
  const dir = workspace({ loggedIn: false, databases: [], namespaces: [], secrets: {}, deployed: 0 });
  const r = deploy(dir);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /wrangler login/);
  assert.deepEqual(r.commands, ['whoami']);
});

test('a secret list that fails for another reason than a new worker stops it: live secrets are never replaced', () => {
  const dir = workspace();
  assert.equal(deploy(dir).status, 0);
  const before = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'state.json'), JSON.stringify({ ...before, secretListFails: true }));
  const r = deploy(dir);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /could not list the worker's secrets/);
  assert.equal(r.commands.includes('deploy'), false);
  const after = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'));
  assert.deepEqual(after.secrets, before.secrets);
});

test('a failed deploy leaves no secrets file behind', () => {
  const dir = workspace({ loggedIn: true, databases: [], namespaces: [], secrets: {}, deployed: 0, deployFails: true });
  const r = deploy(dir);
  assert.equal(r.status, 1);
  const call = r.calls.at(-1);
  assert.ok(call.secretsFile, 'the deploy was given a secrets file');
  assert.equal(fs.existsSync(call.secretsFile), false, 'removed although the deploy failed');
});

test('PUBLIC_URL is written into a [vars] table that has a comment, or into a new one', () => {
  for (const [from, check] of [
    [(t) => t.replace(/^\[vars\]$/m, '[vars] # settings'), (t) => /\[vars\] # settings\nPUBLIC_URL = "https:\/\/connect\.example\.com"/.test(t)],
    [(t) => t.replace(/^\[vars\]\n(SANDBOX = .*\n)/m, ''), (t) => /\[vars\]\nPUBLIC_URL = "https:\/\/connect\.example\.com"\n$/.test(t)],
    [(t) => t.replace(/\n/g, '\r\n'), (t) => t.includes('PUBLIC_URL = "https://connect.example.com"')],
  ]) {
    const dir = workspace();
    const tomlPath = path.join(dir, 'wrangler.toml');
    fs.writeFileSync(tomlPath, from(fs.readFileSync(tomlPath, 'utf8')));
    const r = deploy(dir);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(check(fs.readFileSync(tomlPath, 'utf8')), fs.readFileSync(tomlPath, 'utf8').slice(-200));
  }
});
