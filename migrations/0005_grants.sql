-- Grants (issue 9): what one consent produced (the login, its tokens, its refresh state)
-- apart from the profiles, the accounts an app acts as under it (the login itself, or its
-- Pages, organizations and Instagram business accounts). Refresh, leases, revocation and key
-- rotation work on grants. No envelope is opened here: each existing profile's tokens move
-- to a grant with the same id, so their associated data ("<id>:access_token") still matches.

CREATE TABLE grants (
  id TEXT PRIMARY KEY,                      -- grn_... (migrated rows keep their profile's id)
  app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  platform TEXT NOT NULL,
  platform_user_id TEXT NOT NULL,           -- the login's platform id
  status TEXT NOT NULL DEFAULT 'active',    -- active | disconnected
  disconnect_reason TEXT,
  scopes TEXT NOT NULL DEFAULT '[]',        -- JSON array, as granted
  access_token_enc TEXT NOT NULL,           -- envelope, associated data "<grant id>:access_token"
  refresh_token_enc TEXT,                   -- envelope, "<grant id>:refresh_token"
  token_kid TEXT NOT NULL,
  access_token_expires_at INTEGER,
  refresh_token_expires_at INTEGER,
  token_issued_at INTEGER NOT NULL,
  last_refreshed_at INTEGER,
  next_refresh_at INTEGER,
  refresh_lease_id TEXT,
  refresh_lease_until INTEGER,
  last_refresh_ms INTEGER,
  refresh_failures INTEGER NOT NULL DEFAULT 0,
  refresh_failing INTEGER NOT NULL DEFAULT 0,
  expiring_notified INTEGER NOT NULL DEFAULT 0,
  reencrypt_failed_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (app_id, platform, platform_user_id)
);

INSERT INTO grants (id, app_id, platform, platform_user_id, status, disconnect_reason, scopes, access_token_enc,
  refresh_token_enc, token_kid, access_token_expires_at, refresh_token_expires_at, token_issued_at, last_refreshed_at,
  next_refresh_at, refresh_lease_id, refresh_lease_until, last_refresh_ms, refresh_failures, refresh_failing,
  expiring_notified, reencrypt_failed_at, created_at, updated_at)
SELECT id, app_id, platform, platform_user_id, CASE WHEN status = 'disconnected' THEN 'disconnected' ELSE 'active' END,
  disconnect_reason, scopes, access_token_enc, refresh_token_enc, token_kid, access_token_expires_at,
  refresh_token_expires_at, token_issued_at, last_refreshed_at, next_refresh_at, refresh_lease_id, refresh_lease_until,
  last_refresh_ms, refresh_failures, refresh_failing, expiring_notified, reencrypt_failed_at, created_at, updated_at
FROM profiles;

-- Profiles lose the grant's columns. `scopes`, `access_token_expires_at` and
-- `last_refreshed_at` are the grant's, copied on each grant write (the API shows them per
-- profile); a profile with its own token (a Facebook Page) keeps that token here.
CREATE TABLE profiles_v2 (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  grant_id TEXT NOT NULL REFERENCES grants(id),
  platform TEXT NOT NULL,
  account_type TEXT NOT NULL DEFAULT 'user', -- user | page | organization | instagram_business
  platform_user_id TEXT NOT NULL,            -- the account's platform id
  parent TEXT,                               -- JSON {id, name, type}: what the account is reached through
  username TEXT,
  display_name TEXT,
  avatar_url TEXT,
  external_user_id TEXT,
  metadata TEXT,                             -- JSON object
  status TEXT NOT NULL DEFAULT 'active',     -- pending | active | disconnected
  disconnect_reason TEXT,
  scopes TEXT NOT NULL DEFAULT '[]',
  access_token_enc TEXT,                     -- the account's own token, "<profile id>:access_token"; NULL: the grant's
  token_kid TEXT,
  access_token_expires_at INTEGER,
  last_refreshed_at INTEGER,
  claim_link_id TEXT,
  reencrypt_failed_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (app_id, platform, platform_user_id)
);

INSERT INTO profiles_v2 (id, app_id, grant_id, platform, account_type, platform_user_id, parent, username, display_name,
  avatar_url, external_user_id, metadata, status, disconnect_reason, scopes, access_token_enc, token_kid,
  access_token_expires_at, last_refreshed_at, claim_link_id, reencrypt_failed_at, created_at, updated_at)
SELECT id, app_id, id, platform, 'user', platform_user_id, NULL, username, display_name, avatar_url, external_user_id,
  metadata, status, disconnect_reason, scopes, NULL, NULL, access_token_expires_at, last_refreshed_at, claim_link_id,
  NULL, created_at, updated_at
FROM profiles;

DROP TABLE profiles;
ALTER TABLE profiles_v2 RENAME TO profiles;

CREATE INDEX profiles_app_list ON profiles(app_id, created_at, id);
CREATE INDEX profiles_grant ON profiles(grant_id);
CREATE INDEX profiles_claim_link ON profiles(claim_link_id) WHERE claim_link_id IS NOT NULL;
CREATE INDEX profiles_account ON profiles(platform, platform_user_id);
CREATE INDEX profiles_token_kid ON profiles(token_kid) WHERE token_kid IS NOT NULL;

CREATE INDEX grants_next_refresh ON grants(next_refresh_at) WHERE status = 'active';
CREATE INDEX grants_token_kid ON grants(token_kid);
-- "Does another grant (any app) hold this login?" before a revoke.
CREATE INDEX grants_account ON grants(platform, platform_user_id);

-- Links: every profile a connect made (JSON array of ids, in the order chosen) and the event
-- each one's claim sends (JSON array, same order); and the account choice (picker) window.
ALTER TABLE connect_links ADD COLUMN profile_ids TEXT;
ALTER TABLE connect_links ADD COLUMN claim_events TEXT;
ALTER TABLE connect_links ADD COLUMN accounts TEXT NOT NULL DEFAULT 'pick'; -- pick | all
ALTER TABLE connect_links ADD COLUMN choice_expires_at INTEGER;

-- A login with several accounts waits here for the user's choice (status 'choosing' on the
-- link): the exchanged tokens and the listed accounts, sealed; bound to the browser that
-- got the picker page (a cookie, stored as its SHA-256) and to a one-time form token.
CREATE TABLE account_choices (
  link_id TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL,
  browser_hash TEXT NOT NULL,
  sealed TEXT NOT NULL,                     -- envelope, associated data "<link id>:account_choice"
  token_kid TEXT NOT NULL,
  finish TEXT NOT NULL,                     -- now | claim
  expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX account_choices_expiry ON account_choices(expires_at);
