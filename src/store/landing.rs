//! The statements that land a connect's accounts (`grants` and `profiles`), all in the
//! connect's one batch (one transaction): a login lands whole or not at all.
//!
//! The grant is written first (updated only while it still holds the envelope the connect
//! read, or inserted), then the profiles, many rows per statement. A login may hold hundreds
//! of Pages: one statement per Page (and one assertion after each) would pass D1's 1,000
//! queries per invocation, so each statement writes up to [`PROFILES_PER_WRITE`] rows from
//! one bound JSON array (one parameter, under D1's 100 per statement), followed by an
//! assertion that it changed exactly that many.

use super::leases::free_lease;
use super::stmt::assert_count_stmt;
use crate::error::{ApiResult, OrInternal};
use connect_links_core::landing::ProfileWrite;
use super::stmt::query;
use worker::{D1Database, D1PreparedStatement};

/// Rows per statement. A row is at most about 25 KB of JSON (a sealed Page token of at most
/// 8 KiB, names and a picture URL of at most 512 characters, a parent), so a chunk stays
/// well inside D1's 2 MB per bound value; 1,000 Pages are 20 writes and 20 assertions.
pub const PROFILES_PER_WRITE: usize = 50;

/// What a landing writes to its grant.
pub struct GrantWrite<'a> {
    /// `grn_...`: the login's grant, or a new one.
    pub id: &'a str,
    /// JSON array of the granted scopes.
    pub scopes: &'a str,
    /// JSON array of the optional scopes the consent declined (`None`: none).
    pub declined_scopes: Option<&'a str>,
    /// The sealed access token.
    pub access_token_enc: &'a str,
    /// The sealed refresh token, if the grant holds one.
    pub refresh_token_enc: Option<&'a str>,
    /// The key id both are sealed under.
    pub token_kid: &'a str,
    /// Epoch seconds.
    pub access_token_expires_at: Option<i64>,
    /// Epoch seconds, where the platform said so.
    pub refresh_token_expires_at: Option<i64>,
    /// When the tokens were issued (epoch seconds).
    pub token_issued_at: i64,
    /// The cron's first action on the grant.
    pub next_refresh_at: Option<i64>,
    /// A per-instance platform's host.
    pub instance: Option<&'a str>,
    /// The app's own platform credentials that minted the tokens; `None`: the deployment's.
    pub credential_ref: Option<&'a str>,
    /// Epoch seconds.
    pub now: i64,
}

/// The update of the login's stored grant: active again with the new tokens, its failures
/// and any refresh lease cleared (a refresh in flight with the old tokens can neither
/// overwrite these nor disconnect the profiles), only while it still holds `old_access_enc`
/// (follow it with an assertion: a refresh that raced it rolls the batch back). A refresh
/// token the answer lacked keeps its stored expiry. `now_ms` is the write's time in ms.
/// Only while the credentials it names (`credential_ref`) still exist: no grant names
/// removed credentials.
#[inline(always)]
pub fn grant_update_stmt(
    db: &D1Database,
    g: &GrantWrite<'_>,
    old_access_enc: &str,
    now_ms: i64,
) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        concat!(
            "UPDATE grants SET status = 'active', disconnect_reason = NULL, scopes = ?2, access_token_enc = ?3, \
             refresh_token_enc = ?4, token_kid = ?5, access_token_expires_at = ?6, \
             refresh_token_expires_at = COALESCE(?7, refresh_token_expires_at), token_issued_at = ?13, \
             next_refresh_at = ?9, reschedule = 0, refresh_failures = 0, refresh_failing = 0, expiring_notified = 0, ",
            free_lease!(),
            ", last_refresh_ms = ?10, reencrypt_failed_at = NULL, \
             updated_at = ?8, consented_at = ?8, instance = ?12, credential_ref = ?14, declined_scopes = ?15 \
             WHERE id = ?1 AND access_token_enc = ?11 AND (?14 IS NULL OR EXISTS \
             (SELECT 1 FROM platform_credentials WHERE id = ?14))"
        ),
        g.id,
        g.scopes,
        g.access_token_enc,
        g.refresh_token_enc,
        g.token_kid,
        g.access_token_expires_at,
        g.refresh_token_expires_at,
        g.now,
        g.next_refresh_at,
        now_ms,
        old_access_enc,
        g.instance,
        g.token_issued_at,
        g.credential_ref,
        g.declined_scopes
    )
    .or_500("prepare grant write")
}

