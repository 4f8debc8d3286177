//! The cron's lifecycle job: the refresh phase (inline, or fanned out through
//! `REFRESH_QUEUE`), with the liveness checks, webhook retries and housekeeping beside it.
//! Refreshing one grant is [`crate::jobs::lifecycle`]'s.

use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::jobs::lifecycle::{refresh_one, Outcome, Trigger};
use crate::jobs::webhooks;
use crate::store;
use connect_links_core::error::ApiResult;
use futures_util::future::join3;
use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::json;
use worker::console_log;

/// Refreshes run this many at a time. A Workers invocation holds six connections open at
/// most and queues the rest while their timers already run, so a run splits its six: four
/// for refreshes, one for liveness checks (`crate::jobs::liveness`), one for webhook
/// retries and then housekeeping (each one call at a time). Slow hosts of one part then
/// cannot make another part's calls time out.
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

/// The default of `CRON_PHASE_BUDGET_MS`: 4 minutes, under the 5-minute cron interval, so
/// that a run whose calls hang (a tenant's own host that never answers) has stopped
/// starting calls before the next run starts, instead of two runs overlapping, and ends
/// well inside an invocation's wall time (which, when exceeded, kills the rest of it).
const PHASE_BUDGET_MS: i64 = 240_000;

/// How many more platform calls, one after the other, fit in the run's budget
/// (`CRON_PHASE_BUDGET_MS` from the run's start, default [`PHASE_BUDGET_MS`]), each taken
/// to last its whole timeout. The refresh and liveness phases start a call only while one
/// fits; what they did not start stays due (unmarked) for the next run.
pub fn calls_in_budget(ctx: &Ctx) -> usize {
    let budget = ctx.number_var("CRON_PHASE_BUDGET_MS", 1_000..=900_000).unwrap_or(PHASE_BUDGET_MS);
    let left = ctx.started_ms + budget - crate::ctx::now_ms();
    usize::try_from(left / (ctx.timeout_ms().max(1) as i64)).unwrap_or(0)
}

/// The lifecycle job run by the cron trigger: the refresh phase, and beside it (not after
/// it) the liveness checks, and the webhook retries then housekeeping, each on its own share
/// of the connections (see [`CONCURRENCY`]), so that a refresh or a check that hangs, or a
/// part that fails, holds up none of the others.
pub async fn run(ctx: &Ctx) -> ApiResult<()> {
    let rest = async {
        let _ = webhooks::deliver_due(ctx, 100).await;
        crate::jobs::housekeeping::run(ctx).await
    };
    let (refreshed, checked, kept) = join3(refresh_due(ctx), crate::jobs::liveness::run(ctx), rest).await;
    refreshed.and(checked).and(kept)
}

/// Refreshes (or enqueues) due profiles. `REFRESH_BATCH_SIZE` (default 200) bounds the
/// refreshes that reach a platform (or the jobs enqueued) in one run, and twice that bounds
/// the profiles looked at (each costs D1 queries). Profiles that fail locally make no call
/// and are pushed back, so the run selects again (up to five rounds): they never starve the
/// profiles behind them.
async fn refresh_due(ctx: &Ctx) -> ApiResult<()> {
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
                console_log!(
                    "{}",
                    json!({"event": "cron_refresh", "due": due.len(), "called": called, "errors": failed, "deferred": deferred})
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
