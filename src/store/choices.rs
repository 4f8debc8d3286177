//! Account choices (`account_choices`): the sealed grant a link holds while its user picks
//! accounts, or until its accounts land.

use super::stmt::Stmt;
use crate::error::{ApiResult, OrInternal};
use serde::Deserialize;
use worker::{query, D1Database, D1PreparedStatement};

/// The statement that deletes the account-choice row of a link (the sealed grant it held).
pub fn drop_choice_stmt(db: &D1Database, link_id: &str) -> ApiResult<D1PreparedStatement> {
    query!(db, "DELETE FROM account_choices WHERE link_id = ?1", link_id).or_500("prepare drop choice")
}

/// The binding (`token_hash`, `""` when unbound) of a link's account-choice row, if it has
/// one.
pub async fn choice_binding(db: &D1Database, link_id: &str) -> ApiResult<Option<String>> {
    #[derive(Deserialize)]
    struct Row {
        token_hash: String,
    }
    let row = query!(db, "SELECT token_hash FROM account_choices WHERE link_id = ?1", link_id)
        .one::<Row>("read choice")
        .await?;
    Ok(row.map(|r| r.token_hash))
}

/// Deletes the account-choice row of a link, once what it held is settled.
pub async fn drop_choice(ctx: &crate::ctx::Ctx, link_id: &str) -> ApiResult<()> {
    drop_choice_stmt(&ctx.db()?, link_id)?.run().await.or_500("drop choice")?;
    Ok(())
}
