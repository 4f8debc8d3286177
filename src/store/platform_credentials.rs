//! Apps' own platform credentials (`platform_credentials`, row type
//! `connect_links_core::app_credentials::CredentialRow`): the current one per app and
//! platform, the retired ones grants still use, their replacement, their removal (with the
//! grants they minted), and `grants.credential_ref`. The sealing and the rules are the
//! domain's (`crate::credentials`).

use super::grants::holds_login;
use super::leases::free_lease;
use crate::error::{ApiResult, OrInternal};
use connect_links_core::model::GRANT_COLUMNS;
use super::stmt::query;
use worker::{D1Database, D1PreparedStatement};

/// The columns of a `CredentialRow`.
pub(super) const COLUMNS: &str = "id, app_id, platform, client_id, client_secret_enc, webhook_secret_enc, token_kid, \
                       secret_fingerprint, scopes, created_at, updated_at, retired_at";

/// The statement that reads the app's current credentials for `platform`, if any.
pub fn current_credential(db: &D1Database, app_id: &str, platform: &str) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        &format!(
            "SELECT {COLUMNS} FROM platform_credentials WHERE app_id = ?1 AND platform = ?2 AND retired_at IS NULL"
        ),
        app_id,
        platform
    )
}

/// The statement that reads every credential of the app for `platform` (current and retired).
pub fn credentials_of_platform(db: &D1Database, app_id: &str, platform: &str) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        &format!("SELECT {COLUMNS} FROM platform_credentials WHERE app_id = ?1 AND platform = ?2"),
        app_id,
        platform
    )
}

/// The statement that reads credentials `id` of the app for `platform` (current or retired).
pub fn credential_by_ref(
    db: &D1Database,
    app_id: &str,
    platform: &str,
    id: &str,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        &format!("SELECT {COLUMNS} FROM platform_credentials WHERE id = ?1 AND app_id = ?2 AND platform = ?3"),
        id,
        app_id,
        platform
    )
}

/// The statement that reads credentials `id` of any app and platform (current or retired):
/// a platform webhook path names them and nothing else.
pub fn credential_of_ref(db: &D1Database, id: &str) -> worker::Result<D1PreparedStatement> {
    query!(db, &format!("SELECT {COLUMNS} FROM platform_credentials WHERE id = ?1"), id)
}

/// The statement that reads every credential of `app_id` with `client_id` (any platform,
/// current or retired): one platform app stored for several platforms (Meta's Facebook
/// Login serves `facebook` and `instagram_facebook`).
pub fn credentials_of_client(db: &D1Database, app_id: &str, client_id: &str) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        &format!("SELECT {COLUMNS} FROM platform_credentials WHERE app_id = ?1 AND client_id = ?2 ORDER BY platform"),
        app_id,
        client_id
    )
}

/// The statement that reads the id of a credential of another app than `app_id` with
/// client id `client_id` (on any platform), if there is one.
pub fn client_of_other_app(db: &D1Database, app_id: &str, client_id: &str) -> worker::Result<D1PreparedStatement> {
    query!(db, "SELECT id FROM platform_credentials WHERE client_id = ?2 AND app_id != ?1 LIMIT 1", app_id, client_id)
}

/// The statement that reads the app's current credentials, one per platform, by platform.
pub fn app_credentials(db: &D1Database, app_id: &str) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        &format!(
            "SELECT {COLUMNS} FROM platform_credentials WHERE app_id = ?1 AND retired_at IS NULL ORDER BY platform"
        ),
        app_id
    )
}

/// What a `PUT` stores.
pub struct CredentialWrite<'a> {
    /// A fresh `pcr_...`, used only when no current row for the app and platform is kept.
    pub id: &'a str,
    /// The app.
    pub app_id: &'a str,
    /// The platform.
    pub platform: &'a str,
    /// The platform app's client id.
    pub client_id: &'a str,
    /// The sealed client secret.
    pub client_secret_enc: &'a str,
    /// The sealed webhook secret.
    pub webhook_secret_enc: Option<&'a str>,
    /// The key both are sealed under.
    pub token_kid: &'a str,
    /// The client secret's fingerprint.
    pub secret_fingerprint: &'a str,
    /// JSON array of default scopes, or `None`.
    pub scopes: Option<&'a str>,
    /// Epoch seconds.
    pub now: i64,
}

/// Where the statements of [`put_credential_stmts`] put the stored row (`RETURNING`).
pub const PUT_RETURNS_AT: usize = 2;

