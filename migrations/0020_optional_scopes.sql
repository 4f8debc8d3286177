-- Scopes the user may decline (issue 25). A link names the scopes it asks for that the user
-- may decline; a failed link names the required scopes the user declined; a grant and its
-- profiles name the optional scopes the last consent declined. JSON arrays; NULL: none.
ALTER TABLE connect_links ADD COLUMN optional_scopes TEXT;
ALTER TABLE connect_links ADD COLUMN missing_scopes TEXT;
ALTER TABLE grants ADD COLUMN declined_scopes TEXT;
ALTER TABLE profiles ADD COLUMN declined_scopes TEXT;
