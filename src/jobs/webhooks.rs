//! Webhooks to apps: every event goes to the D1 outbox first, then one delivery attempt at
//! once; the lifecycle job retries due ones with backoff (at least once, for over 24 hours).

use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::fetch;
use crate::sealed_secrets::signing_secrets;
use crate::store::Stmt;
use connect_links_core::error::ApiResult;
use connect_links_core::http::HttpRequest;
use connect_links_core::random::new_id;
use connect_links_core::time::rfc3339;
use connect_links_core::webhook::{event_body, retry_delay, signature_header};
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{console_log, query, D1Database, D1PreparedStatement, D1Result, Date};

/// An event's outbox row, to be written in the same D1 batch as the change it reports.
pub struct Event {
    /// `evt_...`, also the `webhook-id`.
    pub id: String,
    /// The conditional insert (see [`event_after`]).
    pub stmt: D1PreparedStatement,
}

/// The outbox row of an event, as a statement to put right after the state change it
/// reports, in one batch: it inserts only when that change touched a row (`changes()`) and
/// the app has a `webhook_url`. So the event exists exactly when the change happened (two
/// racing deletes send one `profile.deleted`), and a crash cannot keep one without the other.
pub fn event_after(ctx: &Ctx, db: &D1Database, app_id: &str, kind: &str, data: Value) -> ApiResult<Event> {
    let id = new_id("evt_")?;
    let body = event_body(kind, &rfc3339(ctx.now()), data);
    let stmt = query!(
        db,
        "INSERT INTO webhook_outbox (id, app_id, type, body, created_at, next_attempt_at) \
         SELECT ?1, id, ?3, ?4, ?5, ?5 FROM apps WHERE id = ?2 AND webhook_url IS NOT NULL AND changes() > 0",
        id,
        app_id,
        kind,
        body,
        ctx.now()
    )
    .or_500("prepare outbox insert")?;
    Ok(Event { id, stmt })
}

/// Appends an event to a batch being built, right after the statement before it (see
/// [`event_after`]), and its id to those to deliver.
pub fn push_event(
    ctx: &Ctx,
    db: &D1Database,
    app_id: &str,
    kind: &str,
    data: Value,
    stmts: &mut Vec<D1PreparedStatement>,
    ids: &mut Vec<String>,
) -> ApiResult<()> {
    let event = event_after(ctx, db, app_id, kind, data)?;
    stmts.push(event.stmt);
    ids.push(event.id);
    Ok(())
}

/// Appends one event per item of `data`, each after the one before (the first after the
/// state change they report).
pub fn push_events(
    ctx: &Ctx,
    db: &D1Database,
    app_id: &str,
    kind: &str,
    data: Vec<Value>,
    stmts: &mut Vec<D1PreparedStatement>,
    ids: &mut Vec<String>,
) -> ApiResult<()> {
    for d in data {
        push_event(ctx, db, app_id, kind, d, stmts, ids)?;
    }
    Ok(())
}

/// Events per outbox insert of [`push_event_rows`]: each body is a profile view of at most a
/// few KiB, so a chunk stays well inside D1's 2 MB per bound value.
const EVENTS_PER_INSERT: usize = 50;

/// Appends events (`kind`, `data` each) to a batch being built, [`EVENTS_PER_INSERT`] per
/// statement: as [`push_event`], each statement inserts only when the one before it changed
/// a row, so put them right after the change they report (a chunk that inserted follows the
/// one before). For changes of many rows whose count the batch already asserts.
pub fn push_event_rows(
    ctx: &Ctx,
    db: &D1Database,
    app_id: &str,
    items: Vec<(&str, Value)>,
    stmts: &mut Vec<D1PreparedStatement>,
    ids: &mut Vec<String>,
) -> ApiResult<()> {
    let at = rfc3339(ctx.now());
    let mut rows = Vec::with_capacity(items.len());
    for (kind, data) in items {
        let id = new_id("evt_")?;
        rows.push(json!({"id": id, "type": kind, "body": event_body(kind, &at, data)}));
        ids.push(id);
    }
    for chunk in rows.chunks(EVENTS_PER_INSERT) {
        let json = serde_json::to_string(chunk).or_500("events json")?;
        let stmt = query!(
            db,
            "INSERT INTO webhook_outbox (id, app_id, type, body, created_at, next_attempt_at) \
             SELECT json_extract(j.value, '$.id'), a.id, json_extract(j.value, '$.type'), json_extract(j.value, '$.body'), \
             ?3, ?3 FROM apps a, json_each(?1) j WHERE a.id = ?2 AND a.webhook_url IS NOT NULL AND changes() > 0",
            json,
            app_id,
            ctx.now()
        )
        .or_500("prepare outbox inserts")?;
        stmts.push(stmt);
    }
    Ok(())
}

