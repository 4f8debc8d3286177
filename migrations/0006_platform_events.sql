-- Revocation and deletion from the platform side (issue 10).

-- When a platform last told us something about the profile (a deauthorization, a data
-- deletion request, TikTok's authorization.removed).
ALTER TABLE profiles ADD COLUMN last_platform_event_at INTEGER;

-- Liveness of tokens that never expire (a Facebook Page's own token; a grant's token with no
-- expiry): one identity call per profile every LIVENESS_INTERVAL_DAYS, spread over the
-- interval; transient failures back off.
ALTER TABLE profiles ADD COLUMN next_check_at INTEGER;
ALTER TABLE profiles ADD COLUMN check_failures INTEGER NOT NULL DEFAULT 0;
CREATE INDEX profiles_next_check ON profiles(next_check_at) WHERE status = 'active';

-- Answered Meta data deletion requests: the status page reads them. No user id is kept:
-- the code is an HMAC of the request, so a repeated request finds its row.
CREATE TABLE platform_deletions (
  code TEXT PRIMARY KEY,
  platform TEXT NOT NULL,
  profiles_deleted INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);

-- Profiles already acting with a token that never expires get their first check somewhere
-- in the coming week.
UPDATE profiles SET next_check_at = CAST(strftime('%s', 'now') AS INTEGER) + ABS(RANDOM() % 604800)
WHERE status = 'active' AND access_token_expires_at IS NULL;

-- When the user last consented (a connect or reconnect; refreshes do not count): a
-- platform event older than that is about a grant the user has since renewed, and is
-- ignored (TikTok redelivers for up to 72 hours). Rows from before: their creation.
ALTER TABLE grants ADD COLUMN consented_at INTEGER;
UPDATE grants SET consented_at = created_at;

-- The login an open account choice holds tokens of (SHA-256 of "<platform>:<login>"), so a
-- deauthorization or deletion request finds it without opening it.
ALTER TABLE account_choices ADD COLUMN login_key TEXT;
CREATE INDEX account_choices_login ON account_choices(login_key);
