// The TypeScript SDK (clients/typescript, built by `make sdk-ts`) against the built worker: the
// common path an app takes (create a link, claim it after a sandbox connect, list, get, the
// access token, the proxy, delete), a real webhook delivery verified by the SDK, the API's error
// answers as ConnectLinksError, and retries only of a 429 that did nothing. Then the package
// itself: its generated types match openapi/openapi.json, and `npm pack` makes a package that
// installs and imports with its declared dependencies alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConnectLinks, ConnectLinksError, WebhookVerificationError } from '@connect-links/sdk';
import { startWorker, freePort } from './harness.mjs';
import { WebhookReceiver } from './webhook-receiver.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const sdkDir = path.join(root, 'clients/typescript');
const REDIRECT = 'http://localhost:3000/connected';

let w;
let app;
let sdk;
const receiver = new WebhookReceiver();

before(async () => {
  w = await startWorker();
  await receiver.start();
  const r = await w.admin('POST', '/v1/admin/apps', { name: 'SDK app', allowed_redirect_urls: [REDIRECT], webhook_url: receiver.url });
  assert.equal(r.status, 201);
  app = r.body;
  receiver.useSecret(app.webhook_secret);
  sdk = new ConnectLinks({ baseUrl: w.base, apiKey: app.api_key, webhookSecret: app.webhook_secret });
});
after(async () => {
  await w?.stop();
  await receiver.stop();
});

/** A sandbox connect of `username` through `link`, as the user's browser; the redirect back's query. */
async function connect(link, username) {
  const { back } = await w.consent(link, { username });
  const res = await w.callback(back, { claim: false });
  return new URL(res.headers.get('location')).searchParams;
}

/** The error `promise` rejects with, asserted to be a ConnectLinksError. */
async function failure(promise) {
  const e = await promise.then(() => null, (err) => err);
  assert.ok(e instanceof ConnectLinksError, `expected a ConnectLinksError, got ${e}`);
  return e;
}

/** The raw delivery of the event of `type` about `id` (verified by the receiver too). */
function delivery(type, id) {
  const found = receiver.requests.filter((r) => {
    const body = JSON.parse(r.body);
    return body.type === type && body.data.id === id;
  });
  assert.equal(found.length, 1, `one ${type} delivery`);
  return found[0];
}

test('the common path: create a link, claim it, list, get, access token, proxy, delete', async () => {
  const link = await sdk.createLink({ platform: 'sandbox', redirect_url: REDIRECT, state: 'sdk-state', external_user_id: 'sdk-user' });
  assert.match(link.id, /^cl_/);
  assert.equal(link.platform, 'sandbox');
  const back = await connect(link, 'sdk-person');
  assert.equal(back.get('link_id'), link.id);
  assert.equal(back.get('state'), 'sdk-state');
  const token = back.get('connect_token');
  assert.ok(token, 'the redirect back carries a connect_token');

  const claimed = await sdk.claim(link.id, token);
  assert.deepEqual(claimed.map((p) => [p.username, p.status, p.external_user_id]), [['sdk-person', 'active', 'sdk-user']]);
  const id = claimed[0].id;
  // One use: the same claim again is the API's 409, as a ConnectLinksError.
  const again = await failure(sdk.claim(link.id, token));
  assert.deepEqual([again.code, again.status], ['conflict', 409]);

  const list = await sdk.profiles.list({ platform: 'sandbox', status: 'active' });
  assert.deepEqual(list.data.map((p) => p.id), [id]);
  assert.equal(list.next_cursor, null);
  assert.deepEqual(await sdk.profiles.get(id), list.data[0]);

  const access = await sdk.accessToken(id);
  assert.equal(typeof access.access_token, 'string');
  assert.ok(access.access_token.length > 0);
  assert.equal(access.token_type.toLowerCase(), 'bearer');

  // The sandbox's user-info endpoint through the proxy, as the profile (as the demo app does).
  const proxied = await sdk.proxy(id, 'GET', '/userinfo');
  assert.equal(proxied.status, 200);
  assert.equal((await proxied.json()).preferred_username, 'sdk-person');
  // The worker's own answer through the proxy is handed back raw; fromResponse reads it.
  // A path that would climb out of the proxy route (the runtime resolves dot segments, plain
  // or encoded, before routing) is refused before anything is sent.
  // URL parsing also drops tabs and line breaks and trims the URL's end: `.\t.` is `..`.
  for (const p of ['../access-token', '%2e%2e/access-token', '.%2E/%2e%2e/prf_x/access-token', 'a/./b', 'a\\..\\b',
    '.\t.', '%2e\t%2e/access-token', '.\n./x', '\t../x', 'a/.\r./b', '%2e%2e ', 'x/..\u0001']) {
    await assert.rejects(sdk.proxy(id, 'GET', p), /'\.' or '\.\.' segment/, p);
  }
  const outside = await sdk.proxy('prf_00000000000000000000000000000000', 'GET', 'userinfo');
  const proxyError = await ConnectLinksError.fromResponse(outside);
  assert.deepEqual([proxyError.code, proxyError.status], ['not_found', 404]);

  await sdk.profiles.delete(id);
  const gone = await failure(sdk.profiles.get(id));
  assert.deepEqual([gone.code, gone.status], ['not_found', 404]);

  // The webhooks those steps sent, each a real delivery, verified by the SDK from its raw body
  // and headers (Node's request headers, and a fetch Headers) and typed by its `type`.
  await w.settled();
  const connected = delivery('profile.connected', id);
  const event = sdk.webhooks.verify(connected.headers, connected.body);
  assert.equal(event.type, 'profile.connected');
  assert.equal(event.data.id, id);
  assert.equal(event.data.username, 'sdk-person');
  const deleted = delivery('profile.deleted', id);
  const asHeaders = new Headers(Object.entries(deleted.headers).filter(([, v]) => typeof v === 'string'));
  const deletedEvent = sdk.webhooks.verify(asHeaders, Buffer.from(deleted.body));
  assert.deepEqual([deletedEvent.type, deletedEvent.data.id], ['profile.deleted', id]);
  // A body changed by one character, a wrong secret, no signature: refused.
  const tampered = connected.body.replace('sdk-person', 'sdk-persom');
  assert.notEqual(tampered, connected.body);
  assert.throws(() => sdk.webhooks.verify(connected.headers, tampered), WebhookVerificationError);
  const other = new ConnectLinks({ baseUrl: w.base, apiKey: app.api_key, webhookSecret: `whsec_${Buffer.alloc(32, 7).toString('base64')}` });
  assert.throws(() => other.webhooks.verify(connected.headers, connected.body), WebhookVerificationError);
  const { 'webhook-signature': _, ...unsigned } = connected.headers;
  assert.throws(() => sdk.webhooks.verify(unsigned, connected.body), WebhookVerificationError);
});

