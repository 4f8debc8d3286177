-- An app's own platform credentials ("bring your own platform app"): an app that connects
-- through its own platform app gets its own consent screen name, review and rate-limit
-- quota instead of the deployment's shared ones. The secrets are sealed like tokens
-- (envelope under TOKEN_KEYS, associated data "<app id>:<platform>", fields client_secret
-- and webhook_secret) and re-encrypted by key rotation with them.
CREATE TABLE platform_credentials (
  id TEXT PRIMARY KEY,               -- pcr_..., the credential_ref of the grants it minted
  app_id TEXT NOT NULL,
  platform TEXT NOT NULL,
  client_id TEXT NOT NULL,
  client_secret_enc TEXT NOT NULL,
  webhook_secret_enc TEXT,           -- when the platform signs its webhooks with another secret
  token_kid TEXT NOT NULL,           -- the key both secrets are sealed under
  secret_fingerprint TEXT NOT NULL,  -- first 8 hex of the client secret's SHA-256
  scopes TEXT,                       -- JSON array: the app's default scopes; NULL: the platform's
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  -- Replaced by credentials with another client_id while grants still use these: kept,
  -- sealed, for those grants only; new connects use the current ones.
  retired_at INTEGER,
  reencrypt_failed_at INTEGER        -- a secret no key in TOKEN_KEYS opens: skipped by rotation
);
-- One current credential per app and platform.
CREATE UNIQUE INDEX platform_credentials_current ON platform_credentials(app_id, platform)
  WHERE retired_at IS NULL;
CREATE INDEX platform_credentials_kid ON platform_credentials(token_kid);

-- The app's credentials a grant was minted with (a reference, not a copy); NULL: the
-- deployment's.
ALTER TABLE grants ADD COLUMN credential_ref TEXT;
CREATE INDEX grants_credential_ref ON grants(credential_ref) WHERE credential_ref IS NOT NULL;
