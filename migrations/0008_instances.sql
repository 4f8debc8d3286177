-- Issue 12: accounts that live on a server of their own. A Mastodon account lives on an
-- instance, a Bluesky account on a PDS: the grant keeps that host (validated as a public DNS
-- name before any fetch), every platform URL of the grant is resolved against it, and the
-- profile shows it. Links carry the instance the user chose until the callback.
ALTER TABLE grants ADD COLUMN instance TEXT;
ALTER TABLE profiles ADD COLUMN instance TEXT;
ALTER TABLE connect_links ADD COLUMN instance TEXT;

-- The OAuth client this deployment registered with each instance (Mastodon's
-- POST /api/v1/apps), per callback URL (a deployment moved to another PUBLIC_URL registers
-- again). A row with no client_id is a registration in flight by the connect whose
-- claim_id it holds, until registering_until: concurrent first connects to one instance
-- register once. checked_at: when the instance last confirmed it knows the client (older
-- Mastodon versions delete apps that hold no token).
CREATE TABLE instance_clients (
  platform TEXT NOT NULL,
  instance TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  client_id TEXT,
  client_secret_enc TEXT,          -- envelope, associated data "<platform>:<instance>:client_secret"
  token_kid TEXT,
  scopes TEXT NOT NULL DEFAULT '[]', -- JSON array, as registered
  pkce INTEGER NOT NULL DEFAULT 0,   -- 1: the instance advertises S256
  registering_until INTEGER,
  claim_id TEXT,
  checked_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (platform, instance, redirect_uri)
) WITHOUT ROWID;
