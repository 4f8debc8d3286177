-- The console's reads (issue 28, docs/console.md): the overview counts profiles by platform and
-- status from this narrow index rather than the table; the webhooks page lists the outbox
-- newest first, of every app or of one (the app's also serves ON DELETE CASCADE from apps).
CREATE INDEX profiles_platform_status ON profiles(platform, status);
CREATE INDEX webhook_outbox_created ON webhook_outbox(created_at, id);
CREATE INDEX webhook_outbox_app ON webhook_outbox(app_id, created_at, id);
