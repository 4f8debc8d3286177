//! A link's account-choice row: the picker's sealed choice, or the row that holds a
//! connect's grant until its accounts land. The hold is sealed like a picker's, written
//! right after the code exchange (before the identity and account calls), rewritten with the
//! login once the identity call tells it, and deleted by the batch that lands the accounts.
//! So the grant is never live at the platform with no row: a connect that fails revokes it
//! and drops the row; one whose revocation is not settled, or that dies first, leaves the
//! row, and the cron revokes what it holds when it expires (`jobs::choices`). The row is
//! also the landing's commit marker: after a storage error, a row that is gone means the
//! landing committed.

use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::store::{self, ChoiceWrite, KeyedText, Stmt};
use connect_links_core::accounts::{Account, AccountType};
use connect_links_core::error::{ApiError, ApiResult};
use connect_links_core::landing::Finish;
use connect_links_core::model::LinkRow;
use connect_links_core::picker::{choice_hash, login_key, Choice, CHOICE_FIELD, CHOICE_TTL_SECS};

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
/// hold written after the exchange, whose `created_at`, the grant's time, stays): bound to a
/// form token and a browser (their SHA-256) for the picker, or to none (`binding` `None`: no
/// submission can match it) for a row that only holds the grant until its accounts land.
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
    let key = (!login.is_empty()).then(|| login_key(&link.platform, login, choice.credential_ref.as_deref()));
    store::upsert_choice_stmt(
        db,
        &ChoiceWrite {
            link_id: &link.id,
            token_hash: &token_hash,
            browser_hash: &browser_hash,
            sealed: &sealed,
            token_kid: keyring.current_kid(),
            finish: finish.as_str(),
            expires_at: until,
            created_at: ctx.now(),
            login_key: key.as_deref(),
        },
    )
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

/// Takes the picker's choice of `link` for the submission with this form `token` from this
/// `browser` (its cookie), once: `None` when it does not come from the page that browser was
/// shown, or was already made. The row keeps holding the grant until the accounts land (the
/// batch that lands them deletes it) or it is revoked, so a failure never leaves it live
/// with no row. A choice that no key opens is a 500.
pub async fn take(ctx: &Ctx, link: &LinkRow, token: &str, browser: &str) -> ApiResult<Option<(Choice, Finish)>> {
    let db = ctx.db()?;
    let now = ctx.now();
    let (token_hash, browser_hash) = (choice_hash(token), choice_hash(browser));
    let taken = store::take_choice(&db, &link.id, &token_hash, &browser_hash, now, now + CHOICE_TTL_SECS)
        .one::<KeyedText>("take choice")
        .await?;
    // The row's finish as `id`, the sealed choice as `text`.
    let Some(KeyedText { id: finish, text: sealed }) = taken else { return Ok(None) };
    let choice: Choice = ctx
        .keyring()?
        .open(&link.id, CHOICE_FIELD, &sealed)
        .ok()
        .and_then(|plain| connect_links_core::stored_json::from_slice(plain.as_bytes()).ok())
        .ok_or_else(ApiError::internal)?;
    Ok(Some((choice, Finish::from_stored(&finish))))
}
