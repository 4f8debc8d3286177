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
pub use stats::{hour, outcome, request};

use crate::ctx::Ctx;
use crate::respond::object;
use connect_links_core::platform_events::InboundEvent;

/// The most events one request hands on.
pub const MAX_EVENTS_PER_REQUEST: usize = 1000;

/// Hands `events` (verified, from `platform`'s webhook path of the platform app `by` names:
/// an app's own credentials, `None` for the deployment's) on to [`forward`] after the answer,
/// so the platform gets its answer within its time limit whatever the forwarding costs.
pub async fn hand_on(ctx: &Ctx, platform: &str, by: Option<&str>, mut events: Vec<InboundEvent>) {
    if events.is_empty() {
        return;
    }
    // Meta's batches hold up to 1,000 changes; more in one request is no platform's doing
    // (an app signing with its own platform app's secret, say), and is not forwarded.
    if events.len() > MAX_EVENTS_PER_REQUEST {
        crate::log::error(&object!(
            "event": "platform_events_dropped", "platform": platform, "dropped": events.len() - MAX_EVENTS_PER_REQUEST
        ));
        events.truncate(MAX_EVENTS_PER_REQUEST);
    }
    let job_ctx = ctx.detached();
    let platform = platform.to_string();
    let by = by.map(str::to_string);
    ctx.after_answer(async move {
        forward(&job_ctx, &platform, by.as_deref(), events).await;
    })
    .await;
}
