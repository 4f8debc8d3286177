-- Whether an app may manage its own platform credentials with its own API key
-- (`/v1/platform-credentials`): off unless the operator turns it on.
ALTER TABLE apps ADD COLUMN self_service_credentials INTEGER NOT NULL DEFAULT 0;

-- One platform account connected through two different platform apps (the deployment's and
-- an app's own, or two client ids of the app) holds two sets of tokens, each refreshed and
-- revoked with its own client: two grants. The login's uniqueness per app therefore names
-- the credentials too (NULL credential_ref, the deployment's, counted as one value). SQLite
-- cannot drop a table's UNIQUE constraint, so the table is rebuilt with the same columns,
-- rows and indexes: the rows wait in a copy while the table is made again, and profiles
-- (which refer to grants by id) find their grants again before the commit checks them.
PRAGMA defer_foreign_keys = on;

CREATE TABLE grants_old AS SELECT * FROM grants;
DROP TABLE grants;

CREATE TABLE grants (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  platform TEXT NOT NULL,
  platform_user_id TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'active',
  disconnect_reason TEXT,
  scopes TEXT NOT NULL DEFAULT '[]',
  access_token_enc TEXT NOT NULL,
  refresh_token_enc TEXT,
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
  consented_at INTEGER,
  instance TEXT,
  reschedule INTEGER NOT NULL DEFAULT 0,
  refresh_lease_taken_over INTEGER NOT NULL DEFAULT 0,
  refresh_suspect_until INTEGER,
  credential_ref TEXT
);

INSERT INTO grants (id, app_id, platform, platform_user_id, status, disconnect_reason, scopes, access_token_enc,
  refresh_token_enc, token_kid, access_token_expires_at, refresh_token_expires_at, token_issued_at, last_refreshed_at,
  next_refresh_at, refresh_lease_id, refresh_lease_until, last_refresh_ms, refresh_failures, refresh_failing,
  expiring_notified, reencrypt_failed_at, created_at, updated_at, consented_at, instance, reschedule,
  refresh_lease_taken_over, refresh_suspect_until, credential_ref)
SELECT id, app_id, platform, platform_user_id, status, disconnect_reason, scopes, access_token_enc,
  refresh_token_enc, token_kid, access_token_expires_at, refresh_token_expires_at, token_issued_at, last_refreshed_at,
  next_refresh_at, refresh_lease_id, refresh_lease_until, last_refresh_ms, refresh_failures, refresh_failing,
  expiring_notified, reencrypt_failed_at, created_at, updated_at, consented_at, instance, reschedule,
  refresh_lease_taken_over, refresh_suspect_until, credential_ref
FROM grants_old;
DROP TABLE grants_old;


-- One grant per login of an app and credentials that minted it.
CREATE UNIQUE INDEX grants_login ON grants(app_id, platform, platform_user_id, COALESCE(credential_ref, ''));
CREATE INDEX grants_next_refresh ON grants(next_refresh_at) WHERE status = 'active';
CREATE INDEX grants_token_kid ON grants(token_kid);
CREATE INDEX grants_account ON grants(platform, platform_user_id);
CREATE INDEX grants_instance ON grants(platform, instance) WHERE instance IS NOT NULL;
CREATE INDEX grants_credential_ref ON grants(credential_ref) WHERE credential_ref IS NOT NULL;