/// The insert of a new grant for `login` of `app_id` on `platform` (two racing connects of
/// one login: the second fails the batch as a race, `UNIQUE`), only while the credentials it
/// names (`credential_ref`) still exist (follow it with an assertion).
#[inline(always)]
pub fn grant_insert_stmt(
    db: &D1Database,
    g: &GrantWrite<'_>,
    app_id: &str,
    platform: &str,
    login: &str,
) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        "INSERT INTO grants (id, app_id, platform, platform_user_id, status, scopes, access_token_enc, \
         refresh_token_enc, token_kid, access_token_expires_at, refresh_token_expires_at, token_issued_at, \
         next_refresh_at, created_at, updated_at, consented_at, instance, credential_ref, declined_scopes) \
         SELECT ?1, ?2, ?3, ?4, 'active', ?5, ?6, ?7, ?8, ?9, ?10, ?14, ?12, ?11, ?11, ?11, ?13, ?15, ?16 \
         WHERE ?15 IS NULL OR EXISTS (SELECT 1 FROM platform_credentials WHERE id = ?15)",
        g.id,
        app_id,
        platform,
        login,
        g.scopes,
        g.access_token_enc,
        g.refresh_token_enc,
        g.token_kid,
        g.access_token_expires_at,
        g.refresh_token_expires_at,
        g.now,
        g.next_refresh_at,
        g.instance,
        g.token_issued_at,
        g.credential_ref,
        g.declined_scopes
    )
    .or_500("prepare grant write")
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
    /// JSON array of the optional scopes the consent declined (`None`: none).
    pub declined_scopes: Option<&'a str>,
    /// Epoch seconds.
    pub now: i64,
    /// A per-instance platform's host.
    pub instance: Option<&'a str>,
}

/// The inserts of new profiles, each followed by its count assertion (a profile id or an
/// account inserted meanwhile fails the batch as a race: `UNIQUE`).
pub fn profile_inserts(db: &D1Database, s: &Shared<'_>, rows: &[ProfileWrite]) -> ApiResult<Vec<D1PreparedStatement>> {
    let mut stmts = Vec::new();
    for chunk in rows.chunks(PROFILES_PER_WRITE) {
        let json = serde_json::to_string(chunk).or_500("profiles json")?;
        stmts.push(
            query!(
                db,
                "INSERT INTO profiles (id, app_id, grant_id, platform, account_type, platform_user_id, parent, username, \
                 display_name, avatar_url, external_user_id, metadata, status, scopes, access_token_enc, token_kid, \
                 access_token_expires_at, claim_link_id, created_at, updated_at, next_check_at, instance, declined_scopes) \
                 SELECT json_extract(value, '$.id'), ?2, ?3, ?4, json_extract(value, '$.account_type'), \
                 json_extract(value, '$.platform_user_id'), json_extract(value, '$.parent'), \
                 json_extract(value, '$.username'), json_extract(value, '$.display_name'), \
                 json_extract(value, '$.avatar_url'), json_extract(value, '$.external_user_id'), \
                 json_extract(value, '$.metadata'), json_extract(value, '$.status'), ?5, \
                 json_extract(value, '$.access_token_enc'), json_extract(value, '$.token_kid'), \
                 json_extract(value, '$.access_token_expires_at'), json_extract(value, '$.claim_link_id'), ?6, ?6, \
                 json_extract(value, '$.next_check_at'), ?7, ?8 FROM json_each(?1)",
                json,
                s.app_id,
                s.grant_id,
                s.platform,
                s.scopes,
                s.now,
                s.instance,
                s.declined_scopes
            )
            .or_500("prepare profile inserts")?,
        );
        stmts.push(assert_count_stmt(db, chunk.len())?);
    }
    Ok(stmts)
}

/// The updates of existing profiles, each only while the profile has the owner and status
/// the connect read, each chunk followed by its count assertion (a profile claimed, taken
/// over or ended meanwhile fails the batch as a race).
pub fn profile_updates(db: &D1Database, s: &Shared<'_>, rows: &[ProfileWrite]) -> ApiResult<Vec<D1PreparedStatement>> {
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
                 check_failures = 0, instance = ?5, declined_scopes = ?6 \
                 FROM json_each(?1) AS j WHERE profiles.id = json_extract(j.value, '$.id') \
                 AND profiles.external_user_id IS json_extract(j.value, '$.old_owner') \
                 AND profiles.status = json_extract(j.value, '$.old_status')",
                json,
                s.grant_id,
                s.scopes,
                s.now,
                s.instance,
                s.declined_scopes
            )
            .or_500("prepare profile updates")?,
        );
        stmts.push(assert_count_stmt(db, chunk.len())?);
    }
    Ok(stmts)
}

/// Ends the active profiles `ids` under the grant as `account_removed` (the platform no
/// longer lists their accounts), each chunk followed by its count assertion (one that ended
/// or moved meanwhile fails the batch as a race).
pub fn profile_removals(
    db: &D1Database,
    grant_id: &str,
    ids: &[String],
    now: i64,
) -> ApiResult<Vec<D1PreparedStatement>> {
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
        stmts.push(assert_count_stmt(db, chunk.len())?);
    }
    Ok(stmts)
}
