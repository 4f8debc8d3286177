//! The console's history (`activity`, migration 0025): one row per thing that happened to a
//! grant or profile, written beside the change it records, read by the console's pages,
//! purged after `RETENTION_DAYS`. Never a token or secret: the caller passes the platform's
//! error code and text, capped here.

use super::stmt::{arg, query, Fragments, Stmt};
use crate::error::OrInternal;
use connect_links_core::error::ApiResult;
use connect_links_core::model::ProfileRow;
use connect_links_core::refresh::{capped, ERROR_TEXT_CHARS};
use worker::{D1Database, D1PreparedStatement};

/// The most characters of a platform's error text (or a reason) kept in `detail`: as many
/// as [`connect_links_core::refresh::answer_error`] keeps of an answer's.
pub const DETAIL_CHARS: usize = ERROR_TEXT_CHARS;

/// One thing that happened, to be written.
#[derive(Debug, Clone, Default)]
pub struct NewActivity<'a> {
    /// Epoch seconds.
    pub at: i64,
    /// The app.
    pub app_id: &'a str,
    /// The platform id.
    pub platform: &'a str,
    /// The profile, when it concerns one (a refresh concerns its grant: `None`).
    pub profile_id: Option<&'a str>,
    /// The grant.
    pub grant_id: Option<&'a str>,
    /// `connected`, `refresh`, `disconnected`, `revoked`, `proxy_error`, `liveness`, `webhook`.
    pub kind: &'a str,
    /// The outcome, per kind (`ok`, `transient`, `disconnected`, `failed`, `given_up`, ...).
    pub outcome: &'a str,
    /// The HTTP status of the answer, if there was one.
    pub status: Option<u16>,
    /// The platform's error code.
    pub code: Option<&'a str>,
    /// The platform's error text or the reason (cut to [`DETAIL_CHARS`] here).
    pub detail: Option<&'a str>,
}

impl<'a> NewActivity<'a> {
    /// A row about profile `p` (its app, platform and grant) at `at`: `kind`, `outcome` and
    /// why (`detail`); no status or code.
    pub fn of_profile(p: &'a ProfileRow, at: i64, kind: &'a str, outcome: &'a str, detail: &'a str) -> Self {
        NewActivity {
            at,
            app_id: &p.app_id,
            platform: &p.platform,
            profile_id: Some(&p.id),
            grant_id: Some(&p.grant_id),
            kind,
            outcome,
            detail: Some(detail),
            ..NewActivity::default()
        }
    }
}

/// When a history statement of a batch writes its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Whatever the statement before it did.
    Always,
    /// Only when the statement right before it changed a row (`changes()`): the record of a
    /// conditional change exists exactly when the change happened. Its own insert then
    /// counts as a change, so an event guarded the same way may follow it.
    IfChanged,
}

/// The statement that writes `a` (one row), for a batch beside the change it records.
pub fn activity_stmt(db: &D1Database, a: &NewActivity<'_>) -> ApiResult<D1PreparedStatement> {
    activity_rows_stmt(db, a, &[], When::Always)
}

/// The statement that writes `a` once per profile of `profiles` (none: once, for
/// `a.profile_id`), `when` the batch's change happened.
pub fn activity_rows_stmt(
    db: &D1Database,
    a: &NewActivity<'_>,
    profiles: &[&str],
    when: When,
) -> ApiResult<D1PreparedStatement> {
    let ids: Vec<Option<&str>> =
        if profiles.is_empty() { vec![a.profile_id] } else { profiles.iter().map(|p| Some(*p)).collect() };
    let ids = serde_json::to_string(&ids).or_500("activity ids")?;
    query!(
        db,
        "INSERT INTO activity (at, app_id, platform, profile_id, grant_id, kind, outcome, status, code, detail) \
         SELECT ?1, ?2, ?3, j.value, ?4, ?5, ?6, ?7, ?8, ?9 FROM json_each(?10) j WHERE ?11 = 0 OR changes() > 0",
        a.at,
        a.app_id,
        a.platform,
        a.grant_id,
        a.kind,
        a.outcome,
        a.status,
        a.code.map(|c| capped(c, 100)),
        a.detail.map(|d| capped(d, DETAIL_CHARS)),
        ids,
        (when == When::IfChanged) as i32
    )
    .or_500("activity statement")
}

/// Writes `a` on its own (when there is no batch to join).
pub async fn record_activity(db: &D1Database, a: &NewActivity<'_>) -> ApiResult<()> {
    activity_stmt(db, a)?.run().await.or_500("record activity")?;
    Ok(())
}

