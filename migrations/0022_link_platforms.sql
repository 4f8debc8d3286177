-- One link, many platforms (issue 25): a link created with `platforms` offers a hosted
-- chooser. Until the user chooses, `platform` is '' (the API shows null) and
-- `authorize_url` is '' (there is no consent yet).
ALTER TABLE connect_links ADD COLUMN platforms TEXT;     -- JSON array of platform ids; NULL: a one-platform link
ALTER TABLE connect_links ADD COLUMN choice_state TEXT;  -- state_key (SHA-256) of the latest choice's state: only it completes
