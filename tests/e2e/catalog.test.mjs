// GET /v1/platforms reports configured exactly when a platform's client id and secret are set.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';
import { CUSTOM_PROVIDERS } from './platform-mocks.mjs';

let w;
before(async () => {
  w = await startWorker({
    vars: {
      SANDBOX: 'off',
      X_CLIENT_ID: 'x-client', X_CLIENT_SECRET: 'x-secret',
      REDDIT_CLIENT_ID: 'only-the-id',
      ACME_CLIENT_ID: 'acme-client', ACME_CLIENT_SECRET: 'acme-secret',
      // An object var (as wrangler.toml [vars] allows), with one broken entry that is skipped.
      CUSTOM_PROVIDERS: { ...CUSTOM_PROVIDERS, broken: { name: 'Broken', authorize_url: 'http://insecure.test/a' } },
    },
  });
});
after(async () => { await w?.stop(); });

test('configured is true exactly when both credentials are set', async () => {
  const { api_key } = await w.createApp('Catalog app', ['https://app.example.com/cb']);
  const r = await w.call('GET', '/v1/platforms', { token: api_key });
  assert.equal(r.status, 200);
  const byId = Object.fromEntries(r.body.data.map((p) => [p.id, p]));
  assert.deepEqual(Object.keys(byId), ['instagram', 'facebook', 'instagram_facebook', 'threads', 'linkedin', 'x', 'youtube', 'tiktok', 'pinterest', 'reddit', 'bluesky', 'mastodon', 'acme', 'globex', 'keyed', 'querykey']);
  const configured = r.body.data.filter((p) => p.configured).map((p) => p.id);
  // API-key providers need no client: the user's key is the credential.
  // Bluesky needs no client (app passwords); Mastodon registers itself with each instance.
  assert.deepEqual(configured, ['x', 'bluesky', 'mastodon', 'acme', 'keyed', 'querykey']);
  assert.equal(byId.bluesky.auth, 'app_password');
  assert.equal(byId.bluesky.refresh, 'rotating_refresh_token');
  assert.equal(byId.mastodon.auth, 'instance_oauth2');
  assert.equal(byId.mastodon.refresh, 'none');
  assert.equal(byId.keyed.auth, 'api_key');
  assert.equal(byId.keyed.refresh, 'none');
  assert.deepEqual(byId.x, {
    id: 'x', name: 'X', auth: 'oauth2', pkce: true, configured: true, refresh: 'rotating_refresh_token',
    default_scopes: ['tweet.read', 'tweet.write', 'users.read', 'offline.access'], credentials: 'deployment',
  });
  assert.equal(byId.instagram.refresh, 'self_exchange');
  assert.equal(byId.facebook.refresh, 'none');
  assert.equal(byId.facebook.pkce, false);
  assert.equal(byId.instagram_facebook.name, 'Instagram (through Facebook Login)');
  assert.equal(byId.instagram_facebook.refresh, 'none');
  assert.equal(byId.instagram_facebook.pkce, false);
  assert.equal(byId.globex.pkce, false);

  const notConfigured = await w.call('POST', '/v1/connect-links', { token: api_key, json: { platform: 'reddit', redirect_url: 'https://app.example.com/cb' } });
  assert.equal(notConfigured.status, 422);
  assert.equal(notConfigured.body.error.code, 'platform_not_configured');
  const sandboxOff = await w.call('POST', '/v1/connect-links', { token: api_key, json: { platform: 'sandbox', redirect_url: 'https://app.example.com/cb' } });
  // With SANDBOX off there is no platform of that id here: configuration, not the form.
  assert.equal(sandboxOff.status, 422);
  assert.equal(sandboxOff.body.error.code, 'platform_not_configured');
  assert.equal((await w.call('GET', '/sandbox/authorize')).status, 404);
});