/// The statement that writes a `disconnected` / `unclaimed` row for each profile of
/// `ids_json` (a JSON array) still pending past its claim window: before the housekeeping
/// deletes them, in its batch.
pub fn unclaimed_activity_stmt(db: &D1Database, ids_json: &str, now: i64) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        "INSERT INTO activity (at, app_id, platform, profile_id, grant_id, kind, outcome, detail) \
         SELECT ?2, app_id, platform, id, grant_id, 'disconnected', 'unclaimed', 'the link was not claimed in time' \
         FROM profiles WHERE id IN (SELECT value FROM json_each(?1)) AND status = 'pending' \
         AND claim_link_id IN (SELECT id FROM connect_links WHERE claim_expires_at <= ?2)",
        ids_json,
        now
    )
    .or_500("prepare unclaimed activity")
}

/// Writes a proxied call's error `a` (kind `proxy_error`, its profile and status), unless
/// the profile already has one of that status since `since` (epoch seconds): a flood of
/// errors leaves one row per profile, status and minute (the log line per call stays the
/// exact record). The check reads only the profile's rows since `since`: the first id at or
/// after `since` comes from the `at` index (one seek), then the profile's index from there,
/// so its cost does not grow with the history kept.
pub async fn record_proxy_error(db: &D1Database, a: &NewActivity<'_>, since: i64) -> ApiResult<()> {
    query!(
        db,
        "INSERT INTO activity (at, app_id, platform, profile_id, grant_id, kind, outcome, status, code, detail) \
         SELECT ?1, ?2, ?3, ?4, NULL, 'proxy_error', ?5, ?6, ?7, ?8 WHERE NOT EXISTS (SELECT 1 FROM activity \
         WHERE profile_id = ?4 AND id >= (SELECT id FROM activity WHERE at >= ?9 ORDER BY at LIMIT 1) \
         AND kind = 'proxy_error' AND status = ?6)",
        a.at,
        a.app_id,
        a.platform,
        a.profile_id,
        a.outcome,
        a.status,
        a.code.map(|c| capped(c, 100)),
        a.detail.map(|d| capped(d, DETAIL_CHARS)),
        since
    )
    .exec("record proxy error")
    .await
}

/// One row of the history, as the console reads it (the console's templates take it).
pub use connect_links_core::console::activity::ActivityRow;

/// What the history is searched by (the Activity page's search; every `None` matches all).
pub use connect_links_core::console::activity::Search;

/// The columns of an [`ActivityRow`].
const ROW: &str = "SELECT id, at, app_id, platform, profile_id, grant_id, kind, outcome, status, code, detail FROM activity";

/// The newest rows matching `f` (older than id `before_id`, for the next page), at most
/// `limit`, newest first; `f.text` matches the code or detail, in any case. The statement names only the
/// filters given (each a fixed fragment, its value bound), so an app or a profile narrows it
/// through its index (`activity_app`, `activity_profile`: both end with the id it pages by);
/// a kind, an outcome or text alone read back from the newest row until `limit` match.
pub async fn search_activity(
    db: &D1Database,
    f: &Search,
    before_id: Option<i64>,
    limit: u32,
) -> ApiResult<Vec<ActivityRow>> {
    let mut stmt = Fragments::new(format!("{ROW} WHERE 1 = 1"));
    stmt.push_given(&[
        (" AND app_id = ?N", f.app.as_deref()),
        (" AND profile_id = ?N", f.profile.as_deref()),
        (" AND platform = ?N", f.platform.as_deref()),
        (" AND kind = ?N", f.kind.as_deref()),
        (" AND outcome = ?N", f.outcome.as_deref()),
    ]);
    if let Some(t) = &f.text {
        stmt.push(" AND instr(lower(coalesce(code, '') || ' ' || coalesce(detail, '')), lower(?N)) > 0", &[arg(t)]);
    }
    if let Some(b) = before_id {
        stmt.push(" AND id < ?N", &[arg(&b)]);
    }
    stmt.push(" ORDER BY id DESC LIMIT ?N", &[arg(&limit)]);
    stmt.bind(db).many("search activity").await
}

/// The newest rows of a profile and of its grant (a refresh is the grant's: its row names no
/// profile), at most `limit`, newest first: each half read through its own index
/// (`activity_profile`, `activity_grant`), newest first, at most `limit` each.
pub async fn profile_activity(db: &D1Database, profile_id: &str, grant_id: &str, limit: u32) -> ApiResult<Vec<ActivityRow>> {
    query!(
        db,
        &format!(
            "SELECT * FROM (SELECT * FROM ({ROW} WHERE profile_id = ?1 ORDER BY id DESC LIMIT ?3) \
             UNION ALL SELECT * FROM ({ROW} WHERE grant_id = ?2 AND profile_id IS NULL ORDER BY id DESC LIMIT ?3)) \
             ORDER BY id DESC LIMIT ?3"
        ),
        profile_id,
        grant_id,
        limit
    )
    .many("profile activity")
    .await
}

/// The statement that deletes history older than `before` (epoch seconds), at most `limit`
/// rows a run (the housekeeping's retention batch).
pub fn purge_activity_stmt(db: &D1Database, before: i64, limit: u32) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "DELETE FROM activity WHERE id IN (SELECT id FROM activity WHERE at < ?1 ORDER BY at LIMIT ?2)",
        before,
        limit
    )
}
