//! The console's reads of profiles (any app: the operator sees them all) and the statements of
//! an operator's disconnect. The API's own reads stay in `profiles.rs`, scoped to one app.

use super::grants::GRANT_COLUMNS;
use super::leases::free_lease;
use super::profiles::{profile_columns_of, ProfileRow, PROFILE_COLUMNS};
use super::stmt::{arg, query, Fragments, Row, Stmt};
use crate::error::{ApiResult, OrInternal};
use serde::Deserialize;
use worker::{D1Database, D1PreparedStatement};

/// What the profile search filters by; every `None` matches all.
#[derive(Debug, Default)]
pub struct ProfileSearch<'a> {
    /// The app's id.
    pub app_id: Option<&'a str>,
    /// The platform id.
    pub platform: Option<&'a str>,
    /// `pending`, `active` or `disconnected`.
    pub status: Option<&'a str>,
    /// The app's user id, exactly.
    pub external_user_id: Option<&'a str>,
    /// Part of the username or display name, any case (ASCII letters are folded).
    pub account: Option<&'a str>,
    /// Only profiles older than this `(created_at, id)` (the next page).
    pub before: Option<(i64, String)>,
}

/// The newest profiles matching `f`, at most `limit`, newest first (one statement). The name
/// is matched with `instr`, so `%` and `_` in it are plain characters. The statement names only
/// the filters given (each a fixed fragment, its value bound), so the newest-first order is
/// read from an index and stops at `limit` matches: `profiles_app_list (app_id, created_at,
/// id)` with an app, else `profiles_created (created_at, id)` (migration 0027).
pub async fn search_profiles(db: &D1Database, f: &ProfileSearch<'_>, limit: u32) -> ApiResult<Vec<ProfileRow>> {
    let mut stmt = Fragments::new(format!("SELECT {PROFILE_COLUMNS} FROM profiles WHERE 1 = 1"));
    stmt.push_given(&[
        (" AND app_id = ?N", f.app_id),
        (" AND platform = ?N", f.platform),
        (" AND status = ?N", f.status),
        (" AND external_user_id = ?N", f.external_user_id),
    ]);
    if let Some(a) = f.account {
        stmt.push(
            " AND (instr(lower(coalesce(username, '')), lower(?N)) > 0 OR instr(lower(coalesce(display_name, '')), lower(?N)) > 0)",
            &[arg(a), arg(a)],
        );
    }
    if let Some((t, id)) = &f.before {
        stmt.push(" AND (created_at, id) < (?N, ?N)", &[arg(t), arg(id)]);
    }
    stmt.push(" ORDER BY created_at DESC, id DESC LIMIT ?N", &[arg(&limit)]);
    stmt.bind(db).many::<ProfileRow>("search profiles").await
}

/// The grant and schedule columns the profile page shows beside the profile (never a token).
#[derive(Debug, Clone, Deserialize, Default)]
pub struct ProfileGrantInfo {
    /// The grant's status (`active`, `disconnected`), `None` when the grant is gone.
    pub grant_status: Option<String>,
    /// The app's own platform credentials that minted the grant; `None`: the deployment's.
    pub credential_ref: Option<String>,
    /// When the refresh token expires, if the platform said.
    pub refresh_token_expires_at: Option<i64>,
    /// When the cron next refreshes the grant.
    pub next_refresh_at: Option<i64>,
    /// Transient refresh failures in a row.
    pub refresh_failures: Option<i64>,
    /// When the profile's token is next checked for liveness.
    pub next_check_at: Option<i64>,
    /// The app's refresh mode (`proactive`, `on_demand`).
    pub refresh_mode: Option<String>,
}

/// A profile (any app) with its grant's schedule and its app's refresh mode, in one read.
pub async fn profile_with_grant(db: &D1Database, id: &str) -> ApiResult<Option<(ProfileRow, ProfileGrantInfo)>> {
    let cols = profile_columns_of("p");
    let row = query!(
        db,
        &format!(
            "SELECT {cols}, g.status AS grant_status, g.credential_ref, g.refresh_token_expires_at, g.next_refresh_at, \
             g.refresh_failures, p.next_check_at, a.refresh_mode FROM profiles p \
             LEFT JOIN grants g ON g.id = p.grant_id LEFT JOIN apps a ON a.id = p.app_id WHERE p.id = ?1"
        ),
        id
    )
    .one::<Row>("profile with grant")
    .await?;
    match row {
        None => Ok(None),
        Some(r) => Ok(Some((r.read("read profile")?, r.read("read profile grant")?))),
    }
}

/// The statement that ends grant `grant_id` for `reason` when no profile but `profile_id`
/// still holds it (active or pending), returning it with its envelopes (to revoke after).
/// The envelopes stay, as after any disconnect; the schedule and any lease go.
pub fn end_last_grant_stmt(
    db: &D1Database,
    grant_id: &str,
    profile_id: &str,
    reason: &str,
    now: i64,
) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        &format!(
            "UPDATE grants SET status = 'disconnected', disconnect_reason = ?3, next_refresh_at = NULL, {}, \
             updated_at = ?4 WHERE id = ?1 AND status = 'active' AND NOT EXISTS (SELECT 1 FROM profiles \
             WHERE grant_id = ?1 AND id != ?2 AND status != 'disconnected') \
             RETURNING {GRANT_COLUMNS}, access_token_enc, refresh_token_enc",
            free_lease!()
        ),
        grant_id,
        profile_id,
        reason,
        now
    )
    .or_500("prepare end grant")
}

/// The statement that ends profile `id` for `reason` (its own token deleted, its liveness
/// checks stopped) unless it had ended already, returning its id; put its event right after it.
pub fn end_profile_stmt(db: &D1Database, id: &str, reason: &str, now: i64) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        "UPDATE profiles SET status = 'disconnected', disconnect_reason = ?2, access_token_enc = NULL, \
         token_kid = NULL, next_check_at = NULL, updated_at = ?3 WHERE id = ?1 AND status != 'disconnected' RETURNING id",
        id,
        reason,
        now
    )
    .or_500("prepare end profile")
}
