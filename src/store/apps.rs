//! Apps and their API keys (`apps`, `api_keys`), and the redirect allowlists the sandbox reads.

use super::stmt::{batch_rows, IdRow, Stmt};
use connect_links_core::app_credentials::CredentialRow;
pub use connect_links_core::console::apps::{ApiKeyRow, AppSummary};
use crate::error::{ApiError, ApiResult, OrInternal};
pub use connect_links_core::model::AppRow;
use connect_links_core::redirect::host_needles_with;
use connect_links_core::refresh_policy::{RefreshMode, MAX_LEAD, MIN_LEAD};
use super::stmt::query;
use worker::D1Database;

const APP_COLUMNS: &str = "id, name, allowed_redirect_urls, webhook_url, claim, refresh_mode, created_at, limits, \
     self_service_credentials, platform_events, display_name, accent_color, logo_file";

/// The app whose unrevoked key hashes to `hash`.
pub async fn app_by_key_hash(db: &D1Database, hash: &str) -> ApiResult<Option<AppRow>> {
    query!(
        db,
        "SELECT a.id, a.name, a.allowed_redirect_urls, a.webhook_url, a.claim, a.refresh_mode, a.created_at, \
         a.limits, a.self_service_credentials, a.platform_events, a.display_name, a.accent_color, a.logo_file \
         FROM api_keys k JOIN apps a ON a.id = k.app_id WHERE k.key_hash = ?1 AND k.revoked_at IS NULL",
        hash
    )
    .one::<AppRow>("app_by_key")
    .await
}

/// `s` lowercased by JavaScript's `String.prototype.toLowerCase` (Unicode's default case
/// mapping, as Rust's `str::to_lowercase`, without Rust's tables in the wasm).
fn js_lowercase(s: &str) -> String {
    worker::js_sys::JsString::from(s).to_lower_case().into()
}

