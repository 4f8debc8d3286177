-- Issue 14: refresh cost that scales with what must stay alive. Each app chooses how the
-- cron keeps its tokens: 'proactive' (every access token refreshed before it expires, as
-- before; existing apps keep it) or 'on_demand' (the cron keeps alive only what would
-- otherwise die; short-lived access tokens are refreshed when read).
ALTER TABLE apps ADD COLUMN refresh_mode TEXT NOT NULL DEFAULT 'proactive'
  CHECK (refresh_mode IN ('proactive', 'on_demand'));

-- Set on an app's active grants when its mode changes (their next_refresh_at is then now):
-- the cron first recomputes such a grant's schedule in the app's current mode, and calls
-- the platform only when it is due in that mode. Cleared once the grant is rescheduled or
-- refreshed.
ALTER TABLE grants ADD COLUMN reschedule INTEGER NOT NULL DEFAULT 0;
