-- An app's brand on the hosted pages (issue 25): the name end-users see, an accent colour
-- and a logo. The logo's bytes (only as the sanitizers re-wrote them, brand/png.rs and
-- brand/svg.rs in core) live in their own table, so the apps row every API call reads stays
-- small; apps.logo_file names the current one and is the last segment of its URL.
ALTER TABLE apps ADD COLUMN display_name TEXT;   -- NULL: pages show apps.name
ALTER TABLE apps ADD COLUMN accent_color TEXT;   -- #rrggbb (lower case); NULL: the pages' own
ALTER TABLE apps ADD COLUMN logo_file TEXT;      -- <16 hex of SHA-256>.png|svg; NULL: no logo
CREATE TABLE app_logos (
  app_id TEXT PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
  file TEXT NOT NULL,                  -- as apps.logo_file
  body TEXT NOT NULL,                  -- the sanitized bytes, base64 (at most 32 KiB before it)
  updated_at INTEGER NOT NULL
);
