// The route table: a method a path does not have is 405 with `Allow` listing the ones it has
// (derived from the same table that dispatches, so the list cannot drift from the routes);
// an unknown path is 404 without `Allow`; credentials are still asked before either.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';

let w;
before(async () => { w = await startWorker(); });
after(async () => { await w?.stop(); });

function assertRefused(r, status, code, allow, { page = false } = {}) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.headers.get('allow'), allow);
  if (page) assert.match(r.headers.get('content-type'), /^text\/html/);
  else assert.equal(r.body.error.code, code);
}

test('a wrong method is 405 with Allow listing the methods of that path, on every area', async () => {
  const { api_key } = await w.createApp();
  const admin = w.bindings.ADMIN_TOKEN;
  // Public, app, admin and sandbox routes; paths with one and with two methods.
  assertRefused(await w.call('POST', '/health', { unchecked: true }), 405, 'method_not_allowed', 'GET');
  assertRefused(await w.call('PUT', '/v1/connect-links', { token: api_key, unchecked: true }), 405, 'method_not_allowed', 'POST');
  assertRefused(await w.call('PUT', '/v1/profiles/prf_x', { token: api_key, unchecked: true }), 405, 'method_not_allowed', 'GET, DELETE');
  assertRefused(await w.call('DELETE', '/v1/profiles', { token: api_key, unchecked: true }), 405, 'method_not_allowed', 'GET, POST');
  assertRefused(await w.call('PUT', '/v1/admin/apps', { token: admin, unchecked: true }), 405, 'method_not_allowed', 'GET, POST');
  assertRefused(await w.call('DELETE', '/v1/admin/apps/app_x', { token: admin, unchecked: true }), 405, 'method_not_allowed', 'GET, PATCH');
  assertRefused(await w.call('DELETE', '/sandbox/authorize', { unchecked: true }), 405, 'method_not_allowed', 'GET, POST', { page: true });
  // The proxy takes any method the platforms' APIs use; another is refused by the proxy
  // itself (a logged, counted call), with the same Allow.
  const proxied = await w.call('PROPFIND', '/v1/profiles/prf_x/proxy/userinfo', { token: api_key, unchecked: true });
  assertRefused(proxied, 405, 'method_not_allowed', 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
  // A browser route answers its 405 as a page, with the same header.
  const page = await w.call('PUT', '/connect/cl_x', { unchecked: true });
  assert.equal(page.status, 405);
  assert.match(page.headers.get('content-type'), /^text\/html/);
  assert.equal(page.headers.get('allow'), 'GET, POST');
});

test('an unknown path is 404 without Allow, and credentials come before 404 and 405', async () => {
  const { api_key } = await w.createApp();
  assertRefused(await w.call('GET', '/nope', { unchecked: true }), 404, 'not_found', null);
  assertRefused(await w.call('GET', '/v1/profiles/prf_x/nope', { token: api_key, unchecked: true }), 404, 'not_found', null);
  // Without the key (or the admin token) nothing about the route is told, not even its methods.
  assertRefused(await w.call('PUT', '/v1/profiles/prf_x', { unchecked: true }), 401, 'unauthorized', null);
  assertRefused(await w.call('PUT', '/v1/admin/apps', { unchecked: true }), 401, 'unauthorized', null);
});
