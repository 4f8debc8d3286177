//! The webhook outbox (`webhook_outbox`): an event's row is written in the batch of the change
//! it reports, claimed for each delivery attempt, settled (delivered or given up), forgotten
//! with the profile it copied, and purged after retention.

use super::stmt::{arg, batch_rows, bound, KeyedText, Stmt};
use connect_links_core::console::webhooks::{Filter, State, WebhookRow};
use crate::error::OrInternal;
use connect_links_core::error::ApiResult;
use serde::Deserialize;
use super::stmt::query;
use worker::{D1Database, D1PreparedStatement};

/// The outbox row of an event, as a statement to put right after the state change it
/// reports, in one batch: it inserts only when that change touched a row (`changes()`) and
/// the app has a `webhook_url`.
pub fn insert_event_stmt(
    db: &D1Database,
    id: &str,
    app_id: &str,
    kind: &str,
    body: &str,
    now: i64,
) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        "INSERT INTO webhook_outbox (id, app_id, type, body, created_at, next_attempt_at) \
         SELECT ?1, id, ?3, ?4, ?5, ?5 FROM apps WHERE id = ?2 AND webhook_url IS NOT NULL AND changes() > 0",
        id,
        app_id,
        kind,
        body,
        now
    )
    .or_500("prepare outbox insert")
}

/// The outbox rows of several events (`rows_json`: a JSON array of `{id, type, body}`) in
/// one statement, under the same condition as [`insert_event_stmt`].
pub fn insert_events_stmt(db: &D1Database, rows_json: &str, app_id: &str, now: i64) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        "INSERT INTO webhook_outbox (id, app_id, type, body, created_at, next_attempt_at) \
         SELECT json_extract(j.value, '$.id'), a.id, json_extract(j.value, '$.type'), json_extract(j.value, '$.body'), \
         ?3, ?3 FROM apps a, json_each(?1) j WHERE a.id = ?2 AND a.webhook_url IS NOT NULL AND changes() > 0",
        rows_json,
        app_id,
        now
    )
    .or_500("prepare outbox inserts")
}

/// A claimed outbox row, with what its delivery needs of its app.
#[derive(Deserialize, Default)]
pub struct OutboxRow {
    /// `evt_...`, also the `webhook-id`.
    pub id: String,
    /// The app told.
    pub app_id: String,
    /// The event type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The signed body.
    pub body: String,
    /// Attempts made before this one.
    pub attempts: u32,
    /// Where it goes (`None`: the app has no webhook URL any more).
    pub webhook_url: Option<String>,
    /// The app's sealed webhook secret.
    pub webhook_secret_enc: String,
    /// The sealed secret before the last rotation, while it still signs.
    pub webhook_secret_prev_enc: Option<String>,
    /// Until when that one signs.
    pub webhook_secret_prev_until: Option<i64>,
}

/// What a claim of an event for an attempt returns: the row and its app's webhook URL and
/// secrets (an [`OutboxRow`]).
const CLAIMED: &str = "RETURNING id, app_id, type, body, attempts, \
    (SELECT webhook_url FROM apps WHERE apps.id = webhook_outbox.app_id) AS webhook_url, \
    (SELECT webhook_secret_enc FROM apps WHERE apps.id = webhook_outbox.app_id) AS webhook_secret_enc, \
    (SELECT webhook_secret_prev_enc FROM apps WHERE apps.id = webhook_outbox.app_id) AS webhook_secret_prev_enc, \
    (SELECT webhook_secret_prev_until FROM apps WHERE apps.id = webhook_outbox.app_id) AS webhook_secret_prev_until";

/// Claims a due row for one attempt: moving `next_attempt_at` ahead is the lease, so
/// overlapping jobs do not deliver the same attempt twice.
pub async fn claim_event(db: &D1Database, id: &str, now: i64) -> ApiResult<Option<OutboxRow>> {
    query!(
        db,
        &format!(
            "UPDATE webhook_outbox SET next_attempt_at = ?2 + 120 \
             WHERE id = ?1 AND next_attempt_at IS NOT NULL AND next_attempt_at <= ?2 {CLAIMED}"
        ),
        id,
        now
    )
    .one::<OutboxRow>("outbox claim")
    .await
}

/// How a delivery attempt ended, for its row.
pub enum AttemptEnd {
    /// A 2xx: done.
    Delivered,
    /// Another attempt at this time.
    RetryAt(i64),
    /// The retry schedule is exhausted.
    GaveUp,
}

