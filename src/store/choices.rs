//! Account choices (`account_choices`): the sealed grant a link holds while its user picks
//! accounts, or until its accounts land.

use super::stmt::{IdRow, Stmt};
use crate::error::{ApiResult, OrInternal};
use serde::Deserialize;
use super::stmt::query;
use worker::{D1Database, D1PreparedStatement};

/// The statement that deletes the account-choice row of a link (the sealed grant it held).
pub fn drop_choice_stmt(db: &D1Database, link_id: &str) -> ApiResult<D1PreparedStatement> {
    query!(db, "DELETE FROM account_choices WHERE link_id = ?1", link_id).or_500("prepare drop choice")
}

/// The binding (`token_hash`, `""` when unbound) of a link's account-choice row, if it has
/// one.
pub async fn choice_binding(db: &D1Database, link_id: &str) -> ApiResult<Option<String>> {
    // Read as an `IdRow` (one text column named `id`): no row type of its own.
    let row = query!(db, "SELECT token_hash AS id FROM account_choices WHERE link_id = ?1", link_id)
        .one::<IdRow>("read choice")
        .await?;
    Ok(row.map(|r| r.id))
}

/// Deletes the account-choice row of a link, once what it held is settled.
pub async fn drop_choice(ctx: &crate::ctx::Ctx, link_id: &str) -> ApiResult<()> {
    drop_choice_stmt(&ctx.db()?, link_id)?.run().await.or_500("drop choice")?;
    Ok(())
}

/// An account-choice row as a link writes it (sealed: D1 never holds a usable grant).
pub struct ChoiceWrite<'a> {
    /// The link.
    pub link_id: &'a str,
    /// SHA-256 of the picker's form token (`""`: unbound, no submission can match it).
    pub token_hash: &'a str,
    /// SHA-256 of the picker's cookie (`""` when unbound).
    pub browser_hash: &'a str,
    /// The sealed choice.
    pub sealed: &'a str,
    /// The key id it is sealed under.
    pub token_kid: &'a str,
    /// How the connect ends (`Finish::as_str`).
    pub finish: &'a str,
    /// Epoch seconds.
    pub expires_at: i64,
    /// Epoch seconds (kept by a rewrite: the grant's time).
    pub created_at: i64,
    /// The key the row is found by when its login lets go of the app, once the login is known.
    pub login_key: Option<&'a str>,
}

/// The statement that writes a link's account-choice row, replacing the one it has (whose
/// `created_at` stays, and whose revocation tries start again).
#[inline(always)]
pub fn upsert_choice_stmt(db: &D1Database, c: &ChoiceWrite<'_>) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        "INSERT INTO account_choices (link_id, token_hash, browser_hash, sealed, token_kid, finish, expires_at, created_at, \
         login_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (link_id) DO UPDATE SET \
         token_hash = excluded.token_hash, browser_hash = excluded.browser_hash, sealed = excluded.sealed, \
         token_kid = excluded.token_kid, finish = excluded.finish, expires_at = excluded.expires_at, \
         login_key = excluded.login_key, revoke_tries = 0",
        c.link_id,
        c.token_hash,
        c.browser_hash,
        c.sealed,
        c.token_kid,
        c.finish,
        c.expires_at,
        c.created_at,
        c.login_key
    )
    .or_500("prepare choice")
}

/// The statement that takes a link's choice (returning a [`KeyedText`](super::KeyedText): how
/// the connect ends, `Finish::as_str`, as `id`, the sealed choice as `text`) for the
/// submission bound to `token_hash` and `browser_hash` while it is open: unbinds the row (one use: a wrong token or cookie changes nothing) and starts
/// its window again until `until`, so the row keeps holding the grant until the accounts
/// land or it is revoked, and the cron's expiry pass cannot revoke a grant landing now.
#[inline(always)]
pub fn take_choice(
    db: &D1Database,
    link_id: &str,
    token_hash: &str,
    browser_hash: &str,
    now: i64,
    until: i64,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "UPDATE account_choices SET token_hash = '', browser_hash = '', expires_at = ?5 WHERE link_id = ?1 \
         AND token_hash = ?2 AND browser_hash = ?3 AND expires_at > ?4 RETURNING finish AS id, sealed AS text",
        link_id,
        token_hash,
        browser_hash,
        now,
        until
    )
}

