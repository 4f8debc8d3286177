//! One delivery attempt of an event: claim its outbox row, sign, POST, record the outcome.

use crate::ctx::Ctx;
use crate::fetch;
use crate::respond::object;
use crate::sealed_secrets::signing_secrets;
use crate::store::{self, AttemptEnd, OutboxRow};
use connect_links_core::console::webhooks::{Filter, State};
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::http::HttpRequest;
use connect_links_core::webhook::{retry_delay, signature_header};
use worker::Date;

/// First attempts made in the invocation that wrote the events: each costs a subrequest and
/// two or three D1 queries, and an invocation has 1,000 of each on Workers Paid.
const DELIVER_NOW_MAX: usize = 50;

/// One delivery attempt for each event (the first [`DELIVER_NOW_MAX`]; the rest are due in
/// the outbox, and the cron's retries make their first attempt); failures stay in the outbox
/// for the cron. During a request the attempt runs after the answer (`wait_until`), so a
/// slow receiver never delays a redirect or an API answer.
pub(super) async fn deliver_now(ctx: &Ctx, events: &[String]) {
    if events.is_empty() {
        return;
    }
    let job_ctx = ctx.detached();
    let ids: Vec<String> = events.iter().take(DELIVER_NOW_MAX).cloned().collect();
    ctx.after_answer(async move { deliver_ids(&job_ctx, &ids).await }).await;
}

/// One delivery attempt for each event, now.
pub async fn deliver_ids(ctx: &Ctx, ids: &[String]) {
    for id in ids {
        attempt(ctx, id).await;
    }
}

/// One delivery attempt of event `id` if it is due (claimed for this attempt); whether it
/// was made and its outcome recorded.
pub async fn attempt(ctx: &Ctx, id: &str) -> bool {
    let Ok(db) = ctx.db() else { return false };
    match store::claim_event(&db, id, ctx.now()).await {
        Ok(Some(row)) => deliver(ctx, row).await.is_ok(),
        _ => false,
    }
}

/// One delivery attempt of event `id` now, at the operator's request (the console's "Retry
/// now"): a given-up event gets one more attempt (its schedule stays spent: a failure gives it
/// up again), a retrying one its next attempt early (a failure schedules the one after). The
/// attempt takes the outbox's lease as the webhook job's do ([`store::claim_for_retry`]), so
/// it never runs beside another. Refused (409) for a delivered event, which is never sent
/// twice, and for one whose attempt may be under way or is due within the lease's two
/// minutes; 404 for an unknown one. The attempt's outcome is in the outbox row.
pub async fn retry_now(ctx: &Ctx, id: &str) -> ApiResult<()> {
    let db = ctx.db()?;
    if let Some(row) = store::claim_for_retry(&db, id, ctx.now()).await? {
        return deliver(ctx, row).await;
    }
    let filter = Filter { event: Some(id.to_string()), ..Filter::default() };
    let (rows, _) = store::console_webhooks(&db, &filter, 1).await?;
    Err(match rows.first().map(|r| r.state()) {
        None => ApiError::not_found("webhook event"),
        Some(State::Delivered) => ApiError::new(
            ErrorCode::Conflict,
            "This event was delivered: it is not sent again. An app that lost it can read the profile's current state through the API.",
        ),
        Some(_) => ApiError::new(
            ErrorCode::Conflict,
            "An attempt of this event is under way or due within three minutes: wait for it, then look again.",
        ),
    })
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
            crate::log::info(
                &object!("event": "webhook_delivery", "webhook_id": row.id, "type": row.kind, "app_id": row.app_id,
                       "attempt": row.attempts + 1, "status": status, "latency_ms": Date::now().as_millis().saturating_sub(start)),
            );
            status
        }
        (_, None) => {
            crate::log::info(
                &object!("event": "webhook_delivery", "webhook_id": row.id, "app_id": row.app_id,
                       "error": "webhook secret unreadable or malformed: not sent unsigned"),
            );
            0
        }
        (None, Some(_)) => 0,
    };
    let attempts = row.attempts + 1;
    let end = if (200..300).contains(&status) {
        AttemptEnd::Delivered
    } else {
        match retry_delay(attempts) {
            Some(delay) => AttemptEnd::RetryAt(ctx.now() + delay),
            None => AttemptEnd::GaveUp,
        }
    };
    store::record_attempt(&db, &row.id, attempts, status, ctx.now(), end).await
}