test("the API's error answers are ConnectLinksError with its code and status, never with the key", async () => {
  const badKey = `ck_${'0'.repeat(40)}`;
  const stranger = new ConnectLinks({ baseUrl: w.base, apiKey: badKey });
  const unauthorized = await failure(stranger.profiles.list());
  assert.deepEqual([unauthorized.code, unauthorized.status], ['unauthorized', 401]);
  assert.ok(!unauthorized.message.includes(badKey) && !unauthorized.stack.includes(badKey), 'the key is in no error');

  const notFound = await failure(sdk.profiles.get('prf_00000000000000000000000000000000'));
  assert.deepEqual([notFound.code, notFound.status], ['not_found', 404]);
  assert.equal(typeof notFound.message, 'string');

  const invalid = await failure(sdk.profiles.list({ limit: 1000 }));
  assert.deepEqual([invalid.code, invalid.status], ['invalid_request', 400]);
  const invalidLink = await failure(sdk.createLink({ platform: 'sandbox', redirect_url: `${REDIRECT}?connected=1` }));
  assert.deepEqual([invalidLink.code, invalidLink.status], ['invalid_request', 400]);

  // No answer at all: a port nothing listens on.
  const nowhere = new ConnectLinks({ baseUrl: `http://127.0.0.1:${await freePort()}`, apiKey: badKey });
  const network = await failure(nowhere.profiles.list());
  assert.deepEqual([network.code, network.status], ['network_error', 0]);
  assert.ok(!network.message.includes(badKey));
});

test('a 429 that did nothing is retried within maxWaitSeconds; a claim and a long wait are not', async () => {
  const r = await w.admin('POST', '/v1/admin/apps', { name: 'SDK limited app', allowed_redirect_urls: [REDIRECT], limits: { connect_links_per_minute: 1 } });
  assert.equal(r.status, 201);
  const limited = new ConnectLinks({ baseUrl: w.base, apiKey: r.body.api_key });
  await limited.createLink({ platform: 'sandbox', redirect_url: REDIRECT });
  // The window's end is about a minute away: past maxWaitSeconds, thrown at once with it.
  const spent = await failure(limited.createLink({ platform: 'sandbox', redirect_url: REDIRECT }));
  assert.deepEqual([spent.code, spent.status], ['rate_limited', 429]);
  assert.ok(spent.retryAfter > 5 && spent.retryAfter <= 60, `Retry-After ${spent.retryAfter}`);

  // A 429 with Retry-After: 0 (a limiter failing closed answers 1) before the real answer.
  const sent = [];
  const once429 = async (request) => {
    sent.push(`${request.method} ${new URL(request.url).pathname}`);
    if (sent.length === 1) {
      return Response.json({ error: { code: 'rate_limited', message: 'Too many requests.' } }, { status: 429, headers: { 'retry-after': '0' } });
    }
    return fetch(request);
  };
  const retrying = new ConnectLinks({ baseUrl: w.base, apiKey: app.api_key, fetch: once429 });
  const link = await retrying.createLink({ platform: 'sandbox', redirect_url: REDIRECT });
  assert.match(link.id, /^cl_/);
  assert.deepEqual(sent, ['POST /v1/connect-links', 'POST /v1/connect-links']);
  // A claim is one use: never sent again, whatever the answer.
  sent.length = 0;
  const claim = await failure(retrying.claim(link.id, 'ct_not-a-token'));
  assert.deepEqual([claim.code, claim.status], ['rate_limited', 429]);
  assert.equal(sent.length, 1);
  // maxRetries: 0 turns retries off.
  sent.length = 0;
  const noRetry = new ConnectLinks({ baseUrl: w.base, apiKey: app.api_key, fetch: once429, retry: { maxRetries: 0 } });
  assert.equal((await failure(noRetry.profiles.list())).code, 'rate_limited');
  assert.equal(sent.length, 1);
});

