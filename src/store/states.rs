//! Consumed OAuth states (`consumed_states`): each state is used once.

use super::stmt::Stmt;
use crate::error::ApiResult;
use super::stmt::query;
use worker::D1Database;

/// Records a state as consumed. True only for the first caller: the primary key makes
/// every later insert of the same state a no-op, atomically.
pub async fn consume_state(db: &D1Database, state_hash: &str, link_id: &str, now: i64) -> ApiResult<bool> {
    let r = query!(
        db,
        "INSERT INTO consumed_states (state_hash, link_id, consumed_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (state_hash) DO NOTHING RETURNING state_hash",
        state_hash,
        link_id,
        now
    )
    .exists("consume state")
    .await?;
    Ok(r)
}

/// Deletes consumed-state records older than `before`.
pub async fn delete_old_states(db: &D1Database, before: i64) -> ApiResult<()> {
    query!(db, "DELETE FROM consumed_states WHERE consumed_at < ?1", before).exec("state cleanup").await?;
    Ok(())
}
