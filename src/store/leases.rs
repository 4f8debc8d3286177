//! The lease on a grant (`grants.refresh_lease_id`, `refresh_lease_until`): one refresh or
//! liveness check at a time per grant, taken and freed by these statements, and the SQL
//! fragments every statement that frees or takes it shares.

use super::stmt::Row;
use crate::error::OrInternal;
use connect_links_core::error::ApiResult;
use connect_links_core::model::{GrantRow, GRANT_COLUMNS};
use connect_links_core::refresh::BACKOFF_STEPS;
use serde::Deserialize;
use super::stmt::query;
use worker::{D1Database, D1PreparedStatement};

/// The grant's app's refresh mode, inside a statement on `grants` (a write compares it
/// with the mode its schedule was computed in).
macro_rules! app_mode {
    () => {
        "(SELECT refresh_mode FROM apps WHERE apps.id = grants.app_id)"
    };
}
pub(super) use app_mode;

/// The `SET` clauses that free a grant's lease, in every statement that ends a refresh or a
/// check.
macro_rules! free_lease {
    () => {
        "refresh_lease_id = NULL, refresh_lease_until = NULL"
    };
}
pub(super) use free_lease;

/// How a liveness check's lease id starts (a refresh lease's starts `lse_`). A check spends no
/// refresh token, so a check lease left unreleased is no dead refresh: it counts no failure
/// and casts no doubt on the next refresh's answer.
macro_rules! check_lease_prefix {
    () => {
        "chk_"
    };
}

/// See [`check_lease_prefix`].
pub const CHECK_LEASE_PREFIX: &str = check_lease_prefix!();

/// The last index of the JSON array of backoff steps a lease binds (core's `BACKOFF_STEPS`
/// less one, checked below): a literal, so the statements are whole at compile time.
macro_rules! last_backoff_step {
    () => {
        9
    };
}
pub(super) use last_backoff_step;
const _: () = assert!(BACKOFF_STEPS - 1 == last_backoff_step!());

/// 1 when the lease the row holds is a refresh lease (its holder never released it, when
/// the statement may take it), else 0. The `4` is the prefix's length (checked below).
macro_rules! dead_refresh_lease {
    () => {
        concat!("(refresh_lease_id IS NOT NULL AND substr(refresh_lease_id, 1, 4) <> '", check_lease_prefix!(), "')")
    };
}
const _: () = assert!(CHECK_LEASE_PREFIX.len() == 4);

/// The `SET` clauses of a statement that takes a grant's lease (refresh or check; `SET` reads
/// the row as it was), for a refresh lease its holder never released: that attempt counts as
/// a failure, and until a whole lease (`?secs` seconds, the suspect time) past its end no
/// answer that the grant is dead is trusted (its holder may still be out with the rotated
/// tokens, and store them: only that store clears the doubt).
macro_rules! takeover_sets {
    ($secs:literal) => {
        concat!(
            "refresh_failures = refresh_failures + ",
            dead_refresh_lease!(),
            ", refresh_suspect_until = CASE WHEN ",
            dead_refresh_lease!(),
            " THEN MAX(COALESCE(refresh_suspect_until, 0), refresh_lease_until + ?",
            $secs,
            ") ELSE refresh_suspect_until END"
        )
    };
}

/// What a refresh lease returns: the grant, and the columns the refresh needs.
pub struct Leased {
    /// The grant's public columns.
    pub grant: GrantRow,
    /// The rest.
    pub cols: LeaseCols,
}

/// The non-public columns a lease returns. The envelopes are the compare-and-swap guard
/// of every write that follows: a write lands only while they are the ones this refresh
/// read (so a reconnect or another refresh that stored first always wins). The app's
/// refresh mode comes with them (a subquery in the lease), so no refresh reads the app.
#[derive(Deserialize, Default)]
pub struct LeaseCols {
    /// Envelope.
    pub access_token_enc: String,
    /// Envelope.
    pub refresh_token_enc: Option<String>,
    /// When the stored tokens were issued.
    pub token_issued_at: i64,
    /// When the stored refresh token expires, if known.
    pub refresh_token_expires_at: Option<i64>,
    /// Failures in a row (the dead leases this one took over included).
    pub refresh_failures: i64,
    /// 1 while a failure streak is on (its first failure told the app).
    pub refresh_failing: i64,
    /// 1 when a change of the app's mode made the grant due, to be rescheduled.
    pub reschedule: i64,
    /// The app's refresh mode as stored.
    pub refresh_mode: String,
    /// Until when an answer that the grant is dead proves nothing (see `takeover_sets`).
    pub refresh_suspect_until: Option<i64>,
}

