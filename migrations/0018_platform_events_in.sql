-- Platform events in: what the platforms push (comments, mentions, messages, uploads) is
-- forwarded to the apps holding the account as `platform.event` webhooks.

-- The event types each app wants, per platform: JSON `{"<platform>": ["<type>", ...]}`
-- ("*" for every type); NULL (the default): none, so no app is flooded.
ALTER TABLE apps ADD COLUMN platform_events TEXT;

-- Events already forwarded, so a platform's redelivery is forwarded once: the platform's
-- event id, or a hash of the event when it has none (`core::platform_events`). A key seen
-- more than 24 hours ago counts as new; housekeeping purges those rows.
CREATE TABLE platform_event_seen (
  platform TEXT NOT NULL,
  dedup_key TEXT NOT NULL,
  seen_at INTEGER NOT NULL,
  PRIMARY KEY (platform, dedup_key)
) WITHOUT ROWID;
CREATE INDEX platform_event_seen_at ON platform_event_seen(seen_at);

-- Counters for `GET /v1/admin/platform-events/stats`, one row per platform and hour (Unix
-- seconds of the hour's start); housekeeping drops rows older than two days.
CREATE TABLE platform_event_stats (
  platform TEXT NOT NULL,
  hour INTEGER NOT NULL,
  received INTEGER NOT NULL DEFAULT 0,
  verified INTEGER NOT NULL DEFAULT 0,
  refused INTEGER NOT NULL DEFAULT 0,
  matched INTEGER NOT NULL DEFAULT 0,
  forwarded INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (platform, hour)
) WITHOUT ROWID;
