-- YouTube push notifications (WebSub): one subscription at Google's hub per channel and
-- platform app, asked for when a channel is connected, renewed by the cron before its lease
-- ends, and dropped when the channel's last profile is deleted. The hub calls back on
-- PUBLIC_URL/platform-webhooks/youtube/<id>: the id is unguessable and names the row, so a
-- delivery is verified with that subscription's own secret.
CREATE TABLE websub_subscriptions (
  id TEXT PRIMARY KEY,                 -- wss_... (16 random bytes in hex)
  channel_id TEXT NOT NULL,            -- the profile's platform_user_id
  credential_ref TEXT,                 -- the app credentials whose grants it serves; NULL: the deployment's
  secret_enc TEXT NOT NULL,            -- hub.secret, sealed like tokens (associated data "<id>:hub_secret")
  token_kid TEXT NOT NULL,             -- the key it is sealed under (re-sealed under the current one at renewal)
  topic TEXT NOT NULL,                 -- the feed subscribed to
  status TEXT NOT NULL DEFAULT 'pending', -- pending | active | unsubscribing
  lease_expires_at INTEGER,            -- from the hub's verification (hub.lease_seconds); NULL until then
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL          -- the last request sent to the hub (or its verification)
);
CREATE UNIQUE INDEX websub_subscriptions_channel ON websub_subscriptions(channel_id, COALESCE(credential_ref, ''));
CREATE INDEX websub_subscriptions_lease ON websub_subscriptions(lease_expires_at);
