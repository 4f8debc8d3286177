//! Platform deletion requests (`platform_deletions`): what a platform's data deletion
//! request deleted, kept under its confirmation code for the status page the platform shows.

use super::stmt::Stmt;
use crate::error::{ApiResult, OrInternal};
use serde::Deserialize;
use worker::{query, D1Database};

/// Records a deletion request once: a repeated request (the same code) keeps what the first
/// one deleted.
pub async fn record_deletion(db: &D1Database, code: &str, platform: &str, deleted: i64, now: i64) -> ApiResult<()> {
    query!(
        db,
        "INSERT INTO platform_deletions (code, platform, profiles_deleted, created_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (code) DO NOTHING",
        code,
        platform,
        deleted,
        now
    )
    .or_500("prepare deletion record")?
    .run()
    .await
    .or_500("deletion record")?;
    Ok(())
}

/// How many profiles a stored deletion request removed, and when.
pub async fn deletion_record(db: &D1Database, code: &str) -> ApiResult<Option<(i64, i64)>> {
    #[derive(Deserialize)]
    struct Row {
        profiles_deleted: i64,
        created_at: i64,
    }
    let row = query!(db, "SELECT profiles_deleted, created_at FROM platform_deletions WHERE code = ?1", code)
        .one::<Row>("deletion record")
        .await?;
    Ok(row.map(|r| (r.profiles_deleted, r.created_at)))
}
