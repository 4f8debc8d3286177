//! Grants (`grants`): one platform login of one app, with its sealed tokens (`TokenColumns`).

use super::leases::free_lease;
use super::stmt::{Row, Stmt};
use crate::error::{ApiResult, OrInternal};
use connect_links_core::envelope::Keyring;
pub use connect_links_core::model::{GrantRow, GRANT_COLUMNS};
use connect_links_core::secrets::{AccessToken, RefreshToken};
use serde::Deserialize;
use super::stmt::query;
use worker::{D1Database, D1PreparedStatement};

/// Whether grant `$g` (the grants table's alias in the statement) still holds its login: it
/// is active, or it ended and profiles under it still act with tokens of their own (a
/// Facebook login past day 60 whose Page tokens live on).
macro_rules! holds_login {
    ($g:literal) => {
        concat!(
            "(",
            $g,
            ".status = 'active' OR EXISTS (SELECT 1 FROM profiles p WHERE p.grant_id = ",
            $g,
            ".id AND p.status != 'disconnected'))"
        )
    };
}
pub(super) use holds_login;

/// The stored token envelopes of a grant.
#[derive(Clone, Deserialize, Default)]
pub struct TokenColumns {
    /// Grant id.
    pub id: String,
    /// Platform id.
    pub platform: String,
    /// Envelope.
    pub access_token_enc: String,
    /// Envelope.
    pub refresh_token_enc: Option<String>,
}

impl TokenColumns {
    /// The grant's access token and, when stored and still opening, its refresh token
    /// (sealed under the grant's id); `None` when the access token does not open.
    pub fn open(&self, keyring: &Keyring) -> Option<(AccessToken, Option<RefreshToken>)> {
        let access = keyring.open_secret(&self.id, "access_token", &self.access_token_enc).ok()?;
        let refresh =
            self.refresh_token_enc.as_deref().and_then(|e| keyring.open_secret(&self.id, "refresh_token", e).ok());
        Some((access, refresh))
    }
}

/// The statement that deletes those of `grant_ids_json` (a JSON array) that no profile
/// uses any more, returning them with their envelopes (to revoke after).
pub fn orphan_grants_stmt(db: &D1Database, grant_ids_json: &str) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        &format!(
            "DELETE FROM grants WHERE id IN (SELECT value FROM json_each(?1)) \
             AND NOT EXISTS (SELECT 1 FROM profiles WHERE profiles.grant_id = grants.id) \
             RETURNING {GRANT_COLUMNS}, access_token_enc, refresh_token_enc"
        ),
        grant_ids_json
    )
    .or_500("prepare orphan grants")
}

/// The grants a batch's statement `i` deleted (or changed) with `RETURNING` their columns and
/// token envelopes.
pub fn deleted_grants(results: &[worker::D1Result], i: usize) -> ApiResult<Vec<(GrantRow, TokenColumns)>> {
    let rows = match results.get(i) {
        Some(r) => r.results::<Row>().or_500("read deleted grants")?,
        None => vec![],
    };
    rows.into_iter().map(split_grant).collect()
}

/// Where a revocation's client minted grants (see `grants::revoke`): `platforms`, those
/// whose revocation reaches the same grants; `deployment`, those of them whose deployment
/// client is the revoking client.
pub struct Issuer<'a> {
    /// The platforms of the same revoke endpoint.
    pub platforms: Vec<&'a str>,
    /// Those whose deployment client is the revoking client.
    pub deployment: Vec<&'a str>,
}

