//! D1 access: every statement is bound with `?N`, never formatted with values.

use crate::ctx::OrInternal;
use connect_links_core::error::ApiResult;
use connect_links_core::model::{AppRow, LinkRow, ProfileRow, PROFILE_COLUMNS};
use serde::Deserialize;
use worker::{query, D1Database, D1PreparedStatement};

/// One bound statement, run with its failure mapped to a logged 500 (`what` names it).
#[allow(async_fn_in_trait)]
pub trait Stmt {
    /// Runs it for its effect.
    async fn exec(self, what: &str) -> ApiResult<()>;
    /// The first row, if any.
    async fn one<T: serde::de::DeserializeOwned>(self, what: &str) -> ApiResult<Option<T>>;
    /// Every row.
    async fn many<T: serde::de::DeserializeOwned>(self, what: &str) -> ApiResult<Vec<T>>;
}

impl Stmt for worker::Result<D1PreparedStatement> {
    async fn exec(self, what: &str) -> ApiResult<()> {
        self.or_500(what)?.run().await.or_500(what)?;
        Ok(())
    }
    async fn one<T: serde::de::DeserializeOwned>(self, what: &str) -> ApiResult<Option<T>> {
        self.or_500(what)?.first::<T>(None).await.or_500(what)
    }
    async fn many<T: serde::de::DeserializeOwned>(self, what: &str) -> ApiResult<Vec<T>> {
        self.or_500(what)?.all().await.or_500(what)?.results::<T>().or_500(what)
    }
}

const APP_COLUMNS: &str = "id, name, allowed_redirect_urls, webhook_url, created_at";

/// The app whose unrevoked key hashes to `hash`.
pub async fn app_by_key_hash(db: &D1Database, hash: &str) -> ApiResult<Option<AppRow>> {
    query!(
        db,
        "SELECT a.id, a.name, a.allowed_redirect_urls, a.webhook_url, a.created_at \
         FROM api_keys k JOIN apps a ON a.id = k.app_id WHERE k.key_hash = ?1 AND k.revoked_at IS NULL",
        hash
    )
    .one::<AppRow>("app_by_key")
    .await
}

/// A new app with its first API key, in one transaction.
#[allow(clippy::too_many_arguments)]
pub async fn insert_app(
    db: &D1Database,
    app: &AppRow,
    webhook_secret_enc: &str,
    key_id: &str,
    key_hash: &str,
) -> ApiResult<()> {
    let a =
        query!(
        db,
        "INSERT INTO apps (id, name, allowed_redirect_urls, webhook_url, webhook_secret_enc, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        app.id, app.name, app.allowed_redirect_urls, app.webhook_url, webhook_secret_enc, app.created_at
    )
        .or_500("prepare insert app")?;
    let k = insert_key_stmt(db, key_id, &app.id, key_hash, app.created_at)?;
    db.batch(vec![a, k]).await.or_500("insert app")?;
    Ok(())
}

fn insert_key_stmt(
    db: &D1Database,
    id: &str,
    app_id: &str,
    hash: &str,
    now: i64,
) -> ApiResult<worker::D1PreparedStatement> {
    query!(db, "INSERT INTO api_keys (id, app_id, key_hash, created_at) VALUES (?1, ?2, ?3, ?4)", id, app_id, hash, now)
        .or_500("prepare insert key")
}

/// A new API key for an existing app.
pub async fn insert_api_key(db: &D1Database, id: &str, app_id: &str, hash: &str, now: i64) -> ApiResult<()> {
    insert_key_stmt(db, id, app_id, hash, now)?.run().await.or_500("insert key")?;
    Ok(())
}

/// Revokes a key; false when no live key has that id.
pub async fn revoke_api_key(db: &D1Database, id: &str, now: i64) -> ApiResult<bool> {
    let r =
        query!(db, "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL RETURNING id", id, now)
            .one::<serde_json::Value>("revoke key")
            .await?;
    Ok(r.is_some())
}

/// One app.
pub async fn get_app(db: &D1Database, id: &str) -> ApiResult<Option<AppRow>> {
    query!(db, &format!("SELECT {APP_COLUMNS} FROM apps WHERE id = ?1"), id).one::<AppRow>("get app").await
}

/// Apps in creation order after the cursor position.
pub async fn list_apps(db: &D1Database, after: Option<(i64, String)>, limit: u32) -> ApiResult<Vec<AppRow>> {
    let (t, id) = after.unwrap_or((-1, String::new()));
    query!(
        db,
        &format!("SELECT {APP_COLUMNS} FROM apps WHERE (created_at, id) > (?1, ?2) ORDER BY created_at, id LIMIT ?3"),
        t,
        id,
        limit + 1
    )
    .many::<AppRow>("read apps")
    .await
}

