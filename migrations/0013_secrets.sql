-- Secrets that outlive a TOKEN_KEYS rotation, sealed like tokens and re-encrypted with them.

-- Webhook secret rotation (POST /v1/admin/apps/{id}/webhook-secret): the secret an app had
-- before its latest rotation (envelope, associated data "<app id>:webhook_secret_prev"),
-- valid until webhook_secret_prev_until. Deliveries until then carry a signature with each.
ALTER TABLE apps ADD COLUMN webhook_secret_prev_enc TEXT;
ALTER TABLE apps ADD COLUMN webhook_secret_prev_until INTEGER;

-- The worker's own secrets (envelope, associated data "<name>:secret"): the key of Meta data
-- deletion confirmation codes, stored once, so a repeated request gets the same code whatever
-- key TOKEN_KEYS leads with by then.
CREATE TABLE worker_secrets (
  name TEXT PRIMARY KEY,
  secret_enc TEXT NOT NULL,
  token_kid TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
