//! The renewal of YouTube's WebSub subscriptions: the hub's leases last days (ten at most),
//! and nothing renews them but a new subscribe, so each cron run re-subscribes the few whose
//! lease ends within a day (and unsubscribes those whose channel has no profile left).

use crate::ctx::Ctx;
use connect_links_core::error::ApiResult;

/// Subscriptions handled per run at most: each is one call to the hub, on the connection
/// this job shares with webhook retries and housekeeping.
const PER_RUN: u32 = 10;

/// One run: see [`crate::platform_events::websub::renew_due`].
pub async fn run(ctx: &Ctx) -> ApiResult<()> {
    crate::platform_events::websub::renew_due(ctx, PER_RUN).await.map(|_| ())
}