/// Allowlist entries of every app that may allow `redirect` (those that name its host),
/// for the sandbox's redirect check. Each app holds at most 20 entries, and only apps
/// that name this host are read.
pub async fn allowlist_entries_for(db: &D1Database, redirect: &str) -> ApiResult<Vec<String>> {
    let Some((host, unicode)) = host_needles_with(redirect, js_lowercase) else { return Ok(vec![]) };
    // Read through `ids` (one text column named `id`): no row type of its own.
    let lists = query!(
        db,
        "SELECT allowed_redirect_urls AS id FROM apps \
         WHERE instr(lower(allowed_redirect_urls), ?1) > 0 OR instr(lower(allowed_redirect_urls), ?2) > 0",
        host,
        unicode
    )
    .ids("allowlists by host")
    .await?;
    Ok(lists.iter().flat_map(|l| serde_json::from_slice::<Vec<String>>(l.as_bytes()).unwrap_or_default()).collect())
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
    let a = query!(
        db,
        "INSERT INTO apps (id, name, allowed_redirect_urls, webhook_url, webhook_secret_enc, claim, refresh_mode, \
         created_at, updated_at, limits, self_service_credentials, platform_events, display_name, accent_color) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?7, ?8, ?6, ?6, ?9, ?10, ?11, ?12, ?13)",
        app.id,
        app.name,
        app.allowed_redirect_urls,
        app.webhook_url,
        webhook_secret_enc,
        app.created_at,
        app.claim,
        app.refresh_mode,
        app.limits,
        app.self_service_credentials,
        app.platform_events,
        app.display_name,
        app.accent_color
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

/// Revokes a key (of `app_id` when given); false when no such live key has that id.
pub async fn revoke_api_key(db: &D1Database, id: &str, app_id: Option<&str>, now: i64) -> ApiResult<bool> {
    let r = query!(
        db,
        "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL AND (?3 IS NULL OR app_id = ?3) \
         RETURNING id",
        id,
        now,
        app_id
    )
    .exists("revoke key")
    .await?;
    Ok(r)
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

/// Writes an app's editable fields. When its refresh mode changes, its active grants with an
/// expiring access token (but those backing off after a failure, whose retry stands) are
/// marked for rescheduling in the same batch: when the cron next reaches one, it recomputes
/// its schedule in the new mode and calls the platform only if it is due in it
/// (`grants::refresh`). None is made due now: a switch of a large app must not put its
/// grants ahead of every other app's due ones. To `on_demand`, each keeps its proactive
/// time (never later than its on-demand one); to `proactive`, each is due no later than its
/// proactive time (a quarter of the access token's life before expiry, 5 minutes to 7
/// days; an expired token at its expiry, so it queues behind older due work). The grants
/// go first, so they compare with the mode before the write.
pub async fn update_app(db: &D1Database, app: &AppRow, now: i64) -> ApiResult<()> {
    let reschedule = query!(
        db,
        // The proactive lead as `refresh_policy::next_refresh_at` computes it.
        &format!(
            "UPDATE grants SET reschedule = 1, next_refresh_at = CASE WHEN ?2 = 'proactive' THEN \
               MIN(COALESCE(next_refresh_at, access_token_expires_at), access_token_expires_at - \
                   MIN(MAX((access_token_expires_at - token_issued_at) / 4, {MIN_LEAD}), {MAX_LEAD})) \
               ELSE next_refresh_at END \
             WHERE app_id = ?1 AND status = 'active' \
             AND access_token_expires_at IS NOT NULL AND refresh_failing = 0 \
             AND (SELECT refresh_mode FROM apps WHERE id = ?1) IS NOT ?2"
        ),
        app.id,
        app.refresh_mode
    )
    .or_500("prepare reschedule grants")?;
    let update = query!(
        db,
        "UPDATE apps SET name = ?2, allowed_redirect_urls = ?3, webhook_url = ?4, updated_at = ?5, claim = ?6, \
         refresh_mode = ?7, limits = ?8, self_service_credentials = ?9, platform_events = ?10, display_name = ?11, \
         accent_color = ?12 WHERE id = ?1",
        app.id,
        app.name,
        app.allowed_redirect_urls,
        app.webhook_url,
        now,
        app.claim,
        app.refresh_mode,
        app.limits,
        app.self_service_credentials,
        app.platform_events,
        app.display_name,
        app.accent_color
    )
    .or_500("prepare update app")?;
    db.batch(vec![reschedule, update]).await.or_500("update app")?;
    Ok(())
}

/// How the cron keeps an app's tokens (`proactive` when the app is gone: its grants are too).
pub async fn app_refresh_mode(db: &D1Database, app_id: &str) -> ApiResult<RefreshMode> {
    let row =
        query!(db, "SELECT refresh_mode AS id FROM apps WHERE id = ?1", app_id).one::<IdRow>("app refresh mode").await?;
    Ok(row.map_or(RefreshMode::Proactive, |m| RefreshMode::from_stored(&m.id)))
}

/// Writes a re-sealed webhook secret if it did not change meanwhile.
pub async fn rewrap_app_secret(db: &D1Database, id: &str, old: &str, new: &str) -> ApiResult<()> {
    query!(
        db,
        "UPDATE apps SET webhook_secret_enc = ?3, reencrypt_failed_at = NULL WHERE id = ?1 AND webhook_secret_enc = ?2",
        id,
        old,
        new
    )
    .exec("rewrap app")
    .await?;
    Ok(())
}

/// The console's list of apps, newest first, before the cursor position (`limit` + 1 rows,
/// so the caller knows whether a next page exists), each with its count of active profiles
/// (one statement; the count reads `profiles_app_list`).
pub async fn console_apps(db: &D1Database, before: Option<(i64, String)>, limit: u32) -> ApiResult<Vec<AppSummary>> {
    // Above any time an app can have (epoch seconds, within JavaScript's safe integers).
    let (t, id) = before.unwrap_or((1 << 52, String::new()));
    query!(
        db,
        "SELECT a.id, a.name, a.created_at, a.webhook_url IS NOT NULL AS has_webhook, \
         (SELECT count(*) FROM profiles p WHERE p.app_id = a.id AND p.status = 'active') AS active_profiles \
         FROM apps a WHERE (a.created_at, a.id) < (?1, ?2) ORDER BY a.created_at DESC, a.id DESC LIMIT ?3",
        t,
        id,
        limit + 1
    )
    .many::<AppSummary>("console apps")
    .await
}

/// An app's page in the console: the app, its API keys (ids and times only, newest first)
/// and its current platform credentials, in one batch (one round trip); `None`: no such app.
pub async fn console_app(db: &D1Database, id: &str) -> ApiResult<Option<(AppRow, Vec<ApiKeyRow>, Vec<CredentialRow>)>> {
    let app = query!(db, &format!("SELECT {APP_COLUMNS} FROM apps WHERE id = ?1"), id).or_500("prepare app")?;
    let keys = query!(
        db,
        "SELECT id, created_at, revoked_at FROM api_keys WHERE app_id = ?1 ORDER BY created_at DESC, id DESC",
        id
    )
    .or_500("prepare keys")?;
    let creds = super::platform_credentials::app_credentials(db, id).or_500("prepare credentials")?;
    let results = db.batch(vec![app, keys, creds]).await.or_500("console app")?;
    let [app, keys, creds] = results.as_slice() else { return Err(ApiError::internal()) };
    let Some(app) = batch_rows::<AppRow>(app).or_500("read app")?.into_iter().next() else { return Ok(None) };
    let keys = batch_rows::<ApiKeyRow>(keys).or_500("read keys")?;
    let creds = batch_rows::<CredentialRow>(creds).or_500("read credentials")?;
    Ok(Some((app, keys, creds)))
}

/// The statement a test event follows (`events::send_test`): it changes app `id`'s row
/// (to the same values) only when the app has a webhook URL, so the event's outbox row is
/// written exactly then; it returns the id when it did.
pub fn app_with_webhook_stmt(db: &D1Database, id: &str) -> ApiResult<worker::D1PreparedStatement> {
    query!(db, "UPDATE apps SET updated_at = updated_at WHERE id = ?1 AND webhook_url IS NOT NULL RETURNING id", id)
        .or_500("prepare app with webhook")
}
