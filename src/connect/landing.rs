//! The writes that land a connect's accounts as profiles, many rows per statement. A login
//! may hold hundreds of Pages: one statement per Page (and one assertion after each) would
//! pass D1's 1,000 queries per invocation, so each statement writes up to [`PROFILES_PER_WRITE`]
//! rows from one bound JSON array (one parameter, under D1's 100 per statement), followed by
//! an assertion that it changed exactly that many. They all go in the connect's one batch
//! (one transaction): a login lands whole or not at all.

use crate::error::OrInternal;
use crate::store;
use connect_links_core::error::ApiResult;
use serde::Serialize;
use worker::{query, D1Database, D1PreparedStatement};

/// Rows per statement. A row is at most about 25 KB of JSON (a sealed Page token of at most
/// 8 KiB, names and a picture URL of at most 512 characters, a parent), so a chunk stays
/// well inside D1's 2 MB per bound value; 1,000 Pages are 20 writes and 20 assertions.
pub const PROFILES_PER_WRITE: usize = 50;

/// One profile as a connect writes it (its JSON is read by the statements below).
#[derive(Serialize)]
pub struct ProfileWrite {
    /// `prf_...`: new, or the profile being updated.
    pub id: String,
    /// `user`, `page`, ...
    pub account_type: &'static str,
    /// The platform's account id.
    pub platform_user_id: String,
    /// JSON of the parent, if any.
    pub parent: Option<String>,
    /// Handle.
    pub username: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Avatar URL.
    pub avatar_url: Option<String>,
    /// The owner after the write.
    pub external_user_id: Option<String>,
    /// JSON object.
    pub metadata: Option<String>,
    /// `pending` or `active`.
    pub status: &'static str,
    /// The link a pending profile waits for.
    pub claim_link_id: Option<String>,
    /// The account's own token, sealed for this profile's id.
    pub access_token_enc: Option<String>,
    /// Its key id.
    pub token_kid: Option<String>,
    /// Epoch seconds.
    pub access_token_expires_at: Option<i64>,
    /// The first liveness check, for a token that does not expire.
    pub next_check_at: Option<i64>,
    /// An update applies only while the profile still has this owner ...
    pub old_owner: Option<String>,
    /// ... and this status (what the connect read).
    pub old_status: Option<String>,
}

/// What every profile of one connect shares.
pub struct Shared<'a> {
    /// The app.
    pub app_id: &'a str,
    /// The grant they act under.
    pub grant_id: &'a str,
    /// The platform id.
    pub platform: &'a str,
    /// JSON array of the granted scopes.
    pub scopes: &'a str,
    /// Epoch seconds.
    pub now: i64,
    /// A per-instance platform's host.
    pub instance: Option<&'a str>,
}

/// The inserts of new profiles, each followed by its count assertion (a profile id or an
/// account inserted meanwhile fails the batch as a race: `UNIQUE`).
pub fn inserts(db: &D1Database, s: &Shared<'_>, rows: &[ProfileWrite]) -> ApiResult<Vec<D1PreparedStatement>> {
    let mut stmts = Vec::new();
    for chunk in rows.chunks(PROFILES_PER_WRITE) {
        let json = serde_json::to_string(chunk).or_500("profiles json")?;
        stmts.push(
            query!(
                db,
                "INSERT INTO profiles (id, app_id, grant_id, platform, account_type, platform_user_id, parent, username, \
                 display_name, avatar_url, external_user_id, metadata, status, scopes, access_token_enc, token_kid, \
                 access_token_expires_at, claim_link_id, created_at, updated_at, next_check_at, instance) \
                 SELECT json_extract(value, '$.id'), ?2, ?3, ?4, json_extract(value, '$.account_type'), \
                 json_extract(value, '$.platform_user_id'), json_extract(value, '$.parent'), \
                 json_extract(value, '$.username'), json_extract(value, '$.display_name'), \
                 json_extract(value, '$.avatar_url'), json_extract(value, '$.external_user_id'), \
                 json_extract(value, '$.metadata'), json_extract(value, '$.status'), ?5, \
                 json_extract(value, '$.access_token_enc'), json_extract(value, '$.token_kid'), \
                 json_extract(value, '$.access_token_expires_at'), json_extract(value, '$.claim_link_id'), ?6, ?6, \
                 json_extract(value, '$.next_check_at'), ?7 FROM json_each(?1)",
                json,
                s.app_id,
                s.grant_id,
                s.platform,
                s.scopes,
                s.now,
                s.instance
            )
            .or_500("prepare profile inserts")?,
        );
        stmts.push(store::assert_count_stmt(db, chunk.len())?);
    }
    Ok(stmts)
}

