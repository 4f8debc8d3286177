//! Forwarding verified platform events to the apps holding their accounts.

use super::stats::{counts, hour, Tally};
use crate::ctx::Ctx;
use crate::events::Batch;
use crate::respond::object;
use crate::store::{self, Stmt};
use connect_links_core::error::ApiResult;
use connect_links_core::platform_events::forwarding::{event_data, wants};
use connect_links_core::platform_events::InboundEvent;
use serde_json::Value;

/// How long a dedup key holds: a redelivery within it is dropped.
const DEDUP_SECS: i64 = 24 * 3600;

/// Dedups `events` (a redelivery within 24 hours is forwarded once), matches each to the
/// profiles of its account on `platform` minted by the platform app `by` names (`None`: the
/// deployment's), and writes one `platform.event` per profile whose app asked for that
/// event type, then delivers. Events for accounts no profile holds are counted, not stored.
/// Best effort after the answer: a failure is logged, never raised.
pub async fn forward(ctx: &Ctx, platform: &str, by: Option<&str>, events: Vec<InboundEvent>) {
    // A chunk at a time: each chunk's claim and writes stay within D1's limits on one batch.
    for chunk in events.chunks(CHUNK) {
        if let Err(e) = run(ctx, platform, by, chunk).await {
            crate::log::error(
                &object!("event": "platform_event_forward_failed", "platform": platform, "error": e.message),
            );
        }
    }
}

/// Events forwarded per claim and batch.
const CHUNK: usize = 100;

async fn run(ctx: &Ctx, platform: &str, by: Option<&str>, events: &[InboundEvent]) -> ApiResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let db = ctx.db()?;
    let now = ctx.now();
    // The key names the platform app the event came through: the same event pushed to the
    // deployment's app and to an app's own reaches different grants, and each is forwarded.
    let keys: Vec<String> = events
        .iter()
        .map(|e| match by {
            Some(r) => format!("{r}:{}", e.dedup_key),
            None => e.dedup_key.clone(),
        })
        .collect();
    let pairs: Vec<[&str; 2]> = keys.iter().zip(events).map(|(k, e)| [k.as_str(), e.account_id.as_str()]).collect();
    let mut accounts: Vec<&str> = events.iter().map(|e| e.account_id.as_str()).collect();
    accounts.sort();
    accounts.dedup();
    let (claimed, profiles) = store::claim_and_match(
        &db,
        platform,
        by,
        &serde_json::to_string(&pairs).unwrap_or_default(),
        &serde_json::to_string(&accounts).unwrap_or_default(),
        now,
        now - DEDUP_SECS,
    )
    .await?;
    let profiles = profiles.as_array().map(Vec::as_slice).unwrap_or_default();
    let mut fresh: Vec<&String> = claimed.iter().collect();
    // The events of each app, in order.
    let mut by_app: Vec<(&str, Vec<(&str, Value)>)> = Vec::new();
    let mut matched = 0;
    for (key, event) in keys.iter().zip(events) {
        // A key claimed is forwarded once, even when the request carried the event twice.
        let Some(i) = fresh.iter().position(|k| *k == key) else { continue };
        fresh.swap_remove(i);
        // The claim took only keys of events whose account a profile holds.
        matched += 1;
        for p in profiles.iter().filter(|p| p["account"] == event.account_id.as_str()) {
            let (Some(id), Some(app)) = (p["id"].as_str(), p["app"].as_str()) else { continue };
            if !wants(&p["events"], platform, &event.event_type) {
                continue;
            }
            let data = event_data(id, platform, event);
            match by_app.iter_mut().find(|(a, _)| *a == app) {
                Some((_, items)) => items.push(("platform.event", data)),
                None => by_app.push((app, vec![("platform.event", data)])),
            }
        }
    }
    if matched == 0 {
        return Ok(());
    }
    let hour = hour(now);
    let mut batch = Batch::new(ctx, &db);
    batch.push(store::count_platform_events(&db, platform, hour, counts(Tally::Matched, matched))?);
    for (app, items) in by_app {
        // The count is the statement that changed a row right before the app's events, which
        // they require (`Batch::event_rows`).
        let n = items.len() as u32;
        batch.push(store::count_platform_events(&db, platform, hour, counts(Tally::Forwarded, n))?);
        batch.event_rows(app, items)?;
    }
    if let Err(e) = batch.commit().await {
        // The claims go too, so a redelivery of these events is forwarded rather than
        // dropped as already seen (best effort: a failure here is what the log says).
        let keys = serde_json::to_string(&claimed).unwrap_or_default();
        let _ = store::release_event_claims(&db, platform, &keys).exec("release event claims").await;
        return Err(e);
    }
    Ok(())
}