/// An account-choice row past its window.
#[derive(Deserialize, Default)]
pub struct ExpiredChoice {
    /// The link.
    pub link_id: String,
    /// The sealed choice.
    pub sealed: String,
    /// Its window's end as read (a row rewritten since is left alone).
    pub expires_at: i64,
    /// Failed revocations so far.
    pub revoke_tries: i64,
}

/// The statement that reads up to `limit` account-choice rows whose window ended by `now`,
/// the oldest first (rows: [`ExpiredChoice`]).
#[inline(always)]
pub fn expired_choices(db: &D1Database, now: i64, limit: u32) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "SELECT link_id, sealed, expires_at, revoke_tries FROM account_choices WHERE expires_at <= ?1 \
         ORDER BY expires_at LIMIT ?2",
        now,
        limit
    )
}

/// The statement that deletes an expired row, only as it was read (`expires_at`): one a submit or a connect
/// rewrote since is theirs.
#[inline(always)]
pub fn drop_expired_choice(db: &D1Database, link_id: &str, expires_at: i64) -> worker::Result<D1PreparedStatement> {
    query!(db, "DELETE FROM account_choices WHERE link_id = ?1 AND expires_at = ?2", link_id, expires_at)
}

/// The statement that keeps an expired row whose revocation did not settle, unbound (no browser can submit
/// it), for another try at `next` (`tries` so far); only as it was read.
#[inline(always)]
pub fn retry_expired_choice(
    db: &D1Database,
    link_id: &str,
    expires_at: i64,
    next: i64,
    tries: i64,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "UPDATE account_choices SET expires_at = ?3, revoke_tries = ?4, token_hash = '', browser_hash = '' \
         WHERE link_id = ?1 AND expires_at = ?2",
        link_id,
        expires_at,
        next,
        tries
    )
}

/// The statement that drops the open account choices holding tokens of the login with this
/// `login_key`, obtained no later than `before`.
#[inline(always)]
pub fn drop_choices_of_login_stmt(db: &D1Database, login_key: &str, before: i64) -> ApiResult<D1PreparedStatement> {
    query!(db, "DELETE FROM account_choices WHERE login_key = ?1 AND created_at <= ?2", login_key, before)
        .or_500("prepare drop choices")
}

/// An open account choice of a link (a picker, or a connect holding its grant).
#[derive(Deserialize, Default)]
pub struct OpenChoice {
    /// The link.
    pub link_id: String,
    /// The sealed choice (bound to the link id).
    pub sealed: String,
    /// The link's `external_user_id`.
    pub external_user_id: Option<String>,
}

/// The open account choices ([`OpenChoice`]) of `app_id`'s links to `platform`.
pub async fn open_choices_of(db: &D1Database, app_id: &str, platform: &str) -> ApiResult<Vec<OpenChoice>> {
    query!(
        db,
        "SELECT c.link_id, c.sealed, l.external_user_id FROM account_choices c JOIN connect_links l ON l.id = c.link_id \
         WHERE l.app_id = ?1 AND l.platform = ?2",
        app_id,
        platform
    )
    .many::<OpenChoice>("open choices of app platform")
    .await
}

/// The statement that drops a link's account-choice row while it still holds `sealed`.
pub fn drop_choice_if_stmt(db: &D1Database, link_id: &str, sealed: &str) -> ApiResult<D1PreparedStatement> {
    query!(db, "DELETE FROM account_choices WHERE link_id = ?1 AND sealed = ?2", link_id, sealed)
        .or_500("prepare drop choice")
}