test('the generated types match openapi/openapi.json (run `make sdk-ts-generate` when this fails)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sdk-ts-schema-'));
  try {
    const fresh = path.join(dir, 'schema.d.ts');
    execFileSync(path.join(root, 'node_modules/.bin/openapi-typescript'), [path.join(root, 'openapi/openapi.json'), '-o', fresh], { stdio: 'pipe' });
    const committed = fs.readFileSync(path.join(sdkDir, 'src/generated/schema.d.ts'), 'utf8');
    assert.ok(fs.readFileSync(fresh, 'utf8') === committed, 'clients/typescript/src/generated/schema.d.ts is stale: run `make sdk-ts-generate`');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('npm pack makes a package that installs and imports with its declared dependencies alone', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sdk-ts-pack-'));
  try {
    const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: sdkDir, encoding: 'utf8' }));
    const files = packed.files.map((f) => f.path).sort();
    assert.ok(files.includes('dist/index.js') && files.includes('dist/index.d.ts') && files.includes('dist/generated/schema.d.ts'), files.join(' '));
    assert.ok(files.includes('README.md') && files.includes('package.json'));
    assert.deepEqual(files.filter((f) => !/^(dist\/.*\.(js|d\.ts)|README\.md|package\.json)$/.test(f)), [], 'nothing but dist, the README and package.json');

    // Installed as npm would (the tarball's `package/` as node_modules/@connect-links/sdk), its
    // dependencies linked from this workspace's node_modules (offline: no registry reached), and
    // only those it declares: a missing declaration fails the import.
    const app = path.join(dir, 'app');
    const installed = path.join(app, 'node_modules/@connect-links/sdk');
    fs.mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['-xzf', path.join(dir, packed.filename), '-C', installed, '--strip-components=1']);
    const manifest = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'));
    assert.deepEqual(Object.keys(manifest.dependencies).sort(), ['openapi-fetch', 'standardwebhooks']);
    for (const dep of Object.keys(manifest.dependencies)) {
      fs.symlinkSync(path.join(root, 'node_modules', dep), path.join(app, 'node_modules', dep));
    }
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'sdk-consumer', private: true, type: 'module' }));
    fs.writeFileSync(path.join(app, 'main.mjs'), `import { ConnectLinks, ConnectLinksError, verifyWebhook } from '@connect-links/sdk';
const sdk = new ConnectLinks({ baseUrl: 'http://127.0.0.1:1', apiKey: 'ck_x' });
console.log([typeof sdk.createLink, typeof sdk.profiles.list, typeof ConnectLinksError, typeof verifyWebhook].join(' '));\n`);
    assert.equal(execFileSync(process.execPath, ['main.mjs'], { cwd: app, encoding: 'utf8' }).trim(), 'function function function function');

    // Its declarations resolve for a TypeScript consumer too (the package's `exports.types`),
    // and narrow a webhook event by its type.
    fs.writeFileSync(path.join(app, 'main.ts'), `import { ConnectLinks, type WebhookEvent, type Profile } from '@connect-links/sdk';
const sdk = new ConnectLinks({ baseUrl: 'http://127.0.0.1:1', apiKey: 'ck_x' });
export async function first(): Promise<Profile | undefined> { return (await sdk.profiles.list({ status: 'active' })).data[0]; }
export function who(e: WebhookEvent): string { return e.type === 'platform.event' ? e.data.event_type : e.type === 'connect_link.failed' ? e.data.link_id : e.type === 'webhook.test' ? e.data.app_id : e.data.id; }\n`);
    const tsc = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--lib', 'es2022,dom', 'main.ts'];
    try {
      execFileSync(path.join(root, 'node_modules/.bin/tsc'), tsc, { cwd: app, encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      assert.fail(`tsc refused the consumer: ${e.stdout}${e.stderr}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