/// Runs `stmts` as one D1 batch (one transaction), then makes the first delivery attempt of
/// each event that was written. Returns the batch's results.
pub async fn commit(
    ctx: &Ctx,
    db: &D1Database,
    stmts: Vec<D1PreparedStatement>,
    events: &[&str],
) -> ApiResult<Vec<D1Result>> {
    let results = db.batch(stmts).await.or_500("batch")?;
    deliver_now(ctx, events).await;
    Ok(results)
}

/// First attempts made in the invocation that wrote the events: each costs a subrequest and
/// two or three D1 queries, and an invocation has 1,000 of each on Workers Paid.
const DELIVER_NOW_MAX: usize = 50;

/// One delivery attempt for each event (the first [`DELIVER_NOW_MAX`]; the rest are due in
/// the outbox, and the cron's retries make their first attempt); failures stay in the outbox
/// for the cron. During a request the attempt runs after the answer (`wait_until`), so a
/// slow receiver never delays a redirect or an API answer.
pub async fn deliver_now(ctx: &Ctx, events: &[&str]) {
    if events.is_empty() {
        return;
    }
    let job_ctx = ctx.detached();
    let ids: Vec<String> = events.iter().take(DELIVER_NOW_MAX).map(|s| s.to_string()).collect();
    ctx.after_answer(async move { deliver_ids(&job_ctx, &ids).await }).await;
}

/// One delivery attempt for each event, now.
pub async fn deliver_ids(ctx: &Ctx, ids: &[String]) {
    for id in ids {
        if let Ok(Some(row)) = claim(ctx, id).await {
            let _ = deliver(ctx, row).await;
        }
    }
}

#[derive(Deserialize)]
struct OutboxRow {
    id: String,
    app_id: String,
    #[serde(rename = "type")]
    kind: String,
    body: String,
    attempts: u32,
    webhook_url: Option<String>,
    webhook_secret_enc: String,
    webhook_secret_prev_enc: Option<String>,
    webhook_secret_prev_until: Option<i64>,
}

/// Claims a due row for one attempt: moving `next_attempt_at` ahead is the lease, so
/// overlapping jobs do not deliver the same attempt twice.
async fn claim(ctx: &Ctx, id: &str) -> ApiResult<Option<OutboxRow>> {
    let db = ctx.db()?;
    query!(
        &db,
        "UPDATE webhook_outbox SET next_attempt_at = ?2 + 120 \
         WHERE id = ?1 AND next_attempt_at IS NOT NULL AND next_attempt_at <= ?2 \
         RETURNING id, app_id, type, body, attempts, \
           (SELECT webhook_url FROM apps WHERE apps.id = webhook_outbox.app_id) AS webhook_url, \
           (SELECT webhook_secret_enc FROM apps WHERE apps.id = webhook_outbox.app_id) AS webhook_secret_enc, \
           (SELECT webhook_secret_prev_enc FROM apps WHERE apps.id = webhook_outbox.app_id) AS webhook_secret_prev_enc, \
           (SELECT webhook_secret_prev_until FROM apps WHERE apps.id = webhook_outbox.app_id) AS webhook_secret_prev_until",
        id,
        ctx.now()
    )
    .one::<OutboxRow>("outbox claim")
    .await
}

