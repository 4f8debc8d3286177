-- How many forms of a chooser link's hosted pages were posted (issue 25): the choice, a
-- Mastodon instance, a Bluesky handle and app password, an API key. Bumped before anything
-- is tried, in the one statement that also refuses past the cap (src/links/attempts.rs),
-- so a script holding one browser's cookie and form token cannot guess app passwords or
-- keys through the worker without end.
ALTER TABLE connect_links ADD COLUMN choice_attempts INTEGER NOT NULL DEFAULT 0;