/// Records attempt number `attempts` (answered `status`, 0 for none). A settled (delivered or
/// given-up) event of a profile that is gone keeps none of its data: the row goes, in the
/// same round trip as the update.
pub async fn record_attempt(
    db: &D1Database,
    id: &str,
    attempts: u32,
    status: u16,
    now: i64,
    end: AttemptEnd,
) -> ApiResult<()> {
    let stmt = match end {
        AttemptEnd::Delivered => query!(db, "UPDATE webhook_outbox SET attempts = ?2, delivered_at = ?3, next_attempt_at = NULL, last_status = ?4 WHERE id = ?1", id, attempts, now, status),
        AttemptEnd::RetryAt(at) => query!(db, "UPDATE webhook_outbox SET attempts = ?2, next_attempt_at = ?3, last_status = ?4 WHERE id = ?1", id, attempts, at, status),
        AttemptEnd::GaveUp => query!(db, "UPDATE webhook_outbox SET attempts = ?2, next_attempt_at = NULL, failed_at = ?3, last_status = ?4 WHERE id = ?1", id, attempts, now, status),
    };
    let outcome = match end {
        AttemptEnd::Delivered => "delivered",
        AttemptEnd::RetryAt(_) => "retrying",
        AttemptEnd::GaveUp => "given_up",
    };
    // The console's history: one row per attempt of an event about a profile (its id and
    // platform from the event's body), before the row may go.
    let noted = query!(
        db,
        "INSERT INTO activity (at, app_id, platform, profile_id, kind, outcome, status, detail) \
         SELECT ?2, app_id, coalesce(json_extract(body, '$.data.platform'), ''), json_extract(body, '$.data.id'), \
         'webhook', ?3, nullif(?4, 0), type || ', attempt ' || CAST(?5 AS INTEGER) FROM webhook_outbox \
         WHERE id = ?1 AND type LIKE 'profile.%' AND json_extract(body, '$.data.id') IS NOT NULL",
        id,
        now,
        outcome,
        status,
        attempts
    )
    .or_500("prepare webhook activity")?;
    let mut stmts = vec![stmt.or_500("prepare outbox update")?, noted];
    if !matches!(end, AttemptEnd::RetryAt(_)) {
        stmts.push(
            query!(
                db,
                "DELETE FROM webhook_outbox WHERE id = ?1 AND type LIKE 'profile.%' \
                 AND NOT EXISTS (SELECT 1 FROM profiles WHERE profiles.id = json_extract(webhook_outbox.body, '$.data.id'))",
                id
            )
            .or_500("prepare outbox forget")?,
        );
    }
    db.batch(stmts).await.or_500("outbox update")?;
    Ok(())
}

/// Ids of the events due for an attempt, most overdue first.
pub async fn due_events(db: &D1Database, now: i64, limit: u32) -> ApiResult<Vec<String>> {
    query!(
        db,
        "SELECT id FROM webhook_outbox WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ?1 ORDER BY next_attempt_at LIMIT ?2",
        now, limit
    )
    .ids("read outbox due")
    .await
}

/// The statement that forgets the delivered events of an app that copied a profile's data
/// (undelivered ones go when they are delivered).
pub fn forget_profile_events_stmt(db: &D1Database, app_id: &str, profile_id: &str) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        "DELETE FROM webhook_outbox WHERE app_id = ?1 AND next_attempt_at IS NULL AND instr(body, ?2) > 0",
        app_id,
        profile_id
    )
    .or_500("prepare outbox forget")
}

/// The statement that forgets the delivered events (any app) that copied the data of any of
/// the profiles `profile_ids_json` (a JSON array; undelivered ones go when they are delivered).
pub fn forget_events_of_profiles_stmt(db: &D1Database, profile_ids_json: &str) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        "DELETE FROM webhook_outbox WHERE next_attempt_at IS NULL \
         AND EXISTS (SELECT 1 FROM json_each(?1) WHERE instr(webhook_outbox.body, value) > 0)",
        profile_ids_json
    )
    .or_500("prepare outbox forget")
}

