-- The console's history (issue 28): one row per thing that happened to a grant or a profile
-- (connected, a refresh's outcome, disconnected and why, revoked by the platform, a proxied
-- call's error, a liveness check, a webhook about it), kept RETENTION_DAYS. Never a token,
-- code or secret: `code` and `detail` hold the platform's error code and text (capped), or the
-- reason. `id` is the rowid: newer rows have larger ids, so the console pages by it.
CREATE TABLE activity (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,            -- epoch seconds
  app_id TEXT NOT NULL,
  platform TEXT NOT NULL,
  profile_id TEXT,                -- NULL for what concerns a whole grant (a refresh)
  grant_id TEXT,
  kind TEXT NOT NULL,             -- connected | refresh | disconnected | revoked | proxy_error | liveness | webhook
  outcome TEXT NOT NULL,          -- per kind: ok | transient | disconnected | failed | retrying | given_up ...
  status INTEGER,                 -- the HTTP status of the platform's (or webhook receiver's) answer, if any
  code TEXT,                      -- the platform's error code
  detail TEXT                     -- the platform's error text or the reason, at most 300 characters
);
CREATE INDEX activity_at ON activity(at);
CREATE INDEX activity_app ON activity(app_id, id);
CREATE INDEX activity_profile ON activity(profile_id, id) WHERE profile_id IS NOT NULL;
CREATE INDEX activity_grant ON activity(grant_id, id) WHERE grant_id IS NOT NULL;
CREATE INDEX activity_kind ON activity(kind, at);