/// Whether a grant other than `except_id` (in any app) minted by client `client_id` holds
/// this login on one of `issuer`'s platforms (a grant of the deployment's client on one of
/// its `deployment` platforms, or of any app's own credentials of that client id): an
/// active grant, or an ended one whose profiles still act with tokens of their own (a
/// Facebook login past day 60 whose Page tokens live on; revoking the login would end
/// them). A grant of another client holds tokens the revocation does not reach.
pub async fn others_hold_login(
    db: &D1Database,
    issuer: &Issuer<'_>,
    client_id: &str,
    login: &str,
    except_id: &str,
) -> ApiResult<bool> {
    let list = serde_json::to_string(&issuer.platforms).or_500("platforms json")?;
    let deployment = serde_json::to_string(&issuer.deployment).or_500("platforms json")?;
    query!(
        db,
        concat!(
            "SELECT id FROM grants g WHERE platform IN (SELECT value FROM json_each(?1)) AND platform_user_id = ?2 \
             AND id != ?3 AND ((credential_ref IS NULL AND platform IN (SELECT value FROM json_each(?4))) \
             OR credential_ref IN (SELECT id FROM platform_credentials WHERE client_id = ?5)) AND ",
            holds_login!("g"),
            " LIMIT 1"
        ),
        list,
        login,
        except_id,
        deployment,
        client_id
    )
    .exists("others hold login")
    .await
}

/// The statement that reads the ids of the grants (any app) of `login` on `platform`
/// consented to no later than `before`, minted by the platform app `credential_ref` names
/// (an app's own credentials; `None`: the deployment's). A platform's user ids are scoped
/// to its app, so a login of one platform app is no login of another.
#[inline(always)]
pub fn grants_of_login(
    db: &D1Database,
    platform: &str,
    login: &str,
    before: i64,
    credential_ref: Option<&str>,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "SELECT id FROM grants WHERE platform = ?1 AND platform_user_id = ?2 AND COALESCE(consented_at, created_at) <= ?3 \
         AND credential_ref IS ?4",
        platform,
        login,
        before,
        credential_ref
    )
}

/// The statement that ends the grants `grant_ids_json` (a JSON array) as `revoked` (the
/// user removed the app at the platform): their tokens deleted, their refresh schedule and
/// any lease cleared.
#[inline(always)]
pub fn revoke_grants_stmt(db: &D1Database, grant_ids_json: &str, now: i64) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        concat!(
            "UPDATE grants SET status = 'disconnected', disconnect_reason = 'revoked', access_token_enc = '', \
             refresh_token_enc = NULL, token_kid = '', next_refresh_at = NULL, ",
            free_lease!(),
            ", updated_at = ?2 WHERE id IN (SELECT value FROM json_each(?1))"
        ),
        grant_ids_json,
        now
    )
    .or_500("prepare revoke login")
}

/// The statement that deletes the grants `grant_ids_json` (a JSON array).
#[inline(always)]
pub fn delete_grants(db: &D1Database, grant_ids_json: &str) -> worker::Result<D1PreparedStatement> {
    query!(db, "DELETE FROM grants WHERE id IN (SELECT value FROM json_each(?1))", grant_ids_json)
}

/// One of a login's grants in an app: the grant, its envelopes, and the app's own
/// credentials that minted it (`None`: the deployment's).
pub struct LoginGrant {
    /// The grant.
    pub grant: GrantRow,
    /// Its envelopes.
    pub tokens: TokenColumns,
    /// `grants.credential_ref`.
    pub credential_ref: Option<String>,
}

/// The grants of one platform login of one app, one per platform app it was connected
/// through.
pub async fn login_grants(db: &D1Database, app_id: &str, platform: &str, login: &str) -> ApiResult<Vec<LoginGrant>> {
    #[derive(Deserialize, Default)]
    struct Ref {
        credential_ref: Option<String>,
    }
    let rows = query!(
        db,
        &format!(
            "SELECT {GRANT_COLUMNS}, access_token_enc, refresh_token_enc, credential_ref FROM grants \
             WHERE app_id = ?1 AND platform = ?2 AND platform_user_id = ?3"
        ),
        app_id,
        platform,
        login
    )
    .many::<Row>("find grant")
    .await?;
    rows.into_iter()
        .map(|row| {
            let Ref { credential_ref } = row.read("read grant credentials")?;
            let (grant, tokens) = split_grant(row)?;
            Ok(LoginGrant { grant, tokens, credential_ref })
        })
        .collect()
}

