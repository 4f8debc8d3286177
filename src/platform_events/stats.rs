//! The statistics of platform events in: received, verified, refused, matched and forwarded,
//! per platform, over the last 24 hours.

use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::respond::object;
use crate::store;
use connect_links_core::error::{ApiResult, ErrorCode};

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

/// Counts one request to `platform`'s receiver in one write: received, and verified (its
/// signature or handshake checked out) or refused (a bad signature, a body over the cap, an
/// unknown handshake).
pub async fn request(ctx: &Ctx, platform: &str, verified: bool) {
    let mut counts = [0; 5];
    counts[Tally::Received as usize] = 1;
    counts[if verified { Tally::Verified } else { Tally::Refused } as usize] = 1;
    write(ctx, platform, counts).await
}

/// [`request`] by the receiver's outcome; a path that is not there (404: unknown
/// credentials, a platform app not configured) is not counted: it is no platform's.
pub async fn outcome<T>(ctx: &Ctx, platform: &str, outcome: &ApiResult<T>) {
    if !matches!(outcome, Err(e) if e.code == ErrorCode::NotFound) {
        request(ctx, platform, outcome.is_ok()).await
    }
}

/// Adds `counts` (the columns in [`Tally`]'s order) to `platform`'s row of the current hour.
async fn write(ctx: &Ctx, platform: &str, counts: [u32; 5]) {
    let stmt = async {
        store::count_platform_events(&ctx.db()?, platform, hour(ctx.now()), counts)?.run().await.or_500("event count")
    };
    if stmt.await.is_err() {
        crate::log::error(&object!("event": "platform_event_count_failed", "platform": platform));
    }
}

/// The counters' columns with `n` in `tally`'s and 0 elsewhere.
pub fn counts(tally: Tally, n: u32) -> [u32; 5] {
    let mut counts = [0; 5];
    counts[tally as usize] = n;
    counts
}

/// The start of the hour `now` is in (Unix seconds): the counters' row.
pub fn hour(now: i64) -> i64 {
    now - now.rem_euclid(3600)
}
