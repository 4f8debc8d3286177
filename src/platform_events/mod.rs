//! Platform events in (domain): what the platforms push (comments, mentions, messages,
//! uploads, account changes), once a receiver in `crate::inbound` has verified it, is
//! deduplicated, matched to the profiles holding the account, and forwarded to the apps that
//! asked for that event type as a signed `platform.event` webhook; with the statistics of
//! what came in. It may call the storage, the plumbing, `crate::events` and core.

mod forward;
pub mod meta_pages;
mod stats;
pub mod websub;

pub use forward::forward;
pub use stats::{count, hour, Tally};

use crate::ctx::Ctx;
use connect_links_core::platform_events::InboundEvent;

/// Hands `events` (verified, from `platform`'s webhook path of the platform app `by` names:
/// an app's own credentials, `None` for the deployment's) on to [`forward`] after the answer,
/// so the platform gets its answer within its time limit whatever the forwarding costs.
pub async fn hand_on(ctx: &Ctx, platform: &str, by: Option<&str>, events: Vec<InboundEvent>) {
    if events.is_empty() {
        return;
    }
    let job_ctx = ctx.detached();
    let platform = platform.to_string();
    let by = by.map(str::to_string);
    ctx.after_answer(async move {
        forward(&job_ctx, &platform, by.as_deref(), events).await;
    })
    .await;
}
