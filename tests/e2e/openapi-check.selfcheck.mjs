// The checker against hand-made answers, good and bad, on a fixed small document
// (tests/e2e/openapi-check.fixture.json), not the real one: `node tests/e2e/openapi-check.selfcheck.mjs`.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkAnswer, checkWebhook, useDocument } from './openapi-check.mjs';

useDocument(path.join(path.dirname(fileURLToPath(import.meta.url)), 'openapi-check.fixture.json'));
const profile = { id: 'prf_1', platform: 'sandbox', account_type: 'user', grant_id: 'grn_1', parent: null, platform_user_id: 'u1', username: 'ada', display_name: null, avatar_url: null, external_user_id: null, metadata: {}, status: 'active', disconnect_reason: null, scopes: ['a'], access_token_expires_at: '2026-01-01T00:00:00Z', last_refreshed_at: null, last_platform_event_at: null, instance: null, created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z' };
const err = { error: { code: 'not_found', message: 'no such profile' } };
const J = 'application/json; charset=utf-8';
const cases = [
  ['good profile', true, { method: 'GET', path: '/v1/profiles/prf_1', status: 200, contentType: J, body: profile }],
  ['good profile with query', true, { method: 'GET', path: '/v1/profiles/prf_1?x=1', status: 200, contentType: 'application/json', body: profile }],
  ['extra key', false, { method: 'GET', path: '/v1/profiles/prf_1', status: 200, contentType: J, body: { ...profile, token: 'x' } }],
  ['missing key', false, { method: 'GET', path: '/v1/profiles/prf_1', status: 200, contentType: J, body: { ...profile, instance: undefined } }],
  ['bad date-time', false, { method: 'GET', path: '/v1/profiles/prf_1', status: 200, contentType: J, body: { ...profile, created_at: 'yesterday' } }],
  ['404 error', true, { method: 'GET', path: '/v1/profiles/prf_x', status: 404, contentType: J, body: err }],
  ['default error', true, { method: 'GET', path: '/v1/profiles/prf_x', status: 401, contentType: J, body: err }],
  ['error wrong shape', false, { method: 'GET', path: '/v1/profiles/prf_x', status: 404, contentType: J, body: { error: 'nope' } }],
  ['wrong content type', false, { method: 'GET', path: '/v1/profiles/prf_1', status: 200, contentType: 'text/html', body: '<html>' }],
  ['no content type', false, { method: 'GET', path: '/v1/profiles/prf_1', status: 200, contentType: null, body: profile }],
  ['text body for json', false, { method: 'GET', path: '/v1/profiles/prf_1', status: 200, contentType: J, body: 'not json' }],
  ['undocumented path', false, { method: 'GET', path: '/nope', status: 404, contentType: J, body: err }],
  ['undocumented method', false, { method: 'PUT', path: '/v1/profiles/prf_1', status: 405, contentType: J, body: err }],
  ['undocumented status', false, { method: 'GET', path: '/v1/admin/apps/app_1', status: 500, contentType: J, body: err }],
  ['list with refs', true, { method: 'GET', path: '/v1/profiles?limit=2', status: 200, contentType: J, body: { data: [profile], next_cursor: null } }],
  ['list bad item', false, { method: 'GET', path: '/v1/profiles', status: 200, contentType: J, body: { data: [{ ...profile, status: 'weird' }] } }],
  ['204 empty', true, { method: 'DELETE', path: '/v1/profiles/prf_1', status: 204, contentType: null, body: null, text: '' }],
  ['204 with body', false, { method: 'DELETE', path: '/v1/profiles/prf_1', status: 204, contentType: J, body: { ok: true } }],
  ['proxy platform answer', true, { method: 'GET', path: '/v1/profiles/prf_1/proxy/a/b/c?q=1', status: 200, contentType: 'text/plain', body: 'hi' }],
  ['proxy platform 404 non-worker', true, { method: 'GET', path: '/v1/profiles/prf_1/proxy/x', status: 404, contentType: 'application/json', body: { message: 'gone' } }],
  ['proxy worker error ok', true, { method: 'GET', path: '/v1/profiles/prf_1/proxy/x', status: 409, contentType: J, body: { error: { code: 'profile_disconnected', message: 'm' } } }],
  ['proxy worker error bad', false, { method: 'GET', path: '/v1/profiles/prf_1/proxy/x', status: 502, contentType: J, body: { error: { code: 'upstream', message: 5 } } }],
  ['proxy undocumented method', false, { method: 'DELETE', path: '/v1/profiles/prf_1/proxy/x', status: 200, contentType: J, body: {} }],
  ['refresh literal beats proxy/id', true, { method: 'POST', path: '/v1/profiles/prf_1/refresh', status: 200, contentType: J, body: profile }],
  ['platforms', true, { method: 'GET', path: '/v1/platforms', status: 200, contentType: J, body: { data: [{ id: 'x', name: 'X', auth: 'oauth2', pkce: true, default_scopes: [], refresh: 'none', configured: false }] } }],
  ['platforms bad enum', false, { method: 'GET', path: '/v1/platforms', status: 200, contentType: J, body: { data: [{ id: 'x', name: 'X', auth: 'magic', pkce: true, default_scopes: [], refresh: 'none', configured: false }] } }],
  ['default response by $ref', true, { method: 'GET', path: '/v1/connect-links/cl_1', status: 404, contentType: J, body: err }],
  ['default response by $ref, bad body', false, { method: 'GET', path: '/v1/connect-links/cl_1', status: 404, contentType: J, body: { error: { code: 1 } } }],
  ['app bad uri', false, { method: 'GET', path: '/v1/admin/apps/app_1', status: 200, contentType: J, body: { id: 'a', name: 'n', allowed_redirect_urls: ['not a uri'], webhook_url: null, claim: 'auto', created_at: '2026-01-01T00:00:00Z' } }],
];
let bad = 0;
for (const [name, expectOk, a] of cases) {
  let e = null;
  try { checkAnswer(a); } catch (x) { e = x; }
  const pass = expectOk ? !e : !!e;
  if (!pass) bad += 1;
  console.log(`${pass ? 'ok  ' : 'FAIL'} ${name}${e ? `\n      ${e.message.split('\n').slice(0, 3).join('\n      ')}` : ''}`);
}
for (const [name, expectOk, ev] of [
  ['webhook good', true, { type: 'profile.connected', timestamp: '2026-01-01T00:00:00Z', data: profile }],
  ['webhook bad data', false, { type: 'profile.connected', timestamp: '2026-01-01T00:00:00Z', data: { id: 1 } }],
  ['webhook unknown type', false, { type: 'profile.exploded', timestamp: '2026-01-01T00:00:00Z', data: profile }],
]) {
  let e = null;
  try { checkWebhook(ev); } catch (x) { e = x; }
  const pass = expectOk ? !e : !!e;
  if (!pass) bad += 1;
  console.log(`${pass ? 'ok  ' : 'FAIL'} ${name}${e ? `\n      ${e.message.split('\n').slice(0, 2).join('\n      ')}` : ''}`);
}
console.log(bad ? `${bad} FAILED` : 'all as expected');
process.exit(bad ? 1 : 0);