/// The statement that purges up to `limit` rows delivered or given up before `cut`.
pub fn purge_settled_events_stmt(db: &D1Database, cut: i64, limit: u32) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "DELETE FROM webhook_outbox WHERE id IN (SELECT id FROM webhook_outbox WHERE delivered_at < ?1 \
         UNION SELECT id FROM webhook_outbox WHERE failed_at < ?1 LIMIT ?2)",
        cut,
        limit
    )
}

/// What the console's webhooks page reads of an event (never its body: the profile a
/// `profile.*` event is about is taken out of it here).
const CONSOLE_COLUMNS: &str = "SELECT id, app_id, type, created_at, attempts, last_status, next_attempt_at, delivered_at, failed_at, \
     CASE WHEN type LIKE 'profile.%' THEN json_extract(body, '$.data.id') END AS profile_id FROM webhook_outbox ";

/// The webhooks page's filters on state (`?2`, empty for any) and its cursor (`?3`, `?4`:
/// rows older than it), newest first; `?5` rows.
const CONSOLE_PAGE: &str = "AND (?2 = '' OR (?2 = 'delivered' AND delivered_at IS NOT NULL) \
     OR (?2 = 'retrying' AND next_attempt_at IS NOT NULL) OR (?2 = 'given_up' AND failed_at IS NOT NULL AND next_attempt_at IS NULL)) \
     AND (created_at, id) < (?3, ?4) ORDER BY created_at DESC, id DESC LIMIT ?5";

/// A cursor past every row (D1 binds numbers as doubles: 2^53 - 1 is exact).
const NO_CURSOR: i64 = 9_007_199_254_740_991;

/// The console's webhooks page in one batch: up to `limit` events matching `f`, newest first
/// (an app's through `webhook_outbox_app`, every app's through `webhook_outbox_created`, one
/// event by its key), and every app's id and name for the filter.
pub async fn console_webhooks(db: &D1Database, f: &Filter, limit: u32) -> ApiResult<(Vec<WebhookRow>, Vec<(String, String)>)> {
    let state = f.state.map_or("", State::value);
    let (at, after) = f.before.clone().unwrap_or((NO_CURSOR, String::new()));
    let list = match (&f.event, &f.app) {
        (Some(event), _) => bound(db, &format!("{CONSOLE_COLUMNS}WHERE id = ?1"), &[arg(event)]),
        (None, Some(app)) => bound(
            db,
            &format!("{CONSOLE_COLUMNS}WHERE app_id = ?1 {CONSOLE_PAGE}"),
            &[arg(app), arg(state), arg(&at), arg(&after), arg(&limit)],
        ),
        (None, None) => bound(
            db,
            &format!("{CONSOLE_COLUMNS}WHERE ?1 = '' {CONSOLE_PAGE}"),
            &[arg(""), arg(state), arg(&at), arg(&after), arg(&limit)],
        ),
    }
    .or_500("prepare webhooks page")?;
    let apps = query!(db, "SELECT id, name AS text FROM apps ORDER BY name, id LIMIT 500");
    let results = db.batch(vec![list, apps]).await.or_500("read webhooks page")?;
    let rows = match results.first() {
        Some(r) => batch_rows::<WebhookRow>(r).or_500("read webhooks page")?,
        None => vec![],
    };
    let apps = match results.get(1) {
        Some(r) => batch_rows::<KeyedText>(r).or_500("read webhooks page")?.into_iter().map(|k| (k.id, k.text)).collect(),
        None => vec![],
    };
    Ok((rows, apps))
}

/// Claims event `id` for an attempt now, at the operator's request: a given-up event, a due
/// one, or one whose next attempt is scheduled later. Not a delivered event, and not one that
/// may be leased by an attempt under way (`next_attempt_at` within [`claim_event`]'s lease of
/// now, plus a minute: another isolate's `now` may be a little ahead of this one's, and its
/// lease with it): the lease stays the only way to an attempt, so a retry never doubles one.
pub async fn claim_for_retry(db: &D1Database, id: &str, now: i64) -> ApiResult<Option<OutboxRow>> {
    query!(
        db,
        &format!(
            "UPDATE webhook_outbox SET next_attempt_at = ?2 + 120, failed_at = NULL \
             WHERE id = ?1 AND delivered_at IS NULL \
             AND (next_attempt_at IS NULL OR next_attempt_at <= ?2 OR next_attempt_at > ?2 + 180) {CLAIMED}"
        ),
        id,
        now
    )
    .one::<OutboxRow>("outbox retry claim")
    .await
}
