-- Per-app limits: what one app (a tenant of the deployment) may spend, so that it cannot
-- spend another's share. `limits` holds only the operator's overrides, as JSON
-- (`core/src/app_limits.rs`; NULL: every default), so a changed default reaches every app
-- that did not override it.
ALTER TABLE apps ADD COLUMN limits TEXT;

-- The pending-link cap counts an app's links still waiting for their callback at each
-- create, in the same statement as the insert: this index holds only those (a link leaves
-- it when it completes or fails), so the count reads the app's pending links and no others.
CREATE INDEX connect_links_pending ON connect_links(app_id, expires_at) WHERE status = 'pending';
