-- connect-links schema. Times are epoch seconds (INTEGER); the API shows RFC 3339.

CREATE TABLE apps (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  allowed_redirect_urls TEXT NOT NULL,      -- JSON array
  webhook_url TEXT,
  webhook_secret_enc TEXT NOT NULL,         -- envelope, associated data "<app id>:webhook_secret"
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
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
  completed_at INTEGER
);
CREATE INDEX connect_links_app ON connect_links(app_id, created_at);

-- One connected platform account of one app. Token columns hold envelopes only.
CREATE TABLE profiles (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  platform TEXT NOT NULL,
  platform_user_id TEXT NOT NULL,
  username TEXT,
  display_name TEXT,
  avatar_url TEXT,
  external_user_id TEXT,
  metadata TEXT,                            -- JSON object
  status TEXT NOT NULL DEFAULT 'active',    -- active | disconnected
  disconnect_reason TEXT,
  scopes TEXT NOT NULL DEFAULT '[]',        -- JSON array, as granted
  access_token_enc TEXT NOT NULL,
  refresh_token_enc TEXT,
  token_kid TEXT NOT NULL,                  -- key id of the envelopes, for re-encryption
  access_token_expires_at INTEGER,
  refresh_token_expires_at INTEGER,
  token_issued_at INTEGER NOT NULL,
  last_refreshed_at INTEGER,
  next_refresh_at INTEGER,                  -- when the lifecycle job should look at it
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (app_id, platform, platform_user_id)
);
CREATE INDEX profiles_next_refresh ON profiles(next_refresh_at) WHERE status = 'active';
CREATE INDEX profiles_app_list ON profiles(app_id, created_at, id);
CREATE INDEX profiles_token_kid ON profiles(token_kid);

-- A state is consumed exactly once: the primary key makes a second insert fail.
CREATE TABLE consumed_states (
  state_hash TEXT PRIMARY KEY,
  link_id TEXT NOT NULL,
  consumed_at INTEGER NOT NULL
);
CREATE INDEX consumed_states_age ON consumed_states(consumed_at);

-- The built-in sandbox platform's own storage (codes and tokens, hashed).
CREATE TABLE sandbox_codes (
  code_hash TEXT PRIMARY KEY,
  redirect_uri TEXT NOT NULL,
  code_challenge TEXT NOT NULL,
  scope TEXT NOT NULL,
  username TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  used_at INTEGER
);

CREATE TABLE sandbox_tokens (
  token_hash TEXT PRIMARY KEY,
  kind TEXT NOT NULL,                       -- access | refresh
  username TEXT NOT NULL,
  scope TEXT NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER,
  created_at INTEGER NOT NULL
);
