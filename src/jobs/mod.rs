//! Work the cron and the queue drive, one file per job: the refresh of due grants
//! (`refresh`, inline or fanned out through `REFRESH_QUEUE`), the liveness checks of tokens
//! that never expire (`liveness`), the webhook retries (`webhooks`), the renewal of YouTube's
//! WebSub leases (`websub`), and housekeeping (`housekeeping`, with the expiry of account
//! choices in `choices`); `budget` is the run's
//! time budget they share. [`scheduled`] is the cron's entry: a new job is one more line there.
//!
//! May call: the domain (`crate::grants`, `crate::events`), storage (`crate::store`),
//! plumbing and core; never another flow.

mod budget;
pub mod choices;
pub mod housekeeping;
pub mod liveness;
pub mod refresh;
pub mod webhooks;
pub mod websub;

use crate::ctx::Ctx;
use connect_links_core::error::ApiResult;
use futures_util::future::join3;

/// The lifecycle job the cron trigger runs: the jobs side by side (not one after the other),
/// each on its own share of the connections, so that a refresh or a check that hangs, or a
/// job that fails, holds up none of the others. A Workers invocation holds six connections
/// open at most and queues the rest while their timers already run, so a run splits its six:
/// four for refreshes, one for liveness checks, one for webhook retries and then
/// housekeeping (each one call at a time). Slow hosts of one job then cannot make another
/// job's calls time out.
pub async fn scheduled(ctx: &Ctx) -> ApiResult<()> {
    let refreshes = refresh::run(ctx);
    let checks = liveness::run(ctx);
    let upkeep = async {
        let _ = webhooks::deliver_due(ctx, 100).await;
        let _ = websub::run(ctx).await;
        housekeeping::run(ctx).await
    };
    let (refreshed, checked, kept) = join3(refreshes, checks, upkeep).await;
    refreshed.and(checked).and(kept)
}