/// Whether a grant of this login in this app (any credentials) serves a profile of another
/// owner than `owner` (pending profiles never had one): then a connect for `owner` may not
/// touch it.
pub async fn grant_has_other_owner(
    db: &D1Database,
    app_id: &str,
    platform: &str,
    login: &str,
    owner: Option<&str>,
) -> ApiResult<bool> {
    query!(
        db,
        "SELECT 1 AS x FROM grants g JOIN profiles p ON p.grant_id = g.id WHERE g.app_id = ?1 AND g.platform = ?2 \
         AND g.platform_user_id = ?3 AND p.status != 'pending' AND p.external_user_id IS NOT ?4 LIMIT 1",
        app_id,
        platform,
        login,
        owner
    )
    .exists("grant owner")
    .await
}

/// A row holding the grant columns and the envelopes, read as both.
fn split_grant(row: Row) -> ApiResult<(GrantRow, TokenColumns)> {
    let grant = row.read("read grant")?;
    let tokens = row.read("read grant tokens")?;
    Ok((grant, tokens))
}

/// The statement that shows a grant's scopes (granted and declined), expiry and last refresh on every profile
/// under it (a profile with a token of its own keeps its expiry); it runs only when the
/// statement before it in the batch changed a row (the grant write).
pub fn copy_grant_to_profiles_stmt(db: &D1Database, grant_id: &str, now: i64) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        "UPDATE profiles SET scopes = (SELECT scopes FROM grants WHERE id = ?1), \
         declined_scopes = (SELECT declined_scopes FROM grants WHERE id = ?1), \
         access_token_expires_at = CASE WHEN access_token_enc IS NULL \
           THEN (SELECT access_token_expires_at FROM grants WHERE id = ?1) ELSE access_token_expires_at END, \
         last_refreshed_at = (SELECT last_refreshed_at FROM grants WHERE id = ?1), updated_at = ?2 \
         WHERE grant_id = ?1 AND changes() > 0",
        grant_id,
        now
    )
    .or_500("prepare copy grant")
}

/// Ids of active grants due for the lifecycle job, most overdue first (uses the partial
/// index `grants_next_refresh`).
pub async fn due_grants(db: &D1Database, now: i64, limit: u32) -> ApiResult<Vec<String>> {
    query!(db, DUE_GRANTS_SQL, now, limit).ids("read due grants").await
}

/// The due-grant selection (also shown with EXPLAIN QUERY PLAN by `make bench`).
/// A grant whose lease is held is left out: its refresh is in flight.
pub const DUE_GRANTS_SQL: &str = "SELECT id FROM grants WHERE status = 'active' AND next_refresh_at <= ?1 \
     AND (refresh_lease_until IS NULL OR refresh_lease_until < ?1) ORDER BY next_refresh_at LIMIT ?2";

/// Moves enqueued grants out of the due set until `until`; a grant a consumer already
/// refreshed (no longer due at `now`) keeps its new schedule.
pub async fn fence_due(db: &D1Database, ids: &[String], now: i64, until: i64) -> ApiResult<()> {
    let list = serde_json::to_string(ids).or_500("ids json")?;
    query!(
        db,
        "UPDATE grants SET next_refresh_at = ?3 WHERE id IN (SELECT value FROM json_each(?1)) AND next_refresh_at <= ?2",
        list,
        now,
        until
    )
    .exec("fence")
    .await?;
    Ok(())
}

/// Writes a grant's re-sealed envelopes, only if the row was not changed meanwhile (a
/// refresh wins) and no refresh is in flight (it compares envelopes when it stores its answer).
pub async fn rewrap_grant(
    db: &D1Database,
    old: &TokenColumns,
    access: &str,
    refresh: Option<&str>,
    kid: &str,
    now: i64,
) -> ApiResult<()> {
    query!(
        db,
        "UPDATE grants SET access_token_enc = ?2, refresh_token_enc = ?3, token_kid = ?4, reencrypt_failed_at = NULL \
         WHERE id = ?1 AND access_token_enc = ?5 AND refresh_token_enc IS ?6 \
         AND (refresh_lease_until IS NULL OR refresh_lease_until < ?7)",
        old.id,
        access,
        refresh,
        kid,
        old.access_token_enc,
        old.refresh_token_enc,
        now
    )
    .exec("rewrap")
    .await?;
    Ok(())
}
