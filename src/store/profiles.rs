//! Profiles (`profiles`): the accounts an app acts as, each under a grant; the token columns
//! a profile acts with.

use super::grants::{deleted_grants, orphan_grants_stmt, TokenColumns};
use super::stmt::query;
use super::stmt::{batch_rows, Row, Stmt};
use crate::error::{ApiResult, OrInternal};
use connect_links_core::model::GrantRow;
pub use connect_links_core::model::{ProfileRow, PROFILE_COLUMNS};
use serde::Deserialize;
use worker::{D1Database, D1PreparedStatement};

/// Activates the pending profiles of a link once the link is completed (its claim).
pub fn activate_claimed_stmt(db: &D1Database, link_id: &str, now: i64) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        "UPDATE profiles SET status = 'active', claim_link_id = NULL, updated_at = ?2 \
         WHERE claim_link_id = ?1 AND status = 'pending' \
         AND EXISTS (SELECT 1 FROM connect_links WHERE id = ?1 AND status = 'completed')",
        link_id,
        now
    )
    .or_500("prepare activate claimed")
}

/// Deletes up to `limit` pending profiles whose link's claim window closed, and each grant
/// left without a profile by that, returning those grants with their envelopes (to revoke
/// what was actually deleted: a profile taken over by a later connect meanwhile is no longer
/// pending for that link, and stays; a grant another profile still uses stays). Their links
/// are marked `expired` after.
pub async fn delete_unclaimed(
    db: &D1Database,
    now: i64,
    limit: u32,
) -> ApiResult<(Vec<ProfileRow>, Vec<(GrantRow, TokenColumns)>)> {
    let candidates = query!(
        db,
        &format!(
            "SELECT {PROFILE_COLUMNS} FROM profiles WHERE status = 'pending' AND claim_link_id IN \
             (SELECT id FROM connect_links WHERE status = 'awaiting_claim' AND claim_expires_at <= ?1) LIMIT ?2"
        ),
        now,
        limit
    )
    .many::<ProfileRow>("read unclaimed")
    .await?;
    let ids: Vec<&str> = candidates.iter().map(|p| p.id.as_str()).collect();
    let mut grants: Vec<&str> = candidates.iter().map(|p| p.grant_id.as_str()).collect();
    grants.sort();
    grants.dedup();
    let ids_json = serde_json::to_string(&ids).or_500("ids json")?;
    let grants_json = serde_json::to_string(&grants).or_500("ids json")?;
    let delete = query!(
        db,
        &format!(
            "DELETE FROM profiles WHERE id IN (SELECT value FROM json_each(?1)) AND status = 'pending' \
             AND claim_link_id IN (SELECT id FROM connect_links WHERE claim_expires_at <= ?2) RETURNING {PROFILE_COLUMNS}"
        ),
        ids_json,
        now
    )
    .or_500("prepare delete unclaimed")?;
    let orphans = orphan_grants_stmt(db, &grants_json)?;
    let expire = query!(
        db,
        "UPDATE connect_links SET status = 'expired', claim_token_hash = NULL \
         WHERE status = 'awaiting_claim' AND claim_expires_at <= ?1",
        now
    )
    .or_500("prepare expire unclaimed")?;
    // The history's rows first, while the profiles are there to read (the same rows the
    // delete takes: the batch is one transaction).
    let noted = super::activity::unclaimed_activity_stmt(db, &ids_json, now)?;
    let results = db.batch(vec![noted, delete, orphans, expire]).await.or_500("delete unclaimed")?;
    let gone = match results.get(1) {
        Some(r) => batch_rows::<ProfileRow>(r).or_500("read unclaimed")?,
        None => vec![],
    };
    Ok((gone, deleted_grants(&results, 2)?))
}

/// A profile of an app.
pub async fn get_profile(db: &D1Database, app_id: &str, id: &str) -> ApiResult<Option<ProfileRow>> {
    query!(db, &format!("SELECT {PROFILE_COLUMNS} FROM profiles WHERE id = ?1 AND app_id = ?2"), id, app_id)
        .one::<ProfileRow>("get profile")
        .await
}

/// Profiles of an app by id, in the order of `ids` (an id not found is left out): one read
/// however many. D1 puts them in that order (each id's first index in the JSON array, joined
/// once), so no map is built here to order them.
pub async fn profiles_by_ids(db: &D1Database, app_id: &str, ids: &[String]) -> ApiResult<Vec<ProfileRow>> {
    let list = serde_json::to_string(ids).or_500("ids json")?;
    query!(
        db,
        &format!(
            "SELECT {PROFILE_COLUMNS} FROM profiles \
             JOIN (SELECT value AS wanted, MIN(key) AS wanted_at FROM json_each(?2) GROUP BY value) ON wanted = id \
             WHERE app_id = ?1 ORDER BY wanted_at"
        ),
        app_id,
        list
    )
    .many::<ProfileRow>("profiles by ids")
    .await
}

/// Filters of `GET /v1/profiles`.
pub struct ProfileFilter {
    /// Platform id.
    pub platform: Option<String>,
    /// `pending`, `active` or `disconnected`; without it, pending profiles are left out.
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
             AND (?4 IS NULL OR platform = ?4) AND (status = ?5 OR (?5 IS NULL AND status != 'pending')) \
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

/// The statement that reads every profile (any app, any status) under the grants
/// `grant_ids_json` (a JSON array).
pub fn profiles_of_grants(db: &D1Database, grant_ids_json: &str) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        &format!(
            "SELECT {PROFILE_COLUMNS} FROM profiles WHERE grant_id IN (SELECT value FROM json_each(?1)) \
             ORDER BY created_at, id"
        ),
        grant_ids_json
    )
}