/// Writes an app's editable fields.
pub async fn update_app(db: &D1Database, app: &AppRow, now: i64) -> ApiResult<()> {
    query!(
        db,
        "UPDATE apps SET name = ?2, allowed_redirect_urls = ?3, webhook_url = ?4, updated_at = ?5 WHERE id = ?1",
        app.id,
        app.name,
        app.allowed_redirect_urls,
        app.webhook_url,
        now
    )
    .exec("update app")
    .await?;
    Ok(())
}

/// A new pending connect link.
pub async fn insert_link(db: &D1Database, l: &LinkRow, callback: &str) -> ApiResult<()> {
    query!(
        db,
        "INSERT INTO connect_links (id, app_id, platform, redirect_url, authorize_url, scopes, external_user_id, \
         app_state, metadata, reconnect_profile_id, callback, status, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'pending', ?12, ?13)",
        l.id,
        l.app_id,
        l.platform,
        l.redirect_url,
        l.authorize_url,
        l.scopes,
        l.external_user_id,
        l.app_state,
        l.metadata,
        l.reconnect_profile_id,
        callback,
        l.created_at,
        l.expires_at
    )
    .exec("insert link")
    .await?;
    Ok(())
}

const LINK_COLUMNS: &str = "id, app_id, platform, redirect_url, authorize_url, scopes, external_user_id, app_state, \
    metadata, reconnect_profile_id, status, error, profile_id, created_at, expires_at, completed_at";

/// A link by id (any app: the browser routes have no key).
pub async fn get_link(db: &D1Database, id: &str) -> ApiResult<Option<LinkRow>> {
    query!(db, &format!("SELECT {LINK_COLUMNS} FROM connect_links WHERE id = ?1"), id).one::<LinkRow>("get link").await
}

/// Records how a pending link ended; false when it was no longer pending.
pub async fn finish_link(db: &D1Database, id: &str, outcome: Result<&str, &str>, now: i64) -> ApiResult<bool> {
    let (status, error, profile_id) = match outcome {
        Ok(p) => ("completed", None, Some(p)),
        Err(e) => ("failed", Some(e), None),
    };
    let r = query!(
        db,
        "UPDATE connect_links SET status = ?2, error = ?3, profile_id = ?4, completed_at = ?5 \
         WHERE id = ?1 AND status = 'pending' RETURNING id",
        id,
        status,
        error,
        profile_id,
        now
    )
    .one::<serde_json::Value>("finish link")
    .await?;
    Ok(r.is_some())
}

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
    .one::<serde_json::Value>("consume state")
    .await?;
    Ok(r.is_some())
}

/// A profile of an app.
pub async fn get_profile(db: &D1Database, app_id: &str, id: &str) -> ApiResult<Option<ProfileRow>> {
    query!(db, &format!("SELECT {PROFILE_COLUMNS} FROM profiles WHERE id = ?1 AND app_id = ?2"), id, app_id)
        .one::<ProfileRow>("get profile")
        .await
}

/// Filters of `GET /v1/profiles`.
pub struct ProfileFilter {
    /// Platform id.
    pub platform: Option<String>,
    /// `active` or `disconnected`.
    pub status: Option<String>,
    /// The app's user id.
    pub external_user_id: Option<String>,
}

/// An app's profiles in creation order after the cursor position.
pub async fn list_profiles(
    db: &D1Database,
    app_id: &str,
    f: &ProfileFilter,
    after: Option<(i64, String)>,
    limit: u32,
) -> ApiResult<Vec<ProfileRow>> {
    let (t, id) = after.unwrap_or((-1, String::new()));
    query!(
        db,
        &format!(
            "SELECT {PROFILE_COLUMNS} FROM profiles WHERE app_id = ?1 AND (created_at, id) > (?2, ?3) \
             AND (?4 IS NULL OR platform = ?4) AND (?5 IS NULL OR status = ?5) \
             AND (?6 IS NULL OR external_user_id = ?6) ORDER BY created_at, id LIMIT ?7"
        ),
        app_id,
        t,
        id,
        f.platform,
        f.status,
        f.external_user_id,
        limit + 1
    )
    .many::<ProfileRow>("read profiles")
    .await
}

/// The stored token envelopes of a profile.
#[derive(Deserialize)]
pub struct TokenColumns {
    /// Profile id.
    pub id: String,
    /// Platform id.
    pub platform: String,
    /// Envelope.
    pub access_token_enc: String,
    /// Envelope.
    pub refresh_token_enc: Option<String>,
}

/// Looks up the profile of one platform account of one app, with its envelopes.
pub async fn find_account(
    db: &D1Database,
    app_id: &str,
    platform: &str,
    user_id: &str,
) -> ApiResult<Option<TokenColumns>> {
    query!(
        db,
        "SELECT id, platform, access_token_enc, refresh_token_enc FROM profiles \
         WHERE app_id = ?1 AND platform = ?2 AND platform_user_id = ?3",
        app_id,
        platform,
        user_id
    )
    .one::<TokenColumns>("find account")
    .await
}

