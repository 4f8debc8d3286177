//! Platform deletion requests (`platform_deletions`): what a platform's data deletion
//! request deleted, kept under its confirmation code for the status page the platform shows.

use serde::Deserialize;
use super::stmt::query;
use worker::{D1Database, D1PreparedStatement};

/// The statement that records a deletion request once: a repeated request (the same code)
/// keeps what the first one deleted.
#[inline(always)]
pub fn record_deletion(
    db: &D1Database,
    code: &str,
    platform: &str,
    deleted: i64,
    now: i64,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "INSERT INTO platform_deletions (code, platform, profiles_deleted, created_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (code) DO NOTHING",
        code,
        platform,
        deleted,
        now
    )
}

/// What a stored deletion request removed.
#[derive(Deserialize, Default)]
pub struct DeletionRecord {
    /// How many profiles it deleted.
    pub profiles_deleted: i64,
    /// When (epoch seconds).
    pub created_at: i64,
}

/// The statement that reads the deletion request with this code.
#[inline(always)]
pub fn deletion_record(db: &D1Database, code: &str) -> worker::Result<D1PreparedStatement> {
    query!(db, "SELECT profiles_deleted, created_at FROM platform_deletions WHERE code = ?1", code)
}
