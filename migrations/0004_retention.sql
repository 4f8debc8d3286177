-- Key rotation that can finish, and retention (issue 8).

-- Rows whose envelope could not be opened under a key that is in TOKEN_KEYS (corrupt):
-- re-encryption skips them from then on instead of retrying the same batch forever.
ALTER TABLE profiles ADD COLUMN reencrypt_failed_at INTEGER;
ALTER TABLE apps ADD COLUMN reencrypt_failed_at INTEGER;

-- Retention: finished links and settled outbox rows are purged after RETENTION_DAYS.
CREATE INDEX connect_links_finished ON connect_links(completed_at) WHERE completed_at IS NOT NULL;
CREATE INDEX connect_links_expiry ON connect_links(expires_at) WHERE status = 'pending';
CREATE INDEX webhook_outbox_delivered ON webhook_outbox(delivered_at) WHERE delivered_at IS NOT NULL;
CREATE INDEX webhook_outbox_failed ON webhook_outbox(failed_at) WHERE failed_at IS NOT NULL;
CREATE INDEX sandbox_codes_age ON sandbox_codes(created_at);
CREATE INDEX sandbox_tokens_expiry ON sandbox_tokens(expires_at);
