//! The webhook retry job: every event goes to the D1 outbox first, with one delivery attempt
//! at once (`crate::events`); this part of the lifecycle job retries the due ones with
//! backoff (at least once, for over 24 hours).

use crate::ctx::Ctx;
use crate::events;
use crate::store;
use connect_links_core::error::ApiResult;

/// Retries due deliveries (part of the lifecycle job); one failure never stops the batch.
pub async fn deliver_due(ctx: &Ctx, limit: u32) -> ApiResult<u32> {
    let due = store::due_events(&ctx.db()?, ctx.now(), limit).await?;
    let mut delivered = 0;
    for id in due {
        if events::attempt(ctx, &id).await {
            delivered += 1;
        }
    }
    Ok(delivered)
}
