//! A refresh's writes on `grants` (and the profiles under it): the new tokens, a failure
//! pushed back, the expiry notice, a reschedule, a disconnect. Each frees the lease the
//! refresh holds (see `leases`).

use super::leases::{app_mode, free_lease};
use crate::error::OrInternal;
use connect_links_core::error::ApiResult;
use super::stmt::query;
use worker::{D1Database, D1PreparedStatement};

/// A refresh's new tokens, as stored.
pub struct NewTokens<'a> {
    /// Envelope.
    pub access_enc: &'a str,
    /// Envelope (the rotated token, or the old one re-sealed).
    pub refresh_enc: Option<&'a str>,
    /// The key id both are sealed under.
    pub kid: &'a str,
    /// When the access token expires, if known.
    pub expires_at: Option<i64>,
    /// When the refresh token expires, if known.
    pub refresh_expires_at: Option<i64>,
    /// The granted scopes (JSON), when the answer said.
    pub scopes: Option<&'a str>,
    /// Now (epoch seconds), the tokens' issue time.
    pub now: i64,
    /// Now in ms (a refresh completed at or after a trigger serves it).
    pub now_ms: i64,
    /// The next action, in the mode the lease read.
    pub next: Option<i64>,
}

/// What the refresh read under its lease: the write lands only while they are still stored.
pub struct ReadUnder<'a> {
    /// The lease, freed by the write if still held.
    pub lease: &'a str,
    /// Envelope read.
    pub access_enc: &'a str,
    /// Envelope read.
    pub refresh_enc: Option<&'a str>,
    /// The app's refresh mode read (another one leaves the grant flagged and due).
    pub mode: &'a str,
}

/// The statement that stores a refresh's new tokens on grant `id`, a compare-and-swap on
/// the envelopes read (`RETURNING id` when it landed).
#[inline(always)]
pub fn store_refreshed_stmt(
    db: &D1Database,
    id: &str,
    t: NewTokens,
    read: &ReadUnder,
) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        concat!(
            "UPDATE grants SET access_token_enc = ?3, refresh_token_enc = ?4, token_kid = ?5, \
             access_token_expires_at = ?6, refresh_token_expires_at = ?7, \
             scopes = COALESCE(?8, scopes), token_issued_at = ?9, last_refreshed_at = ?9, last_refresh_ms = ?10, \
             next_refresh_at = CASE WHEN ",
            app_mode!(),
            " = ?14 THEN ?11 ELSE ?9 END, reschedule = CASE WHEN ",
            app_mode!(),
            " = ?14 THEN 0 ELSE 1 END, \
             refresh_failures = 0, refresh_failing = 0, expiring_notified = 0, \
             reencrypt_failed_at = NULL, refresh_suspect_until = NULL, \
             refresh_lease_until = CASE WHEN refresh_lease_id = ?2 THEN NULL ELSE refresh_lease_until END, \
             refresh_lease_id = CASE WHEN refresh_lease_id = ?2 THEN NULL ELSE refresh_lease_id END, updated_at = ?9 \
             WHERE id = ?1 AND status = 'active' AND access_token_enc = ?12 AND refresh_token_enc IS ?13 RETURNING id"
        ),
        id,
        read.lease,
        t.access_enc,
        t.refresh_enc,
        t.kid,
        t.expires_at,
        t.refresh_expires_at,
        t.scopes,
        t.now,
        t.now_ms,
        t.next,
        read.access_enc,
        read.refresh_enc,
        read.mode
    )
    .or_500("prepare store refreshed")
}

/// Reads grant `id`'s stored access-token envelope (an [`IdRow`](super::IdRow)).
#[inline(always)]
pub fn stored_access(db: &D1Database, id: &str) -> worker::Result<D1PreparedStatement> {
    query!(db, "SELECT access_token_enc AS id FROM grants WHERE id = ?1", id)
}

/// The statement that counts a failure (`failures` in a row), moves the next attempt to
/// `next` and frees the lease.
#[inline(always)]
pub fn refresh_failed_stmt(
    db: &D1Database,
    id: &str,
    lease: &str,
    failures: i64,
    next: i64,
    now: i64,
) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        concat!(
            "UPDATE grants SET refresh_failures = ?3, refresh_failing = 1, next_refresh_at = ?4, ",
            free_lease!(),
            ", updated_at = ?5 WHERE id = ?1 AND refresh_lease_id = ?2"
        ),
        id,
        lease,
        failures,
        next,
        now
    )
    .or_500("prepare refresh failure")
}

/// The statement that records the expiry notice (once), schedules the expiry at `exp` and
/// frees the lease.
#[inline(always)]
pub fn expiring_stmt(db: &D1Database, id: &str, lease: &str, exp: i64) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        concat!(
            "UPDATE grants SET expiring_notified = 1, next_refresh_at = ?3, ",
            free_lease!(),
            " WHERE id = ?1 AND refresh_lease_id = ?2 AND expiring_notified = 0"
        ),
        id,
        lease,
        exp
    )
    .or_500("prepare expiring")
}

/// Stores a flagged grant's schedule (`next`, in mode `mode`) and frees the lease; should
/// the app's mode no longer be `mode`, the grant stays flagged and due (`now`).
#[inline(always)]
pub fn reschedule(
    db: &D1Database,
    id: &str,
    lease: &str,
    next: Option<i64>,
    mode: &str,
    now: i64,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        concat!(
            "UPDATE grants SET next_refresh_at = CASE WHEN ",
            app_mode!(),
            " = ?4 THEN ?3 ELSE ?5 END, reschedule = CASE WHEN ",
            app_mode!(),
            " = ?4 THEN 0 ELSE 1 END, ",
            free_lease!(),
            " WHERE id = ?1 AND refresh_lease_id = ?2"
        ),
        id,
        lease,
        next,
        mode,
        now
    )
}

/// The statement that marks grant `id` disconnected for `reason` and frees the lease, only
/// while its envelopes are the ones read and the lease still held (`RETURNING id` when it
/// did).
#[inline(always)]
pub fn disconnect_grant_stmt(
    db: &D1Database,
    id: &str,
    reason: &str,
    now: i64,
    read: &ReadUnder,
) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        concat!(
            "UPDATE grants SET status = 'disconnected', disconnect_reason = ?2, next_refresh_at = NULL, ",
            free_lease!(),
            ", updated_at = ?3 WHERE id = ?1 AND status = 'active' AND access_token_enc = ?4 AND refresh_token_enc IS ?5 \
             AND refresh_lease_id = ?6 RETURNING id"
        ),
        id,
        reason,
        now,
        read.access_enc,
        read.refresh_enc,
        read.lease
    )
    .or_500("prepare disconnect")
}

/// The statement that ends the active profiles under grant `id` (with `own_token_too`
/// false, only those acting with its token), when the statement before it changed a row.
#[inline(always)]
pub fn disconnect_profiles_stmt(
    db: &D1Database,
    id: &str,
    reason: &str,
    now: i64,
    own_token_too: bool,
) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        "UPDATE profiles SET status = 'disconnected', disconnect_reason = ?2, updated_at = ?3 \
         WHERE grant_id = ?1 AND status = 'active' AND (?4 = 1 OR access_token_enc IS NULL) AND changes() > 0",
        id,
        reason,
        now,
        own_token_too as i32
    )
    .or_500("prepare disconnect profiles")
}