/// The statement that deletes the own tokens of the ended profiles under the grants
/// `grant_ids_json` (a JSON array), noting the platform's event at `now`.
#[inline(always)]
pub fn drop_ended_profile_tokens_stmt(
    db: &D1Database,
    grant_ids_json: &str,
    now: i64,
) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        "UPDATE profiles SET access_token_enc = NULL, token_kid = NULL, last_platform_event_at = ?2 \
         WHERE grant_id IN (SELECT value FROM json_each(?1)) AND status = 'disconnected'",
        grant_ids_json,
        now
    )
    .or_500("prepare revoke own tokens")
}

/// The statement that ends profile `id` as `revoked` at `now` (its own token deleted, its
/// liveness checks stopped), unless it had ended already.
#[inline(always)]
pub fn revoke_profile_stmt(db: &D1Database, id: &str, now: i64) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        "UPDATE profiles SET status = 'disconnected', disconnect_reason = 'revoked', access_token_enc = NULL, \
         token_kid = NULL, next_check_at = NULL, last_platform_event_at = ?2, updated_at = ?2 \
         WHERE id = ?1 AND status != 'disconnected'",
        id,
        now
    )
    .or_500("prepare revoke profile")
}

/// Every profile of an app under one platform (to place a connect's accounts in one read).
pub async fn profiles_of_accounts(
    db: &D1Database,
    app_id: &str,
    platform: &str,
    accounts: &[String],
) -> ApiResult<Vec<ProfileRow>> {
    let list = serde_json::to_string(accounts).or_500("ids json")?;
    query!(
        db,
        &format!(
            "SELECT {PROFILE_COLUMNS} FROM profiles WHERE app_id = ?1 AND platform = ?2 \
             AND platform_user_id IN (SELECT value FROM json_each(?3))"
        ),
        app_id,
        platform,
        list
    )
    .many::<ProfileRow>("profiles of accounts")
    .await
}

/// The active profiles under a grant, each with whether it holds a token of its own; with
/// `own_token_too` false, only those acting with the grant's token.
pub async fn profiles_of_grant(
    db: &D1Database,
    grant_id: &str,
    own_token_too: bool,
) -> ApiResult<Vec<(ProfileRow, bool)>> {
    #[derive(Deserialize, Default)]
    struct Own {
        own_token: i64,
    }
    let rows = query!(
        db,
        &format!(
            "SELECT {PROFILE_COLUMNS}, (access_token_enc IS NOT NULL) AS own_token FROM profiles \
             WHERE grant_id = ?1 AND status = 'active' AND (?2 = 1 OR access_token_enc IS NULL) ORDER BY created_at, id"
        ),
        grant_id,
        own_token_too as i32
    )
    .many::<Row>("profiles of grant")
    .await?;
    rows.into_iter()
        .map(|r| {
            let own: Own = r.read("read own token flag")?;
            Ok((r.read("read profile")?, own.own_token != 0))
        })
        .collect()
}

/// The profile columns qualified with a table alias (for joins).
pub fn profile_columns_of(alias: &str) -> String {
    PROFILE_COLUMNS.split(',').map(|c| format!("{alias}.{}", c.trim())).collect::<Vec<_>>().join(", ")
}

/// The token a profile acts with: its own (a Facebook Page's), or its grant's.
#[derive(Clone, Deserialize, Default)]
pub struct ProfileToken {
    /// Whose id the envelope is bound to (the profile's for its own token, else the grant's).
    pub bound_to: String,
    /// The access-token envelope.
    pub access_token_enc: String,
    /// The app's own platform credentials that minted the grant (`pcr_...`); `None`: the
    /// deployment's.
    #[serde(default)]
    pub credential_ref: Option<String>,
}

/// The columns of a [`ProfileToken`] and the join they come from (profiles `p`, grants `g`).
pub const PROFILE_TOKEN_FROM: &str = "CASE WHEN p.access_token_enc IS NULL THEN g.id ELSE p.id END AS bound_to, \
     COALESCE(p.access_token_enc, g.access_token_enc) AS access_token_enc, g.credential_ref AS credential_ref \
     FROM profiles p JOIN grants g ON g.id = p.grant_id";

/// A profile of an app with the envelope of the token it acts with, in one read.
pub async fn profile_token(db: &D1Database, app_id: &str, id: &str) -> ApiResult<Option<(ProfileRow, ProfileToken)>> {
    let cols = profile_columns_of("p");
    let row = query!(db, &format!("SELECT {cols}, {PROFILE_TOKEN_FROM} WHERE p.id = ?1 AND p.app_id = ?2"), id, app_id)
        .one::<Row>("profile token")
        .await?;
    match row {
        None => Ok(None),
        Some(r) => {
            let token = r.read("read profile token")?;
            Ok(Some((r.read("read profile")?, token)))
        }
    }
}

/// The statement that deletes a profile of an app, returning it (put an event after it in
/// the batch, then [`orphan_grants_stmt`] for its grant).
pub fn delete_profile_stmt(db: &D1Database, app_id: &str, id: &str) -> ApiResult<D1PreparedStatement> {
    query!(db, &format!("DELETE FROM profiles WHERE id = ?1 AND app_id = ?2 RETURNING {PROFILE_COLUMNS}"), id, app_id)
        .or_500("prepare delete profile")
}
