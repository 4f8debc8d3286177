-- Instance clients are not kept forever: a tenant's links naming thousands of hosts would
-- otherwise leave a row per host for good. A client this deployment registered with a
-- Mastodon instance is deleted by the cron once no link used it for 30 days and no grant
-- on that instance is left (its tokens would need it to be revoked). last_used_at: when a
-- link last used it (written at most daily). Clients registered before this migration start
-- their 30 days now. Also, from this version each instance's client is registered with a
-- callback path of its own (PUBLIC_URL/oauth/callback/<platform>/<instance>): the clients
-- registered with the shared callback serve only the revocation of the grants they issued,
-- and go with them.
ALTER TABLE instance_clients ADD COLUMN last_used_at INTEGER;
UPDATE instance_clients SET last_used_at = CAST(strftime('%s', 'now') AS INTEGER);

-- "Does a grant on this instance remain?", asked of each purge candidate.
CREATE INDEX grants_instance ON grants(platform, instance) WHERE instance IS NOT NULL;