/// A profile of an app with its envelopes, in one read.
pub async fn profile_with_tokens(
    db: &D1Database,
    app_id: &str,
    id: &str,
) -> ApiResult<Option<(ProfileRow, TokenColumns)>> {
    let row = query!(
        db,
        &format!(
            "SELECT {PROFILE_COLUMNS}, access_token_enc, refresh_token_enc FROM profiles WHERE id = ?1 AND app_id = ?2"
        ),
        id,
        app_id
    )
    .one::<serde_json::Value>("profile with tokens")
    .await?;
    let Some(row) = row else { return Ok(None) };
    let profile = serde_json::from_value(row.clone()).or_500("read profile")?;
    let tokens = serde_json::from_value(row).or_500("read profile tokens")?;
    Ok(Some((profile, tokens)))
}

/// Deletes a profile; false when it was already gone.
pub async fn delete_profile(db: &D1Database, app_id: &str, id: &str) -> ApiResult<bool> {
    let r = query!(db, "DELETE FROM profiles WHERE id = ?1 AND app_id = ?2 RETURNING id", id, app_id)
        .one::<serde_json::Value>("delete profile")
        .await?;
    Ok(r.is_some())
}

/// Ids of active profiles due for the lifecycle job, most overdue first (uses the partial
/// index `profiles_next_refresh`).
pub async fn due_profiles(db: &D1Database, now: i64, limit: u32) -> ApiResult<Vec<String>> {
    #[derive(Deserialize)]
    struct Id {
        id: String,
    }
    let rows = query!(db, DUE_PROFILES_SQL, now, limit).many::<Id>("read due profiles").await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// The due-profile selection (also shown with EXPLAIN QUERY PLAN by `make bench`).
pub const DUE_PROFILES_SQL: &str =
    "SELECT id FROM profiles WHERE status = 'active' AND next_refresh_at <= ?1 ORDER BY next_refresh_at LIMIT ?2";

/// Moves enqueued profiles out of the due set until `until`; a profile a consumer already
/// refreshed (no longer due at `now`) keeps its new schedule.
pub async fn fence_due(db: &D1Database, ids: &[String], now: i64, until: i64) -> ApiResult<()> {
    let list = serde_json::to_string(ids).or_500("ids json")?;
    query!(
        db,
        "UPDATE profiles SET next_refresh_at = ?3 WHERE id IN (SELECT value FROM json_each(?1)) AND next_refresh_at <= ?2",
        list,
        now,
        until
    )
        .exec("fence")
        .await?;
    Ok(())
}

/// Deletes consumed-state records older than `before`.
pub async fn delete_old_states(db: &D1Database, before: i64) -> ApiResult<()> {
    query!(db, "DELETE FROM consumed_states WHERE consumed_at < ?1", before).exec("state cleanup").await?;
    Ok(())
}

/// Profiles whose envelopes are under another key than `kid`.
pub async fn profiles_under_old_key(db: &D1Database, kid: &str, limit: u32) -> ApiResult<Vec<TokenColumns>> {
    query!(
        db,
        "SELECT id, platform, access_token_enc, refresh_token_enc FROM profiles WHERE token_kid != ?1 LIMIT ?2",
        kid,
        limit
    )
    .many::<TokenColumns>("read old-key profiles")
    .await
}

/// Writes re-sealed envelopes, only if the row was not changed meanwhile (a refresh wins).
pub async fn rewrap_profile(
    db: &D1Database,
    old: &TokenColumns,
    access: &str,
    refresh: Option<&str>,
    kid: &str,
) -> ApiResult<()> {
    query!(
        db,
        "UPDATE profiles SET access_token_enc = ?2, refresh_token_enc = ?3, token_kid = ?4 \
         WHERE id = ?1 AND access_token_enc = ?5",
        old.id,
        access,
        refresh,
        kid,
        old.access_token_enc
    )
    .exec("rewrap")
    .await?;
    Ok(())
}

/// An app's sealed webhook secret.
#[derive(Deserialize)]
pub struct AppSecret {
    /// App id.
    pub id: String,
    /// Envelope.
    pub webhook_secret_enc: String,
}

/// Apps whose webhook secret is under another key than `kid`.
pub async fn apps_under_old_key(db: &D1Database, kid: &str, limit: u32) -> ApiResult<Vec<AppSecret>> {
    query!(
        db,
        "SELECT id, webhook_secret_enc FROM apps WHERE substr(webhook_secret_enc, 1, length(?1) + 4) != 'v1.' || ?1 || '.' LIMIT ?2",
        kid, limit
    )
    .many::<AppSecret>("read old-key apps").await
}

/// Writes a re-sealed webhook secret if it did not change meanwhile.
pub async fn rewrap_app_secret(db: &D1Database, id: &str, old: &str, new: &str) -> ApiResult<()> {
    query!(db, "UPDATE apps SET webhook_secret_enc = ?3 WHERE id = ?1 AND webhook_secret_enc = ?2", id, old, new)
        .exec("rewrap app")
        .await?;
    Ok(())
}
