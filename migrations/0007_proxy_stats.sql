-- Issue 11: counters of proxied calls for GET /v1/admin/stats, one row per minute, platform,
-- status and source ('platform': the platform answered; 'local': refused here by a budget
-- or a remembered 429; 'network': the platform could not be reached). Housekeeping drops
-- rows older than a day.
CREATE TABLE proxy_stats (
  minute INTEGER NOT NULL,
  platform TEXT NOT NULL,
  status INTEGER NOT NULL,
  source TEXT NOT NULL,
  calls INTEGER NOT NULL,
  PRIMARY KEY (minute, platform, status, source)
) WITHOUT ROWID;
