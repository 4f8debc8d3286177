//! Liveness checks of tokens that never expire (`profiles.next_check_at`,
//! `check_failures`): the due ones, the mark each check gets before its call, its outcome,
//! and the end of a dead token's profiles (and grant). The lease they run under is
//! `leases`'.

use super::leases::last_backoff_step;
use super::profiles::{profile_columns_of, PROFILE_TOKEN_FROM};
use super::stmt::Row;
use crate::error::OrInternal;
use connect_links_core::error::ApiResult;
use connect_links_core::model::ProfileRow;
use serde::Deserialize;
use super::stmt::query;
use worker::{D1Database, D1PreparedStatement};

/// From this many transient failures in a row on, a check waits the whole interval again
/// (a literal, for the statement that marks a check).
macro_rules! give_up_after {
    () => {
        4
    };
}

/// See [`give_up_after`].
pub const GIVE_UP_AFTER: i64 = give_up_after!();

/// Up to `limit` active profiles whose check is due at `now`, most overdue first, as
/// [`KeyedText`](super::KeyedText)s: the profile's id, its grant's (whose lease the check takes).
#[inline(always)]
pub fn due_checks(db: &D1Database, now: i64, limit: u32) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "SELECT id, grant_id AS text FROM profiles WHERE status = 'active' AND next_check_at <= ?1 ORDER BY next_check_at LIMIT ?2",
        now,
        limit
    )
}

/// What a check's mark binds.
pub struct CheckMark<'a> {
    /// The profiles to mark (a JSON array of ids).
    pub ids_json: &'a str,
    /// Only those due by then.
    pub due_by: i64,
    /// Their grant, whose lease must be `lease`.
    pub grant_id: &'a str,
    /// Now (epoch seconds).
    pub now: i64,
    /// The check interval (the wait after [`GIVE_UP_AFTER`] failures).
    pub interval_secs: i64,
    /// The backoff after 1, 2, ... failures, a JSON array.
    pub backoff_steps: String,
    /// The check lease taken in the same batch.
    pub lease: &'a str,
}

/// The statement that marks the checks about to be made (put right after the lease's): each
/// counted as a transient failure, its next check moved out by that backoff (never earlier
/// than it was), while the lease is held; `RETURNING id` of each marked.
#[inline(always)]
pub fn mark_checks_stmt(db: &D1Database, m: &CheckMark) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        concat!(
            "UPDATE profiles SET check_failures = check_failures + 1, \
               next_check_at = MAX(next_check_at, ?4 + CASE WHEN check_failures + 1 >= ",
            give_up_after!(),
            " THEN ?5 ELSE json_extract(?6, '$[' || MIN(check_failures, ",
            last_backoff_step!(),
            ") || ']') END) \
             WHERE id IN (SELECT value FROM json_each(?1)) AND status = 'active' AND next_check_at <= ?2 \
               AND EXISTS (SELECT 1 FROM grants WHERE id = ?3 AND refresh_lease_id = ?7) RETURNING id"
        ),
        m.ids_json,
        m.due_by,
        m.grant_id,
        m.now,
        m.interval_secs,
        m.backoff_steps,
        m.lease
    )
    .or_500("prepare check mark")
}

/// The token a checked profile acts with, read under its grant's lease.
#[derive(Deserialize, Default)]
pub struct Checked {
    /// The profile's grant.
    pub grant_id: String,
    /// Whose id the envelope is bound to: the profile's own token, or its grant's.
    pub bound_to: String,
    /// The envelope.
    pub access_token_enc: String,
    /// Failures in a row, the mark's included.
    pub check_failures: i64,
}

/// Reads an active profile to check, with the token it acts with ([`checked`] reads the row).
#[inline(always)]
pub fn check_read(db: &D1Database, profile_id: &str) -> worker::Result<D1PreparedStatement> {
    let cols = profile_columns_of("p");
    query!(
        db,
        &format!(
            "SELECT {cols}, p.check_failures, {from} WHERE p.id = ?1 AND p.status = 'active'",
            from = PROFILE_TOKEN_FROM
        ),
        profile_id
    )
}

/// The row [`check_read`] returned, read.
#[inline(always)]
pub fn checked(row: Row) -> ApiResult<(ProfileRow, Checked)> {
    let profile: ProfileRow = row.read("read checked profile")?;
    let checked: Checked = row.read("read checked token")?;
    Ok((profile, checked))
}

/// A check passed: the next one at `next`.
#[inline(always)]
pub fn check_passed(db: &D1Database, profile_id: &str, next: i64) -> worker::Result<D1PreparedStatement> {
    query!(db, "UPDATE profiles SET next_check_at = ?2, check_failures = 0 WHERE id = ?1", profile_id, next)
}

/// A check failed for now (`failures` in a row): the next one at `next`.
#[inline(always)]
pub fn check_backoff(
    db: &D1Database,
    profile_id: &str,
    failures: i64,
    next: i64,
) -> worker::Result<D1PreparedStatement> {
    query!(db, "UPDATE profiles SET check_failures = ?2, next_check_at = ?3 WHERE id = ?1", profile_id, failures, next)
}

/// The statement that ends grant `grant_id` for `reason` while its token is still `token_enc`.
#[inline(always)]
pub fn end_checked_grant_stmt(
    db: &D1Database,
    grant_id: &str,
    reason: &str,
    now: i64,
    token_enc: &str,
) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        "UPDATE grants SET status = 'disconnected', disconnect_reason = ?2, next_refresh_at = NULL, updated_at = ?3 \
         WHERE id = ?1 AND status = 'active' AND access_token_enc = ?4",
        grant_id,
        reason,
        now,
        token_enc
    )
    .or_500("prepare check grant end")
}

/// The statement that ends profile `profile_id` for `reason` while the token checked
/// (`token_enc`) is still the one it acts with: its own (`own_token`), or its grant's, which
/// the batch has just ended.
#[inline(always)]
pub fn end_checked_profile_stmt(
    db: &D1Database,
    profile_id: &str,
    reason: &str,
    now: i64,
    own_token: bool,
    token_enc: &str,
    grant_id: &str,
) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        "UPDATE profiles SET status = 'disconnected', disconnect_reason = ?2, next_check_at = NULL, updated_at = ?3 \
         WHERE id = ?1 AND status = 'active' AND ((?4 = 1 AND access_token_enc = ?5) OR (?4 = 0 AND access_token_enc IS NULL \
         AND EXISTS (SELECT 1 FROM grants WHERE id = ?6 AND status = 'disconnected' AND access_token_enc = ?5)))",
        profile_id,
        reason,
        now,
        own_token as i32,
        token_enc,
        grant_id
    )
    .or_500("prepare check end")
}
