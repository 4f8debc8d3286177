//! Forwarding verified platform events to the apps holding their accounts.

use crate::ctx::Ctx;
use connect_links_core::platform_events::InboundEvent;

/// Dedups `events` (a redelivery within 24 hours is forwarded once), matches each to the
/// profiles of its account on `platform` minted by the platform app `by` names (`None`: the
/// deployment's), and writes one `platform.event` per profile whose app asked for that
/// event type, then delivers. Events for accounts no profile holds are counted, not stored.
/// Best effort after the answer: a failure is logged, never raised.
pub async fn forward(ctx: &Ctx, platform: &str, by: Option<&str>, events: Vec<InboundEvent>) {
    // Implemented by the forwarding work (helper F).
    let _ = (ctx, platform, by, events);
}