/// What a refresh lease binds besides the grant and the lease id.
pub struct LeaseTerms {
    /// Now (epoch seconds).
    pub now: i64,
    /// How long the lease is held at most.
    pub lease_secs: i64,
    /// Only while due (the cron), else whenever.
    pub due_only: bool,
    /// A refresh completed at or after this (ms) makes this one moot.
    pub since_ms: i64,
    /// Due by this time (the cron run's start, seconds).
    pub due_by: i64,
    /// The backoff after 1, 2, ... failures, a JSON array (the lease is the attempt's marker).
    pub backoff_steps: String,
    /// How long past a dead refresh lease's end its holder may still store.
    pub suspect_secs: i64,
}

/// Takes grant `grant_id`'s refresh lease as `lease` when it is active, its lease free, due
/// (`due_only`) and not refreshed since `since_ms`. In the same statement, the next try moves
/// out by the backoff this attempt would get if it failed (never earlier than it was), and a
/// dead refresh lease taken over counts as a failure (see `takeover_sets`). It returns the
/// grant's row ([`leased`] reads it) when taken. To run with [`Stmt`](super::Stmt).
#[inline(always)]
pub fn take_refresh_lease(
    db: &D1Database,
    grant_id: &str,
    lease: &str,
    t: LeaseTerms,
) -> worker::Result<D1PreparedStatement> {
    // SET reads the row as it was: `refresh_lease_id` is the previous lease, still set when
    // its holder never released it.
    query!(
        db,
        &format!(
            concat!(
                "UPDATE grants SET ",
                takeover_sets!(9),
                ", next_refresh_at = MAX(next_refresh_at, ?3 + json_extract(?8, '$[' || MIN(refresh_failures + ",
                dead_refresh_lease!(),
                ", ",
                last_backoff_step!(),
                ") || ']')), refresh_lease_id = ?2, refresh_lease_until = ?3 + ?4 \
             WHERE id = ?1 AND status = 'active' \
               AND (refresh_lease_until IS NULL OR refresh_lease_until < ?3) \
               AND (?5 = 0 OR next_refresh_at <= ?7) \
               AND (last_refresh_ms IS NULL OR last_refresh_ms < ?6) \
             RETURNING {cols}, access_token_enc, refresh_token_enc, token_issued_at, refresh_token_expires_at, \
               refresh_failures, refresh_failing, reschedule, refresh_suspect_until, \
               COALESCE(",
                app_mode!(),
                ", 'proactive') AS refresh_mode"
            ),
            cols = GRANT_COLUMNS
        ),
        grant_id,
        lease,
        t.now,
        t.lease_secs,
        t.due_only as i32,
        t.since_ms,
        t.due_by,
        t.backoff_steps,
        t.suspect_secs
    )
}

/// The row a refresh lease returned, read.
#[inline(always)]
pub fn leased(raw: Row) -> ApiResult<Leased> {
    Ok(Leased { grant: raw.read("read leased grant")?, cols: raw.read("read leased columns")? })
}

/// A row when grant `id`'s lease is held at `now`.
#[inline(always)]
pub fn lease_held(db: &D1Database, id: &str, now: i64) -> worker::Result<D1PreparedStatement> {
    query!(db, "SELECT id FROM grants WHERE id = ?1 AND refresh_lease_until >= ?2", id, now)
}

/// Frees a refresh lease, optionally moving `next_refresh_at`.
#[inline(always)]
pub fn release_lease(db: &D1Database, id: &str, lease: &str, next: Option<i64>) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        concat!(
            "UPDATE grants SET ",
            free_lease!(),
            ", next_refresh_at = COALESCE(?3, next_refresh_at) WHERE id = ?1 AND refresh_lease_id = ?2"
        ),
        id,
        lease,
        next
    )
}

/// The statement that takes grant `grant_id`'s lease as check lease `lease` for
/// `lease_secs`, when free, returning `refresh_suspect_until` (a dead refresh lease taken
/// over starts a doubt for `suspect_secs`, see `takeover_sets`).
#[inline(always)]
pub fn take_check_lease_stmt(
    db: &D1Database,
    grant_id: &str,
    lease: &str,
    now: i64,
    lease_secs: i64,
    suspect_secs: i64,
) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        concat!(
            "UPDATE grants SET ",
            takeover_sets!(5),
            ", refresh_lease_id = ?2, refresh_lease_until = ?3 + ?4 \
             WHERE id = ?1 AND (refresh_lease_until IS NULL OR refresh_lease_until < ?3) RETURNING refresh_suspect_until"
        ),
        grant_id,
        lease,
        now,
        lease_secs,
        suspect_secs
    )
    .or_500("prepare check lease")
}

/// Frees a check lease.
#[inline(always)]
pub fn release_check_lease(db: &D1Database, grant_id: &str, lease: &str) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        concat!("UPDATE grants SET ", free_lease!(), " WHERE id = ?1 AND refresh_lease_id = ?2"),
        grant_id,
        lease
    )
}