/// The statements of a `PUT`, in one batch: current credentials with another client id are
/// retired, never deleted (a link in flight or an open account choice may name them; the
/// housekeeping purge deletes them once no grant refers to them, an hour on); retired credentials with
/// this client id become current again (their grants and their id come back with them, no
/// second row for one client); then the write, which keeps the id of current credentials
/// with the same client id (their grants follow a new secret) and returns the stored row
/// (statement [`PUT_RETURNS_AT`]).
pub fn put_credential_stmts(db: &D1Database, w: &CredentialWrite<'_>) -> ApiResult<Vec<D1PreparedStatement>> {
    let retire = query!(
        db,
        "UPDATE platform_credentials SET retired_at = ?4, updated_at = ?4 \
         WHERE app_id = ?1 AND platform = ?2 AND retired_at IS NULL AND client_id != ?3",
        w.app_id,
        w.platform,
        w.client_id,
        w.now
    )
    .or_500("prepare retire credentials")?;
    let revive = query!(
        db,
        "UPDATE platform_credentials SET retired_at = NULL, updated_at = ?4 WHERE id = \
         (SELECT id FROM platform_credentials WHERE app_id = ?1 AND platform = ?2 AND client_id = ?3 \
          AND retired_at IS NOT NULL ORDER BY retired_at DESC LIMIT 1)",
        w.app_id,
        w.platform,
        w.client_id,
        w.now
    )
    .or_500("prepare revive credentials")?;
    let write = query!(
        db,
        &format!(
            "INSERT INTO platform_credentials (id, app_id, platform, client_id, client_secret_enc, webhook_secret_enc, \
             token_kid, secret_fingerprint, scopes, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10) \
             ON CONFLICT (app_id, platform) WHERE retired_at IS NULL DO UPDATE SET \
               client_secret_enc = excluded.client_secret_enc, webhook_secret_enc = excluded.webhook_secret_enc, \
               token_kid = excluded.token_kid, secret_fingerprint = excluded.secret_fingerprint, \
               scopes = excluded.scopes, updated_at = excluded.updated_at, reencrypt_failed_at = NULL \
             RETURNING {COLUMNS}"
        ),
        w.id,
        w.app_id,
        w.platform,
        w.client_id,
        w.client_secret_enc,
        w.webhook_secret_enc,
        w.token_kid,
        w.secret_fingerprint,
        w.scopes,
        w.now
    )
    .or_500("prepare write credentials")?;
    Ok(vec![retire, revive, write])
}

/// The statement that reads the ids of the app's grants minted with any of its
/// credentials for `platform` (current or retired) that still hold their login: active, or
/// ended with profiles still acting with tokens of their own.
pub fn grants_of_credentials(db: &D1Database, app_id: &str, platform: &str) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        concat!(
            "SELECT id FROM grants g WHERE ",
            holds_login!("g"),
            " AND credential_ref IN (SELECT id FROM platform_credentials WHERE app_id = ?1 AND platform = ?2)"
        ),
        app_id,
        platform
    )
}

/// The statement that ends grant `id` because the credentials that minted it were removed
/// (`credentials_removed`), while it holds its login (see [`grants_of_credentials`]; an
/// ended grant keeps its reason, and the change lets the profiles statement after it end
/// its profiles); it returns the grant with its token envelopes when it changed it (to
/// revoke them, `store::deleted_grants` reads them).
pub fn end_credential_grant_stmt(db: &D1Database, id: &str, reason: &str, now: i64) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        &format!(
            concat!(
                "UPDATE grants SET status = 'disconnected', ",
                "disconnect_reason = CASE WHEN status = 'active' THEN ?2 ELSE disconnect_reason END, next_refresh_at = NULL, ",
                free_lease!(),
                ", updated_at = ?3 WHERE id = ?1 AND ",
                holds_login!("grants"),
                " RETURNING {}, access_token_enc, refresh_token_enc"
            ),
            GRANT_COLUMNS
        ),
        id,
        reason,
        now
    )
    .or_500("prepare end grant")
}

/// The statement that deletes every credential of the app for `platform`, only while no
/// grant of theirs holds its login (see [`grants_of_credentials`]; follow it with an
/// assertion when one must go): it returns the deleted ids.
pub fn delete_credentials_stmt(db: &D1Database, app_id: &str, platform: &str) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        concat!(
            "DELETE FROM platform_credentials WHERE app_id = ?1 AND platform = ?2 AND NOT EXISTS \
             (SELECT 1 FROM grants g WHERE ",
            holds_login!("g"),
            " AND credential_ref IN (SELECT id FROM platform_credentials WHERE app_id = ?1 AND platform = ?2)) RETURNING id"
        ),
        app_id,
        platform
    )
    .or_500("prepare delete credentials")
}

/// The statement that ends the pending profiles (waiting for their link's claim) under
/// grant `id`, whose credentials are being removed: never announced, they end silently, and
/// a claim of their link then finds nothing to activate.
pub fn end_pending_profiles_stmt(db: &D1Database, id: &str, reason: &str, now: i64) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        "UPDATE profiles SET status = 'disconnected', disconnect_reason = ?2, updated_at = ?3 \
         WHERE grant_id = ?1 AND status = 'pending'",
        id,
        reason,
        now
    )
    .or_500("prepare end pending profiles")
}

/// The statement that deletes up to `limit` retired credentials retired no later than
/// `before` that no grant refers to any more (their last grant ended and was deleted),
/// returning their ids.
pub fn purge_retired_credentials(db: &D1Database, before: i64, limit: u32) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "DELETE FROM platform_credentials WHERE id IN (SELECT c.id FROM platform_credentials c \
         WHERE c.retired_at IS NOT NULL AND c.retired_at <= ?1 \
         AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.credential_ref = c.id) LIMIT ?2) RETURNING id",
        before,
        limit
    )
}
