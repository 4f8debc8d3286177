//! The statistics of platform events in: received, verified, refused, matched and forwarded,
//! per platform, over the last 24 hours.

use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::respond::object;
use crate::store;

/// What happened to one incoming platform webhook request or event (in the order of the
/// counters' columns).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tally {
    /// A request reached a receiver (counted before its signature is checked).
    Received,
    /// Its signature (or handshake) verified.
    Verified,
    /// It was refused: a bad signature, an unknown handshake, a body over the cap.
    Refused,
    /// An event matched at least one profile.
    Matched,
    /// A `platform.event` was written for an app.
    Forwarded,
}

/// Adds `n` to `platform`'s `tally` for the current hour. Best effort: a failure is logged.
pub async fn count(ctx: &Ctx, platform: &str, tally: Tally, n: u32) {
    let mut counts = [0; 5];
    counts[tally as usize] = n;
    let stmt = async {
        store::count_platform_events(&ctx.db()?, platform, hour(ctx.now()), counts)?.run().await.or_500("event count")
    };
    if stmt.await.is_err() {
        crate::log::error(&object!("event": "platform_event_count_failed", "platform": platform));
    }
}

/// The start of the hour `now` is in (Unix seconds): the counters' row.
pub fn hour(now: i64) -> i64 {
    now - now.rem_euclid(3600)
}
