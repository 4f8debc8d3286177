// The document and the worker agree both ways, on generated input: Schemathesis (pinned in
// requirements-dev.txt, run from the .venv `make venv` makes) generates requests from
// openapi/openapi.json for every operation and sends them to the built worker. Schema-valid
// requests must not be refused for their form (400, 413), schema-invalid ones must be
// refused, every answer must match its status's schema, content type and headers, no answer
// may be a 5xx, and a method an operation does not have must be a 405 with `Allow`
// (tests/contract/schemathesis.toml says which checks and why).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startWorker } from './harness.mjs';
import { credentialVars } from './platform-mocks.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '../..');
const schemathesis = path.join(root, '.venv/bin/schemathesis');
// Fixed, so a run is repeatable (CONTRACT_SEED picks another; CONTRACT_EXAMPLES more cases).
const SEED = process.env.CONTRACT_SEED ?? '20261207';
const EXAMPLES = process.env.CONTRACT_EXAMPLES ?? '25';

let w;
let ids;
const refused = []; // outbound fetches the guard refused: host only
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

before(async () => {
  // Generated bodies name webhook URLs, Mastodon instances and custom hosts anywhere on the
  // internet: the worker may call only itself (the sandbox platform) here.
  const outbound = async (request) => {
    const url = new URL(request.url);
    if (w && url.origin === w.base) {
      const body = ['GET', 'HEAD'].includes(request.method) ? undefined : await request.arrayBuffer();
      return fetch(request.url, { method: request.method, headers: request.headers, body, redirect: 'manual' });
    }
    refused.push(url.host);
    return new Response('outbound calls are refused in the contract test', { status: 502 });
  };
  // X and LinkedIn configured, so their webhook routes exist (unconfigured, they are 404).
  w = await startWorker({ vars: { ...credentialVars(['x', 'linkedin', 'facebook', 'tiktok']), X_CONSUMER_SECRET: 'x-consumer-secret' }, outbound });
  const made = await w.createApp('Contract app', ['http://localhost:3000/connected']);
  const link = await w.createLink(made.api_key, {});
  const { back } = await w.consent(link);
  const res = await w.callback(back);
  // A second profile for DELETE and a second app for PATCH: the generator's deletes and
  // rewritten settings land there, so the profile and app every other operation reads stay.
  const again = await w.createLink(made.api_key, {});
  const victim = await w.callback((await w.consent(again, { username: 'victim' })).back);
  const patched = await w.createApp('Contract app (patched)', ['http://localhost:3000/connected']);
  const pending = await w.createLink(made.api_key, {});
  ids = {
    app: made.app.id, key: made.api_key, profile: res.claimed.body.data[0].id, link: pending.id,
    victim: victim.claimed.body.data[0].id, patchedApp: patched.app.id,
  };
});

after(async () => {
  await w?.stop();
});

/** tests/contract/schemathesis.toml, then the ids of this worker's app, profile and link for the operations that read them. */
function config(dir) {
  const doc = JSON.parse(fs.readFileSync(path.join(root, 'openapi/openapi.json'), 'utf8'));
  // Every operation on an id reaches a real one: the profile's DELETE the second profile, the
  // app's PATCH the second app, the rest the profile, app and link the test reads after.
  const owners = [['/v1/profiles/{id}', ids.profile, { delete: ids.victim }], ['/v1/admin/apps/{id}', ids.app, { patch: ids.patchedApp }], ['/v1/connect-links/{id}', ids.link, {}]];
  let text = fs.readFileSync(path.join(root, 'tests/contract/schemathesis.toml'), 'utf8');
  for (const [p, item] of Object.entries(doc.paths)) {
    const owner = owners.find(([prefix]) => p === prefix || p.startsWith(`${prefix}/`));
    if (!owner) continue;
    for (const method of Object.keys(item).filter((k) => METHODS.includes(k))) {
      const id = p === owner[0] ? (owner[2][method] ?? owner[1]) : owner[1];
      text += `\n[[operations]]\ninclude-name = ${JSON.stringify(`${method.toUpperCase()} ${p}`)}\nparameters = ${tomlInline({ id })}\n`;
    }
  }
  const file = path.join(dir, 'schemathesis.toml');
  fs.writeFileSync(file, text);
  return file;
}

function tomlInline(obj) {
  return `{ ${Object.entries(obj).map(([k, v]) => `"${k}" = ${JSON.stringify(v)}`).join(', ')} }`;
}

/**
 * Runs `cmd` with `args` and resolves to { status, out }. Not spawnSync: the worker's calls
 * to the sandbox go through this process's outbound handler, which must keep running.
 */
function run(cmd, args, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, out }));
  });
}

test('every operation of openapi/openapi.json agrees with the worker on generated requests', { timeout: 15 * 60_000 }, async () => {
  assert.ok(fs.existsSync(schemathesis), `${schemathesis} is missing: run \`make venv\``);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'contract-'));
  try {
    const { status, out } = await run(schemathesis, [
      '--config-file', config(dir), '--no-color',
      'run', path.join(root, 'openapi/openapi.json'),
      '--url', w.base,
      '--seed', SEED, '--max-examples', EXAMPLES, '--workers', '1',
      '--phases', 'examples,coverage,fuzzing',
      '--checks', 'not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection,positive_data_acceptance,missing_required_header,unsupported_method,allow_header_conformance',
      '--max-failures', '50',
      '--report', 'har', '--report-har-path', path.join(dir, 'run.har'),
    ], {
      cwd: dir,
      env: { ...process.env, CL_ADMIN_TOKEN: w.bindings.ADMIN_TOKEN, CL_API_KEY: ids.key, NO_COLOR: '1' },
    });
    // The whole report on failure: each failure with the curl that reproduces it (tokens are
    // filtered by Schemathesis itself).
    assert.equal(status, 0, out.slice(-60_000));
    // A run that tested nothing would also exit 0.
    const tested = Number(/Tested: (\d+)/.exec(out)?.[1] ?? 0);
    const operations = Object.values(JSON.parse(fs.readFileSync(path.join(root, 'openapi/openapi.json'), 'utf8')).paths)
      .flatMap((item) => Object.keys(item).filter((k) => METHODS.includes(k))).length;
    assert.equal(tested, operations, `every operation was tested\n${out.slice(-4000)}`);
    assert.match(out, /No issues found|passed/i, out.slice(-4000));
    // And the run reached the real things, not only 404s and 401s: the profile, its token
    // and the app were read, a second app's settings written, the second profile deleted,
    // and the profile the run reads is still there.
    const entries = JSON.parse(fs.readFileSync(path.join(dir, 'run.har'), 'utf8')).log.entries;
    const ok = (method, p) => entries.filter((e) => e.request.method === method && new URL(e.request.url).pathname === p && e.response.status < 300).length;
    for (const [method, p] of [
      ['GET', `/v1/profiles/${ids.profile}`], ['GET', `/v1/profiles/${ids.profile}/access-token`],
      ['GET', `/v1/admin/apps/${ids.app}`], ['PATCH', `/v1/admin/apps/${ids.patchedApp}`], ['GET', `/v1/connect-links/${ids.link}`],
      ['DELETE', `/v1/profiles/${ids.victim}`],
    ]) {
      assert.ok(ok(method, p) > 0, `${method} ${p} never answered 2xx in the run`);
    }
    assert.equal((await w.call('GET', `/v1/profiles/${ids.profile}`, { token: ids.key })).body.status, 'active', 'the profile the run reads was left in place');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
