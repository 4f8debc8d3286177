//! The row that holds a connect's grant until its accounts land: an `account_choices` row,
//! sealed like a picker's, written right after the code exchange (before the identity and
//! account calls), rewritten with the login once the identity call tells it, and deleted by the batch that lands the accounts. So the grant is never
//! live at the platform with no row: a connect that fails revokes it and drops the row; one
//! whose revocation is not settled, or that dies first, leaves the row, and the cron revokes
//! what it holds when it expires (`jobs::choices`). The row is also the landing's commit
//! marker: after a storage error, a row that is gone means the landing committed.

use super::Finish;
use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::store;
use connect_links_core::accounts::{Account, AccountType};
use connect_links_core::error::ApiResult;
use connect_links_core::model::LinkRow;
use connect_links_core::picker::{login_key, Choice, CHOICE_FIELD, CHOICE_TTL_SECS};
use worker::query;

/// The login of a choice held before the identity call told it: no account id. Its grant is
/// revoked as one of an unknown account (see `revoke::Grant::account`).
pub fn unknown_login() -> Account {
    Account {
        platform_user_id: String::new(),
        account_type: AccountType::User,
        username: None,
        display_name: None,
        avatar_url: None,
        parent: None,
        own_token: None,
    }
}

/// The sealed choice of `link` as its `account_choices` row, replacing the one it has (the
/// hold written after the exchange, whose `created_at`, the grant's time, stays): bound to a form token and a browser (their SHA-256)
/// for the picker, or to none (`binding` `None`: no submission can match it) for a row that
/// only holds the grant until its accounts land.
pub fn choice_insert_stmt(
    ctx: &Ctx,
    db: &worker::D1Database,
    link: &LinkRow,
    choice: &Choice,
    finish: Finish,
    binding: Option<(String, String)>,
    until: i64,
) -> ApiResult<worker::D1PreparedStatement> {
    let keyring = ctx.keyring()?;
    let sealed = keyring
        .seal(&link.id, CHOICE_FIELD, &serde_json::to_string(choice).or_500("choice json")?)
        .or_500("seal choice")?;
    let (token_hash, browser_hash) = binding.unwrap_or_default();
    let login = &choice.login.platform_user_id;
    let key = (!login.is_empty()).then(|| login_key(&link.platform, login));
    query!(
        db,
        "INSERT INTO account_choices (link_id, token_hash, browser_hash, sealed, token_kid, finish, expires_at, created_at, \
         login_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (link_id) DO UPDATE SET \
         token_hash = excluded.token_hash, browser_hash = excluded.browser_hash, sealed = excluded.sealed, \
         token_kid = excluded.token_kid, finish = excluded.finish, expires_at = excluded.expires_at, \
         login_key = excluded.login_key, revoke_tries = 0",
        link.id,
        token_hash,
        browser_hash,
        sealed,
        keyring.current_kid(),
        finish.as_str(),
        until,
        ctx.now(),
        key
    )
    .or_500("prepare choice")
}

/// Holds the grant `choice` carries in the link's row (written, or rewritten with what is
/// now known of the login), unbound, for [`CHOICE_TTL_SECS`].
pub async fn hold(ctx: &Ctx, link: &LinkRow, choice: &Choice, finish: Finish) -> ApiResult<()> {
    let db = ctx.db()?;
    let stmt = choice_insert_stmt(ctx, &db, link, choice, finish, None, ctx.now() + CHOICE_TTL_SECS)?;
    stmt.run().await.or_500("hold grant")?;
    Ok(())
}

/// After a write that would have deleted or rebound the link's row failed (D1 can fail a
/// call whose transaction committed): the row's binding (`token_hash`, `""` when unbound) if
/// it is still there, `Ok(None)` once it is gone (the landing committed: the grant is
/// stored, not to be revoked). An error: not known; the row, if any, is the cron's.
pub async fn row_after_error(ctx: &Ctx, link_id: &str) -> ApiResult<Option<String>> {
    store::choice_binding(&ctx.db()?, link_id).await
}
