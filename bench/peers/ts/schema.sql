-- The subset of connect-links' schema the peer touches (create-link; the proxy's profiles and
-- grants, with the columns its one read needs and the same keys), as migrations/0001..0008
-- leave it: apps, api_keys and connect_links with every column and index they end up with
-- (the later ALTER TABLE columns folded in), so an insert costs the peer what it costs us.

CREATE TABLE apps (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  allowed_redirect_urls TEXT NOT NULL,      -- JSON array
  webhook_url TEXT,
  webhook_secret_enc TEXT NOT NULL,         -- envelope, associated data "<app id>:webhook_secret"
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  claim TEXT NOT NULL DEFAULT 'required',   -- 0003
  reencrypt_failed_at INTEGER               -- 0004
);

-- API keys are stored only as SHA-256 hashes.
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  key_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX api_keys_app ON api_keys(app_id);

CREATE TABLE connect_links (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  platform TEXT NOT NULL,
  redirect_url TEXT NOT NULL,
  authorize_url TEXT NOT NULL,             -- envelope (it holds the state), data "<link id>:authorize_url"
  scopes TEXT NOT NULL,                     -- JSON array, as requested
  external_user_id TEXT,
  app_state TEXT,
  metadata TEXT,                            -- JSON object
  reconnect_profile_id TEXT,
  callback TEXT NOT NULL DEFAULT 'hosted',
  status TEXT NOT NULL DEFAULT 'pending',   -- pending | completed | failed (expired is derived)
  error TEXT,
  profile_id TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  completed_at INTEGER,
  claim_token_hash TEXT,                    -- 0003
  claim_expires_at INTEGER,                 -- 0003
  claim_event TEXT,                         -- 0003
  profile_ids TEXT,                         -- 0005
  claim_events TEXT,                        -- 0005
  accounts TEXT NOT NULL DEFAULT 'pick',    -- 0005: pick | all
  choice_expires_at INTEGER,                -- 0005
  instance TEXT                             -- 0008
);
CREATE INDEX connect_links_app ON connect_links(app_id, created_at);
CREATE INDEX connect_links_unclaimed ON connect_links(claim_expires_at) WHERE status = 'awaiting_claim';
CREATE INDEX connect_links_finished ON connect_links(completed_at) WHERE completed_at IS NOT NULL;
CREATE INDEX connect_links_expiry ON connect_links(expires_at) WHERE status = 'pending';

-- The proxy peer's read: a profile by id and app, joined to its grant's sealed token.
CREATE TABLE grants (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  platform TEXT NOT NULL,
  platform_user_id TEXT NOT NULL,
  access_token_enc TEXT NOT NULL,           -- envelope, associated data "<grant id>:access_token"
  status TEXT NOT NULL DEFAULT 'active'
);

CREATE TABLE profiles (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  grant_id TEXT NOT NULL REFERENCES grants(id),
  platform TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX profiles_app ON profiles(app_id, created_at);
