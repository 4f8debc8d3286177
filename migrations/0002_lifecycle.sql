-- Token lifecycle: refresh leases, failure state, and the webhook outbox.

-- One refresh at a time per profile: a lease taken by an atomic UPDATE.
ALTER TABLE profiles ADD COLUMN refresh_lease_id TEXT;
ALTER TABLE profiles ADD COLUMN refresh_lease_until INTEGER;
-- Completion time of the last refresh, in ms: a trigger that started before it has nothing to do.
ALTER TABLE profiles ADD COLUMN last_refresh_ms INTEGER;
-- Transient failures in a row, and whether profile.refresh_failed was sent for them.
ALTER TABLE profiles ADD COLUMN refresh_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE profiles ADD COLUMN refresh_failing INTEGER NOT NULL DEFAULT 0;
-- Whether profile.expiring was sent for the current token (platforms without refresh).
ALTER TABLE profiles ADD COLUMN expiring_notified INTEGER NOT NULL DEFAULT 0;

-- Every event is written here first, then delivered (at least once).
CREATE TABLE webhook_outbox (
  id TEXT PRIMARY KEY,                      -- evt_..., also the webhook-id header
  app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  type TEXT NOT NULL,
  body TEXT NOT NULL,                       -- the exact signed body
  created_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,                  -- NULL once delivered or given up
  delivered_at INTEGER,
  failed_at INTEGER,                        -- given up after the retry schedule
  last_status INTEGER
);
CREATE INDEX webhook_outbox_due ON webhook_outbox(next_attempt_at) WHERE next_attempt_at IS NOT NULL;