/// One signed POST; records delivery, or schedules the next attempt (or gives up once the
/// schedule is exhausted).
async fn deliver(ctx: &Ctx, row: OutboxRow) -> ApiResult<()> {
    let db = ctx.db()?;
    // A secret that cannot be opened (its key left TOKEN_KEYS) is a failed attempt like any
    // other, so the retry schedule still ends. Within a day of a rotation the previous
    // secret signs too, so a receiver that still has it verifies.
    let timestamp = ctx.now();
    let previous = row.webhook_secret_prev_enc.as_deref().zip(row.webhook_secret_prev_until);
    let secrets = match ctx.keyring() {
        Ok(k) => signing_secrets(&k, &row.app_id, &row.webhook_secret_enc, previous, timestamp),
        Err(_) => vec![],
    };
    // Never sent unsigned: secrets that cannot be read or used fail the attempt, and the
    // outbox keeps the event for the retry schedule.
    let signature = signature_header(&secrets, &row.id, timestamp, &row.body);
    let status = match (&row.webhook_url, signature) {
        (Some(url), Some(signature)) => {
            let req = HttpRequest {
                method: "POST",
                url: url.clone(),
                headers: vec![
                    ("content-type".into(), "application/json".into()),
                    ("webhook-id".into(), row.id.clone()),
                    ("webhook-timestamp".into(), timestamp.to_string()),
                    ("webhook-signature".into(), signature),
                ],
                body: Some(row.body.clone()),
            };
            let start = Date::now().as_millis();
            // Only the status counts: the receiver's answer body is cancelled unread.
            let status = fetch::send_status(&req, ctx.timeout_ms()).await.unwrap_or(0);
            console_log!(
                "{}",
                json!({"event": "webhook_delivery", "webhook_id": row.id, "type": row.kind, "app_id": row.app_id,
                       "attempt": row.attempts + 1, "status": status, "latency_ms": Date::now().as_millis().saturating_sub(start)})
            );
            status
        }
        (_, None) => {
            console_log!(
                "{}",
                json!({"event": "webhook_delivery", "webhook_id": row.id, "app_id": row.app_id,
                       "error": "webhook secret unreadable or malformed: not sent unsigned"})
            );
            0
        }
        (None, Some(_)) => 0,
    };
    let attempts = row.attempts + 1;
    let delivered = (200..300).contains(&status);
    let stmt = if delivered {
        query!(&db, "UPDATE webhook_outbox SET attempts = ?2, delivered_at = ?3, next_attempt_at = NULL, last_status = ?4 WHERE id = ?1", row.id, attempts, ctx.now(), status)
    } else {
        match retry_delay(attempts) {
            Some(delay) => query!(&db, "UPDATE webhook_outbox SET attempts = ?2, next_attempt_at = ?3, last_status = ?4 WHERE id = ?1", row.id, attempts, ctx.now() + delay, status),
            None => query!(&db, "UPDATE webhook_outbox SET attempts = ?2, next_attempt_at = NULL, failed_at = ?3, last_status = ?4 WHERE id = ?1", row.id, attempts, ctx.now(), status),
        }
    };
    let mut stmts = vec![stmt.or_500("prepare outbox update")?];
    if delivered || retry_delay(attempts).is_none() {
        // A settled (delivered or given-up) event of a profile that is gone keeps none of
        // its data: the row goes (in the same round trip as the update).
        stmts.push(
            query!(
                &db,
                "DELETE FROM webhook_outbox WHERE id = ?1 AND type LIKE 'profile.%' \
                 AND NOT EXISTS (SELECT 1 FROM profiles WHERE profiles.id = json_extract(webhook_outbox.body, '$.data.id'))",
                row.id
            )
            .or_500("prepare outbox forget")?,
        );
    }
    db.batch(stmts).await.or_500("outbox update")?;
    Ok(())
}

/// Retries due deliveries (part of the lifecycle job); one failure never stops the batch.
pub async fn deliver_due(ctx: &Ctx, limit: u32) -> ApiResult<u32> {
    #[derive(Deserialize)]
    struct Due {
        id: String,
    }
    let db = ctx.db()?;
    let due = query!(
        &db,
        "SELECT id FROM webhook_outbox WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ?1 ORDER BY next_attempt_at LIMIT ?2",
        ctx.now(), limit
    )
    .many::<Due>("read outbox due").await?;
    let mut delivered = 0;
    for d in due {
        if let Ok(Some(row)) = claim(ctx, &d.id).await {
            if deliver(ctx, row).await.is_ok() {
                delivered += 1;
            }
        }
    }
    Ok(delivered)
}