/// The updates of existing profiles, each only while the profile has the owner and status
/// the connect read, each chunk followed by its count assertion (a profile claimed, taken
/// over or ended meanwhile fails the batch as a race).
pub fn updates(db: &D1Database, s: &Shared<'_>, rows: &[ProfileWrite]) -> ApiResult<Vec<D1PreparedStatement>> {
    let mut stmts = Vec::new();
    for chunk in rows.chunks(PROFILES_PER_WRITE) {
        let json = serde_json::to_string(chunk).or_500("profiles json")?;
        stmts.push(
            query!(
                db,
                "UPDATE profiles SET grant_id = ?2, account_type = json_extract(j.value, '$.account_type'), \
                 parent = json_extract(j.value, '$.parent'), username = json_extract(j.value, '$.username'), \
                 display_name = json_extract(j.value, '$.display_name'), \
                 avatar_url = json_extract(j.value, '$.avatar_url'), \
                 external_user_id = json_extract(j.value, '$.external_user_id'), \
                 metadata = json_extract(j.value, '$.metadata'), status = json_extract(j.value, '$.status'), \
                 claim_link_id = json_extract(j.value, '$.claim_link_id'), disconnect_reason = NULL, scopes = ?3, \
                 access_token_enc = json_extract(j.value, '$.access_token_enc'), \
                 token_kid = json_extract(j.value, '$.token_kid'), \
                 access_token_expires_at = json_extract(j.value, '$.access_token_expires_at'), \
                 reencrypt_failed_at = NULL, updated_at = ?4, next_check_at = json_extract(j.value, '$.next_check_at'), \
                 check_failures = 0, instance = ?5 \
                 FROM json_each(?1) AS j WHERE profiles.id = json_extract(j.value, '$.id') \
                 AND profiles.external_user_id IS json_extract(j.value, '$.old_owner') \
                 AND profiles.status = json_extract(j.value, '$.old_status')",
                json,
                s.grant_id,
                s.scopes,
                s.now,
                s.instance
            )
            .or_500("prepare profile updates")?,
        );
        stmts.push(store::assert_count_stmt(db, chunk.len())?);
    }
    Ok(stmts)
}

/// Ends the active profiles `ids` under the grant as `account_removed` (the platform no
/// longer lists their accounts), each chunk followed by its count assertion (one that ended
/// or moved meanwhile fails the batch as a race).
pub fn removals(db: &D1Database, grant_id: &str, ids: &[String], now: i64) -> ApiResult<Vec<D1PreparedStatement>> {
    let mut stmts = Vec::new();
    for chunk in ids.chunks(PROFILES_PER_WRITE) {
        let json = serde_json::to_string(chunk).or_500("ids json")?;
        stmts.push(
            query!(
                db,
                "UPDATE profiles SET status = 'disconnected', disconnect_reason = 'account_removed', updated_at = ?3 \
                 WHERE id IN (SELECT value FROM json_each(?1)) AND grant_id = ?2 AND status = 'active'",
                json,
                grant_id,
                now
            )
            .or_500("prepare account removed")?,
        );
        stmts.push(store::assert_count_stmt(db, chunk.len())?);
    }
    Ok(stmts)
}
