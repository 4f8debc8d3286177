// Migration 0005 (issue 9) on rows written before it: each profile's tokens move to a grant
// with the profile's own id, byte for byte (no envelope is opened), and keep working.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startWorker, randomKey, sealWith } from './harness.mjs';
import { PlatformMocks, credentialVars } from './platform-mocks.mjs';

const mocks = new PlatformMocks();
const tokenKeys = `k1:${randomKey()}`;
const apiKey = `ck_${crypto.randomBytes(16).toString('hex')}`;
const now = Math.floor(Date.now() / 1000);
const seeded = {
  access: sealWith(tokenKeys, 'old-access', 'prf_00000000000000000000000000000011', 'access_token', 'k1'),
  refresh: sealWith(tokenKeys, 'old-refresh', 'prf_00000000000000000000000000000011', 'refresh_token', 'k1'),
};
let w;

before(async () => {
  // The refresh token the old row holds, as X issued it.
  mocks.tokens.set('old-refresh', { platform: 'x', user: 'olduser', scopes: ['tweet.read', 'users.read', 'offline.access'], kind: 'refresh', revoked: false });
  w = await startWorker({
    tokenKeys,
    vars: credentialVars(['x']),
    outbound: mocks.handle,
    beforeMigration: {
      // The schema of migrations 0001-0004: tokens on the profile row.
      '0005_grants.sql': async (db) => {
        const hash = crypto.createHash('sha256').update(apiKey).digest('hex');
        await db.batch([
          db.prepare("INSERT INTO apps (id, name, allowed_redirect_urls, webhook_url, webhook_secret_enc, claim, created_at, updated_at) VALUES ('app_old', 'Old app', '[]', NULL, ?, 'required', ?, ?)")
            .bind(sealWith(tokenKeys, 'whsec_x', 'app_old', 'webhook_secret', 'k1'), now, now),
          db.prepare("INSERT INTO api_keys (id, app_id, key_hash, created_at) VALUES ('key_old', 'app_old', ?, ?)").bind(hash, now),
          db.prepare(
            "INSERT INTO profiles (id, app_id, platform, platform_user_id, username, external_user_id, status, scopes, access_token_enc, refresh_token_enc, token_kid, access_token_expires_at, token_issued_at, next_refresh_at, created_at, updated_at) " +
            "VALUES ('prf_00000000000000000000000000000011', 'app_old', 'x', 'x-old', 'old_x', 'owner-m', 'active', '[\"tweet.read\"]', ?, ?, 'k1', ?, ?, ?, ?, ?)",
          ).bind(seeded.access, seeded.refresh, now + 600, now - 3600, now + 300, now - 3600, now - 3600),
          db.prepare(
            "INSERT INTO profiles (id, app_id, platform, platform_user_id, status, disconnect_reason, scopes, access_token_enc, token_kid, token_issued_at, created_at, updated_at) " +
            "VALUES ('prf_00000000000000000000000000000022', 'app_old', 'x', 'x-gone', 'disconnected', 'invalid_grant', '[]', ?, 'k1', ?, ?, ?)",
          ).bind(sealWith(tokenKeys, 'dead', 'prf_00000000000000000000000000000022', 'access_token', 'k1'), now, now, now),
        ]);
      },
    },
  });
});
after(async () => { await w?.stop(); });

test('migration 0005 moves each profile\'s envelopes to a grant of the same id, unopened, and they keep working', async () => {
  const g = await w.row('SELECT * FROM grants WHERE id = ?', 'prf_00000000000000000000000000000011');
  assert.deepEqual([g.access_token_enc, g.refresh_token_enc, g.token_kid, g.status, g.platform_user_id], [seeded.access, seeded.refresh, 'k1', 'active', 'x-old']);
  assert.equal((await w.row("SELECT status, disconnect_reason FROM grants WHERE id = 'prf_00000000000000000000000000000022'")).status, 'disconnected');
  const p = await w.row('SELECT * FROM profiles WHERE id = ?', 'prf_00000000000000000000000000000011');
  assert.deepEqual([p.grant_id, p.account_type, p.access_token_enc, p.token_kid, p.external_user_id], ['prf_00000000000000000000000000000011', 'user', null, null, 'owner-m']);
  const view = (await w.call('GET', '/v1/profiles/prf_00000000000000000000000000000011', { token: apiKey })).body;
  assert.deepEqual([view.account_type, view.grant_id, view.parent, view.username], ['user', 'prf_00000000000000000000000000000011', null, 'old_x']);
  assert.equal((await w.call('GET', '/v1/profiles/prf_00000000000000000000000000000011/access-token', { token: apiKey })).body.access_token, 'old-access');
  // The moved refresh token still refreshes, and the new tokens are bound to the grant's id.
  const r = await w.call('POST', '/v1/profiles/prf_00000000000000000000000000000011/refresh', { token: apiKey });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const token = (await w.call('GET', '/v1/profiles/prf_00000000000000000000000000000011/access-token', { token: apiKey })).body.access_token;
  assert.match(token, /^xat_/);
  assert.equal(mocks.tokens.get('old-refresh').revoked, true, 'X rotated the old refresh token');
  const listed = (await w.call('GET', '/v1/profiles?status=disconnected', { token: apiKey })).body.data.map((x) => [x.id, x.disconnect_reason]);
  assert.deepEqual(listed, [['prf_00000000000000000000000000000022', 'invalid_grant']]);
});
