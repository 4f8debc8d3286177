//! The housekeeping's purges of rows nobody needs, one statement per table (the outbox's is
//! `outbox`'s): finished connect links, sandbox codes and tokens, unused instance clients.
//! A statement here is run by its caller.

use super::stmt::query;
use worker::{D1Database, D1PreparedStatement};

/// Purges up to `limit` connect links finished (claimed or not to be claimed) or expired
/// before `cut`.
pub fn purge_finished_links(db: &D1Database, cut: i64, limit: u32) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "DELETE FROM connect_links WHERE id IN (SELECT id FROM connect_links WHERE \
         (completed_at IS NOT NULL AND status != 'awaiting_claim' AND completed_at < ?1) \
         OR (status = 'pending' AND expires_at < ?1) LIMIT ?2)",
        cut,
        limit
    )
}

/// Purges up to `limit` sandbox codes created before `before`.
pub fn purge_sandbox_codes(db: &D1Database, before: i64, limit: u32) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "DELETE FROM sandbox_codes WHERE code_hash IN (SELECT code_hash FROM sandbox_codes WHERE created_at < ?1 LIMIT ?2)",
        before,
        limit
    )
}

/// Purges up to `limit` sandbox tokens expired or revoked before `now`.
pub fn purge_sandbox_tokens(db: &D1Database, now: i64, limit: u32) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "DELETE FROM sandbox_tokens WHERE token_hash IN (SELECT token_hash FROM sandbox_tokens \
         WHERE expires_at < ?1 UNION SELECT token_hash FROM sandbox_tokens WHERE revoked_at < ?1 LIMIT ?2)",
        now,
        limit
    )
}

/// Deletes up to `limit` Mastodon instance clients no link used since `unused_since`, whose
/// registration is not in flight at `now`, and that no grant on their instance holds,
/// returning each one's instance (as `id`: read with `Stmt::ids`).
pub fn purge_unused_instance_clients(
    db: &D1Database,
    unused_since: i64,
    now: i64,
    limit: u32,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "DELETE FROM instance_clients WHERE (platform, instance, redirect_uri) IN ( \
           SELECT c.platform, c.instance, c.redirect_uri FROM instance_clients c \
           WHERE COALESCE(c.last_used_at, c.updated_at) < ?1 \
             AND (c.registering_until IS NULL OR c.registering_until < ?2) \
             AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.platform = c.platform AND g.instance = c.instance) \
           LIMIT ?3) \
         RETURNING instance AS id",
        unused_since,
        now,
        limit
    )
}
