//! The webhook outbox (`webhook_outbox`): an event's row is written in the batch of the change
//! it reports, claimed for each delivery attempt, settled (delivered or given up), forgotten
//! with the profile it copied, and purged after retention.

use super::stmt::Stmt;
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

/// Claims a due row for one attempt: moving `next_attempt_at` ahead is the lease, so
/// overlapping jobs do not deliver the same attempt twice.
pub async fn claim_event(db: &D1Database, id: &str, now: i64) -> ApiResult<Option<OutboxRow>> {
    query!(
        db,
        "UPDATE webhook_outbox SET next_attempt_at = ?2 + 120 \
         WHERE id = ?1 AND next_attempt_at IS NOT NULL AND next_attempt_at <= ?2 \
         RETURNING id, app_id, type, body, attempts, \
           (SELECT webhook_url FROM apps WHERE apps.id = webhook_outbox.app_id) AS webhook_url, \
           (SELECT webhook_secret_enc FROM apps WHERE apps.id = webhook_outbox.app_id) AS webhook_secret_enc, \
           (SELECT webhook_secret_prev_enc FROM apps WHERE apps.id = webhook_outbox.app_id) AS webhook_secret_prev_enc, \
           (SELECT webhook_secret_prev_until FROM apps WHERE apps.id = webhook_outbox.app_id) AS webhook_secret_prev_until",
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
