// The console's history against a hostile or careless platform (issue 28, review): the text a
// refresh's answer carries is kept only from a JSON error answer, with everything the call sent
// cut out. A 2xx the worker cannot read as tokens (here X answering form-encoded tokens) may
// carry new tokens: none of its text is kept. An error that echoes the client secret, raw or
// form-encoded, keeps it cut out. Each attack is the answer the platform's host would send.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';
import { PlatformMocks, credentialVars, credsFor } from './platform-mocks.mjs';

const REDIRECT = 'https://app.example.com/connected';
const mocks = new PlatformMocks();
let w, app;

before(async () => {
  w = await startWorker({ vars: { ...credentialVars(['x']), CONSOLE: 'on' }, outbound: mocks.handle });
  const r = await w.admin('POST', '/v1/admin/apps', { name: 'Hostile', allowed_redirect_urls: [REDIRECT], claim: 'auto' });
  assert.equal(r.status, 201);
  app = r.body;
});
after(async () => {
  await w?.stop();
});

async function connect(user) {
  const { q } = await w.connectWithMock(mocks, app.api_key, 'x', { user, redirect: REDIRECT });
  assert.equal(q.connected, 'true', JSON.stringify(q));
  return q.profile_id;
}

/** The refresh rows of a profile's grant, oldest first. */
async function refreshRows(id) {
  const grant = await w.grantOf(id);
  return (await w.db.prepare("SELECT outcome, status, code, detail FROM activity WHERE grant_id = ? AND kind = 'refresh' ORDER BY id").bind(grant).all()).results;
}

/** Every text of the history, as one string. */
async function history() {
  const all = (await w.db.prepare('SELECT * FROM activity').all()).results;
  return JSON.stringify(all);
}

test('a 2xx answer that is not a token answer we read (form-encoded new tokens): none of its text is kept', async () => {
  const id = await connect('formy');
  const fresh = { access: `NEWACCESS${Date.now()}`, refresh: `NEWREFRESH${Date.now()}` };
  mocks.failNext('x', 'token', () => new Response(`access_token=${fresh.access}&refresh_token=${fresh.refresh}&expires_in=7200`, {
    status: 200,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  }));
  await w.makeDue(id);
  await w.cron();
  const rows = await refreshRows(id);
  assert.equal(rows.length, 1, JSON.stringify(rows));
  assert.deepEqual({ ...rows[0] }, { outcome: 'transient', status: 200, code: null, detail: "the platform's 2xx answer was not a token answer we could read" });
  const text = await history();
  assert.ok(!text.includes(fresh.access) && !text.includes(fresh.refresh), 'the new tokens are not in the history');
});

test('an error answer that is not JSON keeps none of its text', async () => {
  const id = await connect('plain');
  const { refresh } = await w.tokensOf(id);
  mocks.failNext('x', 'token', () => new Response(`bad refresh_token=${refresh}`, { status: 400, headers: { 'content-type': 'text/plain' } }));
  await w.makeDue(id);
  await w.cron();
  const [row] = await refreshRows(id);
  assert.equal(row.code, null);
  assert.match(row.detail, /^the platform's answer was not JSON \(\d+ bytes\)$/);
  assert.ok(!(await history()).includes(refresh));
});

test('an error that echoes the client secret, raw and form-encoded, keeps it cut out', async () => {
  const id = await connect('echoes');
  const secret = credsFor('x').secret;
  const encoded = new URLSearchParams({ s: secret }).toString().slice(2);
  mocks.failNext('x', 'token', () => new Response(JSON.stringify({
    error: 'invalid_client',
    error_description: `client secret ${secret} (sent as ${encoded}) is not known`,
  }), { status: 401, headers: { 'content-type': 'application/json' } }));
  await w.makeDue(id);
  await w.cron();
  const [row] = await refreshRows(id);
  assert.equal(row.code, 'invalid_client');
  assert.equal(row.detail, 'client secret [redacted] (sent as [redacted]) is not known');
  assert.ok(!(await history()).includes(secret));
});
