-- The console's profile search without an app filter (issue 28): newest first, paged by
-- (created_at, id), read from this index and stopped at the page's size, rather than a sort of
-- every profile on every page. With an app, profiles_app_list (app_id, created_at, id) serves.
CREATE INDEX profiles_created ON profiles(created_at, id);
