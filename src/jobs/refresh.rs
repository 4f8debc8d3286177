//! The refresh job: the grants due for a refresh, refreshed inline or fanned out through
//! `REFRESH_QUEUE`. Refreshing one grant is [`crate::grants::refresh_one`]'s.

use super::budget::calls_in_budget;
use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::grants::{refresh_one, Outcome, Trigger};
use crate::respond::object;
use crate::store;
use connect_links_core::error::ApiResult;
use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

/// Refreshes run this many at a time: four of the six connections a run splits (see
/// [`super::scheduled`]).
const CONCURRENCY: usize = 4;

/// A refresh job on `REFRESH_QUEUE`.
#[derive(Serialize, Deserialize)]
pub struct RefreshMessage {
    /// The grant to refresh (`profile_id` in messages from before grants: a migrated
    /// profile's grant has its id).
    #[serde(alias = "profile_id")]
    pub grant_id: String,
    /// When the cron enqueued it (ms): a refresh completed later makes this one moot.
    pub enqueued_ms: i64,
}

/// How many select-and-refresh rounds one cron run makes at most.
const MAX_ROUNDS: u32 = 5;

/// Refreshes (or enqueues) due profiles. `REFRESH_BATCH_SIZE` (default 200) bounds the
/// refreshes that reach a platform (or the jobs enqueued) in one run, and twice that bounds
/// the profiles looked at (each costs D1 queries). Profiles that fail locally make no call
/// and are pushed back, so the run selects again (up to five rounds): they never starve the
/// profiles behind them.
pub async fn run(ctx: &Ctx) -> ApiResult<()> {
    let batch = ctx.refresh_batch_size();
    let queue = ctx.env.queue("REFRESH_QUEUE").ok();
    let (mut calls_left, mut looks_left) = (batch, batch.saturating_mul(2));
    for _ in 0..MAX_ROUNDS {
        let take = calls_left.min(looks_left);
        if take == 0 {
            break;
        }
        // Due when the run started, as the lease checks. A grant this run attempted is not
        // called again: a failed (or dead) attempt moved its next try past that time, and a
        // refreshed grant whose new token is due at once (expires_in <= 300 s, stored in the
        // run's first second) is selected again but refused by the lease, which takes no
        // grant refreshed since the run started (`last_refresh_ms`).
        let due = store::due_grants(&ctx.db()?, ctx.started_ms / 1000, take).await?;
        if due.is_empty() {
            break;
        }
        looks_left = looks_left.saturating_sub(due.len() as u32);
        match &queue {
            Some(queue) => {
                for chunk in due.chunks(100) {
                    let messages: Vec<RefreshMessage> = chunk
                        .iter()
                        .map(|id| RefreshMessage { grant_id: id.clone(), enqueued_ms: ctx.started_ms })
                        .collect();
                    queue.send_batch(messages).await.or_500("enqueue refresh")?;
                    // Fence: not selected again for ten minutes, unless the consumer sets a new time.
                    store::fence_due(&ctx.db()?, chunk, ctx.now(), ctx.now() + 600).await?;
                }
                calls_left = calls_left.saturating_sub(due.len() as u32);
            }
            None => {
                // A refresh not started (out of budget) is left as it was: its lease, which
                // marks it, is never taken, so it is due for the next run.
                let results: Vec<Option<ApiResult<Outcome>>> = stream::iter(due.iter())
                    .map(|id| async move {
                        match calls_in_budget(ctx) {
                            0 => None,
                            _ => Some(refresh_one(ctx, id, Trigger::Cron).await),
                        }
                    })
                    .buffer_unordered(CONCURRENCY)
                    .collect()
                    .await;
                let deferred = results.iter().filter(|r| r.is_none()).count();
                let results: Vec<ApiResult<Outcome>> = results.into_iter().flatten().collect();
                let called = results
                    .iter()
                    .filter(|r| matches!(r, Ok(Outcome::Refreshed | Outcome::Failed(_) | Outcome::TooLarge) | Err(_)))
                    .count();
                let failed = results.iter().filter(|r| r.is_err()).count();
                crate::log::info(
                    &object!("event": "cron_refresh", "due": due.len(), "called": called, "errors": failed, "deferred": deferred),
                );
                calls_left = calls_left.saturating_sub(called as u32);
                if deferred > 0 {
                    break;
                }
                // Every profile of the round made its call: the next round has its own budget.
                if called == due.len() {
                    break;
                }
            }
        }
    }
    Ok(())
}
