// The Python SDK (clients/python) against the built worker: this file makes an app and two
// sandbox connects left unclaimed (one for the sync client, one for the async), then runs the
// SDK's pytest suite (clients/python/tests) with the installed package from .venv (`make venv`),
// handing it the worker's URL, the app's key and webhook secret, the admin token (to point the
// app's webhook_url at pytest's own receiver) and each link's id and connect_token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startWorker } from './harness.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const python = path.join(root, '.venv/bin/python');

let w;
before(async () => {
  w = await startWorker();
});
after(async () => {
  await w?.stop();
});

/** A sandbox connect by `username`, up to its final redirect, not claimed: { link_id, connect_token }. */
async function unclaimedConnect(apiKey, username) {
  const link = await w.createLink(apiKey);
  const { back } = await w.consent(link, { username });
  const res = await w.callback(back, { claim: false });
  const q = new URL(res.headers.get('location')).searchParams;
  assert.equal(q.get('connected'), 'true');
  assert.ok(q.get('connect_token'));
  return { link_id: q.get('link_id'), connect_token: q.get('connect_token') };
}

/** Runs `python args` in the repository root with `env` added; resolves to { code, output }. */
function run(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(python, args, { cwd: root, env: { ...process.env, ...env } });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

test('the Python SDK passes its tests against the worker (sync and async clients, webhooks, errors, fresh models)', async () => {
  assert.ok(fs.existsSync(python), 'no .venv: run `make venv` (make test-e2e does)');
  const app = await w.createApp('Python SDK app');
  const sync = await unclaimedConnect(app.api_key, 'sdk-sync');
  const asyncLink = await unclaimedConnect(app.api_key, 'sdk-async');
  const { code, output } = await run(['-m', 'pytest', 'clients/python/tests', '-q', '--tb=short', '-p', 'no:cacheprovider'], {
    CL_BASE_URL: w.base,
    CL_API_KEY: app.api_key,
    CL_APP_ID: app.app.id,
    CL_ADMIN_TOKEN: w.bindings.ADMIN_TOKEN,
    CL_WEBHOOK_SECRET: app.webhook_secret,
    CL_SYNC_LINK_ID: sync.link_id,
    CL_SYNC_CONNECT_TOKEN: sync.connect_token,
    CL_ASYNC_LINK_ID: asyncLink.link_id,
    CL_ASYNC_CONNECT_TOKEN: asyncLink.connect_token,
  });
  assert.equal(code, 0, `pytest failed:\n${output}`);
  // Every test ran: a skip would hide a part of the SDK left untested.
  assert.match(output, /^\d+ passed(, \d+ warnings?)? in /m, output);
  // The worker's own view: both profiles were claimed, then deleted by the SDK.
  const left = await w.call('GET', '/v1/profiles?status=active', { token: app.api_key });
  assert.deepEqual(left.body.data, []);
});
